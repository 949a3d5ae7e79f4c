/**
 * Strategic merge patch, the `application/strategic-merge-patch+json` patch type that
 * `kubectl apply` (client side), `kubectl patch` and `kubectl edit` send for built-in kinds.
 *
 * Semantics follow apimachinery's strategicpatch package as the API server runs it (parallel
 * lists merged, unmatched nulls ignored):
 * - maps merge recursively; `null` deletes a member;
 * - lists whose field has patch strategy `merge` merge: lists of maps by their merge key (a patch
 *   entry updates the entry with the same key or is appended), lists of scalars as a union;
 *   other lists are replaced whole;
 * - directives: `$patch: replace|delete` in a map, `{$patch: delete, <key>: v}` and
 *   `{$patch: replace}` in a list, `$retainKeys`, `$deleteFromPrimitiveList/<field>` and
 *   `$setElementOrder/<field>`;
 * - after a merge the list is re-ordered as upstream does: patch entries keep the patch's (or
 *   `$setElementOrder`'s) order, entries only on the server keep theirs, interleaved by their
 *   positions in the original list.
 * Kinds without a schema (not built in) get plain JSON merge patch semantics.
 */

import { cloneJson } from '../json-clone.js';
import { StrategicMergePatchError } from './errors.js';
import { applyMergePatch } from './merge-patch.js';
import { fieldMeta, hasSchema, type ListMeta } from './patch-meta.js';

type JsonMap = Record<string, unknown>;

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER_PREFIX = '$setElementOrder/';
const DELETE_PRIMITIVE_PREFIX = '$deleteFromPrimitiveList/';

export interface StrategicMergePatchOptions {
  apiVersion: string;
  kind: string;
}

function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Go-ish rendering of a value for error messages. */
function show(v: unknown): string {
  return JSON.stringify(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
    );
  }
  return false;
}

/** Holds the kind for schema lookups along the way; one per patch application. */
class Merger {
  readonly #apiVersion: string;
  readonly #kind: string;
  constructor(opts: StrategicMergePatchOptions) {
    this.#apiVersion = opts.apiVersion;
    this.#kind = opts.kind;
  }

  #meta(path: readonly string[]): ListMeta | undefined {
    return fieldMeta(this.#apiVersion, this.#kind, path);
  }

  /** Merge `patch` into `original`. Both are private copies and may be modified. */
  mergeMap(original: JsonMap | undefined, patch: JsonMap, path: readonly string[]): JsonMap {
    if (Object.hasOwn(patch, DIRECTIVE)) {
      const directive = patch[DIRECTIVE];
      if (directive === 'replace') {
        delete patch[DIRECTIVE];
        return this.mergeMap(undefined, patch, path);
      }
      if (directive === 'delete') return {};
      throw new StrategicMergePatchError(
        'BadDirective',
        `unknown patch type: ${show(directive)} in map: ${show(patch)}`,
      );
    }
    const out: JsonMap = original ?? {};
    applyRetainKeys(out, patch);
    this.#mergeOrderedLists(out, patch, path);

    for (const [rawKey, patchV] of Object.entries(patch)) {
      let key = rawKey;
      let isDeleteList = false;
      if (rawKey.startsWith(DELETE_PRIMITIVE_PREFIX)) {
        key = rawKey.slice(DELETE_PRIMITIVE_PREFIX.length);
        isDeleteList = true;
      } else if (rawKey.startsWith('$')) {
        // Unknown directives are not data; never store them.
        continue;
      }
      if (patchV === null) {
        delete out[key];
        continue;
      }
      const sub = [...path, key];
      if (!Object.hasOwn(out, key) || out[key] === null || out[key] === undefined) {
        if (!isDeleteList) out[key] = this.#fresh(patchV, sub);
        continue;
      }
      const origV = out[key];
      if (isMap(origV) && isMap(patchV)) {
        const meta = this.#meta(sub);
        out[key] =
          meta?.strategy === 'replace' ? this.#fresh(patchV, sub) : this.mergeMap(origV, patchV, sub);
      } else if (Array.isArray(origV) && Array.isArray(patchV)) {
        out[key] = this.#mergeSliceHandler(origV, patchV, sub, isDeleteList);
      } else if (!isDeleteList) {
        // Types differ (or scalars): the patch value wins.
        out[key] = this.#fresh(patchV, sub);
      }
    }
    return out;
  }

