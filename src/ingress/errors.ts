/**
 * Errors of the ingress data plane and controller, each with a stable `code`.
 */

/** A request or response head the proxy refuses; `status` is what the client is answered. */
export class HttpHeadError extends Error {
  readonly code = 'HttpHead';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpHeadError';
    this.status = status;
  }
}

/** A malformed chunked body (bad chunk size line or missing CRLF). */
export class ChunkedFramingError extends Error {
  readonly code = 'ChunkedFraming';
  constructor(message: string) {
    super(message);
    this.name = 'ChunkedFramingError';
  }
}

/** A listener of the data plane could not be opened. */
export class IngressListenError extends Error {
  readonly code = 'IngressListen';
  readonly address: string;
  constructor(address: string, cause: string) {
    super(`ingress cannot listen on ${address}: ${cause}`);
    this.name = 'IngressListenError';
    this.address = address;
  }
}

/** A bad option of the controller: port, class name, node name. */
export class IngressConfigError extends Error {
  readonly code = 'INGRESS_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'IngressConfigError';
  }
}
