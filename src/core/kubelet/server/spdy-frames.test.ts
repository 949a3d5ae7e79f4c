import { describe, expect, it } from 'vitest';
import { StreamingProtocolError } from './errors.js';
import { encodeFrame, FLAG_FIN, FrameReader, type SpdyFrame } from './spdy-frames.js';

const hex = (b: Buffer) => b.toString('hex');

describe('SPDY/3 frame encoding, byte by byte', () => {
  const table: { name: string; frame: SpdyFrame; bytes: string }[] = [
    {
      name: 'DATA with FIN',
      frame: { type: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.from('hi') },
      bytes: '00000003' + '01000002' + '6869',
    },
    {
      name: 'SYN_STREAM',
      frame: {
        type: 'synStream',
        streamId: 1,
        associatedTo: 0,
        priority: 7,
        slot: 0,
        flags: 0,
        headerBlock: Buffer.from('abcd', 'hex'),
      },
      bytes: '80030001' + '0000000c' + '00000001' + '00000000' + 'e000' + 'abcd',
    },
    {
      name: 'SYN_REPLY',
      frame: { type: 'synReply', streamId: 5, flags: FLAG_FIN, headerBlock: Buffer.from('ff', 'hex') },
      bytes: '80030002' + '01000005' + '00000005' + 'ff',
    },
    {
      name: 'RST_STREAM cancel',
      frame: { type: 'rstStream', streamId: 7, status: 5 },
      bytes: '80030003' + '00000008' + '00000007' + '00000005',
    },
    {
      name: 'SETTINGS with one entry',
      frame: { type: 'settings', flags: 0, entries: [{ flags: 1, id: 7, value: 65536 }] },
      bytes: '80030004' + '0000000c' + '00000001' + '01000007' + '00010000',
    },
    { name: 'PING', frame: { type: 'ping', id: 2 }, bytes: '80030006' + '00000004' + '00000002' },
    {
      name: 'GOAWAY',
      frame: { type: 'goAway', lastGoodStreamId: 9, status: 0 },
      bytes: '80030007' + '00000008' + '00000009' + '00000000',
    },
    {
      name: 'WINDOW_UPDATE',
      frame: { type: 'windowUpdate', streamId: 1, delta: 0x10000 },
      bytes: '80030009' + '00000008' + '00000001' + '00010000',
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      expect(hex(encodeFrame(t.frame))).toBe(t.bytes);
      const frames = new FrameReader().push(Buffer.from(t.bytes, 'hex'));
      expect(frames).toEqual([t.frame]);
    });
  }

  it('masks the reserved top bit of stream ids in control frames', () => {
    const [f] = new FrameReader().push(Buffer.from('80030003' + '00000008' + '80000007' + '00000001', 'hex'));
    expect(f).toEqual({ type: 'rstStream', streamId: 7, status: 1 });
  });
});

describe('FrameReader', () => {
  it('cuts frames across arbitrary chunk boundaries', () => {
    const a = encodeFrame({ type: 'data', streamId: 1, flags: 0, data: Buffer.from('hello') });
    const b = encodeFrame({ type: 'ping', id: 1 });
    const all = Buffer.concat([a, b]);
    const r = new FrameReader();
    const out: SpdyFrame[] = [];
    for (const byte of all) out.push(...r.push(Buffer.from([byte])));
    expect(out.map((f) => f.type)).toEqual(['data', 'ping']);
    expect(r.pending).toBe(0);
  });

  it('keeps an incomplete frame pending', () => {
    const r = new FrameReader();
    expect(r.push(Buffer.from('00000001000000056865', 'hex'))).toEqual([]);
    expect(r.pending).toBe(10);
  });

  it('refuses another SPDY version', () => {
    expect(() => new FrameReader().push(Buffer.from('80020006000000040000000a', 'hex'))).toThrow(
      StreamingProtocolError,
    );
  });

  it('returns unknown control frames rather than failing', () => {
    const [f] = new FrameReader().push(Buffer.from('8003000a' + '00000001' + 'aa', 'hex'));
    expect(f).toEqual({ type: 'unknown', frameType: 10, flags: 0, payload: Buffer.from('aa', 'hex') });
  });

  it('rejects a control frame too short for its type', () => {
    expect(() => new FrameReader().push(Buffer.from('80030003' + '00000004' + '00000001', 'hex'))).toThrow(
      /RST_STREAM frame payload is 4 bytes/,
    );
  });
});
