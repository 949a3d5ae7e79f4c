import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import { evictionDecision, noExecuteTaints, toleratesTaint } from './node-lifecycle-eviction.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const NOW = T0 + 10_000;
const unreachable = {
  key: 'node.kubernetes.io/unreachable',
  effect: 'NoExecute',
  timeAdded: '2025-01-01T00:00:00Z',
};
const notReady = {
  key: 'node.kubernetes.io/not-ready',
  effect: 'NoExecute',
  timeAdded: '2025-01-01T00:00:05Z',
};

describe('toleratesTaint', () => {
  const taint = { key: 'k', value: 'v', effect: 'NoExecute' };
  const cases: [string, KObj, boolean][] = [
    ['Exists on the key', { key: 'k', operator: 'Exists' }, true],
    ['Exists with no key tolerates everything', { operator: 'Exists' }, true],
    ['Equal with the value', { key: 'k', operator: 'Equal', value: 'v' }, true],
    ['default operator is Equal', { key: 'k', value: 'v' }, true],
    ['Equal with another value', { key: 'k', operator: 'Equal', value: 'w' }, false],
    ['another key', { key: 'x', operator: 'Exists' }, false],
    ['matching effect', { key: 'k', operator: 'Exists', effect: 'NoExecute' }, true],
    ['another effect', { key: 'k', operator: 'Exists', effect: 'NoSchedule' }, false],
    ['unknown operator', { key: 'k', operator: 'Gt', value: 'v' }, false],
  ];
  it.each(cases)('%s', (_n, tol, want) => expect(toleratesTaint(tol, taint)).toBe(want));
});

describe('noExecuteTaints', () => {
  it('keeps only NoExecute taints', () => {
    const node = { spec: { taints: [unreachable, { key: 'a', effect: 'NoSchedule' }, notReady] } };
    expect(noExecuteTaints(node)).toEqual([unreachable, notReady]);
    expect(noExecuteTaints({})).toEqual([]);
  });
});

describe('evictionDecision', () => {
  const pod = (tolerations: KObj[]) => ({ metadata: { name: 'p' }, spec: { tolerations } });
  const tol = (key: string, seconds?: number) => ({
    key,
    operator: 'Exists',
    effect: 'NoExecute',
    ...(seconds === undefined ? {} : { tolerationSeconds: seconds }),
  });
  const cases: [string, KObj, KObj[], ReturnType<typeof evictionDecision>][] = [
    ['no taints', pod([]), [], { kind: 'keep' }],
    ['untolerated taint: at once', pod([]), [unreachable], { kind: 'evictAt', atMs: NOW }],
    [
      'default 300 s toleration: taint start + 300 s',
      pod([tol('node.kubernetes.io/unreachable', 300)]),
      [unreachable],
      { kind: 'evictAt', atMs: T0 + 300_000 },
    ],
    [
      'tolerates forever (DaemonSet pods)',
      pod([tol('node.kubernetes.io/unreachable')]),
      [unreachable],
      { kind: 'keep' },
    ],
    [
      'smallest seconds of the tolerations used, from the earliest taint',
      pod([tol('node.kubernetes.io/unreachable', 60), tol('node.kubernetes.io/not-ready', 2)]),
      [unreachable, notReady],
      { kind: 'evictAt', atMs: T0 + 2000 },
    ],
    [
      'a forever toleration does not cancel a timed one',
      pod([tol('node.kubernetes.io/unreachable'), tol('node.kubernetes.io/not-ready', 20)]),
      [unreachable, notReady],
      { kind: 'evictAt', atMs: T0 + 20_000 },
    ],
    [
      'one taint not tolerated: at once',
      pod([tol('node.kubernetes.io/unreachable', 300)]),
      [unreachable, notReady],
      { kind: 'evictAt', atMs: NOW },
    ],
    [
      'negative seconds count as zero',
      pod([tol('node.kubernetes.io/unreachable', -5)]),
      [unreachable],
      { kind: 'evictAt', atMs: T0 },
    ],
    [
      'a taint without timeAdded counts from now',
      pod([tol('node.kubernetes.io/unreachable', 2)]),
      [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }],
      { kind: 'evictAt', atMs: NOW + 2000 },
    ],
  ];
  it.each(cases)('%s', (_n, p, taints, want) => expect(evictionDecision(p, taints, NOW)).toEqual(want));
});
