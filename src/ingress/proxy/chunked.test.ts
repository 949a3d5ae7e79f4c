import { describe, expect, it } from 'vitest';
import { ChunkedTracker } from './chunked.js';

const body = '5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n';

describe('ChunkedTracker', () => {
  it.each([1, 2, 3, 7, body.length])('finds the end and the data when fed %i bytes at a time', (step) => {
    const buf = Buffer.from(`${body}NEXT`);
    const t = new ChunkedTracker();
    const data: string[] = [];
    let end = -1;
    for (let i = 0; i < buf.length && end < 0; i += step) {
      const r = t.feed(buf, i, Math.min(i + step, buf.length), (d) => data.push(d.toString()));
      if (r >= 0) end = r;
    }
    expect(end).toBe(body.length);
    expect(data.join('')).toBe('hello world');
    expect(t.decoded).toBe(11);
    expect(t.done).toBe(true);
  });

  it.each([
    ['a bad size', 'x\r\n'],
    ['missing CRLF after data', '2\r\nabX'],
    ['a size over 15 hex digits', `${'f'.repeat(16)}\r\n`],
    ['bare LF after the size', '2\nab'],
  ])('refuses %s', (_name, text) => {
    const b = Buffer.from(text);
    expect(() => new ChunkedTracker().feed(b, 0, b.length)).toThrow();
  });
});
