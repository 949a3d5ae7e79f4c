/** Errors of the kubelet's streaming server and its protocols, each with a stable code. */

export type StreamingErrorCode =
  | 'SPDY_PROTOCOL'
  | 'SPDY_HEADER_BLOCK'
  | 'CHANNEL_PROTOCOL'
  | 'RESIZE_MESSAGE'
  | 'PROTOCOL_NEGOTIATION';

export class StreamingProtocolError extends Error {
  readonly code: StreamingErrorCode;
  constructor(code: StreamingErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'StreamingProtocolError';
  }
}
