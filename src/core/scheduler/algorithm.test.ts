import { describe, expect, it } from 'vitest';
import { numFeasibleNodesToFind, schedulePod } from './algorithm.js';
import { nodeInfoOf } from './node-info.js';
import { podInfo } from './pod-info.js';
import { testNode, testPod } from './test-objects.js';

describe('numFeasibleNodesToFind', () => {
  it.each([
    [50, 0, 50],
    [99, 0, 99],
    [100, 0, 100], // 49% of 100 = 49 -> floor of 100
    [1000, 0, 420], // 50 - 8 = 42%
    [5000, 0, 500], // 50 - 40 = 10%
    [10000, 0, 500], // 50 - 80 -> 5% floor
    [1000, 30, 300],
    [1000, 5, 100],
    [1000, 100, 1000],
  ])('%d nodes, percentage %d -> %d', (n, pct, want) => expect(numFeasibleNodesToFind(n, pct)).toBe(want));
});

describe('schedulePod', () => {
  const nodes = [
    nodeInfoOf(testNode('a', { cpu: '1' })),
    nodeInfoOf(testNode('b', { cpu: '4', labels: { disk: 'ssd' } })),
    nodeInfoOf(testNode('c', { cpu: '8', taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] })),
  ];
  it.each([
    ['nodeSelector', { nodeSelector: { disk: 'ssd' } }, 'b'],
    [
      'toleration opens the emptiest node',
      { cpu: '2', tolerations: [{ key: 'k', operator: 'Exists' }] },
      'c',
    ],
    ['only b fits 2 cpu untolerated', { cpu: '2' }, 'b'],
  ])('%s', (_n, o, want) => {
    const r = schedulePod(podInfo(testPod('p', o)), nodes, { random: () => 0.5 });
    expect(r.ok && r.node.name).toBe(want);
  });

  it('explains a pod no node fits', () => {
    const r = schedulePod(podInfo(testPod('p', { cpu: '8' })), nodes);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.message).toBe(
        '0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
      );
  });

  it('stops after enough feasible nodes and rotates the start', () => {
    const many = Array.from({ length: 1000 }, (_, i) =>
      nodeInfoOf(testNode(`n${String(i).padStart(4, '0')}`)),
    );
    const r1 = schedulePod(podInfo(testPod('p')), many, { startIndex: 0 });
    expect(r1.ok && r1.feasible).toBe(420);
    expect(r1.nextStartIndex).toBe(420);
    const r2 = schedulePod(podInfo(testPod('q')), many, { startIndex: 900 });
    expect(r2.nextStartIndex).toBe(320); // wraps around
  });

  it('filters every node when few fit', () => {
    const many = Array.from({ length: 300 }, (_, i) =>
      nodeInfoOf(testNode(`n${i}`, { labels: i === 299 ? { x: 'y' } : {} })),
    );
    const r = schedulePod(podInfo(testPod('p', { nodeSelector: { x: 'y' } })), many, { startIndex: 0 });
    expect(r.ok && r.node.name).toBe('n299');
  });
});
