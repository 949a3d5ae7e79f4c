/**
 * JSON patch (RFC 6902), the `application/json-patch+json` patch type, on top of fast-json-patch.
 * A patch applies atomically: every operation runs against a private deep copy, so when any
 * operation fails (a `test` that does not hold, a path that does not resolve) the caller's object
 * is untouched and a JsonPatchError names the operation.
 */

import jsonpatch from 'fast-json-patch';
import { cloneJson } from '../json-clone.js';
import { JsonPatchError } from './errors.js';

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Check the shape of a decoded patch body: an array of operation objects with known `op`s. */
export function parseJsonPatch(body: unknown): JsonPatchOperation[] {
  if (!Array.isArray(body)) {
    throw new JsonPatchError(
      'INVALID_PATCH',
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
      {
        index: -1,
      },
    );
  }
  body.forEach((raw, index) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new JsonPatchError('OPERATION_NOT_AN_OBJECT', `operation ${index} is not an object`, { index });
    }
    const o = raw as Record<string, unknown>;
    const op = str(o.op);
    const path = str(o.path);
    const where = { index, ...(op === undefined ? {} : { op }), ...(path === undefined ? {} : { path }) };
    if (op === undefined || !OPS.has(op)) {
      throw new JsonPatchError('OPERATION_OP_INVALID', `Unexpected kind: ${op ?? 'unknown'}`, where);
    }
    if (path === undefined) {
      throw new JsonPatchError(
        'OPERATION_PATH_INVALID',
        `${op} operation (index ${index}) is missing path`,
        where,
      );
    }
    if ((op === 'move' || op === 'copy') && str(o.from) === undefined) {
      throw new JsonPatchError(
        'OPERATION_FROM_REQUIRED',
        `${op} operation (index ${index}) is missing from`,
        where,
      );
    }
    if ((op === 'add' || op === 'replace' || op === 'test') && !Object.hasOwn(o, 'value')) {
      throw new JsonPatchError(
        'OPERATION_VALUE_REQUIRED',
        `${op} operation (index ${index}) at path ${path} is missing value`,
        where,
      );
    }
  });
  return body as JsonPatchOperation[];
}

/** Upstream's (evanphx/json-patch) wording for a failed operation, then the operation index. */
function describe(code: string, op: JsonPatchOperation, index: number): string {
  const last = op.path.slice(op.path.lastIndexOf('/') + 1);
  let text: string;
  switch (code) {
    case 'TEST_OPERATION_FAILED':
      text = `testing value ${op.path} failed: test failed`;
      break;
    case 'OPERATION_PATH_UNRESOLVABLE':
      text =
        op.op === 'remove'
          ? `error in remove for path: '${op.path}': Unable to remove nonexistent key: ${last}: missing value`
          : `${op.op} operation does not apply: doc is missing key: ${op.path}: missing value`;
      break;
    case 'OPERATION_PATH_CANNOT_ADD':
      text = `${op.op} operation does not apply: doc is missing path: "${op.path}": missing value`;
      break;
    case 'OPERATION_FROM_UNRESOLVABLE':
      text = `${op.op} operation does not apply: doc is missing from path: ${op.from ?? ''}: missing value`;
      break;
    case 'OPERATION_VALUE_OUT_OF_BOUNDS':
    case 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX':
      text = `${op.op} operation does not apply: index out of bounds at path: ${op.path}`;
      break;
    default:
      text = `${op.op} operation at path ${op.path} is invalid (${code})`;
  }
  return `${text} (operation ${index})`;
}

/**
 * Apply `ops` to a deep copy of `target` and return the copy. Throws JsonPatchError naming the
 * failing operation; `target` is never modified.
 */
export function applyJsonPatch<T>(target: T, ops: unknown): T {
  const patch = parseJsonPatch(ops);
  const doc = cloneJson(target);
  try {
    return jsonpatch.applyPatch(doc, patch as jsonpatch.Operation[], true, true, true).newDocument;
  } catch (e) {
    if (e instanceof jsonpatch.JsonPatchError) {
      const index = typeof e.index === 'number' ? e.index : -1;
      const op = patch[index];
      if (op === undefined) throw new JsonPatchError(e.name, e.message, { index });
      throw new JsonPatchError(e.name, describe(e.name, op, index), { index, op: op.op, path: op.path });
    }
    throw e;
  }
}
