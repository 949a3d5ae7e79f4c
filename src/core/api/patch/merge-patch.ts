/**
 * JSON merge patch (RFC 7386), the `application/merge-patch+json` patch type: objects merge
 * recursively, `null` deletes a member, anything else (arrays included) replaces. This is what
 * `kubectl label`, `kubectl annotate` and `kubectl patch --type=merge` send.
 */

import { cloneJson } from '../json-clone.js';
import { MergePatchError } from './errors.js';

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Copy `v` with null members of objects removed (as a newly added subtree is stored). */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => cloneJson(x));
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = withoutNulls(x);
  return out;
}

function merge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return cloneJson(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (isObject(v)) out[k] = isObject(out[k]) ? merge(out[k], v) : withoutNulls(v);
    else out[k] = cloneJson(v);
  }
  return out;
}

/**
 * Apply an RFC 7386 merge patch and return the result; `target` is not modified (untouched
 * subtrees may be shared with it). The API server accepts only object patches; pass
 * `{ requireObject: true }` to get a MergePatchError for any other body.
 */
export function applyMergePatch<T>(target: T, patch: unknown, opts: { requireObject?: boolean } = {}): T {
  if (opts.requireObject && !isObject(patch)) {
    const got = Array.isArray(patch) ? 'array' : patch === null ? 'null' : typeof patch;
    throw new MergePatchError(`json: cannot unmarshal ${got} into Go value of type map[string]interface {}`);
  }
  return merge(target, patch) as T;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * The merge patch that turns `original` into `modified` (both objects): removed members become
 * `null`, changed objects recurse, anything else changed is sent whole. `{}` when equal.
 */
export function createMergePatch(original: JsonObject, modified: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const k of Object.keys(original)) {
    if (!Object.hasOwn(modified, k)) patch[k] = null;
  }
  for (const [k, v] of Object.entries(modified)) {
    const o = original[k];
    if (Object.hasOwn(original, k) && deepEqual(o, v)) continue;
    if (isObject(o) && isObject(v)) {
      const sub = createMergePatch(o, v);
      if (Object.keys(sub).length > 0) patch[k] = sub;
    } else {
      patch[k] = cloneJson(v);
    }
  }
  return patch;
}
