/**
 * Field paths and field sets as server-side apply tracks them (sigs.k8s.io/structured-merge-diff),
 * with the FieldsV1 JSON encoding upstream stores in `metadata.managedFields`.
 *
 * A path element is kept in its FieldsV1 spelling, which is canonical (key fields sorted, values as
 * compact JSON with sorted object keys), so it doubles as a map key:
 *   `f:<name>`  a struct field or map key
 *   `k:<json>`  an associative-list item, by its key fields (`k:{"name":"web"}`)
 *   `v:<json>`  a set-list item, by its value (`v:"example.com/finalizer"`)
 *   `i:<n>`     a list item by index (only read from FieldsV1; never produced here)
 * A set is a trie: each node may be a member (the node itself is in the set, written `.` when the
 * node also has children) and may have children.
 */

import { fieldMeta, hasSchema, type ListMeta } from './patch-meta.js';

/** One element of a field path, in its FieldsV1 spelling (`f:spec`, `k:{"name":"web"}`). */
export type PathElement = string;
/** A field path from the object root. */
export type FieldPath = readonly PathElement[];

/** Errors of decoding FieldsV1 and path elements. */
export class FieldPathError extends Error {
  readonly code = 'InvalidFieldPath';
  /** The text that did not decode. */
  readonly value: string;
  constructor(message: string, value: string) {
    super(message);
    this.name = 'FieldPathError';
    this.value = value;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON values: canonical text, ordering, equality

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Whether `v` is a JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Compact JSON with object keys sorted, so equal values have equal text. */
export function canonicalJson(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) return `{${canonicalMembers(v, Object.keys(v).sort(compareStrings))}}`;
  return JSON.stringify(v ?? null);
}

/** `"k":<canonical value>` for each of `sortedKeys` whose value in `v` is not undefined, comma-separated. */
function canonicalMembers(v: Record<string, unknown>, sortedKeys: readonly string[]): string {
  let out = '';
  for (const k of sortedKeys) {
    const x = v[k];
    if (x === undefined) continue;
    if (out !== '') out += ',';
    out += `${JSON.stringify(k)}:${canonicalJson(x)}`;
  }
  return out;
}

/** Byte-wise string order (Go's strings.Compare) for the ASCII names Kubernetes uses. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Deep equality of JSON values; `undefined` members count as absent. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

function typeRank(v: unknown): number {
  // upstream orders values: numbers, strings, booleans, lists, maps, null
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (isObject(v)) return 4;
  return 5;
}

/** Total order over JSON values, the order upstream sorts set items and key values in. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compareValues(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).sort(compareStrings);
    const kb = Object.keys(b).sort(compareStrings);
    for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
      const c = compareStrings(ka[i]!, kb[i]!) || compareValues(a[ka[i]!], b[kb[i]!]);
      if (c !== 0) return c;
    }
    return ka.length - kb.length;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Path elements

/** The element naming struct field or map key `name`. */
export function fieldElement(name: string): PathElement {
  return `f:${name}`;
}

/** The element naming the associative-list item whose key fields are `key`. */
export function keyElement(key: Record<string, unknown>): PathElement {
  return `k:${canonicalJson(key)}`;
}

/** The element naming the set-list item `value`. */
export function valueElement(value: unknown): PathElement {
  return `v:${canonicalJson(value)}`;
}

/** The element naming list item `index` (atomic lists never get one; kept for decoding). */
export function indexElement(index: number): PathElement {
  return `i:${index}`;
}

type Parsed =
  | { kind: 0; name: string }
  | { kind: 1; key: [string, unknown][] }
  | { kind: 2; value: unknown }
  | { kind: 3; index: number };

const parsedCache = new Map<string, Parsed>();

function parseElement(pe: PathElement): Parsed {
  const hit = parsedCache.get(pe);
  if (hit !== undefined) return hit;
  const body = pe.slice(2);
  let out: Parsed;
  try {
    switch (pe.slice(0, 2)) {
      case 'f:':
        out = { kind: 0, name: body };
        break;
      case 'k:': {
        const obj: unknown = JSON.parse(body);
        if (!isObject(obj)) throw new Error('not an object');
        const key = Object.entries(obj).sort((a, b) => compareStrings(a[0], b[0]));
        out = { kind: 1, key };
        break;
      }
      case 'v:':
        out = { kind: 2, value: JSON.parse(body) as Json };
        break;
      case 'i:': {
        if (!/^\d+$/.test(body)) throw new Error('not an index');
        out = { kind: 3, index: Number(body) };
        break;
      }
      default:
        throw new Error('unknown prefix');
    }
  } catch {
    throw new FieldPathError(`unable to parse path element ${JSON.stringify(pe)}`, pe);
  }
  if (parsedCache.size > 10_000) parsedCache.clear();
  parsedCache.set(pe, out);
  return out;
}

const canonicalCache = new Map<string, PathElement>();

/** Re-spell a decoded element canonically (key fields sorted, compact JSON). */
function canonicalElement(pe: PathElement): PathElement {
  if (pe.startsWith('f:')) return pe;
  const hit = canonicalCache.get(pe);
  if (hit !== undefined) return hit;
  const p = parseElement(pe);
  const out =
    p.kind === 1 ? keyElement(Object.fromEntries(p.key)) : p.kind === 2 ? valueElement(p.value) : pe;
  if (canonicalCache.size > 10_000) canonicalCache.clear();
  canonicalCache.set(pe, out);
  return out;
}

/** Upstream order of path elements: fields, then keys, then values, then indexes. */
export function compareElements(a: PathElement, b: PathElement): number {
  if (a === b) return 0;
  const pa = parseElement(a);
  const pb = parseElement(b);
  if (pa.kind !== pb.kind) return pa.kind - pb.kind;
  if (pa.kind === 0 && pb.kind === 0) return compareStrings(pa.name, pb.name);
  if (pa.kind === 1 && pb.kind === 1) {
    for (let i = 0; i < Math.min(pa.key.length, pb.key.length); i++) {
      const [na, va] = pa.key[i]!;
      const [nb, vb] = pb.key[i]!;
      const c = compareStrings(na, nb) || compareValues(va, vb);
      if (c !== 0) return c;
    }
    return pa.key.length - pb.key.length;
  }
  if (pa.kind === 2 && pb.kind === 2) return compareValues(pa.value, pb.value);
  if (pa.kind === 3 && pb.kind === 3) return pa.index - pb.index;
  return 0;
}

function valueToString(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(valueToString).join(', ')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort(compareStrings);
    return `{${keys.map((k) => `${k}=${valueToString(v[k])}`).join(', ')}}`;
  }
  return String(v ?? null);
}

