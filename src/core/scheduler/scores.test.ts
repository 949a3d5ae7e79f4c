import { describe, expect, it } from 'vitest';
import { nodeInfoOf } from './node-info.js';
import { podInfo } from './pod-info.js';
import {
  balancedAllocation,
  defaultSpreading,
  leastAllocated,
  preferredNodeAffinity,
  selectHost,
  taintPreferNoSchedule,
  totalScores,
} from './scores.js';
import { testNode, testPod } from './test-objects.js';

const p = (...a: Parameters<typeof testPod>) => podInfo(testPod(...a));
const gi = (n: number) => `${n}Gi`;

describe('leastAllocated / balancedAllocation', () => {
  const pod = p('x', { cpu: '1', memory: '1Gi' });
  it.each([
    // node allocatable cpu, memory; pods already there (cpu, mem); want least, balanced
    ['empty node', '4', gi(4), [], 75, 100],
    ['half used', '4', gi(4), [['1', '1Gi']], 50, 100],
    ['cpu heavy', '4', gi(4), [['3', '0']], 37, 62],
    ['full', '2', gi(2), [['1', '1Gi']], 0, 100],
  ] as const)('%s', (_n, cpu, mem, existing, least, balanced) => {
    const node = nodeInfoOf(
      testNode('n', { cpu, memory: mem }),
      existing.map(([c, m], i) => p(`e${i}`, { cpu: c, memory: m })),
    );
    expect(leastAllocated(pod, [node])).toEqual([least]);
    expect(balancedAllocation(pod, [node])).toEqual([balanced]);
  });

  it('counts a pod without requests as 100m / 200Mi', () => {
    const node = nodeInfoOf(testNode('n', { cpu: '1', memory: '1000Mi' }));
    // cpu free 90%, memory free 80% -> 85
    expect(leastAllocated(p('x'), [node])).toEqual([85]);
  });
});

describe('defaultSpreading', () => {
  const mine = (name: string) => p(name, { ownerUid: 'rs' });
  it('prefers nodes with fewer pods of the same owner', () => {
    const nodes = [
      nodeInfoOf(testNode('a'), [mine('1'), mine('2')]),
      nodeInfoOf(testNode('b'), [mine('3'), p('other', { ownerUid: 'zz' })]),
      nodeInfoOf(testNode('c')),
    ];
    expect(defaultSpreading(mine('new'), nodes)).toEqual([0, 50, 100]);
  });
  it('weights zones 2/3 when nodes have zones', () => {
    const z = (n: string, zone: string) => testNode(n, { labels: { 'topology.kubernetes.io/zone': zone } });
    const nodes = [
      nodeInfoOf(z('a1', 'a'), [mine('1'), mine('2')]),
      nodeInfoOf(z('a2', 'a')),
      nodeInfoOf(z('b1', 'b')),
    ];
    // node counts 2,0,0 (max 2) -> 0,100,100; zone counts a=2, b=0 -> 0,0,100
    expect(defaultSpreading(mine('new'), nodes)).toEqual([0, 33, 100]);
  });
  it('is neutral for pods without a controller', () => {
    expect(
      defaultSpreading(p('x'), [nodeInfoOf(testNode('a'), [mine('1')]), nodeInfoOf(testNode('b'))]),
    ).toEqual([0, 0]);
  });
});

describe('taintPreferNoSchedule', () => {
  const soft = (k: string) => ({ key: k, effect: 'PreferNoSchedule' });
  const nodes = [
    nodeInfoOf(testNode('a')),
    nodeInfoOf(testNode('b', { taints: [soft('x')] })),
    nodeInfoOf(testNode('c', { taints: [soft('x'), soft('y')] })),
  ];
  it.each([
    ['no tolerations', [], [100, 50, 0]],
    ['x tolerated', [{ key: 'x', operator: 'Exists' }], [100, 100, 0]],
    ['all tolerated', [{ operator: 'Exists' }], [100, 100, 100]],
  ])('%s', (_n, tolerations, want) =>
    expect(taintPreferNoSchedule(p('p', { tolerations }), nodes)).toEqual(want),
  );
});

describe('preferredNodeAffinity', () => {
  it('normalizes the matched weights to the best node', () => {
    const pod = p('p', {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 20,
              preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] },
            },
            { weight: 60, preference: { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] } },
          ],
        },
      },
    });
    const nodes = [
      nodeInfoOf(testNode('a', { labels: { disk: 'ssd' } })),
      nodeInfoOf(testNode('b', { labels: { disk: 'ssd', gpu: 'yes' } })),
      nodeInfoOf(testNode('c')),
    ];
    expect(preferredNodeAffinity(pod, nodes)).toEqual([25, 100, 0]);
  });
});

describe('totalScores / selectHost', () => {
  it('weights the plugins: a preferred node wins over a slightly emptier one', () => {
    const pod = p('p', {
      cpu: '100m',
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 1, preference: { matchExpressions: [{ key: 'pref', operator: 'Exists' }] } },
          ],
        },
      },
    });
    const nodes = [
      nodeInfoOf(testNode('a'), [p('e', { cpu: '500m' })]),
      nodeInfoOf(testNode('b', { labels: { pref: '1' } }), [p('f', { cpu: '1' })]),
    ];
    const t = totalScores(pod, nodes);
    expect(selectHost(t)).toBe(1);
  });

  it.each([
    [[1, 5, 3], 0.99, 1],
    [[7, 7, 7], 0, 2], // every tie replaces the pick when random() is 0
    [[7, 7, 7], 0.99, 0], // never when it is near 1
    [[], 0.5, -1],
  ])('selectHost(%j) with random %d -> %d', (totals, r, want) =>
    expect(selectHost(totals, () => r)).toBe(want),
  );
});
