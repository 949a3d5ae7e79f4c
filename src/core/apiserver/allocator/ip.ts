/**
 * IP address and CIDR parsing for the allocators: addresses as bigint so IPv4 and IPv6 share one
 * arithmetic, printed back in canonical form (dotted quad; RFC 5952 for IPv6).
 */

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  value: bigint;
}

export interface ParsedCidr {
  family: IpFamily;
  /** The network address (host bits cleared). */
  base: bigint;
  prefix: number;
  /** Number of host bits (32 or 128 minus the prefix). */
  hostBits: number;
}

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Parses a dotted-quad IPv4 address (no leading zeros, like Go's net.ParseIP); undefined if invalid. */
export function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!IPV4_OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const groups: number[] = [];
  const parts = text.split(':');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      continue;
    }
    if (!HEX_GROUP.test(part)) return undefined;
    groups.push(Number.parseInt(part, 16));
  }
  return groups;
}

/** Parses an IPv6 address (with `::` and an embedded IPv4 tail); undefined if invalid. */
export function parseIpv6(text: string): bigint | undefined {
  if (text.includes('%')) return undefined; // zones are not addresses a Service can hold
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0]!);
    const tail = parseGroups(halves[1]!);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(text);
    if (all?.length !== 8) return undefined;
    groups = all;
  }
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  return value;
}

/** Parses an IPv4 or IPv6 address; undefined if it is neither. */
export function parseIp(text: string): ParsedIp | undefined {
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIpv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

/** Formats an address in canonical form: dotted quad, or RFC 5952 compressed lower-case IPv6. */
export function formatIp(value: bigint, family: IpFamily): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // The longest run of at least two zero groups (the first one on a tie) becomes `::`.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Parses `address/prefix`, clearing host bits like Go's net.ParseCIDR; undefined if invalid. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const bits = ip.family === 4 ? 32 : 128;
  if (prefix > bits) return undefined;
  const hostBits = bits - prefix;
  const base = (ip.value >> BigInt(hostBits)) << BigInt(hostBits);
  return { family: ip.family, base, prefix, hostBits };
}

/** Canonical text of a parsed CIDR, e.g. `10.43.0.0/16`. */
export function formatCidr(cidr: ParsedCidr): string {
  return `${formatIp(cidr.base, cidr.family)}/${cidr.prefix}`;
}
