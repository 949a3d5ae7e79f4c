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
import {
  AlreadyAllocatedError,
  InvalidRangeError,
  MismatchedRangeError,
  NotInRangeError,
  RangeFullError,
} from './errors.js';
import { formatCidr, formatIp, type IpFamily, type ParsedCidr, parseCidr, parseIp } from './ip.js';

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

/** Saved state: the range and the bitmap (base64), like upstream's RangeAllocation. */
export interface AllocatorSnapshot {
  range: string;
  data: string;
}

/** What rebuild() could not take. */
export interface RebuildReport<T> {
  /** Values outside the range (or not valid values at all). */
  outOfRange: T[];
  /** Values seen more than once (each repeated value once). */
  duplicates: T[];
}

/** Upstream's static band size for a CIDR of `cidrSize` addresses. */
function staticBand(cidrSize: number): number {
  if (cidrSize <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(cidrSize / 16)), 256);
}

export class ServiceIpAllocator {
  /** The range in canonical form, e.g. `10.43.0.0/16`. */
  readonly cidr: string;
  readonly family: IpFamily;
  /** The address reserved for the `kubernetes` Service (first usable address). */
  readonly kubernetesServiceIp: string;
  readonly #parsed: ParsedCidr;
  readonly #first: bigint;
  readonly #bitmap: AllocationBitmap;

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
    this.#parsed = parsed;
    this.cidr = formatCidr(parsed);
    this.family = parsed.family;
    this.#first = parsed.base + 1n;
    this.kubernetesServiceIp = formatIp(this.#first, parsed.family);
    this.#bitmap = new AllocationBitmap(usable, {
      bandOffset: options.preferUpperBand === false ? 0 : staticBand(cidrSize),
      dynamicFloor: 1,
      random: options.random,
    });
  }

  /** Number of usable addresses in the range. */
  get size(): number {
    return this.#bitmap.size;
  }

  /** Number of allocated addresses. */
  get used(): number {
    return this.#bitmap.count;
  }

  /** Number of free addresses (the reserved kubernetes address counts while free). */
  get free(): number {
    return this.#bitmap.free;
  }

  /** Allocates a random free address; throws RangeFullError (code FULL) when none is left. */
  allocate(): string {
    const offset = this.#bitmap.allocateNext();
    if (offset === undefined) throw new RangeFullError('serviceIP');
    return this.#ipAt(offset);
  }

  /** Allocates the given address; throws NOT_IN_RANGE or ALREADY_ALLOCATED. */
  allocateSpecific(ip: string): void {
    const offset = this.#offsetOf(ip);
    if (offset === undefined)
      throw new NotInRangeError(`provided IP ${ip} is not in the valid range`, ip, this.cidr);
    if (!this.#bitmap.allocate(offset)) throw new AlreadyAllocatedError('IP', ip);
  }

  /** Frees the address; a no-op for a free or out-of-range address (as upstream). */
  release(ip: string): void {
    const offset = this.#offsetOf(ip);
    if (offset !== undefined) this.#bitmap.release(offset);
  }

  /** True if the address is allocated. */
  has(ip: string): boolean {
    const offset = this.#offsetOf(ip);
    return offset !== undefined && this.#bitmap.has(offset);
  }

  /** True if the address lies in the allocatable part of the range. */
  contains(ip: string): boolean {
    return this.#offsetOf(ip) !== undefined;
  }

  /** Every allocated address, in increasing order. */
  list(): string[] {
    const out: string[] = [];
    this.#bitmap.forEach((offset) => {
      out.push(this.#ipAt(offset));
    });
    return out;
  }

  /** The current state, restorable with restore(). */
  snapshot(): AllocatorSnapshot {
    return { range: this.cidr, data: Buffer.from(this.#bitmap.toBytes()).toString('base64') };
  }

  /** Replaces the state with a snapshot of the same range; throws MISMATCHED_RANGE otherwise. */
  restore(snapshot: AllocatorSnapshot): void {
    const parsed = parseCidr(snapshot.range);
    if (!parsed || formatCidr(parsed) !== this.cidr) {
      throw new MismatchedRangeError('network', this.cidr, snapshot.range);
    }
    this.#bitmap.loadBytes(new Uint8Array(Buffer.from(snapshot.data, 'base64')));
  }

  /**
   * Resets the state to exactly the given addresses (the ClusterIPs of all stored Services), the
   * repair done at startup. Values outside the range and repeats are reported, not thrown.
   */
  rebuild(used: Iterable<string>): RebuildReport<string> {
    this.#bitmap.clear();
    const report: RebuildReport<string> = { outOfRange: [], duplicates: [] };
    const repeated = new Set<string>();
    for (const ip of used) {
      const offset = this.#offsetOf(ip);
      if (offset === undefined) {
        report.outOfRange.push(ip);
      } else if (!this.#bitmap.allocate(offset)) {
        const canonical = this.#ipAt(offset);
        if (!repeated.has(canonical)) {
          repeated.add(canonical);
          report.duplicates.push(ip);
        }
      }
    }
    return report;
  }

  #ipAt(offset: number): string {
    return formatIp(this.#first + BigInt(offset), this.family);
  }

  #offsetOf(ip: string): number | undefined {
    const parsed = parseIp(ip);
    if (!parsed || parsed.family !== this.family) return undefined;
    if (
      parsed.value >> BigInt(this.#parsed.hostBits) !==
      this.#parsed.base >> BigInt(this.#parsed.hostBits)
    ) {
      return undefined;
    }
    const offset = Number(parsed.value - this.#first);
    return offset >= 0 && offset < this.#bitmap.size ? offset : undefined;
  }
}
