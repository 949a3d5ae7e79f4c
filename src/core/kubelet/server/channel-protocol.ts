/**
 * The Kubernetes WebSocket channel protocol of exec and attach (`v4.channel.k8s.io`,
 * `v5.channel.k8s.io`): every binary message starts with one byte naming its channel, the rest is
 * that channel's data. Channels: 0 stdin, 1 stdout, 2 stderr, 3 error (a metav1.Status as JSON,
 * written once at the end), 4 resize (JSON `{"Width":..,"Height":..}`). v5 adds channel 255, the
 * close signal: its one data byte names a channel the sender will not write again, which is how a
 * client says "stdin is done" without closing the connection. Pure.
 */
import { StreamingProtocolError } from './errors.js';

export const CHANNEL = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  error: 3,
  resize: 4,
  close: 255,
} as const;

export const CHANNEL_PROTOCOL_V4 = 'v4.channel.k8s.io';
export const CHANNEL_PROTOCOL_V5 = 'v5.channel.k8s.io';
/** What the kubelet accepts for exec/attach over WebSocket, most preferred first. */
export const WEBSOCKET_EXEC_PROTOCOLS = [CHANNEL_PROTOCOL_V5, CHANNEL_PROTOCOL_V4];

export type ChannelMessage =
  | { kind: 'data'; channel: number; data: Buffer }
  /** v5: the peer will not write on `channel` any more. */
  | { kind: 'close'; channel: number };

/** One message: the channel byte, then the data. */
export function encodeChannelMessage(channel: number, data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = channel;
  body.copy(out, 1);
  return out;
}

/** The v5 close signal for `channel`. */
export function encodeCloseSignal(channel: number): Buffer {
  return Buffer.from([CHANNEL.close, channel]);
}

/** Splits a received binary message. An empty message carries nothing and is an error. */
export function decodeChannelMessage(msg: Buffer, opts: { v5: boolean }): ChannelMessage {
  if (msg.length === 0)
    throw new StreamingProtocolError('CHANNEL_PROTOCOL', 'empty message: no channel byte');
  const channel = msg[0]!;
  if (channel === CHANNEL.close && opts.v5) {
    if (msg.length < 2)
      throw new StreamingProtocolError('CHANNEL_PROTOCOL', 'close signal without the channel to close');
    return { kind: 'close', channel: msg[1]! };
  }
  return { kind: 'data', channel, data: msg.subarray(1) };
}

export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * Parses resize data: one or more JSON objects `{"Width":w,"Height":h}` (Go's TerminalSize has no
 * json tags, so the keys are capitalised), as a SPDY resize stream or a channel-4 message carries
 * them. `rest` is an incomplete trailing object to prepend to the next chunk.
 */
export function parseResize(text: string): { sizes: TerminalSize[]; rest: string } {
  const sizes: TerminalSize[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0 && start >= 0) {
        sizes.push(toSize(text.slice(start, i + 1)));
        start = -1;
      }
    }
  }
  const rest = depth > 0 && start >= 0 ? text.slice(start) : '';
  return { sizes, rest };
}

function toSize(json: string): TerminalSize {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new StreamingProtocolError('RESIZE_MESSAGE', `resize message is not JSON: ${json.slice(0, 100)}`);
  }
  const o = v as { Width?: unknown; Height?: unknown; width?: unknown; height?: unknown };
  const width = Number(o.Width ?? o.width);
  const height = Number(o.Height ?? o.height);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0)
    throw new StreamingProtocolError('RESIZE_MESSAGE', `invalid terminal size: ${json.slice(0, 100)}`);
  return { width, height };
}