  /** A patch value with nothing to merge into: directives applied, nulls dropped. */
  #fresh(v: unknown, path: readonly string[]): unknown {
    if (isMap(v)) return this.mergeMap(undefined, v, path);
    if (!Array.isArray(v)) return v;
    try {
      return this.#mergeSliceHandler([], v, path, false);
    } catch (e) {
      // Upstream stores a new list as sent; entries lacking the merge key fail validation later.
      if (e instanceof StrategicMergePatchError && e.code === 'MissingMergeKey') return v;
      throw e;
    }
  }

  #mergeSliceHandler(
    original: unknown[],
    patch: unknown[],
    path: readonly string[],
    isDeleteList: boolean,
  ): unknown[] {
    const meta = this.#meta(path);
    const merge = meta?.strategy === 'merge' || meta?.strategy === 'merge,retainKeys';
    if (!merge && !isDeleteList) return patch;
    return this.#mergeSlice(original, patch, meta?.mergeKey ?? '', path, isDeleteList);
  }

  #mergeSlice(
    original: unknown[],
    patch: unknown[],
    mergeKey: string,
    path: readonly string[],
    isDeleteList: boolean,
  ): unknown[] {
    if (original.length === 0 && patch.length === 0) return original;
    const maps = elementsAreMaps(original, patch, path);
    let merged: unknown[];
    let orig = original;
    let pat = patch;
    if (!maps) {
      if (isDeleteList) return original.filter((o) => !patch.some((p) => deepEqual(o, p)));
      merged = dedupe([...original, ...patch]);
    } else {
      if (mergeKey === '') {
        throw new StrategicMergePatchError(
          'BadArgument',
          `cannot merge lists without merge key for ${path.join('.')}`,
        );
      }
      [orig, pat] = withSpecialElements(original as JsonMap[], patch as JsonMap[], mergeKey);
      merged = this.#withoutSpecialElements(orig as JsonMap[], pat as JsonMap[], mergeKey, path);
    }
    const key = maps ? mergeKey : '';
    const [patchItems, serverOnly] = partition(merged, pat, key);
    return normalizeElementOrder(patchItems, serverOnly, pat, orig, key);
  }

  #withoutSpecialElements(
    original: JsonMap[],
    patch: JsonMap[],
    mergeKey: string,
    path: readonly string[],
  ): JsonMap[] {
    const out = [...original];
    for (const item of patch) {
      if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
      const at = out.findIndex((o) => deepEqual(o[mergeKey], item[mergeKey]));
      if (at >= 0) out[at] = this.mergeMap(out[at], item, path);
      else out.push(this.mergeMap(undefined, item, path));
    }
    return out;
  }

  /**
   * `$setElementOrder/<field>`: merge the field's list (if the patch has one) and then order it
   * as the directive says, keeping server-only entries where they were. Removes the handled keys
   * from `patch` so the main loop does not process them again.
   */
  #mergeOrderedLists(original: JsonMap, patch: JsonMap, path: readonly string[]): void {
    for (const directiveKey of Object.keys(patch)) {
      if (!directiveKey.startsWith(SET_ORDER_PREFIX)) continue;
      const order = patch[directiveKey];
      delete patch[directiveKey];
      const field = directiveKey.slice(SET_ORDER_PREFIX.length);
      if (!Array.isArray(order)) {
        throw new StrategicMergePatchError(
          'BadArgument',
          `invalid type for ${SET_ORDER_PREFIX} list: ${show(order)}`,
        );
      }
      const hasOrig =
        Object.hasOwn(original, field) && original[field] !== null && original[field] !== undefined;
      const hasPatch = Object.hasOwn(patch, field) && patch[field] !== null;
      if (!hasOrig && !hasPatch) continue;
      const origList = hasOrig ? original[field] : [];
      const patchList = hasPatch ? patch[field] : [];
      if (!Array.isArray(origList) || !Array.isArray(patchList)) {
        throw new StrategicMergePatchError(
          'BadArgument',
          `${SET_ORDER_PREFIX}${field} applies to a field that is not a list: ${show(hasPatch ? patchList : origList)}`,
        );
      }
      const sub = [...path, field];
      const meta = this.#meta(sub);
      const mergeKey = meta?.mergeKey ?? '';
      validateWithOrder(patchList, order, mergeKey);
      const merged = hasPatch ? this.#mergeSliceHandler(origList, patchList, sub, false) : origList;
      const maps = elementsAreMaps(origList, [...patchList, ...merged], sub);
      const key = maps ? mergeKey : '';
      const [patchItems, serverOnly] = partition(merged, order, key);
      original[field] = normalizeElementOrder(patchItems, serverOnly, order, origList, key);
      delete patch[field];
    }
  }
}

