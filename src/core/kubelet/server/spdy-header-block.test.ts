import { constants, deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { adler32, SPDY_DICTIONARY } from './spdy-dictionary.js';
import {
  decodeNameValueBlock,
  encodeNameValueBlock,
  HeaderCompressor,
  HeaderDecompressor,
} from './spdy-header-block.js';

describe('the SPDY/3 dictionary', () => {
  it('is the 1423 bytes kubectl uses (its Adler-32 is the DICTID kubectl sends)', () => {
    expect(SPDY_DICTIONARY.length).toBe(1423);
    expect(SPDY_DICTIONARY.subarray(0, 11).toString('latin1')).toBe('\0\0\0\x07options');
    expect(SPDY_DICTIONARY.subarray(-6).toString('latin1')).toBe('enq=0.');
    // The DICTID in the zlib header of a header block kubectl 1.27 sent: 78 f9 e3c6a7c2.
    expect(adler32(SPDY_DICTIONARY).toString(16)).toBe('e3c6a7c2');
  });

  it('adler32 of known inputs', () => {
    expect(adler32(Buffer.alloc(0))).toBe(1);
    expect(adler32(Buffer.from('Wikipedia'))).toBe(0x11e60398);
  });
});

describe('name/value blocks', () => {
  it('encodes counts, lengths and NUL-joined values', () => {
    const b = encodeNameValueBlock({ StreamType: ['error'], v: ['a', 'b'] });
    expect(b.toString('hex')).toBe(
      '00000002' +
        '0000000a' +
        Buffer.from('streamtype').toString('hex') +
        '00000005' +
        Buffer.from('error').toString('hex') +
        '00000001' +
        '76' +
        '00000003' +
        '610062',
    );
    expect(decodeNameValueBlock(b)).toEqual({ streamtype: ['error'], v: ['a', 'b'] });
  });

  it('rejects truncated blocks and duplicate names', () => {
    expect(() => decodeNameValueBlock(Buffer.from('0000000100000005', 'hex'))).toThrow(/truncated/);
    const dup = Buffer.concat([
      Buffer.from('00000002', 'hex'),
      encodeNameValueBlock({ a: ['1'] }).subarray(4),
      encodeNameValueBlock({ a: ['2'] }).subarray(4),
    ]);
    expect(() => decodeNameValueBlock(dup)).toThrow(/duplicate header name "a"/);
  });
});

describe('HeaderCompressor', () => {
  it('writes the zlib header with the dictionary id once, then stored blocks ending in a sync flush', () => {
    const c = new HeaderCompressor();
    const first = c.compress(Buffer.from('00000000', 'hex'));
    expect(first.toString('hex')).toBe('7820e3c6a7c2' + '00' + '0400' + 'fbff' + '00000000' + '000000ffff');
    const second = c.compress(Buffer.from('ab', 'hex'));
    expect(second.toString('hex')).toBe('00' + '0100' + 'feff' + 'ab' + '000000ffff');
  });

  it('produces a stream zlib inflates with the dictionary, across frames', () => {
    const c = new HeaderCompressor();
    const blocks = [encodeNameValueBlock({ a: ['1'] }), encodeNameValueBlock({ port: ['8080'] })];
    const wire = Buffer.concat(blocks.map((b) => c.compress(b)));
    const out = inflateSync(wire, { dictionary: SPDY_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH });
    expect(out).toEqual(Buffer.concat(blocks));
  });

  it('splits blocks larger than a stored block can hold', () => {
    const big = Buffer.alloc(70_000, 7);
    const wire = new HeaderCompressor().compress(big);
    const out = inflateSync(wire, { dictionary: SPDY_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH });
    expect(out).toEqual(big);
  });
});

describe('HeaderDecompressor', () => {
  it('inflates consecutive blocks of one compressed stream, in order', async () => {
    // What a Go peer sends: one deflate stream with the dictionary, sync-flushed per frame.
    const blocks = [
      encodeNameValueBlock({ streamtype: ['error'] }),
      encodeNameValueBlock({ streamtype: ['stdout'] }),
    ];
    const whole = deflateSync(Buffer.concat(blocks), { dictionary: SPDY_DICTIONARY });
    // Cut the single stream where the first block's bytes end, using our own stored encoding
    // for a deterministic boundary.
    const c = new HeaderCompressor();
    const f1 = c.compress(blocks[0]!);
    const f2 = c.compress(blocks[1]!);
    const d = new HeaderDecompressor();
    const [o1, o2] = await Promise.all([d.decompress(f1), d.decompress(f2)]);
    expect(decodeNameValueBlock(o1)).toEqual({ streamtype: ['error'] });
    expect(decodeNameValueBlock(o2)).toEqual({ streamtype: ['stdout'] });
    d.close();
    expect(whole.subarray(2, 6).toString('hex')).toBe('e3c6a7c2');
  });

  it('reads a real header block kubectl 1.27 sent (streamtype: error)', async () => {
    const d = new HeaderDecompressor();
    const out = await d.decompress(
      Buffer.from('78f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff', 'hex'),
    );
    expect(decodeNameValueBlock(out)).toEqual({ streamtype: ['error'] });
    const next = await d.decompress(Buffer.from('c22ac5565c92925f5a02000000ffff', 'hex'));
    expect(decodeNameValueBlock(next)).toEqual({ streamtype: ['stdout'] });
    d.close();
  });

  it('fails on a stream with another dictionary', async () => {
    const d = new HeaderDecompressor();
    const wrong = deflateSync(Buffer.from('x'), { dictionary: Buffer.from('not the spdy dictionary') });
    await expect(d.decompress(wrong)).rejects.toThrow(/cannot inflate header block/);
    d.close();
  });
});
