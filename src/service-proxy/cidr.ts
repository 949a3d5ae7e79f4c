/**
 * Minimal IP/CIDR arithmetic (IPv4 and IPv6) for the proxy: containment checks in the userspace
 * backend and the test packet tracer, and the rootless address mapping.
 */

/** An address as a bigint and its bit width, or undefined when not an IP literal. */
export function parseIp(ip: string): { value: bigint; bits: 32 | 128 } | undefined {
  if (ip.includes(':')) {
    let s = ip;
    let tail: bigint[] = [];
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
    if (v4) {
      const p = parseIp(v4[1]!);
      if (!p) return undefined;
      tail = [(p.value >> 16n) & 0xffffn, p.value & 0xffffn];
      s = s.slice(0, -v4[1]!.length) + (s.endsWith(`:${v4[1]}`) ? '0:0' : '');
      s = s.replace(/:0:0$/, '');
    }
    const [head, rest] = s.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
    const want = 8 - tail.length;
    let groups: string[];
    if (rest === undefined) groups = h;
    else groups = [...h, ...Array(want - h.length - r.length).fill('0'), ...r];
    if (groups.length !== want) return undefined;
    let v = 0n;
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      v = (v << 16n) | BigInt(Number.parseInt(g, 16));
    }
    for (const t of tail) v = (v << 16n) | t;
    return { value: v, bits: 128 };
  }
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(Number(p));
  }
  return { value: v, bits: 32 };
}

/** True when `ip` lies in `cidr` (a bare address is a host prefix). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, lenStr] = cidr.split('/') as [string, string | undefined];
  const b = parseIp(base);
  const a = parseIp(ip);
  if (!a || !b || a.bits !== b.bits) return false;
  const len = lenStr === undefined ? b.bits : Number(lenStr);
  if (!Number.isInteger(len) || len < 0 || len > b.bits) return false;
  const shift = BigInt(b.bits - len);
  return a.value >> shift === b.value >> shift;
}
