/**
 * ClusterIP allocation over the service CIDR (default 10.43.0.0/16), in memory.
 *
 * Offsets count from the first usable address: the network address is never handed out, nor the
 * IPv4 broadcast address. The first usable address (10.43.0.1) belongs to the `kubernetes`
 * Service: allocate() never returns it, allocateSpecific() may take it. The allocator is not
 * persisted; at startup the server calls rebuild() with the ClusterIPs of the stored Services, so an
 * address can never leak across a restart.
 */

import { AllocationBitmap } from './bitmap.js';
import { InvalidRangeError, NotInRangeError } from './errors.js';
import { formatCidr, formatIp, type IpFamily, type ParsedCidr, parseCidr, parseIp } from './ip.js';
import { RangeAllocator } from './range-allocator.js';

export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';

/** Upstream caps the service range at 20 host bits (`--service-cluster-ip-range` must be /12 or smaller for IPv4). */
const MAX_HOST_BITS = 20;

export interface ServiceIpAllocatorOptions {
  /** Service CIDR. Default 10.43.0.0/16. */
  cidr?: string | undefined;
  /**
   * Prefer the upper part of the range for dynamic allocation, leaving the lower band
   * (min(max(16, size/16), 256) addresses) for explicit ClusterIPs such as the DNS address. Default true.
   */
  preferUpperBand?: boolean | undefined;
  /** Source of randomness in [0, 1); injectable for deterministic tests. */
  random?: (() => number) | undefined;
}

export type { AllocatorSnapshot, RebuildReport } from './range-allocator.js';

/** Upstream's static band size for a CIDR of `cidrSize` addresses. */
function staticBand(cidrSize: number): number {
  if (cidrSize <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(cidrSize / 16)), 256);
}

export class ServiceIpAllocator extends RangeAllocator<string> {
  /** The range in canonical form, e.g. `10.43.0.0/16`. */
  readonly cidr: string;
  readonly family: IpFamily;
  /** The address reserved for the `kubernetes` Service (first usable address). */
  readonly kubernetesServiceIp: string;
  readonly #parsed: ParsedCidr;
  readonly #first: bigint;

  constructor(options: ServiceIpAllocatorOptions = {}) {
    const text = options.cidr ?? DEFAULT_SERVICE_CIDR;
    const parsed = parseCidr(text);
    if (!parsed) throw new InvalidRangeError(text, 'not a CIDR');
    if (parsed.hostBits > MAX_HOST_BITS) {
      throw new InvalidRangeError(text, `too large, at most ${MAX_HOST_BITS} host bits are supported`);
    }
    const cidrSize = 2 ** parsed.hostBits;
    // Minus the network address, and for IPv4 the broadcast address.
    const usable = cidrSize - (parsed.family === 4 ? 2 : 1);
    if (usable < 2) throw new InvalidRangeError(text, 'too small, needs at least two usable addresses');
    const cidr = formatCidr(parsed);
    super(
      new AllocationBitmap(usable, {
        bandOffset: options.preferUpperBand === false ? 0 : staticBand(cidrSize),
        dynamicFloor: 1,
        random: options.random,
      }),
      { range: cidr, rangeKind: 'network', resource: 'serviceIP', value: 'IP' },
    );
    this.#parsed = parsed;
    this.cidr = cidr;
    this.family = parsed.family;
    this.#first = parsed.base + 1n;
    this.kubernetesServiceIp = formatIp(this.#first, parsed.family);
  }

  protected override valueAt(offset: number): string {
    return formatIp(this.#first + BigInt(offset), this.family);
  }

  protected override offsetOf(ip: string): number | undefined {
    const parsed = parseIp(ip);
    if (!parsed || parsed.family !== this.family) return undefined;
    if (
      parsed.value >> BigInt(this.#parsed.hostBits) !==
      this.#parsed.base >> BigInt(this.#parsed.hostBits)
    ) {
      return undefined;
    }
    const offset = Number(parsed.value - this.#first);
    return offset >= 0 && offset < this.bitmap.size ? offset : undefined;
  }

  protected override canonicalRange(text: string): string | undefined {
    const parsed = parseCidr(text);
    return parsed && formatCidr(parsed);
  }

  protected override notInRange(ip: string): Error {
    return new NotInRangeError(`provided IP ${ip} is not in the valid range`, ip, this.cidr);
  }
}
