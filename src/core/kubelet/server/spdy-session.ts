/**
 * A SPDY/3.1 session over one byte stream (a TLS socket after `101 Switching Protocols`, or a
 * WebSocket tunnel), enough of the protocol for what kubectl's spdystream does with it: streams
 * opened with SYN_STREAM and accepted with SYN_REPLY, DATA with half-close (FIN), RST_STREAM, PING
 * echo and GOAWAY. Flow control is not enforced in either direction, as spdystream does not
 * enforce it either (WINDOW_UPDATE and SETTINGS are read and ignored).
 *
 * Frames are handled strictly in arrival order: header blocks go through one zlib stream per
 * direction, so a SYN_STREAM must be inflated before the next one, and its DATA must not overtake it.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { StreamingProtocolError } from './errors.js';
import {
  encodeFrame,
  FLAG_FIN,
  FLAG_UNIDIRECTIONAL,
  FrameReader,
  RST_STATUS,
  type SpdyFrame,
} from './spdy-frames.js';
import {
  decodeNameValueBlock,
  encodeNameValueBlock,
  HeaderCompressor,
  HeaderDecompressor,
  type SpdyHeaders,
} from './spdy-header-block.js';

/** DATA payloads are cut to this size so one large write does not hold up other streams. */
const DATA_CHUNK = 32 * 1024;

export interface SpdySessionOptions {
  /** The accepting side (the kubelet): the peer opens odd stream ids, this side even ones. */
  server: boolean;
  /** Called for every stream the peer opens, after its headers are decoded. */
  onStream?: (stream: SpdyStream) => void;
  /** Send SYN_REPLY for every stream the peer opens before onStream (as the kubelet does). */
  autoReply?: boolean;
}

/** What a stream needs from its session (kept off the public surface). */
interface StreamLink {
  sendData(id: number, data: Buffer, fin: boolean, cb: (err?: Error | null) => void): void;
  sendReply(id: number, headers: SpdyHeaders): void;
  sendReset(id: number, status: number): void;
  forget(id: number): void;
}

