import { describe, expect, it } from 'vitest';
import {
  CHANNEL,
  decodeChannelMessage,
  encodeChannelMessage,
  encodeCloseSignal,
  parseResize,
} from './channel-protocol.js';

describe('channel protocol messages', () => {
  it('prefixes data with the channel byte', () => {
    expect(encodeChannelMessage(CHANNEL.stdout, 'hi').toString('hex')).toBe('016869');
    expect(encodeChannelMessage(CHANNEL.error, Buffer.alloc(0)).toString('hex')).toBe('03');
  });

  it('decodes data messages on every channel', () => {
    expect(decodeChannelMessage(Buffer.from('00616263', 'hex'), { v5: true })).toEqual({
      kind: 'data',
      channel: 0,
      data: Buffer.from('abc'),
    });
    expect(decodeChannelMessage(Buffer.from('04', 'hex'), { v5: false })).toEqual({
      kind: 'data',
      channel: 4,
      data: Buffer.alloc(0),
    });
  });

  it('v5 close signal: channel 255 names the channel to close', () => {
    expect(encodeCloseSignal(CHANNEL.stdin).toString('hex')).toBe('ff00');
    expect(decodeChannelMessage(Buffer.from('ff00', 'hex'), { v5: true })).toEqual({
      kind: 'close',
      channel: 0,
    });
    // v4 has no close signal: 255 is just a channel number nobody uses.
    expect(decodeChannelMessage(Buffer.from('ff00', 'hex'), { v5: false })).toEqual({
      kind: 'data',
      channel: 255,
      data: Buffer.from([0]),
    });
    expect(() => decodeChannelMessage(Buffer.from('ff', 'hex'), { v5: true })).toThrow(/close signal/);
  });

  it('rejects an empty message', () => {
    expect(() => decodeChannelMessage(Buffer.alloc(0), { v5: true })).toThrow(/no channel byte/);
  });
});

describe('parseResize', () => {
  it.each([
    ['{"Width":80,"Height":24}', [{ width: 80, height: 24 }], ''],
    [
      '{"Width":80,"Height":24}\n{"Width":100,"Height":40}\n',
      [
        { width: 80, height: 24 },
        { width: 100, height: 40 },
      ],
      '',
    ],
    ['{"Width":80,"Height":24}{"Width":1', [{ width: 80, height: 24 }], '{"Width":1'],
    ['{"width":5,"height":6}', [{ width: 5, height: 6 }], ''],
  ])('%s', (text, sizes, rest) => {
    expect(parseResize(text)).toEqual({ sizes, rest });
  });

  it('rejects nonsense', () => {
    expect(() => parseResize('{"Width":-1,"Height":2}')).toThrow(/invalid terminal size/);
    expect(() => parseResize('{nope}')).toThrow(/not JSON/);
  });
});
