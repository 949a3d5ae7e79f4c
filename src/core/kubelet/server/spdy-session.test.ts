import { Duplex, PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader, type SpdyFrame } from './spdy-frames.js';
import { encodeNameValueBlock, HeaderCompressor } from './spdy-header-block.js';
import { SpdySession, type SpdyStream } from './spdy-session.js';

/** Two connected in-memory byte streams. */
function pipePair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const make = (readFrom: PassThrough, writeTo: PassThrough) =>
    new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        writeTo.write(chunk, cb);
      },
      final(cb) {
        writeTo.end();
        cb();
      },
      construct(cb) {
        readFrom.on('data', (c) => this.push(c));
        readFrom.on('end', () => this.push(null));
        cb();
      },
    });
  return [make(bToA, aToB), make(aToB, bToA)];
}

const read = (s: SpdyStream) =>
  new Promise<string>((resolve) => {
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString()));
    s.on('end', () => resolve(out));
  });

let sessions: SpdySession[] = [];
afterEach(() => {
  for (const s of sessions) s.destroy();
  sessions = [];
});

function connect(onStream?: (s: SpdyStream) => void) {
  const [a, b] = pipePair();
  const server = new SpdySession(a, { server: true, autoReply: true, ...(onStream ? { onStream } : {}) });
  const client = new SpdySession(b, { server: false });
  sessions.push(server, client);
  return { server, client };
}

describe('SpdySession', () => {
  it('opens streams with headers, replies, and carries data both ways with half-close', async () => {
    const got: SpdyStream[] = [];
    const { client } = connect((s) => {
      got.push(s);
      s.on('data', (c: Buffer) => s.write(Buffer.from(c.toString().toUpperCase())));
      s.on('end', () => s.end());
    });
    const s = client.createStream({ streamtype: ['data'], port: ['80'] });
    expect(s.id).toBe(1);
    await s.replied();
    const echoed = read(s);
    s.write('hello ');
    s.end('world');
    expect(await echoed).toBe('HELLO WORLD');
    expect(got[0]!.headers).toEqual({ streamtype: ['data'], port: ['80'] });
    const s2 = client.createStream({ streamtype: ['error'] });
    expect(s2.id).toBe(3);
    await s2.replied();
  });

  it('cuts large writes into frames and keeps their order', async () => {
    let received: Promise<string> | undefined;
    const { client } = connect((s) => {
      received = read(s);
    });
    const s = client.createStream({ a: ['b'] });
    await s.replied();
    const big = 'x'.repeat(200_000) + 'end';
    s.end(big);
    await new Promise((r) => setTimeout(r, 0));
    expect(await received).toBe(big);
  });

  it('echoes the peer PING and resolves its own', async () => {
    const { client } = connect();
    await client.ping();
  });

  it('passes RST_STREAM to the stream', async () => {
    const { client } = connect((s) => s.reset());
    const s = client.createStream({ a: ['1'] });
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    await closed;
    expect(s.resetStatus).toBe(5);
  });

  it('shutdown sends GOAWAY and waits for the peer to close', async () => {
    const { server, client } = connect();
    const goAway = new Promise<number>((r) => client.once('goAway', (last: number) => r(last)));
    const s = client.createStream({ a: ['1'] });
    await s.replied();
    server.shutdown(60_000);
    expect(await goAway).toBe(1);
    expect(server.closed).toBe(false);
    client.close();
    await new Promise<void>((r) => (server.closed ? r() : server.once('close', () => r())));
  });

  it('refuses a stream id with the wrong parity (RST_STREAM PROTOCOL_ERROR)', async () => {
    const [a, b] = pipePair();
    const server = new SpdySession(a, { server: true });
    sessions.push(server);
    const frames: SpdyFrame[] = [];
    const reader = new FrameReader();
    b.on('data', (c: Buffer) => frames.push(...reader.push(c)));
    b.write(
      encodeFrame({
        type: 'synStream',
        streamId: 2,
        associatedTo: 0,
        priority: 0,
        slot: 0,
        flags: 0,
        headerBlock: new HeaderCompressor().compress(encodeNameValueBlock({ a: ['1'] })),
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(frames).toEqual([{ type: 'rstStream', streamId: 2, status: 1 }]);
  });
});
