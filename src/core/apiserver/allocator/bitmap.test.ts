import { describe, expect, it } from 'vitest';
import { AllocationBitmap } from './bitmap.js';

/** A deterministic random source cycling through the given values. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('AllocationBitmap', () => {
  it('allocates, reports and releases single offsets', () => {
    const bitmap = new AllocationBitmap(70);
    expect(bitmap.allocate(0)).toBe(true);
    expect(bitmap.allocate(31)).toBe(true);
    expect(bitmap.allocate(32)).toBe(true);
    expect(bitmap.allocate(69)).toBe(true);
    expect(bitmap.allocate(31)).toBe(false);
    expect(bitmap.count).toBe(4);
    expect(bitmap.free).toBe(66);
    expect([0, 31, 32, 69, 1, 68].map((o) => bitmap.has(o))).toEqual([true, true, true, true, false, false]);
    bitmap.release(31);
    bitmap.release(31);
    bitmap.release(500);
    expect(bitmap.has(31)).toBe(false);
    expect(bitmap.count).toBe(3);
    const seen: number[] = [];
    bitmap.forEach((o) => {
      seen.push(o);
    });
    expect(seen).toEqual([0, 32, 69]);
    expect(() => bitmap.allocate(70)).toThrow(RangeError);
    expect(() => bitmap.allocate(-1)).toThrow(RangeError);
  });

  it('finds the only free offset across word boundaries from any random start', () => {
    for (const start of [0, 0.2, 0.5, 0.95, 0.999999]) {
      const bitmap = new AllocationBitmap(70, { random: () => start });
      for (let o = 0; o < 70; o++) if (o !== 63) bitmap.allocate(o);
      expect(bitmap.allocateNext()).toBe(63);
      expect(bitmap.allocateNext()).toBeUndefined();
    }
  });

  it('hands out every offset exactly once until full', () => {
    const size = 100;
    const bitmap = new AllocationBitmap(size, { random: sequence(0.9, 0.1, 0.5, 0.33, 0.77) });
    const got = new Set<number>();
    for (let i = 0; i < size; i++) {
      const o = bitmap.allocateNext();
      expect(o).toBeDefined();
      got.add(o!);
    }
    expect(got.size).toBe(size);
    expect(bitmap.allocateNext()).toBeUndefined();
    bitmap.release(42);
    expect(bitmap.allocateNext()).toBe(42);
  });

  it('prefers the upper band and falls back to the lower band above the floor', () => {
    const bitmap = new AllocationBitmap(40, { bandOffset: 8, dynamicFloor: 1, random: () => 0 });
    const order: number[] = [];
    for (;;) {
      const o = bitmap.allocateNext();
      if (o === undefined) break;
      order.push(o);
    }
    // Upper band [8, 40) first, then the lower band [1, 8); offset 0 is never handed out dynamically.
    expect(order).toEqual([...Array.from({ length: 32 }, (_, i) => i + 8), 1, 2, 3, 4, 5, 6, 7]);
    expect(bitmap.has(0)).toBe(false);
    expect(bitmap.allocate(0)).toBe(true);
  });

  const sizes = [0, 1, 7, 8, 31, 32, 33, 64, 100];
  it.each(sizes)('round-trips through bytes (size %i)', (size) => {
    const a = new AllocationBitmap(size);
    for (let o = 0; o < size; o += 3) a.allocate(o);
    const b = new AllocationBitmap(size);
    if (size > 1) b.allocate(1);
    b.loadBytes(a.toBytes());
    expect(b.count).toBe(a.count);
    const listA: number[] = [];
    const listB: number[] = [];
    a.forEach((o) => {
      listA.push(o);
    });
    b.forEach((o) => {
      listB.push(o);
    });
    expect(listB).toEqual(listA);
  });

  it('ignores bits beyond the size when loading bytes', () => {
    const bitmap = new AllocationBitmap(10);
    bitmap.loadBytes(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]));
    expect(bitmap.count).toBe(10);
    expect(bitmap.allocateNext()).toBeUndefined();
  });
});
