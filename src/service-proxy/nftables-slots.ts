/**
 * Slot ranges in the sharded endpoint maps of nftables mode (nftables-render.ts): a policy chain
 * without session affinity picks its endpoint with `numgen random mod N offset OFF map @endpoints-S`,
 * so it owns slots OFF..OFF+N-1 of shard S. Invariant: the ranges of one shard never overlap, so a
 * map element belongs to exactly one chain and a chain's endpoints can be rewritten element by
 * element without touching any other chain.
 *
 * A range holds a power of two of slots (its capacity), so a count change within the capacity keeps
 * the offset; a freed range goes back to the free list of its capacity and is reused first. Used
 * from the sync loop only.
 */

/** One chain's range: `cap` slots from `offset` in shard `shard`. */
export interface SlotRange {
  readonly shard: number;
  readonly offset: number;
  readonly cap: number;
}

/** Slots a range of `n` endpoints reserves: the next power of two. */
export function slotCapacity(n: number): number {
  let c = 1;
  while (c < n) c *= 2;
  return c;
}

/** Allocates non-overlapping slot ranges per shard. */
export class SlotAllocator {
  /** Per shard: the next never-used slot. */
  private readonly next: number[];
  /** Per shard: capacity -> offsets of free ranges of that capacity. */
  private readonly free: Map<number, number[]>[];

  constructor(shards: number) {
    this.next = new Array<number>(shards).fill(0);
    this.free = Array.from({ length: shards }, () => new Map());
  }

  /** A range of capacity slotCapacity(n) in `shard`: a freed one of that capacity, else fresh slots. */
  alloc(shard: number, n: number): SlotRange {
    const cap = slotCapacity(n);
    const offset = this.free[shard]!.get(cap)?.pop() ?? this.bump(shard, cap);
    return { shard, offset, cap };
  }

  /** Give a range back (its elements must be deleted in the same transaction as its rule). */
  release(r: SlotRange): void {
    const f = this.free[r.shard]!;
    let list = f.get(r.cap);
    if (!list) f.set(r.cap, (list = []));
    list.push(r.offset);
  }

  /** The highest slot ever handed out in any shard, plus one (slot numbers are 32-bit in the kernel). */
  high(): number {
    return Math.max(0, ...this.next);
  }

  private bump(shard: number, cap: number): number {
    const offset = this.next[shard]!;
    this.next[shard] = offset + cap;
    return offset;
  }
}
