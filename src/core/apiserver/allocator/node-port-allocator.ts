/**
 * NodePort allocation over a port range (default 30000-32767), in memory. Like the ClusterIP
 * allocator it is rebuilt from the stored Services at startup (rebuild()), so nothing leaks.
 */

import { AllocationBitmap } from './bitmap.js';
import {
  AlreadyAllocatedError,
  InvalidRangeError,
  MismatchedRangeError,
  NotInRangeError,
  RangeFullError,
} from './errors.js';
import type { AllocatorSnapshot, RebuildReport } from './service-ip-allocator.js';

export const DEFAULT_NODE_PORT_RANGE = '30000-32767';

export interface NodePortAllocatorOptions {
  /** `first-last` (inclusive) or a single port. Default 30000-32767. */
  range?: string | undefined;
  /**
   * Prefer the upper part of the range for dynamic allocation, leaving the lower band
   * (min(max(16, size/32), 128) ports) for explicit nodePorts. Default true.
   */
  preferUpperBand?: boolean | undefined;
  /** Source of randomness in [0, 1); injectable for deterministic tests. */
  random?: (() => number) | undefined;
}

/** A parsed port range. */
export interface PortRange {
  base: number;
  size: number;
}

const PORT = /^(0|[1-9][0-9]{0,4})$/;

/** Parses `first-last` or `port` into a range; undefined if malformed or outside 1-65535. */
export function parsePortRange(text: string): PortRange | undefined {
  const parts = text.trim().split('-');
  if (parts.length > 2 || !parts.every((p) => PORT.test(p))) return undefined;
  const first = Number(parts[0]);
  const last = Number(parts[1] ?? parts[0]);
  if (first < 1 || last > 65535 || last < first) return undefined;
  return { base: first, size: last - first + 1 };
}

/** Canonical `first-last` text of a range. */
export function formatPortRange(range: PortRange): string {
  return `${range.base}-${range.base + range.size - 1}`;
}

/** Upstream's static band size for a port range of `size` ports. */
function staticBand(size: number): number {
  if (size <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(size / 32)), 128);
}

export class NodePortAllocator {
  /** The range in canonical form, e.g. `30000-32767`. */
  readonly range: string;
  readonly base: number;
  readonly #bitmap: AllocationBitmap;

  constructor(options: NodePortAllocatorOptions = {}) {
    const text = options.range ?? DEFAULT_NODE_PORT_RANGE;
    const parsed = parsePortRange(text);
    if (!parsed) throw new InvalidRangeError(text, 'expected first-last with ports in 1-65535');
    this.range = formatPortRange(parsed);
    this.base = parsed.base;
    this.#bitmap = new AllocationBitmap(parsed.size, {
      bandOffset: options.preferUpperBand === false ? 0 : staticBand(parsed.size),
      random: options.random,
    });
  }

  /** Number of ports in the range. */
  get size(): number {
    return this.#bitmap.size;
  }

  /** Number of allocated ports. */
  get used(): number {
    return this.#bitmap.count;
  }

  /** Number of free ports. */
  get free(): number {
    return this.#bitmap.free;
  }

  /** Allocates a random free port; throws RangeFullError (code FULL) when none is left. */
  allocate(): number {
    const offset = this.#bitmap.allocateNext();
    if (offset === undefined) throw new RangeFullError('nodePort');
    return this.base + offset;
  }

  /** Allocates the given port; throws NOT_IN_RANGE or ALREADY_ALLOCATED. */
  allocateSpecific(port: number): void {
    const offset = this.#offsetOf(port);
    if (offset === undefined) {
      throw new NotInRangeError(
        `provided port is not in the valid range. The range of valid ports is ${this.range}`,
        port,
        this.range,
      );
    }
    if (!this.#bitmap.allocate(offset)) throw new AlreadyAllocatedError('port', port);
  }

  /** Frees the port; a no-op for a free or out-of-range port (as upstream). */
  release(port: number): void {
    const offset = this.#offsetOf(port);
    if (offset !== undefined) this.#bitmap.release(offset);
  }

  /** True if the port is allocated. */
  has(port: number): boolean {
    const offset = this.#offsetOf(port);
    return offset !== undefined && this.#bitmap.has(offset);
  }

  /** True if the port lies in the range. */
  contains(port: number): boolean {
    return this.#offsetOf(port) !== undefined;
  }

  /** Every allocated port, in increasing order. */
  list(): number[] {
    const out: number[] = [];
    this.#bitmap.forEach((offset) => {
      out.push(this.base + offset);
    });
    return out;
  }

  /** The current state, restorable with restore(). */
  snapshot(): AllocatorSnapshot {
    return { range: this.range, data: Buffer.from(this.#bitmap.toBytes()).toString('base64') };
  }

  /** Replaces the state with a snapshot of the same range; throws MISMATCHED_RANGE otherwise. */
  restore(snapshot: AllocatorSnapshot): void {
    const parsed = parsePortRange(snapshot.range);
    if (!parsed || formatPortRange(parsed) !== this.range) {
      throw new MismatchedRangeError('port range', this.range, snapshot.range);
    }
    this.#bitmap.loadBytes(new Uint8Array(Buffer.from(snapshot.data, 'base64')));
  }

  /**
   * Resets the state to exactly the given ports (the nodePorts and healthCheckNodePorts of all
   * stored Services), the repair done at startup. Out-of-range values and repeats are reported.
   */
  rebuild(used: Iterable<number>): RebuildReport<number> {
    this.#bitmap.clear();
    const report: RebuildReport<number> = { outOfRange: [], duplicates: [] };
    const repeated = new Set<number>();
    for (const port of used) {
      const offset = this.#offsetOf(port);
      if (offset === undefined) {
        report.outOfRange.push(port);
      } else if (!this.#bitmap.allocate(offset) && !repeated.has(port)) {
        repeated.add(port);
        report.duplicates.push(port);
      }
    }
    return report;
  }

  #offsetOf(port: number): number | undefined {
    if (!Number.isInteger(port)) return undefined;
    const offset = port - this.base;
    return offset >= 0 && offset < this.#bitmap.size ? offset : undefined;
  }
}
