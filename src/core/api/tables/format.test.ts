import { describe, expect, it } from 'vitest';
import { containerCells, formatLabelSelector, formatLabels, joinHostPort, listWithMore } from './format.js';

describe('formatLabels', () => {
  it.each([
    [undefined, '<none>'],
    [{}, '<none>'],
    [{ b: '2', a: '1' }, 'a=1,b=2'],
  ])('%j -> %s', (labels, want) => expect(formatLabels(labels)).toBe(want));
});

describe('formatLabelSelector', () => {
  it.each([
    [undefined, '<none>'],
    [{}, '<none>'],
    [{ matchLabels: { app: 'web' } }, 'app=web'],
    [
      {
        matchLabels: { z: '1' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['b', 'a'] },
          { key: 'env', operator: 'NotIn', values: ['prod'] },
          { key: 'has', operator: 'Exists' },
          { key: 'gone', operator: 'DoesNotExist' },
        ],
      },
      'env notin (prod),gone,has,tier in (a,b),z=1'.replace('gone', '!gone'),
    ],
    [{ matchExpressions: [{ key: 'a', operator: 'Near' }] }, '<error>'],
  ])('%j -> %s', (sel, want) => expect(formatLabelSelector(sel)).toBe(want));
});

describe('helpers', () => {
  it('lays out containers', () => {
    expect(
      containerCells([
        { name: 'a', image: 'nginx' },
        { name: 'b', image: 'busybox:1' },
      ]),
    ).toEqual(['a,b', 'nginx,busybox:1']);
    expect(containerCells(undefined)).toEqual(['', '']);
  });
  it('lists with more', () => {
    expect(listWithMore(['a', 'b', 'c'], 5, '<unset>')).toBe('a,b,c + 2 more...');
    expect(listWithMore(['a'], 1, '<unset>')).toBe('a');
    expect(listWithMore([], 0, '<unset>')).toBe('<unset>');
  });
  it('joins host and port', () => {
    expect(joinHostPort('10.0.0.1', 80)).toBe('10.0.0.1:80');
    expect(joinHostPort('fd00::1', 80)).toBe('[fd00::1]:80');
  });
});
