import { describe, expect, it } from 'vitest';
import { compareKeys, prefixRangeEnd } from './key-range.js';

describe('prefixRangeEnd', () => {
  const cases: Array<{ prefix: string; end: string | undefined }> = [
    { prefix: '/registry/pods/', end: '/registry/pods0' },
    { prefix: 'a', end: 'b' },
    { prefix: 'az', end: 'a{' },
    { prefix: '', end: undefined },
    { prefix: '\u{10ffff}', end: undefined },
    { prefix: 'a\u{10ffff}', end: 'b' },
    { prefix: 'x\ud7ff', end: 'x\ue000' },
    { prefix: 'é', end: 'ê' },
    { prefix: '\uffff', end: '\u{10000}' },
  ];
  it.each(cases)('$prefix -> $end', ({ prefix, end }) => {
    expect(prefixRangeEnd(prefix)).toBe(end);
  });

  it('bounds exactly the keys with the prefix, in byte order', () => {
    const keys = ['/a', '/a/', '/a/x', '/a/\u{10ffff}', '/a0', '/a.', '/b', '/a/é'];
    const prefix = '/a/';
    const end = prefixRangeEnd(prefix)!;
    const inRange = keys.filter((k) => compareKeys(k, prefix) >= 0 && compareKeys(k, end) < 0);
    expect(inRange.sort()).toEqual(keys.filter((k) => k.startsWith(prefix)).sort());
  });
});

describe('compareKeys', () => {
  const cases: Array<{ a: string; b: string; sign: number }> = [
    { a: 'a', b: 'b', sign: -1 },
    { a: 'b', b: 'a', sign: 1 },
    { a: 'a', b: 'a', sign: 0 },
    { a: 'a', b: 'a\0', sign: -1 },
    // UTF-16 code unit order would put the astral character first; byte order does not.
    { a: '\uffff', b: '\u{10000}', sign: -1 },
  ];
  it.each(cases)('$a vs $b', ({ a, b, sign }) => {
    expect(Math.sign(compareKeys(a, b))).toBe(sign);
  });
});
