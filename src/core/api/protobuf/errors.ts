/** Errors of the Kubernetes protobuf decoder; each carries a stable `code`. */

export type ProtobufDecodeErrorCode =
  | 'BAD_MAGIC'
  | 'TRUNCATED'
  | 'BAD_VARINT'
  | 'BAD_WIRE_TYPE'
  | 'UNKNOWN_KIND'
  | 'UNSUPPORTED_ENCODING'
  | 'INVALID_VALUE';

/** A request body that is not a well-formed Kubernetes protobuf object of a known kind. */
export class ProtobufDecodeError extends Error {
  readonly code: ProtobufDecodeErrorCode;
  constructor(code: ProtobufDecodeErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}