/** A path as upstream prints it in conflicts: `.spec.template.spec.containers[name="web"].image`. */
export function pathToString(path: FieldPath): string {
  let out = '';
  for (const pe of path) {
    const p = parseElement(pe);
    if (p.kind === 0) out += `.${p.name}`;
    else if (p.kind === 1) out += `[${p.key.map(([k, v]) => `${k}=${valueToString(v)}`).join(',')}]`;
    else if (p.kind === 2) out += `[=${valueToString(p.value)}]`;
    else out += `[${p.index}]`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Field sets
//
// Sets share nodes: an operation's result reuses every subtree of its operands that it keeps
// unchanged, so a small change to a large set costs the path to the change, not a copy. Shared
// nodes are never changed again: a set whose nodes may be shared (see FieldSet.#shared) copies
// them before its first insert.

interface Node {
  member: boolean;
  children: Map<PathElement, Node>;
}

function newNode(): Node {
  return { member: false, children: new Map() };
}

function nodeEmpty(n: Node): boolean {
  return !n.member && n.children.size === 0;
}

function cloneNode(n: Node): Node {
  const children = new Map<PathElement, Node>();
  for (const [pe, c] of n.children) children.set(pe, cloneNode(c));
  return { member: n.member, children };
}

/** `x` itself when `member` and `children` are what it holds, else a new node. */
function nodeOf(x: Node, member: boolean, children: Map<PathElement, Node>): Node {
  return member === x.member && children === x.children ? x : { member, children };
}

/**
 * Merge two child maps with `combine`, dropping children that come out empty. Returns `a` itself
 * when every child of `a` came out as it was and `b` added none.
 */
function combineChildren(
  a: Map<PathElement, Node>,
  b: Map<PathElement, Node>,
  combine: (x: Node | undefined, y: Node | undefined) => Node | undefined,
): Map<PathElement, Node> {
  let out: Map<PathElement, Node> | undefined;
  for (const [pe, x] of a) {
    const r = combine(x, b.get(pe));
    const keep = r !== undefined && !nodeEmpty(r);
    if (out === undefined) {
      if (keep && r === x) continue;
      out = copyUntil(a, pe);
    }
    if (keep) out.set(pe, r);
  }
  for (const [pe, y] of b) {
    if (a.has(pe)) continue;
    const r = combine(undefined, y);
    if (r === undefined || nodeEmpty(r)) continue;
    out ??= new Map(a);
    out.set(pe, r);
  }
  return out ?? a;
}

/** The entries of `m` before key `stop`. */
function copyUntil(m: Map<PathElement, Node>, stop: PathElement): Map<PathElement, Node> {
  const out = new Map<PathElement, Node>();
  for (const [pe, n] of m) {
    if (pe === stop) break;
    out.set(pe, n);
  }
  return out;
}

function unionNodes(x: Node | undefined, y: Node | undefined): Node | undefined {
  if (x === undefined) return y;
  if (y === undefined || x === y) return x;
  return nodeOf(x, x.member || y.member, combineChildren(x.children, y.children, unionNodes));
}

function differenceNodes(x: Node | undefined, y: Node | undefined): Node | undefined {
  if (x === undefined || x === y) return undefined;
  if (y === undefined) return x;
  return nodeOf(x, x.member && !y.member, combineChildren(x.children, y.children, differenceNodes));
}

function intersectNodes(x: Node | undefined, y: Node | undefined): Node | undefined {
  if (x === undefined || y === undefined) return undefined;
  if (x === y) return x;
  return nodeOf(x, x.member && y.member, combineChildren(x.children, y.children, intersectNodes));
}

/** `x`'s children passed through `keep` (undefined drops one), reusing `x.children` when none changed. */
function mapChildren(x: Node, keep: (pe: PathElement, c: Node) => Node | undefined): Map<PathElement, Node> {
  let out: Map<PathElement, Node> | undefined;
  for (const [pe, c] of x.children) {
    const r = keep(pe, c);
    const kept = r !== undefined && !nodeEmpty(r);
    if (out === undefined) {
      if (kept && r === c) continue;
      out = copyUntil(x.children, pe);
    }
    if (kept) out.set(pe, r);
  }
  return out ?? x.children;
}

function recursiveDifferenceNodes(x: Node | undefined, y: Node | undefined): Node | undefined {
  if (x === undefined) return undefined;
  if (y === undefined) return x;
  const children = mapChildren(x, (pe, c) => {
    const other = y.children.get(pe);
    // A member of y excludes its whole subtree.
    return other?.member ? undefined : recursiveDifferenceNodes(c, other);
  });
  return nodeOf(x, x.member && !y.member, children);
}

function recursiveIntersectNodes(x: Node | undefined, y: Node | undefined): Node | undefined {
  if (x === undefined || y === undefined) return undefined;
  const children = mapChildren(x, (pe, c) => {
    const other = y.children.get(pe);
    if (other === undefined) return undefined;
    return other.member ? c : recursiveIntersectNodes(c, other);
  });
  return nodeOf(x, x.member && y.member, children);
}

function equalNodes(x: Node, y: Node): boolean {
  if (x === y) return true;
  if (x.member !== y.member || x.children.size !== y.children.size) return false;
  for (const [pe, c] of x.children) {
    const o = y.children.get(pe);
    if (o === undefined || !equalNodes(c, o)) return false;
  }
  return true;
}

/** Upstream element order; field names (the common case) compare as plain strings. */
function elementOrder(a: PathElement, b: PathElement): number {
  if (a.startsWith('f:') && b.startsWith('f:')) return compareStrings(a, b);
  return compareElements(a, b);
}

function sortedElements(m: Map<PathElement, Node>): PathElement[] {
  const out = [...m.keys()];
  if (out.length > 1) out.sort(elementOrder);
  return out;
}

/** FieldsV1 value of `n`'s contents; `self` adds `.` when `n` is both a member and a parent. */
function encodeNode(n: Node, self: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (self && n.member && n.children.size > 0) out['.'] = {};
  for (const pe of sortedElements(n.children)) {
    const c = n.children.get(pe)!;
    out[pe] = c.children.size === 0 ? {} : encodeNode(c, true);
  }
  return out;
}

/**
 * Decodes FieldsV1 `json` into `n` (`at`: the keys above it, for errors). Returns whether `json` is
 * exactly what encodeNode(n, self) writes back (keys canonical, in order, `.` only where needed).
 */
function decodeInto(n: Node, json: unknown, self: boolean, at: string[]): boolean {
  if (!isObject(json)) {
    const where = at.map((k) => `${k}/`).join('');
    throw new FieldPathError(`FieldsV1 at ${where || 'root'} is not a JSON object`, where);
  }
  const keys = Object.keys(json);
  let canonical = true;
  let previous: PathElement | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = json[k];
    if (k === '.') {
      n.member = true;
      if (!self || i !== 0 || keys.length === 1 || !isEmptyObject(v)) canonical = false;
      continue;
    }
    const pe = canonicalElement(k);
    if (pe !== k || (previous !== undefined && elementOrder(previous, pe) >= 0)) canonical = false;
    previous = pe;
    let c = n.children.get(pe);
    if (c === undefined) {
      c = newNode();
      n.children.set(pe, c);
    }
    if (isEmptyObject(v)) c.member = true;
    else {
      at.push(k);
      if (!decodeInto(c, v, true, at)) canonical = false;
      at.pop();
    }
    if (nodeEmpty(c)) {
      n.children.delete(pe);
      canonical = false;
    }
  }
  return canonical;
}

function isEmptyObject(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const _ in v) return false;
  return true;
}