/** One SPDY stream as a Node Duplex: readable = the peer's DATA, writable = ours; end() sends FIN. */
export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: SpdyHeaders;
  /** RST_STREAM status the peer reset this stream with, if it did. */
  resetStatus: number | undefined;
  readonly #link: StreamLink;
  #replied = false;
  #remoteFin = false;
  #localFin = false;
  #replyWaiters: (() => void)[] = [];

  constructor(link: StreamLink, id: number, headers: SpdyHeaders) {
    super({ allowHalfOpen: true });
    this.#link = link;
    this.id = id;
    this.headers = headers;
    this.once('close', () => link.forget(id));
  }

  /** Accepts a stream the peer opened (SYN_REPLY). */
  reply(headers: SpdyHeaders = {}): void {
    if (this.#replied) return;
    this.#replied = true;
    this.#link.sendReply(this.id, headers);
  }

  /** Resolves when the peer accepted a stream this side opened. */
  replied(): Promise<void> {
    if (this.#replied) return Promise.resolve();
    return new Promise((res) => this.#replyWaiters.push(res));
  }

  /** Aborts the stream (RST_STREAM) and destroys it. */
  reset(status: number = RST_STATUS.cancel): void {
    if (!this.#localFin || !this.#remoteFin) this.#link.sendReset(this.id, status);
    this.#localFin = true;
    this.#remoteFin = true;
    this.destroy();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#localFin) {
      cb(new StreamingProtocolError('SPDY_PROTOCOL', `stream ${this.id} is closed`));
      return;
    }
    this.#link.sendData(this.id, chunk, false, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.#localFin) {
      cb();
      return;
    }
    this.#localFin = true;
    this.#link.sendData(this.id, Buffer.alloc(0), true, cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.#localFin || !this.#remoteFin) {
      this.#localFin = true;
      this.#remoteFin = true;
      if (this.resetStatus === undefined) this.#link.sendReset(this.id, RST_STATUS.cancel);
    }
    cb(err);
  }

  /** Session side: the peer sent data. */
  receive(data: Buffer, fin: boolean): void {
    if (this.#remoteFin) return;
    if (data.length > 0) this.push(data);
    if (fin) this.remoteFinish();
  }

  /** Session side: the peer half-closed. */
  remoteFinish(): void {
    if (this.#remoteFin) return;
    this.#remoteFin = true;
    this.push(null);
  }

  /** Session side: the stream was opened unidirectional, or closed by the peer's SYN_REPLY FIN. */
  localFinished(): void {
    this.#localFin = true;
  }

  /** Session side: the peer's SYN_REPLY arrived. */
  markReplied(): void {
    this.#replied = true;
    for (const w of this.#replyWaiters.splice(0)) w();
  }

  /** Session side: the peer reset the stream or the connection went away. */
  abort(status: number | undefined): void {
    this.resetStatus = status;
    this.#localFin = true;
    this.#remoteFin = true;
    this.push(null);
    this.destroy();
  }
}

export class SpdySession extends EventEmitter {
  readonly #socket: Duplex;
  readonly #opts: SpdySessionOptions;
  readonly #streams = new Map<number, SpdyStream>();
  readonly #reader = new FrameReader();
  readonly #compressor = new HeaderCompressor();
  readonly #decompressor = new HeaderDecompressor();
  readonly #pings = new Map<number, () => void>();
  #chain: Promise<void> = Promise.resolve();
  #nextStreamId: number;
  #nextPingId: number;
  #lastPeerStreamId = 0;
  #goneAway = false;
  #closed = false;
  readonly #link: StreamLink;

  constructor(socket: Duplex, opts: SpdySessionOptions) {
    super();
    this.#socket = socket;
    this.#opts = opts;
    this.#nextStreamId = opts.server ? 2 : 1;
    this.#nextPingId = opts.server ? 2 : 1;
    this.#link = {
      sendData: (id, data, fin, cb) => this.#sendData(id, data, fin, cb),
      sendReply: (id, headers) =>
        this.#write({
          type: 'synReply',
          streamId: id,
          flags: 0,
          headerBlock: this.#compressor.compress(encodeNameValueBlock(headers)),
        }),
      sendReset: (id, status) => this.#write({ type: 'rstStream', streamId: id, status }),
      forget: (id) => {
        this.#streams.delete(id);
        if (this.#streams.size === 0) this.emit('idle');
      },
    };
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.once('end', () => this.#teardown());
    socket.once('close', () => this.#teardown());
    socket.on('error', (e) => {
      this.emit('socketError', e);
      this.#teardown();
    });
  }

  /** Streams currently open. */
  get streamCount(): number {
    return this.#streams.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Opens a stream (SYN_STREAM); await stream.replied() for the peer's SYN_REPLY. */
  createStream(headers: SpdyHeaders, opts: { fin?: boolean } = {}): SpdyStream {
    if (this.#closed || this.#goneAway)
      throw new StreamingProtocolError('SPDY_PROTOCOL', 'session is closed or going away');
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    const stream = new SpdyStream(this.#link, id, headers);
    this.#streams.set(id, stream);
    this.#write({
      type: 'synStream',
      streamId: id,
      associatedTo: 0,
      priority: 0,
      slot: 0,
      flags: opts.fin ? FLAG_FIN : 0,
      headerBlock: this.#compressor.compress(encodeNameValueBlock(headers)),
    });
    if (opts.fin) stream.localFinished();
    return stream;
  }

  /** Sends a PING and resolves when the peer echoes it. */
  ping(): Promise<void> {
    const id = this.#nextPingId;
    this.#nextPingId += 2;
    return new Promise((res) => {
      this.#pings.set(id, res);
      this.#write({ type: 'ping', id });
    });
  }

  /** Sends GOAWAY and ends the byte stream after what was written so far. */
  close(): void {
    if (this.#closed) return;
    if (!this.#goneAway) {
      this.#goneAway = true;
      this.#write({ type: 'goAway', lastGoodStreamId: this.#lastPeerStreamId, status: 0 });
    }
    this.#socket.end();
    this.#teardown();
  }

  /**
   * Sends GOAWAY and leaves the closing to the peer, as spdystream's Close does: the peer drops
   * the connection once it has read every stream to the end. Closing at once instead races the
   * peer's frame workers, which discard frames still queued when the connection ends. After
   * `timeoutMs` without the peer closing, the connection is ended from this side.
   */
  shutdown(timeoutMs: number): void {
    if (this.#closed) return;
    if (!this.#goneAway) {
      this.#goneAway = true;
      this.#write({ type: 'goAway', lastGoodStreamId: this.#lastPeerStreamId, status: 0 });
    }
    const timer = setTimeout(() => this.close(), timeoutMs);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.#socket.destroy();
    this.#teardown();
  }

  #write(frame: SpdyFrame): boolean {
    if (this.#socket.destroyed || this.#socket.writableEnded) return false;
    return this.#socket.write(encodeFrame(frame));
  }

  #sendData(id: number, data: Buffer, fin: boolean, cb: (err?: Error | null) => void): void {
    if (this.#socket.destroyed || this.#socket.writableEnded) {
      cb(new StreamingProtocolError('SPDY_PROTOCOL', 'connection closed'));
      return;
    }
    let ok = true;
    if (data.length === 0) {
      ok = this.#write({ type: 'data', streamId: id, flags: fin ? FLAG_FIN : 0, data });
    } else {
      for (let off = 0; off < data.length; off += DATA_CHUNK) {
        const part = data.subarray(off, off + DATA_CHUNK);
        const last = off + DATA_CHUNK >= data.length;
        ok = this.#write({ type: 'data', streamId: id, flags: fin && last ? FLAG_FIN : 0, data: part });
      }
    }
    if (ok) cb();
    else {
      const done = () => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        cb();
      };
      this.#socket.once('drain', done);
      this.#socket.once('close', done);
    }
  }

  #onData(chunk: Buffer): void {
    let frames: SpdyFrame[];
    try {
      frames = this.#reader.push(chunk);
    } catch (e) {
      this.#fail(e as Error);
      return;
    }
    for (const f of frames) {
      this.#chain = this.#chain.then(() => this.#handle(f)).catch((e: Error) => this.#fail(e));
    }
  }

  #fail(e: Error): void {
    if (this.#closed) return;
    this.emit('protocolError', e);
    if (!this.#goneAway) {
      this.#goneAway = true;
      this.#write({ type: 'goAway', lastGoodStreamId: this.#lastPeerStreamId, status: 1 });
    }
    this.destroy();
  }

  async #handle(f: SpdyFrame): Promise<void> {
    if (this.#closed) return;
    switch (f.type) {
      case 'synStream': {
        const headers = decodeNameValueBlock(await this.#decompressor.decompress(f.headerBlock));
        const peerParity = this.#opts.server ? 1 : 0;
        if (f.streamId === 0 || f.streamId % 2 !== peerParity || f.streamId <= this.#lastPeerStreamId) {
          this.#write({ type: 'rstStream', streamId: f.streamId, status: RST_STATUS.protocolError });
          return;
        }
        this.#lastPeerStreamId = f.streamId;
        if (this.#goneAway) {
          this.#write({ type: 'rstStream', streamId: f.streamId, status: RST_STATUS.refusedStream });
          return;
        }
        const stream = new SpdyStream(this.#link, f.streamId, headers);
        this.#streams.set(f.streamId, stream);
        if (f.flags & FLAG_UNIDIRECTIONAL) stream.localFinished();
        if (this.#opts.autoReply) stream.reply();
        if (f.flags & FLAG_FIN) stream.remoteFinish();
        this.#opts.onStream?.(stream);
        this.emit('stream', stream);
        return;
      }
      case 'synReply': {
        await this.#decompressor.decompress(f.headerBlock);
        const stream = this.#streams.get(f.streamId);
        if (!stream) return;
        stream.markReplied();
        if (f.flags & FLAG_FIN) stream.remoteFinish();
        return;
      }
      case 'headers': {
        await this.#decompressor.decompress(f.headerBlock);
        if (f.flags & FLAG_FIN) this.#streams.get(f.streamId)?.remoteFinish();
        return;
      }
      case 'data': {
        const stream = this.#streams.get(f.streamId);
        if (!stream) return; // already gone: late data is dropped, as spdystream does
        stream.receive(f.data, (f.flags & FLAG_FIN) !== 0);
        return;
      }
      case 'rstStream':
        this.#streams.get(f.streamId)?.abort(f.status);
        return;
      case 'ping': {
        const ours = f.id % 2 === (this.#opts.server ? 0 : 1);
        if (!ours) this.#write({ type: 'ping', id: f.id });
        else {
          this.#pings.get(f.id)?.();
          this.#pings.delete(f.id);
        }
        return;
      }
      case 'goAway':
        this.#goneAway = true;
        this.emit('goAway', f.lastGoodStreamId, f.status);
        return;
      case 'settings':
      case 'windowUpdate':
      case 'unknown':
        return;
    }
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#decompressor.close();
    for (const s of [...this.#streams.values()]) s.abort(undefined);
    this.#streams.clear();
    this.emit('close');
  }
}
