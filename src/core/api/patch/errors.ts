/**
 * Errors of the patch machinery. The API server maps them to Status responses: a patch body that
 * does not decode is `400 BadRequest`, a patch that does not apply is `422 Invalid` (JSON patch)
 * or `400`/`422` as upstream answers for strategic merge patch.
 */

/** A JSON patch (RFC 6902) that is malformed or fails to apply; the target stays untouched. */
export class JsonPatchError extends Error {
  /** fast-json-patch's error name, e.g. `TEST_OPERATION_FAILED`, `OPERATION_PATH_UNRESOLVABLE`. */
  readonly code: string;
  /** Index of the failing operation in the patch, or -1 when the patch as a whole is malformed. */
  readonly index: number;
  readonly op: string | undefined;
  readonly path: string | undefined;
  constructor(code: string, message: string, opts: { index: number; op?: string; path?: string }) {
    super(message);
    this.name = 'JsonPatchError';
    this.code = code;
    this.index = opts.index;
    this.op = opts.op;
    this.path = opts.path;
  }
}

/** A JSON merge patch (RFC 7386) body that is not a JSON object. */
export class MergePatchError extends Error {
  readonly code = 'InvalidMergePatch';
  constructor(message: string) {
    super(message);
    this.name = 'MergePatchError';
  }
}

export type StrategicMergePatchErrorCode =
  | 'InvalidPatch'
  | 'BadDirective'
  | 'MissingMergeKey'
  | 'SetElementOrderMismatch'
  | 'BadArgument'
  | 'MixedListElements';

/** A strategic merge patch that is malformed or cannot merge with the object. */
export class StrategicMergePatchError extends Error {
  readonly code: StrategicMergePatchErrorCode;
  constructor(code: StrategicMergePatchErrorCode, message: string) {
    super(message);
    this.name = 'StrategicMergePatchError';
    this.code = code;
  }
}
