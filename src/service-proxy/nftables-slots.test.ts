/**
 * The endpoint map slot allocator: ranges of one shard never overlap, capacities are powers of two,
 * freed ranges are reused by the next range of the same capacity, shards are independent.
 */
import { describe, expect, it } from 'vitest';
import { SlotAllocator, type SlotRange, slotCapacity } from './nftables-slots.js';

const overlaps = (a: SlotRange, b: SlotRange) =>
  a.shard === b.shard && a.offset < b.offset + b.cap && b.offset < a.offset + a.cap;

describe('SlotAllocator', () => {
  it.each([
    [0, 1],
    [1, 1],
    [2, 2],
    [3, 4],
    [10, 16],
    [16, 16],
    [17, 32],
  ])('%i endpoints reserve %i slots', (n, cap) => {
    expect(slotCapacity(n)).toBe(cap);
  });

  it('hands out disjoint ranges per shard, and shards are independent', () => {
    const a = new SlotAllocator(2);
    const r = [a.alloc(0, 3), a.alloc(0, 10), a.alloc(0, 1), a.alloc(1, 5)];
    expect(r).toEqual([
      { shard: 0, offset: 0, cap: 4 },
      { shard: 0, offset: 4, cap: 16 },
      { shard: 0, offset: 20, cap: 1 },
      { shard: 1, offset: 0, cap: 8 },
    ]);
    expect(a.high()).toBe(21);
  });

  it('a freed range is reused by the next range of its capacity, never by another capacity', () => {
    const a = new SlotAllocator(1);
    const x = a.alloc(0, 3);
    const y = a.alloc(0, 3);
    a.release(x);
    const z = a.alloc(0, 8);
    expect(z.offset).toBe(8);
    expect(a.alloc(0, 4)).toEqual(x);
    expect(overlaps(z, y)).toBe(false);
  });

  it('random churn: live ranges never overlap (seeded)', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const a = new SlotAllocator(3);
    const live: SlotRange[] = [];
    for (let step = 0; step < 2000; step++) {
      if (live.length > 0 && rnd() < 0.45) a.release(live.splice(Math.floor(rnd() * live.length), 1)[0]!);
      else live.push(a.alloc(Math.floor(rnd() * 3), 1 + Math.floor(rnd() * 40)));
      const last = live.at(-1);
      if (last) for (const o of live) if (o !== last) expect(overlaps(o, last)).toBe(false);
    }
    // Reuse keeps the slot space near the live total: far below 2000 fresh ranges of up to 64.
    expect(a.high()).toBeLessThan(4000);
  });
});