function noMergeKey(item: unknown, mergeKey: string): StrategicMergePatchError {
  return new StrategicMergePatchError(
    'MissingMergeKey',
    `map: ${show(item)} does not contain declared merge key: ${mergeKey}`,
  );
}

/** `$retainKeys: [a, b]` drops every other member of the original map. */
function applyRetainKeys(original: JsonMap, patch: JsonMap): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const keep = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(keep)) {
    throw new StrategicMergePatchError(
      'BadArgument',
      `invalid type for ${RETAIN_KEYS}: expected a list, got ${show(keep)}`,
    );
  }
  const set = new Set(keep);
  for (const k of Object.keys(original)) if (!set.has(k)) delete original[k];
}

/** Whether list elements are maps (merge by key) or scalars; mixed lists are an error. */
function elementsAreMaps(a: readonly unknown[], b: readonly unknown[], path: readonly string[]): boolean {
  let maps: boolean | undefined;
  for (const v of [...a, ...b]) {
    if (Array.isArray(v)) {
      throw new StrategicMergePatchError(
        'MixedListElements',
        `lists of lists are not supported at ${path.join('.')}`,
      );
    }
    const m = isMap(v);
    if (maps === undefined) maps = m;
    else if (maps !== m) {
      throw new StrategicMergePatchError(
        'MixedListElements',
        `list at ${path.join('.')} mixes maps and scalars`,
      );
    }
  }
  return maps ?? false;
}

function dedupe(list: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const v of list) if (!out.some((o) => deepEqual(o, v))) out.push(v);
  return out;
}

/** Apply `$patch` list elements: `delete` removes matching entries, `replace` drops the original. */
function withSpecialElements(
  original: JsonMap[],
  patch: JsonMap[],
  mergeKey: string,
): [JsonMap[], JsonMap[]] {
  let orig = original;
  const plain: JsonMap[] = [];
  let replace = false;
  for (const item of patch) {
    if (!Object.hasOwn(item, DIRECTIVE)) {
      plain.push(item);
      continue;
    }
    const directive = item[DIRECTIVE];
    if (directive === 'delete') {
      if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
      orig = orig.filter((o) => !deepEqual(o[mergeKey], item[mergeKey]));
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      throw new StrategicMergePatchError(
        'BadDirective',
        'merging lists cannot yet be specified in the patch',
      );
    } else {
      throw new StrategicMergePatchError(
        'BadDirective',
        `unknown patch type: ${show(directive)} in map: ${show(item)}`,
      );
    }
  }
  return replace ? [plain, []] : [orig, plain];
}

