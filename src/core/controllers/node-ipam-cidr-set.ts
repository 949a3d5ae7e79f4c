/**
 * The pure allocator behind node IPAM: the cluster CIDR cut into equal subnets (a /24 per node by
 * default), each free or used. Allocation goes round-robin from the last one handed out, as
 * upstream's cidrset does, so a subnet just released is not handed to the next node at once (routes
 * to the old node may still be in flight).
 */

export class CidrConfigError extends Error {
  readonly code = 'CIDR_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'CidrConfigError';
  }
}

/** An IPv4 address as an unsigned 32-bit number, or undefined when malformed. */
export function parseIpv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

/** Dotted form of an unsigned 32-bit address. */
export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** `a.b.c.d/len` as base address (host bits cleared) and prefix length, or undefined. */
export function parseCidr(s: string): { base: number; prefix: number } | undefined {
  const [ip, len, extra] = s.split('/');
  if (ip === undefined || len === undefined || extra !== undefined || !/^\d{1,2}$/.test(len))
    return undefined;
  const addr = parseIpv4(ip);
  const prefix = Number(len);
  if (addr === undefined || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (addr & mask) >>> 0, prefix };
}

export interface CidrSetOptions {
  /** Prefix length of each node's subnet (default 24). */
  nodeMaskSize?: number | undefined;
}

export class CidrSet {
  private readonly base: number;
  private readonly nodeMask: number;
  /** Number of subnets. */
  readonly size: number;
  private readonly used = new Set<number>();
  private next = 0;

  constructor(clusterCidr: string, opts: CidrSetOptions = {}) {
    const c = parseCidr(clusterCidr);
    if (!c) throw new CidrConfigError(`cluster CIDR is not an IPv4 CIDR: "${clusterCidr}"`);
    const nodeMask = opts.nodeMaskSize ?? 24;
    if (nodeMask < c.prefix || nodeMask > 30)
      throw new CidrConfigError(
        `node CIDR mask size /${nodeMask} does not fit cluster CIDR ${clusterCidr} (must be /${c.prefix}../30)`,
      );
    this.base = c.base;
    this.nodeMask = nodeMask;
    this.size = 2 ** (nodeMask - c.prefix);
  }

  /** Number of subnets in use. */
  get usedCount(): number {
    return this.used.size;
  }

  /** Take the next free subnet, or undefined when the range is exhausted. */
  allocateNext(): string | undefined {
    for (let i = 0; i < this.size; i++) {
      const idx = (this.next + i) % this.size;
      if (!this.used.has(idx)) {
        this.used.add(idx);
        this.next = (idx + 1) % this.size;
        return this.format(idx);
      }
    }
    return undefined;
  }

  /**
   * Mark a subnet used (one seen on an existing node). False if it is not one of this set's
   * subnets (another range or another mask size): such a CIDR is left alone.
   */
  occupy(cidr: string): boolean {
    const idx = this.indexOf(cidr);
    if (idx === undefined) return false;
    this.used.add(idx);
    return true;
  }

  /** Free a subnet; unknown CIDRs are ignored. */
  release(cidr: string): void {
    const idx = this.indexOf(cidr);
    if (idx !== undefined) this.used.delete(idx);
  }

  isUsed(cidr: string): boolean {
    const idx = this.indexOf(cidr);
    return idx !== undefined && this.used.has(idx);
  }

  private format(idx: number): string {
    return `${formatIpv4((this.base + idx * 2 ** (32 - this.nodeMask)) >>> 0)}/${this.nodeMask}`;
  }

  private indexOf(cidr: string): number | undefined {
    const c = parseCidr(cidr);
    if (!c || c.prefix !== this.nodeMask) return undefined;
    const off = c.base - this.base;
    const step = 2 ** (32 - this.nodeMask);
    if (off < 0 || off % step !== 0) return undefined;
    const idx = off / step;
    return idx < this.size ? idx : undefined;
  }
}
