/**
 * A fixed-size allocation bitmap over offsets 0..size-1, the store behind both allocators.
 *
 * Dynamic allocation follows upstream's random scan with a static band (KEP-3070 / KEP-3668): the
 * offsets below `bandOffset` are meant for values users ask for explicitly, so a dynamic allocation
 * first picks a random start in the upper band and scans forward (wrapping inside that band) to the
 * first free bit, and only when the upper band is full does the same in the lower band. A scan skips
 * whole 32-bit words that are full, and a running count makes "is it full" O(1).
 */

export interface AllocationBitmapOptions {
  /** Offsets [0, bandOffset) are the static band, used by dynamic allocation only as a fallback. 0 = no band. */
  bandOffset?: number | undefined;
  /** Dynamic allocation never returns an offset below this (a value kept for a fixed owner). Default 0. */
  dynamicFloor?: number | undefined;
  /** Source of randomness in [0, 1); injectable for deterministic tests. Default Math.random. */
  random?: (() => number) | undefined;
}

/** Index of the lowest set bit of a non-zero 32-bit value. */
function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

export class AllocationBitmap {
  readonly size: number;
  readonly bandOffset: number;
  readonly dynamicFloor: number;
  readonly #words: Uint32Array;
  readonly #random: () => number;
  #count = 0;

  constructor(size: number, options: AllocationBitmapOptions = {}) {
    if (!Number.isInteger(size) || size < 0)
      throw new RangeError(`bitmap size must be a non-negative integer, got ${size}`);
    this.size = size;
    this.dynamicFloor = Math.min(Math.max(options.dynamicFloor ?? 0, 0), size);
    this.bandOffset = Math.min(Math.max(options.bandOffset ?? 0, this.dynamicFloor), size);
    this.#words = new Uint32Array(Math.ceil(size / 32));
    this.#random = options.random ?? Math.random;
  }

  /** Number of set bits. */
  get count(): number {
    return this.#count;
  }

  /** Number of free offsets (including a reserved floor that dynamic allocation skips). */
  get free(): number {
    return this.size - this.#count;
  }

  /** True if the offset is set. Out-of-range offsets are never set. */
  has(offset: number): boolean {
    if (!this.#inRange(offset)) return false;
    return (this.#words[offset >>> 5]! & (1 << (offset & 31))) !== 0;
  }

  /** Sets the offset; false if it was already set. Throws RangeError for an offset outside the bitmap. */
  allocate(offset: number): boolean {
    if (!this.#inRange(offset)) throw new RangeError(`offset ${offset} outside bitmap of size ${this.size}`);
    const w = offset >>> 5;
    const bit = 1 << (offset & 31);
    const word = this.#words[w]!;
    if ((word & bit) !== 0) return false;
    this.#words[w] = word | bit;
    this.#count++;
    return true;
  }

  /** Clears the offset; a no-op for a free or out-of-range offset. */
  release(offset: number): void {
    if (!this.#inRange(offset)) return;
    const w = offset >>> 5;
    const bit = 1 << (offset & 31);
    const word = this.#words[w]!;
    if ((word & bit) === 0) return;
    this.#words[w] = word & ~bit;
    this.#count--;
  }

  /** Sets and returns a free offset chosen as described above, or undefined if none is left. */
  allocateNext(): number | undefined {
    if (this.#count >= this.size) return undefined;
    const offset =
      this.#randomScan(this.bandOffset, this.size) ?? this.#randomScan(this.dynamicFloor, this.bandOffset);
    if (offset !== undefined) this.allocate(offset);
    return offset;
  }

  /** Calls fn for every set offset in increasing order. */
  forEach(fn: (offset: number) => void): void {
    for (let w = 0; w < this.#words.length; w++) {
      let word = this.#words[w]!;
      while (word !== 0) {
        const bit = lowestBit(word);
        fn((w << 5) + bit);
        word &= word - 1;
      }
    }
  }

  /** Clears every offset. */
  clear(): void {
    this.#words.fill(0);
    this.#count = 0;
  }

  /** The bitmap as bytes (bit i of the range is bit i%8 of byte i/8). */
  toBytes(): Uint8Array {
    const bytes = new Uint8Array(Math.ceil(this.size / 8));
    for (let i = 0; i < bytes.length; i++) bytes[i] = (this.#words[i >>> 2]! >>> ((i & 3) * 8)) & 0xff;
    return bytes;
  }

  /** Replaces the content with bytes from toBytes(); bits beyond the size are ignored. */
  loadBytes(bytes: Uint8Array): void {
    this.clear();
    for (let i = 0; i < bytes.length && i * 8 < this.size; i++) {
      this.#words[i >>> 2] = this.#words[i >>> 2]! | (bytes[i]! << ((i & 3) * 8));
    }
    const tail = this.size & 31;
    if (tail !== 0 && this.#words.length > 0) {
      const last = this.#words.length - 1;
      this.#words[last] = this.#words[last]! & ((1 << tail) - 1);
    }
    let count = 0;
    for (const word of this.#words) count += popcount(word);
    this.#count = count;
  }

  #inRange(offset: number): boolean {
    return Number.isInteger(offset) && offset >= 0 && offset < this.size;
  }

  /** A free offset in [lo, hi): from a random start forward, wrapping to lo; undefined if none. */
  #randomScan(lo: number, hi: number): number | undefined {
    if (hi <= lo) return undefined;
    const start = lo + Math.min(Math.floor(this.#random() * (hi - lo)), hi - lo - 1);
    return this.#firstFree(start, hi) ?? this.#firstFree(lo, start);
  }

  /** The first free offset in [from, to), skipping full words; undefined if none. */
  #firstFree(from: number, to: number): number | undefined {
    let i = from;
    while (i < to) {
      const w = i >>> 5;
      const free = ~this.#words[w]! & (-1 << (i & 31));
      if (free !== 0) {
        const offset = (w << 5) + lowestBit(free);
        return offset < to ? offset : undefined;
      }
      i = (w + 1) << 5;
    }
    return undefined;
  }
}
