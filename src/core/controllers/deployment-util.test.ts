import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import {
  calculateStatus,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  IntOrPercentError,
  maxSurge,
  maxUnavailable,
  newCondition,
  resolveFenceposts,
  scaledValue,
  setCondition,
} from './deployment-util.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

describe('scaledValue and fenceposts', () => {
  const cases: {
    surge: number | string;
    unavailable: number | string;
    desired: number;
    want: [number, number];
  }[] = [
    { surge: '25%', unavailable: '25%', desired: 10, want: [3, 2] },
    { surge: '25%', unavailable: '25%', desired: 3, want: [1, 0] },
    { surge: '25%', unavailable: '25%', desired: 1, want: [1, 0] },
    { surge: '0%', unavailable: '10%', desired: 5, want: [0, 1] },
    { surge: 0, unavailable: '20%', desired: 4, want: [0, 1] },
    { surge: 2, unavailable: 1, desired: 100, want: [2, 1] },
    { surge: '50%', unavailable: '50%', desired: 7, want: [4, 3] },
    { surge: '100%', unavailable: 0, desired: 3, want: [3, 0] },
    { surge: '25%', unavailable: '25%', desired: 0, want: [0, 1] },
  ];
  for (const c of cases) {
    it(`surge ${c.surge} unavailable ${c.unavailable} of ${c.desired}`, () => {
      const r = resolveFenceposts(c.surge, c.unavailable, c.desired);
      expect([r.surge, r.unavailable]).toEqual(c.want);
    });
  }
  it('rejects a string that is no percentage', () => {
    expect(() => scaledValue('3', 10, true)).toThrow(IntOrPercentError);
  });
  const dep = (replicas: number, strategy: KObj): KObj => ({ spec: { replicas, strategy } });
  const dcases: { name: string; d: KObj; surge: number; unavailable: number }[] = [
    { name: 'defaults', d: dep(10, {}), surge: 3, unavailable: 2 },
    { name: 'recreate', d: dep(10, { type: 'Recreate' }), surge: 0, unavailable: 0 },
    { name: 'zero replicas', d: dep(0, { type: 'RollingUpdate' }), surge: 0, unavailable: 0 },
    {
      name: 'unavailable capped by replicas',
      d: dep(2, { rollingUpdate: { maxUnavailable: 5, maxSurge: 1 } }),
      surge: 1,
      unavailable: 2,
    },
  ];
  for (const c of dcases) {
    it(`maxSurge/maxUnavailable: ${c.name}`, () => {
      expect(maxSurge(c.d)).toBe(c.surge);
      expect(maxUnavailable(c.d)).toBe(c.unavailable);
    });
  }
});

describe('conditions', () => {
  it('keeps the transition time when only the reason changes, and no-ops on the same reason', () => {
    const st: KObj = {};
    setCondition(st, newCondition('Progressing', 'True', 'A', 'a', NOW - 5000));
    setCondition(st, newCondition('Progressing', 'True', 'A', 'again', NOW));
    expect(st.conditions[0].message).toBe('a');
    setCondition(st, newCondition('Progressing', 'True', 'B', 'b', NOW));
    expect(st.conditions[0]).toMatchObject({
      reason: 'B',
      lastTransitionTime: '2024-05-01T11:59:55Z',
      lastUpdateTime: '2024-05-01T12:00:00Z',
    });
    setCondition(st, newCondition('Progressing', 'False', 'C', 'c', NOW));
    expect(st.conditions[0].lastTransitionTime).toBe('2024-05-01T12:00:00Z');
  });
});

