/**
 * An immutable string-keyed map with structural sharing (a hash array mapped trie, 32-way):
 * `set` and `delete` return a new map that shares every untouched branch with the old one, at a
 * cost of O(log32 n) copied nodes, so the DNS index can produce its next version in time
 * proportional to the names that changed, not to the zone. Old versions stay valid and unchanged.
 */

const BITS = 5;
const MASK = 31;
/** Below this depth the 32-bit hash is used up: keys with the same hash share a collision node. */
const MAX_SHIFT = 30;

interface Leaf<V> {
  readonly kind: 0;
  readonly hash: number;
  readonly key: string;
  readonly value: V;
}
interface Branch<V> {
  readonly kind: 1;
  readonly bitmap: number;
  readonly children: readonly Entry<V>[];
}
interface Collision<V> {
  readonly kind: 2;
  readonly hash: number;
  readonly leaves: readonly Leaf<V>[];
}
type Entry<V> = Leaf<V> | Branch<V> | Collision<V>;

const EMPTY_BRANCH: Branch<never> = { kind: 1, bitmap: 0, children: [] };

/** FNV-1a over the UTF-16 code units (index keys are Latin-1 wire names). */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** An immutable map; every update returns a new one. */
export class PersistentMap<V> {
  readonly size: number;
  private readonly root: Branch<V>;

  private constructor(root: Branch<V>, size: number) {
    this.root = root;
    this.size = size;
  }

  static empty<V>(): PersistentMap<V> {
    return new PersistentMap<V>(EMPTY_BRANCH, 0);
  }

  /** A map of these entries, built in one pass (O(n), no path copying; later keys win). */
  static from<V>(entries: Iterable<readonly [string, V]>): PersistentMap<V> {
    const unique = new Map<string, V>(entries);
    const leaves: Leaf<V>[] = [];
    for (const [key, value] of unique) leaves.push({ kind: 0, hash: hashKey(key), key, value });
    return new PersistentMap(leaves.length ? bulk(leaves, 0) : (EMPTY_BRANCH as Branch<V>), leaves.length);
  }

  /** `hash`: hashKey(key), when the caller has it already (the DNS hot path computes it while parsing). */
  get(key: string, hash: number = hashKey(key)): V | undefined {
    let node: Entry<V> = this.root;
    let shift = 0;
    for (;;) {
      if (node.kind === 1) {
        const bit = 1 << ((hash >>> shift) & MASK);
        if ((node.bitmap & bit) === 0) return undefined;
        node = node.children[popcount(node.bitmap & (bit - 1))]!;
        shift += BITS;
      } else if (node.kind === 0) {
        return node.key === key ? node.value : undefined;
      } else {
        for (const l of node.leaves) if (l.key === key) return l.value;
        return undefined;
      }
    }
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** A map with `key` bound to `value` (this map when the value is already there). */
  set(key: string, value: V): PersistentMap<V> {
    const leaf: Leaf<V> = { kind: 0, hash: hashKey(key), key, value };
    const added = { n: 0 };
    const root = insert(this.root, leaf, 0, added) as Branch<V>;
    return root === this.root ? this : new PersistentMap(root, this.size + added.n);
  }

  /** A map without `key` (this map when it is absent). */
  delete(key: string): PersistentMap<V> {
    const root = remove(this.root, hashKey(key), key, 0);
    if (root === this.root) return this;
    return new PersistentMap((root as Branch<V> | undefined) ?? (EMPTY_BRANCH as Branch<V>), this.size - 1);
  }

  *entries(): IterableIterator<[string, V]> {
    yield* walk(this.root);
  }

  keys(): string[] {
    return [...this.entries()].map(([k]) => k);
  }
}

/**
 * Many edits to one map: path copying when they are few, one bulk rebuild (`from`) when they
 * touch a good part of it (a first build, a resync), where path copying would cost more.
 */
export class MapEditor<V> {
  private map: PersistentMap<V>;
  private readonly mutable: Map<string, V> | undefined;

  constructor(base: PersistentMap<V>, opts: { expectedEdits: number }) {
    this.map = base;
    this.mutable = opts.expectedEdits > base.size / 4 ? new Map(base.entries()) : undefined;
  }

  get(key: string): V | undefined {
    return this.mutable ? this.mutable.get(key) : this.map.get(key);
  }

  set(key: string, value: V): void {
    if (this.mutable) this.mutable.set(key, value);
    else this.map = this.map.set(key, value);
  }

  delete(key: string): void {
    if (this.mutable) this.mutable.delete(key);
    else this.map = this.map.delete(key);
  }

