/** Errors of the hollow nodes. */

/** A bad option (count, quantity, zone list...): says which and the value seen. */
export class HollowOptionsError extends Error {
  readonly code = 'HOLLOW_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'HollowOptionsError';
  }
}
