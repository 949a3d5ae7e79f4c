/** Errors of joining a cluster (`k8ts agent`, `k8ts token`), each with a stable `code`. */

export type JoinErrorCode =
  | 'TOKEN_FORMAT'
  | 'CA_HASH_MISMATCH'
  | 'CA_FETCH'
  | 'TOKEN_REFUSED'
  | 'CSR_DENIED'
  | 'CSR_FAILED'
  | 'CSR_TIMEOUT'
  | 'OPTIONS';

export class JoinError extends Error {
  readonly code: JoinErrorCode;
  constructor(code: JoinErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'JoinError';
  }
}
