/**
 * SPDY/3.1 framing (draft 3, section 2.2): the frame layouts, an encoder, and an incremental
 * reader that cuts a byte stream into frames. Header blocks stay compressed here; the session
 * (spdy-session.ts) inflates them in order. Pure: no I/O, no timers.
 *
 *   control frame: 1 | version(15) | type(16) | flags(8) | length(24) | payload
 *   data frame:    0 | stream-id(31)           | flags(8) | length(24) | payload
 */
import { StreamingProtocolError } from './errors.js';

export const SPDY_VERSION = 3;

export const FRAME_TYPE = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goAway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;

/** FIN on data and control frames; UNIDIRECTIONAL on SYN_STREAM. */
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RST_STATUS = {
  protocolError: 1,
  invalidStream: 2,
  refusedStream: 3,
  unsupportedVersion: 4,
  cancel: 5,
  internalError: 6,
  flowControlError: 7,
  streamInUse: 8,
  streamAlreadyClosed: 9,
} as const;

/** Largest payload a frame can carry (24-bit length). */
export const MAX_FRAME_PAYLOAD = 0xffffff;

export type SpdyFrame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | {
      type: 'synStream';
      streamId: number;
      associatedTo: number;
      priority: number;
      slot: number;
      flags: number;
      headerBlock: Buffer;
    }
  | { type: 'synReply'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'rstStream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: { flags: number; id: number; value: number }[] }
  | { type: 'ping'; id: number }
  | { type: 'goAway'; lastGoodStreamId: number; status: number }
  | { type: 'windowUpdate'; streamId: number; delta: number }
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

const ID_MASK = 0x7fffffff;

function control(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD)
    throw new StreamingProtocolError('SPDY_PROTOCOL', `control frame payload too large: ${payload.length}`);
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([h, payload]);
}

function words(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  for (const [i, v] of values.entries()) b.writeUInt32BE(v >>> 0, i * 4);
  return b;
}

/** Serializes one frame. */
export function encodeFrame(f: SpdyFrame): Buffer {
  switch (f.type) {
    case 'data': {
      if (f.data.length > MAX_FRAME_PAYLOAD)
        throw new StreamingProtocolError('SPDY_PROTOCOL', `data frame payload too large: ${f.data.length}`);
      const h = Buffer.alloc(8);
      h.writeUInt32BE(f.streamId & ID_MASK, 0);
      h.writeUInt32BE(((f.flags & 0xff) << 24) | f.data.length, 4);
      return Buffer.concat([h, f.data]);
    }
    case 'synStream': {
      const p = Buffer.alloc(10);
      p.writeUInt32BE(f.streamId & ID_MASK, 0);
      p.writeUInt32BE(f.associatedTo & ID_MASK, 4);
      p[8] = (f.priority & 0x7) << 5;
      p[9] = f.slot & 0xff;
      return control(FRAME_TYPE.synStream, f.flags, Buffer.concat([p, f.headerBlock]));
    }
    case 'synReply':
      return control(
        FRAME_TYPE.synReply,
        f.flags,
        Buffer.concat([words(f.streamId & ID_MASK), f.headerBlock]),
      );
    case 'headers':
      return control(
        FRAME_TYPE.headers,
        f.flags,
        Buffer.concat([words(f.streamId & ID_MASK), f.headerBlock]),
      );
    case 'rstStream':
      return control(FRAME_TYPE.rstStream, 0, words(f.streamId & ID_MASK, f.status));
    case 'settings': {
      const p = Buffer.alloc(4 + f.entries.length * 8);
      p.writeUInt32BE(f.entries.length, 0);
      f.entries.forEach((e, i) => {
        p.writeUInt32BE((((e.flags & 0xff) << 24) | (e.id & 0xffffff)) >>> 0, 4 + i * 8);
        p.writeUInt32BE(e.value >>> 0, 8 + i * 8);
      });
      return control(FRAME_TYPE.settings, f.flags, p);
    }
    case 'ping':
      return control(FRAME_TYPE.ping, 0, words(f.id));
    case 'goAway':
      return control(FRAME_TYPE.goAway, 0, words(f.lastGoodStreamId & ID_MASK, f.status));
    case 'windowUpdate':
      return control(FRAME_TYPE.windowUpdate, 0, words(f.streamId & ID_MASK, f.delta & ID_MASK));
    case 'unknown':
      return control(f.frameType, f.flags, f.payload);
  }
}

