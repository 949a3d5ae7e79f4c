import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import {
  compareForDeletion,
  isPodActive,
  isPodAvailable,
  podFromTemplate,
  podsToDelete,
  slowStartBatch,
  slowStartBatches,
} from './replicaset-pods.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

interface PodOpts {
  node?: string;
  phase?: string;
  readySince?: number;
  created?: number;
  restarts?: number;
  cost?: string;
  deleting?: boolean;
}
function pod(name: string, o: PodOpts = {}): KObj {
  const p: KObj = {
    metadata: { name, uid: `uid-${name}`, creationTimestamp: ago(o.created ?? 3600) },
    spec: o.node ? { nodeName: o.node } : {},
    status: {
      phase: o.phase ?? 'Running',
      containerStatuses: [{ name: 'c', restartCount: o.restarts ?? 0 }],
    },
  };
  if (o.readySince !== undefined)
    p.status.conditions = [{ type: 'Ready', status: 'True', lastTransitionTime: ago(o.readySince) }];
  if (o.cost !== undefined) p.metadata.annotations = { 'controller.kubernetes.io/pod-deletion-cost': o.cost };
  if (o.deleting) p.metadata.deletionTimestamp = ago(0);
  return p;
}

describe('pod predicates', () => {
  const cases: { name: string; pod: KObj; active: boolean; availableAfter: Record<number, boolean> }[] = [
    {
      name: 'running and ready long ago',
      pod: pod('a', { readySince: 100 }),
      active: true,
      availableAfter: { 0: true, 30: true, 200: false },
    },
    { name: 'not ready', pod: pod('b'), active: true, availableAfter: { 0: false } },
    { name: 'succeeded', pod: pod('c', { phase: 'Succeeded' }), active: false, availableAfter: {} },
    { name: 'failed', pod: pod('d', { phase: 'Failed' }), active: false, availableAfter: {} },
    {
      name: 'being deleted',
      pod: pod('e', { readySince: 10, deleting: true }),
      active: false,
      availableAfter: {},
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(isPodActive(c.pod)).toBe(c.active);
      for (const [minReady, want] of Object.entries(c.availableAfter))
        expect(isPodAvailable(c.pod, Number(minReady), NOW), `minReadySeconds ${minReady}`).toBe(want);
    });
  }
});

describe('deletion order', () => {
  const cases: { name: string; first: KObj; second: KObj; ranks?: [number, number] }[] = [
    { name: 'unscheduled before scheduled', first: pod('a'), second: pod('b', { node: 'n1' }) },
    {
      name: 'pending before running',
      first: pod('a', { node: 'n', phase: 'Pending' }),
      second: pod('b', { node: 'n' }),
    },
    {
      name: 'unknown before running',
      first: pod('a', { node: 'n', phase: 'Unknown' }),
      second: pod('b', { node: 'n' }),
    },
    {
      name: 'not ready before ready',
      first: pod('a', { node: 'n' }),
      second: pod('b', { node: 'n', readySince: 5 }),
    },
    {
      name: 'lower deletion cost first',
      first: pod('a', { node: 'n', readySince: 5, cost: '-10' }),
      second: pod('b', { node: 'n', readySince: 5000 }),
    },
    {
      name: 'crowded node first',
      first: pod('a', { node: 'n1', readySince: 5000 }),
      second: pod('b', { node: 'n2', readySince: 5 }),
      ranks: [3, 1],
    },
    {
      name: 'recently ready first',
      first: pod('a', { node: 'n', readySince: 10 }),
      second: pod('b', { node: 'n', readySince: 10_000 }),
    },
    {
      name: 'more restarts first',
      first: pod('a', { node: 'n', readySince: 100, restarts: 4 }),
      second: pod('b', { node: 'n', readySince: 100, restarts: 1 }),
    },
    {
      name: 'newer first',
      first: pod('a', { node: 'n', created: 5 }),
      second: pod('b', { node: 'n', created: 50_000 }),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const [ra, rb] = c.ranks ?? [0, 0];
      expect(compareForDeletion(c.first, c.second, ra, rb, NOW)).toBeLessThan(0);
      expect(compareForDeletion(c.second, c.first, rb, ra, NOW)).toBeGreaterThan(0);
    });
  }

  it('picks the least valuable pods, counting related pods per node', () => {
    const pods = [
      pod('ready-n1', { node: 'n1', readySince: 1000 }),
      pod('ready-n2', { node: 'n2', readySince: 1000 }),
      pod('pending', { node: 'n2', phase: 'Pending' }),
      pod('unscheduled', { phase: 'Pending' }),
    ];
    const related = [
      ...pods,
      pod('sibling-n2', { node: 'n2' }),
      pod('dead-n1', { node: 'n1', phase: 'Failed' }),
    ];
    expect(podsToDelete(pods, related, 3, NOW).map((p) => p.metadata.name)).toEqual([
      'unscheduled',
      'pending',
      'ready-n2',
    ]);
    expect(podsToDelete(pods, related, 9, NOW)).toHaveLength(4);
  });
});

describe('slow start', () => {
  const cases: [number, number[]][] = [
    [0, []],
    [1, [1]],
    [3, [1, 2]],
    [10, [1, 2, 4, 3]],
    [16, [1, 2, 4, 8, 1]],
  ];
  for (const [n, want] of cases) it(`batches for ${n}`, () => expect(slowStartBatches(n)).toEqual(want));

  it('stops after the first batch with a failure', async () => {
    let calls = 0;
    const r = await slowStartBatch(10, async () => {
      calls++;
      if (calls === 3) throw new Error('quota');
    });
    // batches 1 and 2 ran (3 calls); the failing batch stops the rest.
    expect(calls).toBe(3);
    expect(r.successes).toBe(2);
    expect((r.error as Error).message).toBe('quota');
  });
  it('runs everything when nothing fails', async () => {
    let calls = 0;
    const r = await slowStartBatch(7, async () => {
      calls++;
    });
    expect(calls).toBe(7);
    expect(r).toEqual({ successes: 7, error: undefined });
  });
});

describe('podFromTemplate', () => {
  it('copies labels, annotations, finalizers and spec and sets the controller reference', () => {
    const rs: KObj = {
      metadata: { name: 'web-abc', namespace: 'ns', uid: 'u1' },
      spec: {
        template: {
          metadata: { labels: { app: 'web' }, annotations: { a: 'b' }, finalizers: ['f'] },
          spec: { containers: [{ name: 'c', image: 'i' }] },
        },
      },
    };
    const p = podFromTemplate(rs);
    expect(p.metadata).toEqual({
      generateName: 'web-abc-',
      namespace: 'ns',
      labels: { app: 'web' },
      annotations: { a: 'b' },
      finalizers: ['f'],
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-abc',
          uid: 'u1',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(p.spec).toEqual(rs.spec.template.spec);
    p.spec.containers[0].image = 'changed';
    expect(rs.spec.template.spec.containers[0].image).toBe('i');
  });
});