  done(): PersistentMap<V> {
    return this.mutable ? PersistentMap.from(this.mutable) : this.map;
  }
}

/** A branch over leaves that share the hash bits above `shift`. */
function bulk<V>(leaves: readonly Leaf<V>[], shift: number): Branch<V> {
  const buckets: Leaf<V>[][] = [];
  for (const l of leaves) (buckets[(l.hash >>> shift) & MASK] ??= []).push(l);
  let bitmap = 0;
  const children: Entry<V>[] = [];
  for (let i = 0; i < 32; i++) {
    const b = buckets[i];
    if (!b) continue;
    bitmap |= 1 << i;
    if (b.length === 1) children.push(b[0]!);
    else if (b.every((l) => l.hash === b[0]!.hash)) children.push({ kind: 2, hash: b[0]!.hash, leaves: b });
    else children.push(bulk(b, shift + BITS));
  }
  return { kind: 1, bitmap, children };
}

function* walk<V>(e: Entry<V>): IterableIterator<[string, V]> {
  if (e.kind === 0) yield [e.key, e.value];
  else if (e.kind === 2) for (const l of e.leaves) yield [l.key, l.value];
  else for (const c of e.children) yield* walk(c);
}

function insert<V>(node: Entry<V>, leaf: Leaf<V>, shift: number, added: { n: number }): Entry<V> {
  if (node.kind === 1) {
    const bit = 1 << ((leaf.hash >>> shift) & MASK);
    const i = popcount(node.bitmap & (bit - 1));
    if ((node.bitmap & bit) === 0) {
      added.n = 1;
      const children = node.children.slice();
      children.splice(i, 0, leaf);
      return { kind: 1, bitmap: node.bitmap | bit, children };
    }
    const child = node.children[i]!;
    const next = insert(child, leaf, shift + BITS, added);
    if (next === child) return node;
    const children = node.children.slice();
    children[i] = next;
    return { kind: 1, bitmap: node.bitmap, children };
  }
  if (node.kind === 0) {
    if (node.key === leaf.key) return node.value === leaf.value ? node : leaf;
    added.n = 1;
    return merge(node, leaf, shift);
  }
  // Collision node: the same full hash.
  if (node.hash !== leaf.hash) {
    added.n = 1;
    return merge(node, leaf, shift);
  }
  const at = node.leaves.findIndex((l) => l.key === leaf.key);
  if (at >= 0 && node.leaves[at]!.value === leaf.value) return node;
  const leaves = node.leaves.slice();
  if (at >= 0) leaves[at] = leaf;
  else {
    added.n = 1;
    leaves.push(leaf);
  }
  return { kind: 2, hash: node.hash, leaves };
}

/** A branch holding two entries with different keys that met at `shift`. */
function merge<V>(a: Leaf<V> | Collision<V>, b: Leaf<V>, shift: number): Entry<V> {
  if (shift > MAX_SHIFT || a.hash === b.hash) {
    if (a.kind === 2) return { kind: 2, hash: a.hash, leaves: [...a.leaves, b] };
    return { kind: 2, hash: a.hash, leaves: [a, b] };
  }
  const ia = (a.hash >>> shift) & MASK;
  const ib = (b.hash >>> shift) & MASK;
  if (ia === ib) return { kind: 1, bitmap: 1 << ia, children: [merge(a, b, shift + BITS)] };
  const children = ia < ib ? [a, b] : [b, a];
  return { kind: 1, bitmap: (1 << ia) | (1 << ib), children };
}

/** The entry without `key`: the same entry when absent, undefined when nothing is left. */
function remove<V>(node: Entry<V>, hash: number, key: string, shift: number): Entry<V> | undefined {
  if (node.kind === 0) return node.key === key ? undefined : node;
  if (node.kind === 2) {
    const leaves = node.leaves.filter((l) => l.key !== key);
    if (leaves.length === node.leaves.length) return node;
    return leaves.length === 1 ? leaves[0] : { kind: 2, hash: node.hash, leaves };
  }
  const bit = 1 << ((hash >>> shift) & MASK);
  if ((node.bitmap & bit) === 0) return node;
  const i = popcount(node.bitmap & (bit - 1));
  const child = node.children[i]!;
  const next = remove(child, hash, key, shift + BITS);
  if (next === child) return node;
  if (next === undefined) {
    const bitmap = node.bitmap & ~bit;
    if (bitmap === 0) return undefined;
    const children = node.children.slice();
    children.splice(i, 1);
    // A branch left with one leaf collapses into it (the root stays a branch: see delete()).
    if (children.length === 1 && children[0]!.kind !== 1 && shift > 0) return children[0];
    return { kind: 1, bitmap, children };
  }
  // A leaf or collision bubbling up replaces a branch that held only it.
  if (next.kind !== 1 && node.children.length === 1 && shift > 0) return next;
  const children = node.children.slice();
  children[i] = next;
  return { kind: 1, bitmap: node.bitmap, children };
}
