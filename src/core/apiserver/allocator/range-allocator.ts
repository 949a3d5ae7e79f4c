/**
 * What the ClusterIP and NodePort allocators share: a bitmap of offsets into a range, with the
 * value <-> offset mapping left to the subclass. Allocation, release, listing, snapshots and the
 * startup repair (rebuild) are the same for both.
 */
import type { AllocationBitmap } from './bitmap.js';
import { AlreadyAllocatedError, MismatchedRangeError, RangeFullError } from './errors.js';

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

/** How a subclass names its range and its values in errors. */
export interface RangeNames {
  /** Canonical range text (`10.43.0.0/16`, `30000-32767`). */
  range: string;
  /** For MismatchedRangeError: `network`, `port range`. */
  rangeKind: 'network' | 'port range';
  /** For RangeFullError. */
  resource: 'serviceIP' | 'nodePort';
  /** For AlreadyAllocatedError. */
  value: 'IP' | 'port';
}

export abstract class RangeAllocator<T extends string | number> {
  protected readonly bitmap: AllocationBitmap;
  readonly #names: RangeNames;

  protected constructor(bitmap: AllocationBitmap, names: RangeNames) {
    this.bitmap = bitmap;
    this.#names = names;
  }

  /** The offset of a value, or undefined when it is outside the range (or not a value). */
  protected abstract offsetOf(value: T): number | undefined;
  /** The value at an offset, in canonical form. */
  protected abstract valueAt(offset: number): T;
  /** The canonical form of a snapshot's range text, or undefined if it does not parse. */
  protected abstract canonicalRange(text: string): string | undefined;
  /** The error for allocateSpecific of a value outside the range. */
  protected abstract notInRange(value: T): Error;

  /** Number of values in the range. */
  get size(): number {
    return this.bitmap.size;
  }

  /** Number of allocated values. */
  get used(): number {
    return this.bitmap.count;
  }

  /** Number of free values. */
  get free(): number {
    return this.bitmap.free;
  }

  /** Allocates a random free value; throws RangeFullError (code FULL) when none is left. */
  allocate(): T {
    const offset = this.bitmap.allocateNext();
    if (offset === undefined) throw new RangeFullError(this.#names.resource);
    return this.valueAt(offset);
  }

  /** Allocates the given value; throws NOT_IN_RANGE or ALREADY_ALLOCATED. */
  allocateSpecific(value: T): void {
    const offset = this.offsetOf(value);
    if (offset === undefined) throw this.notInRange(value);
    if (!this.bitmap.allocate(offset)) throw new AlreadyAllocatedError(this.#names.value, value);
  }

  /** Frees the value; a no-op for a free or out-of-range value (as upstream). */
  release(value: T): void {
    const offset = this.offsetOf(value);
    if (offset !== undefined) this.bitmap.release(offset);
  }

  /** True if the value is allocated. */
  has(value: T): boolean {
    const offset = this.offsetOf(value);
    return offset !== undefined && this.bitmap.has(offset);
  }

  /** True if the value lies in the allocatable part of the range. */
  contains(value: T): boolean {
    return this.offsetOf(value) !== undefined;
  }

  /** Every allocated value, in increasing order. */
  list(): T[] {
    const out: T[] = [];
    this.bitmap.forEach((offset) => {
      out.push(this.valueAt(offset));
    });
    return out;
  }

  /** The current state, restorable with restore(). */
  snapshot(): AllocatorSnapshot {
    return { range: this.#names.range, data: Buffer.from(this.bitmap.toBytes()).toString('base64') };
  }

  /** Replaces the state with a snapshot of the same range; throws MISMATCHED_RANGE otherwise. */
  restore(snapshot: AllocatorSnapshot): void {
    if (this.canonicalRange(snapshot.range) !== this.#names.range) {
      throw new MismatchedRangeError(this.#names.rangeKind, this.#names.range, snapshot.range);
    }
    this.bitmap.loadBytes(new Uint8Array(Buffer.from(snapshot.data, 'base64')));
  }

  /**
   * Resets the state to exactly the given values (those of all stored Services), the repair done
   * at startup. Values outside the range and repeats (compared in canonical form) are reported.
   */
  rebuild(used: Iterable<T>): RebuildReport<T> {
    this.bitmap.clear();
    const report: RebuildReport<T> = { outOfRange: [], duplicates: [] };
    const repeated = new Set<T>();
    for (const value of used) {
      const offset = this.offsetOf(value);
      if (offset === undefined) {
        report.outOfRange.push(value);
      } else if (!this.bitmap.allocate(offset)) {
        const canonical = this.valueAt(offset);
        if (!repeated.has(canonical)) {
          repeated.add(canonical);
          report.duplicates.push(value);
        }
      }
    }
    return report;
  }
}