/** Position of `v` in `list`, by merge key for maps, by value for scalars; -1 when absent. */
function indexIn(list: readonly unknown[], v: unknown, mergeKey: string): number {
  if (mergeKey === '') return list.findIndex((x) => deepEqual(x, v));
  if (!isMap(v)) return -1;
  return list.findIndex((x) => isMap(x) && deepEqual(x[mergeKey], v[mergeKey]));
}

/** Split `merged` into entries named by `by` and entries only the server has. */
function partition(merged: unknown[], by: readonly unknown[], mergeKey: string): [unknown[], unknown[]] {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) {
    if (mergeKey !== '' && !(isMap(v) && Object.hasOwn(v, mergeKey))) throw noMergeKey(v, mergeKey);
    (indexIn(by, v, mergeKey) >= 0 ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}

function sortBy(list: unknown[], order: readonly unknown[], mergeKey: string): unknown[] {
  const ranked = list.map((v, i) => ({ v, i, r: indexIn(order, v, mergeKey) }));
  ranked.sort((a, b) => (a.r >= 0 && b.r >= 0 ? a.r - b.r : a.i - b.i));
  return ranked.map((x) => x.v);
}

/**
 * Sort patch entries by `patchOrder` and server-only entries by `serverOrder`, then interleave:
 * a server-only entry goes before the next patch entry when it stood before it in the original.
 */
function normalizeElementOrder(
  patchItems: unknown[],
  serverOnly: unknown[],
  patchOrder: readonly unknown[],
  serverOrder: readonly unknown[],
  mergeKey: string,
): unknown[] {
  const right = sortBy(patchItems, patchOrder, mergeKey);
  const left = sortBy(serverOnly, serverOrder, mergeKey);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey);
      const ri = indexIn(serverOrder, right[j], mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** The patch list must name its entries in the same relative order as `$setElementOrder`. */
function validateWithOrder(patchList: readonly unknown[], order: readonly unknown[], mergeKey: string): void {
  if (patchList.length === 0 || order.length === 0) return;
  const items = patchList.filter((v) => !(isMap(v) && v[DIRECTIVE] === 'delete'));
  let p = 0;
  let o = 0;
  while (p < items.length && o < order.length) {
    const item = items[p];
    if (isMap(item) && Object.hasOwn(item, DIRECTIVE)) {
      p++;
      continue;
    }
    let equal: boolean;
    if (mergeKey === '') equal = deepEqual(item, order[o]);
    else {
      const want = order[o];
      if (!isMap(item) || !Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
      if (!isMap(want) || !Object.hasOwn(want, mergeKey)) throw noMergeKey(want, mergeKey);
      equal = deepEqual(item[mergeKey], want[mergeKey]);
    }
    if (equal) p++;
    o++;
  }
  if (p < items.length) {
    throw new StrategicMergePatchError(
      'SetElementOrderMismatch',
      `The order in patch list:\n${show(patchList)}\n doesn't match ${SET_ORDER_PREFIX} list:\n${show(order)}\n`,
    );
  }
}

/**
 * Apply a strategic merge patch to `original` for the kind `opts.apiVersion`/`opts.kind` and
 * return the result; `original` and `patch` are not modified. Kinds without a schema get JSON
 * merge patch semantics. Throws StrategicMergePatchError.
 */
export function applyStrategicMergePatch<T extends object>(
  original: T,
  patch: unknown,
  opts: StrategicMergePatchOptions,
): T {
  if (!isMap(patch)) {
    const got = Array.isArray(patch) ? 'array' : patch === null ? 'null' : typeof patch;
    throw new StrategicMergePatchError(
      'InvalidPatch',
      `json: cannot unmarshal ${got} into Go value of type map[string]interface {}`,
    );
  }
  if (!hasSchema(opts.apiVersion, opts.kind)) return applyMergePatch(original, patch);
  const merger = new Merger(opts);
  const base = isMap(original) ? (cloneJson(original) as JsonMap) : undefined;
  return merger.mergeMap(base, cloneJson(patch), []) as T;
}