/**
 * The FieldsV1 objects that decoded sets came from, when encoding would write them back as they
 * are: a set a write leaves alone (an operation that changes nothing returns the same root) then
 * encodes for free. Such roots are shared (never changed in place), so the entry stays true.
 */
const encodedRoots = new WeakMap<Node, Record<string, unknown>>();

/** A set of field paths (a trie), with the set operations server-side apply uses. */
export class FieldSet {
  #root: Node;
  /** Whether other sets may hold #root's nodes: they are then never changed, insert copies first. */
  #shared = false;

  constructor() {
    this.#root = newNode();
  }

  /** A set over `root`, whose nodes other sets may hold. */
  static #sharing(root: Node | undefined): FieldSet {
    const s = new FieldSet();
    if (root !== undefined) s.#root = root;
    s.#shared = true;
    return s;
  }

  /** A set holding `paths`. */
  static of(paths: Iterable<FieldPath>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** Decode a FieldsV1 JSON object (as stored in `managedFields[].fieldsV1`). */
  static fromFieldsV1(json: unknown): FieldSet {
    const s = new FieldSet();
    if (decodeInto(s.#root, json, false, [])) {
      encodedRoots.set(s.#root, json as Record<string, unknown>);
      s.#shared = true;
    }
    return s;
  }

  /** Add `path` as a member. The empty path (the root) is never a member. */
  insert(path: FieldPath): this {
    if (path.length === 0) return this;
    if (this.#shared) {
      this.#root = cloneNode(this.#root);
      this.#shared = false;
    }
    let n = this.#root;
    for (const pe of path) {
      let c = n.children.get(pe);
      if (c === undefined) {
        c = newNode();
        n.children.set(pe, c);
      }
      n = c;
    }
    n.member = true;
    return this;
  }

  /** Whether `path` is a member. */
  has(path: FieldPath): boolean {
    const n = this.#find(path);
    return n?.member === true && path.length > 0;
  }

  /** The subset below element `pe` (paths relative to it), or undefined when there is none. */
  child(pe: PathElement): FieldSet | undefined {
    const c = this.#root.children.get(pe);
    if (c === undefined || c.children.size === 0) return undefined;
    this.#shared = true;
    return FieldSet.#sharing(c);
  }

  /** Whether `pe` (relative to this set's root) is a member. */
  hasElement(pe: PathElement): boolean {
    return this.#root.children.get(pe)?.member === true;
  }

  #find(path: FieldPath): Node | undefined {
    let n: Node | undefined = this.#root;
    for (const pe of path) {
      n = n.children.get(pe);
      if (n === undefined) return undefined;
    }
    return n;
  }

  /** Whether the set holds no path. */
  isEmpty(): boolean {
    return this.#root.children.size === 0;
  }

  /** The result of an operation with `other`, which may hold nodes of both. */
  #combined(other: FieldSet, root: Node | undefined): FieldSet {
    this.#shared = true;
    other.#shared = true;
    return FieldSet.#sharing(root);
  }

  /** Paths in either set. */
  union(other: FieldSet): FieldSet {
    return this.#combined(other, unionNodes(this.#root, other.#root));
  }

  /** Paths of this set that are not members of `other` (children of a removed member stay). */
  difference(other: FieldSet): FieldSet {
    return this.#combined(other, differenceNodes(this.#root, other.#root));
  }

  /** Paths in both sets. */
  intersection(other: FieldSet): FieldSet {
    return this.#combined(other, intersectNodes(this.#root, other.#root));
  }

  /** Paths of this set that neither are, nor lie below, a member of `other`. */
  recursiveDifference(other: FieldSet): FieldSet {
    return this.#combined(other, recursiveDifferenceNodes(this.#root, other.#root));
  }

  /** Paths of this set that are, or lie below, a member of `other`. */
  recursiveIntersection(other: FieldSet): FieldSet {
    return this.#combined(other, recursiveIntersectNodes(this.#root, other.#root));
  }

  /**
   * This set with every field (`f:`) node that has children also made a member, the way upstream
   * protects named struct fields when pruning. Without a full schema, every `f:` counts as named.
   */
  ensureNamedFieldsAreMembers(): FieldSet {
    const walk = (n: Node): Node => {
      const out: Node = { member: n.member, children: new Map() };
      for (const [pe, c] of n.children) {
        const cc = walk(c);
        if (pe.startsWith('f:') && cc.children.size > 0) cc.member = true;
        out.children.set(pe, cc);
      }
      return out;
    };
    const out = new FieldSet();
    out.#root = walk(this.#root);
    return out;
  }

  /** Whether both sets hold the same paths. */
  equals(other: FieldSet): boolean {
    return equalNodes(this.#root, other.#root);
  }

  /** Members in upstream iteration order: a node's members (sorted), then its children, depth first. */
  paths(): FieldPath[] {
    const out: FieldPath[] = [];
    const walk = (n: Node, prefix: PathElement[]): void => {
      const pes = sortedElements(n.children);
      for (const pe of pes) if (n.children.get(pe)!.member) out.push([...prefix, pe]);
      for (const pe of pes) {
        const c = n.children.get(pe)!;
        if (c.children.size > 0) walk(c, [...prefix, pe]);
      }
    };
    walk(this.#root, []);
    return out;
  }

  /** Number of members. */
  get size(): number {
    let count = 0;
    const walk = (n: Node): void => {
      for (const c of n.children.values()) {
        if (c.member) count++;
        walk(c);
      }
    };
    walk(this.#root);
    return count;
  }

  /**
   * The FieldsV1 JSON object of this set, keys in upstream order. For a set decoded from
   * canonical FieldsV1 and not changed since, that very object (callers do not change it).
   */
  toFieldsV1(): Record<string, unknown> {
    return encodedRoots.get(this.#root) ?? encodeNode(this.#root, false);
  }
}

// ---------------------------------------------------------------------------------------------
// Schema: how each field merges

/** What server-side apply needs to know about an object's fields. */
export interface FieldSchema {
  /** List metadata of the list at `names` (property names, no indexes); undefined: atomic list. */
  list(names: readonly string[]): ListMeta | undefined;
  /** Whether the map at `names` is atomic: owned and replaced as one value. */
  atomicMap(names: readonly string[]): boolean;
}

/** Field names whose struct type upstream marks `+structType=atomic` (or `+mapType=atomic`). */
const ATOMIC_ANYWHERE = new Set([
  'labelSelector',
  'namespaceSelector',
  'podSelector',
  'nodeSelector',
  'fieldRef',
  'resourceFieldRef',
  'configMapKeyRef',
  'secretKeyRef',
  'secretRef',
  'dataSource',
  'involvedObject',
  'claimRef',
]);

/** Kinds whose `spec.selector` is a LabelSelector (atomic), not a map of labels (Service, RC). */
const LABEL_SELECTOR_KINDS = new Set([
  'apps/v1/Deployment',
  'apps/v1/ReplicaSet',
  'apps/v1/DaemonSet',
  'apps/v1/StatefulSet',
  'batch/v1/Job',
  'policy/v1/PodDisruptionBudget',
  'batch/v1/CronJob',
]);

/** The schema of built-in kind `apiVersion`/`kind` (unknown kinds: all maps granular, all lists atomic). */
export function schemaFor(apiVersion: string, kind: string): FieldSchema {
  const gvk = `${apiVersion}/${kind}`;
  const labelSelectorKind = LABEL_SELECTOR_KINDS.has(gvk);
  const builtin = labelSelectorKind || hasSchema(apiVersion, kind);
  return {
    list: (names) => fieldMeta(apiVersion, kind, names),
    atomicMap(names) {
      if (!builtin) return false;
      const last = names[names.length - 1];
      if (last === undefined) return false;
      if (last === 'selector') {
        const n = names.length;
        return (
          (labelSelectorKind && n === 2 && names[0] === 'spec') ||
          (kind === 'CronJob' && n === 4 && names[1] === 'jobTemplate')
        );
      }
      return ATOMIC_ANYWHERE.has(last);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Walking objects

/** How a value merges and is tracked. */
export type Shape =
  | { type: 'leaf' }
  | { type: 'map' }
  | { type: 'associative'; keys: readonly string[] }
  | { type: 'set' };

/** Key fields upstream's schema defaults when an item omits them (so `ports` items still match). */
const KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' };

/** The shape of value `v` found at `names`. */
export function shapeOf(schema: FieldSchema, names: readonly string[], v: unknown): Shape {
  if (Array.isArray(v)) {
    const meta = schema.list(names);
    if (meta?.listType === 'map' && meta.mapKeys !== undefined && meta.mapKeys.length > 0) {
      return { type: 'associative', keys: meta.mapKeys };
    }
    if (meta?.listType === 'set') return { type: 'set' };
    return { type: 'leaf' };
  }
  if (isObject(v)) return schema.atomicMap(names) ? { type: 'leaf' } : { type: 'map' };
  return { type: 'leaf' };
}

const sortedKeyLists = new WeakMap<readonly string[], readonly string[]>();

/** `keys` in canonicalJson's order (schema key lists are few and frozen: kept per list). */
function sortedKeys(keys: readonly string[]): readonly string[] {
  let out = sortedKeyLists.get(keys);
  if (out === undefined) {
    out = [...keys].sort(compareStrings);
    sortedKeyLists.set(keys, out);
  }
  return out;
}

/** The path element of list item `item` at `index` in a list of `shape`. */
export function itemElement(shape: Shape, item: unknown, index: number): PathElement {
  if (shape.type === 'set') return valueElement(item);
  if (shape.type === 'associative' && isObject(item)) {
    // keyElement of the item's key fields, spelled without building the key object.
    const key: Record<string, unknown> = {};
    for (const k of shape.keys) {
      const v = item[k] ?? KEY_DEFAULTS[k];
      if (v !== undefined && v !== null) key[k] = v;
    }
    const members = canonicalMembers(key, sortedKeys(shape.keys));
    if (members !== '') return `k:{${members}}`;
  }
  return indexElement(index);
}

/**
 * The set of fields object `obj` specifies, as upstream's ToFieldSet computes it: scalars, atomic
 * lists and atomic maps are leaves; empty maps and nulls are leaves; maps recurse without being
 * members themselves; every list item is a member and recurses.
 */
export function fieldSetFromObject(obj: unknown, schema: FieldSchema): FieldSet {
  const set = new FieldSet();
  const walk = (v: unknown, path: PathElement[], names: string[]): void => {
    const shape = shapeOf(schema, names, v);
    if (shape.type === 'leaf') {
      set.insert(path);
      return;
    }
    if (shape.type === 'map') {
      const m = v as Record<string, unknown>;
      const keys = Object.keys(m).filter((k) => m[k] !== undefined);
      if (keys.length === 0) set.insert(path);
      for (const k of keys) {
        const child = m[k];
        const p = [...path, fieldElement(k)];
        if (child === null) set.insert(p);
        else walk(child, p, [...names, k]);
      }
      return;
    }
    (v as unknown[]).forEach((item, i) => {
      const p = [...path, itemElement(shape, item, i)];
      set.insert(p);
      if (shape.type === 'associative' && item !== null) walk(item, p, names);
    });
  };
  if (isObject(obj)) walk(obj, [], []);
  return set;
}

/**
 * `v` without the fields `set` names: a member removes the whole node (map entry or list item),
 * children recurse. Returns a copy; `v` is not changed.
 */
export function removeFields(v: unknown, set: FieldSet, schema: FieldSchema): unknown {
  const walk = (x: unknown, s: FieldSet, names: string[]): unknown => {
    const shape = shapeOf(schema, names, x);
    if (shape.type === 'leaf') return x;
    if (shape.type === 'map') {
      const m = x as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, child] of Object.entries(m)) {
        const pe = fieldElement(k);
        if (s.hasElement(pe)) continue;
        const sub = s.child(pe);
        out[k] = sub === undefined ? child : walk(child, sub, [...names, k]);
      }
      return out;
    }
    const out: unknown[] = [];
    (x as unknown[]).forEach((item, i) => {
      const pe = itemElement(shape, item, i);
      if (s.hasElement(pe)) return;
      const sub = s.child(pe);
      out.push(sub === undefined || shape.type === 'set' ? item : walk(item, sub, names));
    });
    return out;
  };
  return set.isEmpty() ? v : walk(v, set, []);
}
