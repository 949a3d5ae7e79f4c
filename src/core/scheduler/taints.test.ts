import { describe, expect, it } from 'vitest';
import { firstUntoleratedTaint, intolerablePreferNoSchedule, toleratesTaint } from './taints.js';

const taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };

describe('toleratesTaint', () => {
  it.each([
    ['Equal same value', { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, true],
    ['default operator is Equal', { key: 'dedicated', value: 'gpu' }, true],
    ['Equal other value', { key: 'dedicated', operator: 'Equal', value: 'cpu' }, false],
    ['Exists any value', { key: 'dedicated', operator: 'Exists' }, true],
    ['other key', { key: 'other', operator: 'Exists' }, false],
    ['empty key Exists tolerates everything', { operator: 'Exists' }, true],
    ['other effect', { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, false],
    ['empty effect matches all effects', { key: 'dedicated', operator: 'Exists', effect: '' }, true],
  ])('%s', (_n, tol, want) => expect(toleratesTaint(tol, taint)).toBe(want));
});

describe('firstUntoleratedTaint', () => {
  const taints = [
    { key: 'soft', value: '', effect: 'PreferNoSchedule' },
    { key: 'a', value: '1', effect: 'NoSchedule' },
    { key: 'b', value: '2', effect: 'NoExecute' },
  ];
  it.each([
    ['none tolerated: first hard one', [], 'a'],
    ['a tolerated: b next', [{ key: 'a', operator: 'Exists' }], 'b'],
    [
      'all hard tolerated',
      [
        { key: 'a', operator: 'Exists' },
        { key: 'b', value: '2' },
      ],
      undefined,
    ],
  ])('%s', (_n, tols, want) =>
    expect(firstUntoleratedTaint(taints, tols, ['NoSchedule', 'NoExecute'])?.key).toBe(want),
  );
});

describe('intolerablePreferNoSchedule', () => {
  const taints = [
    { key: 'x', value: '', effect: 'PreferNoSchedule' },
    { key: 'y', value: '', effect: 'PreferNoSchedule' },
    { key: 'z', value: '', effect: 'NoSchedule' },
  ];
  it.each([
    ['no tolerations', [], 2],
    ['one tolerated', [{ key: 'x', operator: 'Exists', effect: 'PreferNoSchedule' }], 1],
    ['a NoSchedule toleration does not count', [{ key: 'x', operator: 'Exists', effect: 'NoSchedule' }], 2],
    ['empty effect counts', [{ operator: 'Exists' }], 0],
  ])('%s', (_n, tols, want) => expect(intolerablePreferNoSchedule(taints, tols)).toBe(want));
});
