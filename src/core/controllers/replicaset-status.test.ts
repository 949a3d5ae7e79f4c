import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import { calculateReplicaSetStatus, replicaSetStatusUpdate } from './replicaset-status.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const rs = (extra: KObj = {}, status: KObj = {}): KObj => ({
  metadata: { name: 'rs', generation: 4 },
  spec: { replicas: 3, template: { metadata: { labels: { app: 'web', tier: 'fe' } } }, ...extra },
  status,
});
const pod = (labels: KObj, readySince?: number): KObj => ({
  metadata: { labels },
  status:
    readySince === undefined
      ? {}
      : { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ago(readySince) }] },
});

describe('calculateReplicaSetStatus', () => {
  const full = { app: 'web', tier: 'fe' };
  const cases: { name: string; rs: KObj; pods: KObj[]; err?: Error; want: KObj }[] = [
    { name: 'no pods', rs: rs(), pods: [], want: { replicas: 0 } },
    {
      name: 'counts labels, ready and available',
      rs: rs(),
      pods: [pod(full, 100), pod({ app: 'web' }, 100), pod(full)],
      want: { replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
    },
    {
      name: 'minReadySeconds holds availability back',
      rs: rs({ minReadySeconds: 30 }),
      pods: [pod(full, 100), pod(full, 10)],
      want: { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1 },
    },
    {
      name: 'a failed create adds ReplicaFailure',
      rs: rs(),
      pods: [pod(full)],
      err: new Error('pods "x" is forbidden: exceeded quota'),
      want: {
        replicas: 1,
        fullyLabeledReplicas: 1,
        conditions: [
          {
            type: 'ReplicaFailure',
            status: 'True',
            lastTransitionTime: '2024-05-01T12:00:00Z',
            reason: 'FailedCreate',
            message: 'pods "x" is forbidden: exceeded quota',
          },
        ],
      },
    },
    {
      name: 'a failed delete says FailedDelete',
      rs: rs({ replicas: 0 }),
      pods: [pod(full)],
      err: new Error('boom'),
      want: {
        replicas: 1,
        fullyLabeledReplicas: 1,
        conditions: [
          {
            type: 'ReplicaFailure',
            status: 'True',
            lastTransitionTime: '2024-05-01T12:00:00Z',
            reason: 'FailedDelete',
            message: 'boom',
          },
        ],
      },
    },
    {
      name: 'success clears ReplicaFailure',
      rs: rs(
        {},
        { replicas: 0, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate' }] },
      ),
      pods: [],
      want: { replicas: 0 },
    },
  ];
  for (const c of cases)
    it(c.name, () =>
      expect(calculateReplicaSetStatus(c.rs, { pods: c.pods, manageError: c.err, nowMs: NOW })).toEqual(
        c.want,
      ),
    );
});

describe('replicaSetStatusUpdate', () => {
  it('skips an unchanged, observed status', () => {
    expect(
      replicaSetStatusUpdate(rs({}, { replicas: 2, observedGeneration: 4 }), {
        replicas: 2,
        observedGeneration: 4,
      }),
    ).toBeUndefined();
  });
  it('writes observedGeneration when the generation moved', () => {
    expect(
      replicaSetStatusUpdate(rs({}, { replicas: 2, observedGeneration: 3 }), {
        replicas: 2,
        observedGeneration: 3,
      }),
    ).toEqual({
      replicas: 2,
      observedGeneration: 4,
    });
  });
  it('writes changed counts', () => {
    expect(
      replicaSetStatusUpdate(rs({}, { replicas: 2, observedGeneration: 4 }), {
        replicas: 2,
        readyReplicas: 1,
      }),
    ).toEqual({
      replicas: 2,
      readyReplicas: 1,
      observedGeneration: 4,
    });
  });
});
