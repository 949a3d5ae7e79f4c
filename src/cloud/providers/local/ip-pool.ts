/**
 * The address pool of the local provider (`--lb-pool`): IPv4 CIDRs and ranges, comma separated
 * (`192.168.1.240/28`, `192.168.1.240-192.168.1.250`). A CIDR of /30 or larger excludes its
 * network and broadcast addresses (routers and some clients mishandle them). Addresses are handed
 * out lowest first.
 */
import { CloudConfigError } from '../../errors.js';

function toInt(ip: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip.trim());
  if (!m || m.slice(1).some((x) => Number(x) > 255))
    throw new CloudConfigError(`not an IPv4 address: "${ip}"`);
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Pool size limit: a pool is a list of service addresses, not a network. */
const MAX_POOL = 1 << 16;

export class IpPool {
  /** [first, last] inclusive, sorted, as integers. */
  private readonly ranges: [number, number][] = [];
  readonly spec: string;

  constructor(spec: string) {
    this.spec = spec;
    let size = 0;
    for (const part of spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      let first: number;
      let last: number;
      if (part.includes('/')) {
        const [ip, bitsRaw] = part.split('/') as [string, string];
        const bits = Number(bitsRaw);
        if (!Number.isInteger(bits) || bits < 0 || bits > 32)
          throw new CloudConfigError(`bad prefix length in "${part}"`);
        const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
        first = (toInt(ip) & mask) >>> 0;
        last = (first + 2 ** (32 - bits) - 1) >>> 0;
        if (bits <= 30) {
          first++;
          last--;
        }
      } else if (part.includes('-')) {
        const [a, b] = part.split('-') as [string, string];
        first = toInt(a);
        last = toInt(b);
        if (last < first) throw new CloudConfigError(`range "${part}" ends before it starts`);
      } else {
        first = last = toInt(part);
      }
      size += last - first + 1;
      if (size > MAX_POOL) throw new CloudConfigError(`pool "${spec}" has more than ${MAX_POOL} addresses`);
      this.ranges.push([first, last]);
    }
    if (!this.ranges.length) throw new CloudConfigError('empty load balancer pool');
    this.ranges.sort((x, y) => x[0] - y[0]);
  }

  contains(ip: string): boolean {
    let n: number;
    try {
      n = toInt(ip);
    } catch {
      return false;
    }
    return this.ranges.some(([a, b]) => n >= a && n <= b);
  }

  /** The lowest address not in `used`, or undefined when all are taken. */
  firstFree(used: Set<string>): string | undefined {
    for (const [a, b] of this.ranges)
      for (let n = a; n <= b; n++) {
        const ip = toIp(n);
        if (!used.has(ip)) return ip;
      }
    return undefined;
  }
}