describe('status', () => {
  const d: KObj = { metadata: { generation: 3 }, spec: { replicas: 4 }, status: {} };
  const rs = (spec: number, replicas: number, ready: number, available: number): KObj => ({
    spec: { replicas: spec },
    status: { replicas, readyReplicas: ready, availableReplicas: available },
  });
  it('sums ReplicaSets and sets Available', () => {
    const oldRS = rs(1, 1, 1, 1);
    const newRS = rs(4, 4, 3, 2);
    const st = calculateStatus([oldRS, newRS], newRS, d, NOW);
    expect(st).toMatchObject({
      observedGeneration: 3,
      replicas: 5,
      updatedReplicas: 4,
      readyReplicas: 4,
      availableReplicas: 3,
      unavailableReplicas: 2,
    });
    // 3 available >= 4 - 1 (25% of 4 rounds down to 1)
    expect(st.conditions).toEqual([
      {
        type: 'Available',
        status: 'True',
        lastUpdateTime: '2024-05-01T12:00:00Z',
        lastTransitionTime: '2024-05-01T12:00:00Z',
        reason: 'MinimumReplicasAvailable',
        message: 'Deployment has minimum availability.',
      },
    ]);
    const low = calculateStatus([rs(4, 4, 2, 2)], undefined, d, NOW);
    expect(low.conditions[0]).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
  });

  const complete = { observedGeneration: 3, replicas: 4, updatedReplicas: 4, availableReplicas: 4 };
  const cases: { name: string; st: KObj; complete: boolean }[] = [
    { name: 'complete', st: complete, complete: true },
    { name: 'old replicas left', st: { ...complete, replicas: 5 }, complete: false },
    { name: 'not all available', st: { ...complete, availableReplicas: 3 }, complete: false },
    { name: 'generation not observed', st: { ...complete, observedGeneration: 2 }, complete: false },
  ];
  for (const c of cases)
    it(`deploymentComplete: ${c.name}`, () => expect(deploymentComplete(d, c.st)).toBe(c.complete));

  const before: KObj = {
    ...d,
    status: { replicas: 5, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3 },
  };
  const pcases: { name: string; st: KObj; want: boolean }[] = [
    {
      name: 'nothing moved',
      st: { replicas: 5, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3 },
      want: false,
    },
    {
      name: 'more updated',
      st: { replicas: 5, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 },
      want: true,
    },
    {
      name: 'fewer old',
      st: { replicas: 4, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3 },
      want: true,
    },
    {
      name: 'more ready',
      st: { replicas: 5, updatedReplicas: 2, readyReplicas: 4, availableReplicas: 3 },
      want: true,
    },
    {
      name: 'more available',
      st: { replicas: 5, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 4 },
      want: true,
    },
  ];
  for (const c of pcases)
    it(`deploymentProgressing: ${c.name}`, () => expect(deploymentProgressing(before, c.st)).toBe(c.want));

  const progressing = (reason: string, secondsAgo: number): KObj => ({
    conditions: [
      {
        type: 'Progressing',
        status: 'True',
        reason,
        lastUpdateTime: new Date(NOW - secondsAgo * 1000).toISOString(),
      },
    ],
  });
  const tcases: { name: string; d: KObj; st: KObj; want: boolean }[] = [
    {
      name: 'past the deadline',
      d: { spec: { progressDeadlineSeconds: 600 } },
      st: progressing('ReplicaSetUpdated', 601),
      want: true,
    },
    {
      name: 'within the deadline',
      d: { spec: { progressDeadlineSeconds: 600 } },
      st: progressing('ReplicaSetUpdated', 599),
      want: false,
    },
    {
      name: 'complete never times out',
      d: { spec: { progressDeadlineSeconds: 600 } },
      st: progressing('NewReplicaSetAvailable', 9999),
      want: false,
    },
    {
      name: 'already timed out',
      d: { spec: { progressDeadlineSeconds: 600 } },
      st: progressing('ProgressDeadlineExceeded', 1),
      want: true,
    },
    {
      name: 'no deadline',
      d: { spec: { progressDeadlineSeconds: 2147483647 } },
      st: progressing('ReplicaSetUpdated', 9999),
      want: false,
    },
  ];
  for (const c of tcases)
    it(`deploymentTimedOut: ${c.name}`, () => expect(deploymentTimedOut(c.d, c.st, NOW)).toBe(c.want));
});