function needPayload(type: string, payload: Buffer, min: number): void {
  if (payload.length < min)
    throw new StreamingProtocolError(
      'SPDY_PROTOCOL',
      `${type} frame payload is ${payload.length} bytes, at least ${min} expected`,
    );
}

function decodeControl(type: number, flags: number, p: Buffer): SpdyFrame {
  switch (type) {
    case FRAME_TYPE.synStream:
      needPayload('SYN_STREAM', p, 10);
      return {
        type: 'synStream',
        streamId: p.readUInt32BE(0) & ID_MASK,
        associatedTo: p.readUInt32BE(4) & ID_MASK,
        priority: p[8]! >> 5,
        slot: p[9]!,
        flags,
        headerBlock: p.subarray(10),
      };
    case FRAME_TYPE.synReply:
      needPayload('SYN_REPLY', p, 4);
      return { type: 'synReply', streamId: p.readUInt32BE(0) & ID_MASK, flags, headerBlock: p.subarray(4) };
    case FRAME_TYPE.headers:
      needPayload('HEADERS', p, 4);
      return { type: 'headers', streamId: p.readUInt32BE(0) & ID_MASK, flags, headerBlock: p.subarray(4) };
    case FRAME_TYPE.rstStream:
      needPayload('RST_STREAM', p, 8);
      return { type: 'rstStream', streamId: p.readUInt32BE(0) & ID_MASK, status: p.readUInt32BE(4) };
    case FRAME_TYPE.settings: {
      needPayload('SETTINGS', p, 4);
      const n = p.readUInt32BE(0);
      needPayload('SETTINGS', p, 4 + n * 8);
      const entries = [];
      for (let i = 0; i < n; i++) {
        const w = p.readUInt32BE(4 + i * 8);
        entries.push({ flags: w >>> 24, id: w & 0xffffff, value: p.readUInt32BE(8 + i * 8) });
      }
      return { type: 'settings', flags, entries };
    }
    case FRAME_TYPE.ping:
      needPayload('PING', p, 4);
      return { type: 'ping', id: p.readUInt32BE(0) };
    case FRAME_TYPE.goAway:
      needPayload('GOAWAY', p, 4);
      // SPDY/2 GOAWAY had no status; accept a 4-byte payload.
      return {
        type: 'goAway',
        lastGoodStreamId: p.readUInt32BE(0) & ID_MASK,
        status: p.length >= 8 ? p.readUInt32BE(4) : 0,
      };
    case FRAME_TYPE.windowUpdate:
      needPayload('WINDOW_UPDATE', p, 8);
      return {
        type: 'windowUpdate',
        streamId: p.readUInt32BE(0) & ID_MASK,
        delta: p.readUInt32BE(4) & ID_MASK,
      };
    default:
      return { type: 'unknown', frameType: type, flags, payload: p };
  }
}

/** Cuts a byte stream into frames; push() every chunk as it arrives. */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0);

  /** Appends bytes and returns every frame now complete, in order. */
  push(chunk: Buffer): SpdyFrame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: SpdyFrame[] = [];
    while (this.#buf.length >= 8) {
      const len = this.#buf.readUInt32BE(4) & 0xffffff;
      if (this.#buf.length < 8 + len) break;
      const flags = this.#buf[4]!;
      const payload = Buffer.from(this.#buf.subarray(8, 8 + len));
      const first = this.#buf.readUInt32BE(0);
      if (first & 0x80000000) {
        const version = (first >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION)
          throw new StreamingProtocolError('SPDY_PROTOCOL', `unsupported SPDY version ${version}`);
        out.push(decodeControl(first & 0xffff, flags, payload));
      } else {
        out.push({ type: 'data', streamId: first & ID_MASK, flags, data: payload });
      }
      this.#buf = this.#buf.subarray(8 + len);
    }
    return out;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.#buf.length;
  }
}
