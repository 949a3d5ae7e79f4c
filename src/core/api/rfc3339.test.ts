import { describe, expect, it } from 'vitest';
import { rfc3339Seconds } from './rfc3339.js';

describe('rfc3339Seconds', () => {
  // Run in this order: repeats within a second, a step back, and seconds far apart must each come
  // out as toISOString would write them.
  const times = [
    '2024-05-01T10:00:00.000Z',
    '2024-05-01T10:00:00.999Z',
    '2024-05-01T10:00:01.000Z',
    '2024-05-01T10:00:00.500Z',
    '1970-01-01T00:00:00.000Z',
    '1969-12-31T23:59:59.900Z',
    '2038-01-19T03:14:08.001Z',
    '2024-02-29T23:59:59.999Z',
    '2024-02-29T23:59:59.001Z',
  ];
  it('writes every time as toISOString with whole seconds, whatever came before', () => {
    for (const t of times) {
      const ms = Date.parse(t);
      expect([t, rfc3339Seconds(ms)]).toEqual([t, `${t.slice(0, 19)}Z`]);
    }
  });

  it('throws on an invalid time, as toISOString does', () => {
    expect(() => rfc3339Seconds(Number.NaN)).toThrow(RangeError);
  });
});
