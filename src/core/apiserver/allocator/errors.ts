/**
 * Errors of the ClusterIP and NodePort allocators; each carries a stable `code`. Messages are worded
 * as upstream's allocators word them, so the registry can put them into a Status unchanged:
 * ALREADY_ALLOCATED and NOT_IN_RANGE become field errors (422 Invalid) on the requested value,
 * FULL becomes a 500 InternalError ("Internal error occurred: failed to allocate a serviceIP: ...").
 */

export type AllocatorErrorCode =
  | 'ALREADY_ALLOCATED'
  | 'NOT_IN_RANGE'
  | 'FULL'
  | 'INVALID_RANGE'
  | 'MISMATCHED_RANGE';

export class AllocatorError extends Error {
  readonly code: AllocatorErrorCode;
  constructor(code: AllocatorErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The requested IP or port is held by another object. */
export class AlreadyAllocatedError extends AllocatorError {
  readonly value: string | number;
  constructor(kind: 'IP' | 'port', value: string | number) {
    super('ALREADY_ALLOCATED', `provided ${kind} is already allocated`);
    this.value = value;
  }
}

/** The requested IP or port lies outside the allocator's range. */
export class NotInRangeError extends AllocatorError {
  readonly value: string | number;
  /** The range as configured, e.g. `10.43.0.0/16` or `30000-32767`. */
  readonly validRange: string;
  constructor(message: string, value: string | number, validRange: string) {
    super('NOT_IN_RANGE', message);
    this.value = value;
    this.validRange = validRange;
  }
}

/** No free value left for a dynamic allocation. */
export class RangeFullError extends AllocatorError {
  constructor(what: 'serviceIP' | 'nodePort') {
    super('FULL', `failed to allocate a ${what}: range is full`);
  }
}

/** The configured range cannot be used (malformed, too large or too small). */
export class InvalidRangeError extends AllocatorError {
  constructor(range: string, why: string) {
    super('INVALID_RANGE', `invalid range ${JSON.stringify(range)}: ${why}`);
  }
}

/** restore() of a snapshot taken over another range. */
export class MismatchedRangeError extends AllocatorError {
  constructor(kind: 'network' | 'port range', current: string, snapshot: string) {
    super(
      'MISMATCHED_RANGE',
      `the provided ${kind} does not match the current range (current ${current}, snapshot ${snapshot})`,
    );
  }
}
