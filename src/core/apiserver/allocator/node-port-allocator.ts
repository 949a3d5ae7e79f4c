/**
 * NodePort allocation over a port range (default 30000-32767), in memory. Like the ClusterIP
 * allocator it is rebuilt from the stored Services at startup (rebuild()), so nothing leaks.
 */

import { AllocationBitmap } from './bitmap.js';
import { InvalidRangeError, NotInRangeError } from './errors.js';
import { RangeAllocator } from './range-allocator.js';

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

export class NodePortAllocator extends RangeAllocator<number> {
  /** The range in canonical form, e.g. `30000-32767`. */
  readonly range: string;
  readonly base: number;

  constructor(options: NodePortAllocatorOptions = {}) {
    const text = options.range ?? DEFAULT_NODE_PORT_RANGE;
    const parsed = parsePortRange(text);
    if (!parsed) throw new InvalidRangeError(text, 'expected first-last with ports in 1-65535');
    const range = formatPortRange(parsed);
    super(
      new AllocationBitmap(parsed.size, {
        bandOffset: options.preferUpperBand === false ? 0 : staticBand(parsed.size),
        random: options.random,
      }),
      { range, rangeKind: 'port range', resource: 'nodePort', value: 'port' },
    );
    this.range = range;
    this.base = parsed.base;
  }

  protected override offsetOf(port: number): number | undefined {
    if (!Number.isInteger(port)) return undefined;
    const offset = port - this.base;
    return offset >= 0 && offset < this.bitmap.size ? offset : undefined;
  }

  protected override valueAt(offset: number): number {
    return this.base + offset;
  }

  protected override canonicalRange(text: string): string | undefined {
    const parsed = parsePortRange(text);
    return parsed && formatPortRange(parsed);
  }

  protected override notInRange(port: number): Error {
    return new NotInRangeError(
      `provided port is not in the valid range. The range of valid ports is ${this.range}`,
      port,
      this.range,
    );
  }
}
