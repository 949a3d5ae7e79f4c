/** Errors of the PKI layer; each carries a stable `code`. */

export type PkiErrorCode =
  | 'INCOMPLETE_CA'
  | 'CA_KEY_MISMATCH'
  | 'UNSUPPORTED_KEY'
  | 'INVALID_TOKEN'
  | 'INVALID_PEM';

export class PkiError extends Error {
  readonly code: PkiErrorCode;
  constructor(code: PkiErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Only one of ca.crt / ca.key exists: generating a new CA would destroy the other half, so we stop. */
export class IncompleteCaError extends PkiError {
  constructor(present: string, missing: string) {
    super(
      'INCOMPLETE_CA',
      `found ${present} but not ${missing}; restore it or remove both to generate a new CA`,
    );
  }
}

/** ca.key does not belong to ca.crt. */
export class CaKeyMismatchError extends PkiError {
  constructor(certPath: string, keyPath: string) {
    super('CA_KEY_MISMATCH', `the private key ${keyPath} does not match the certificate ${certPath}`);
  }
}

/** A key of a type we cannot sign with (only EC P-256/P-384 and RSA are supported). */
export class UnsupportedKeyError extends PkiError {
  constructor(what: string) {
    super('UNSUPPORTED_KEY', `unsupported private key: ${what}`);
  }
}

/** The token file exists but holds no usable token. */
export class InvalidTokenError extends PkiError {
  constructor(path: string) {
    super('INVALID_TOKEN', `the token file ${path} is empty or holds more than one line`);
  }
}

/** A file that should hold PEM data does not parse. */
export class InvalidPemError extends PkiError {
  constructor(path: string, cause: string) {
    super('INVALID_PEM', `cannot parse ${path}: ${cause}`);
  }
}
