import { describe, expect, it } from 'vitest';
import { age, humanDuration } from './duration.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const Y = 365 * D;

describe('humanDuration', () => {
  it.each([
    [-3 * S, '<invalid>'],
    [-1500, '0s'],
    [-999, '0s'],
    [0, '0s'],
    [5 * S, '5s'],
    [119 * S + 999, '119s'],
    [2 * M, '2m'],
    [3 * M + 20 * S, '3m20s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [4 * H + 5 * M, '4h5m'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H + 30 * M, '8h'],
    [47 * H, '47h'],
    [2 * D, '2d'],
    [2 * D + 3 * H, '2d3h'],
    [7 * D + 23 * H, '7d23h'],
    [8 * D + 5 * H, '8d'],
    [10 * D, '10d'],
    [729 * D, '729d'],
    [2 * Y + 45 * D, '2y45d'],
    [3 * Y, '3y'],
    [8 * Y + 100 * D, '8y'],
  ])('%d ms -> %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });
});

describe('age', () => {
  const now = new Date('2024-05-01T12:00:00Z');
  it.each([
    ['2024-05-01T11:59:55Z', '5s'],
    ['2024-05-01T08:00:00Z', '4h'],
    ['2024-04-28T09:00:00Z', '3d3h'],
    [undefined, '<unknown>'],
    ['', '<unknown>'],
    ['not a time', '<unknown>'],
  ])('%s -> %s', (ts, want) => {
    expect(age(ts, now)).toBe(want);
  });
});
