import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import {
  newStatefulSetPod,
  ordinalOf,
  planStatefulSet,
  revisionName,
  type StatefulSetAction,
  type StatefulSetStatusFields,
} from './statefulset-plan.js';

const NOW = new Date('2024-01-01T01:00:00Z');
const NEW = 'web-new';
const OLD = 'web-old';

interface SetOpts {
  replicas?: number;
  parallel?: boolean;
  onDelete?: boolean;
  partition?: number;
  deleting?: boolean;
  minReadySeconds?: number;
}

function set(o: SetOpts = {}): KObj {
  const s: KObj = {
    metadata: { name: 'web', namespace: 'ns', uid: 'sts-uid', generation: 2 },
    spec: {
      replicas: o.replicas ?? 3,
      serviceName: 'web-svc',
      podManagementPolicy: o.parallel ? 'Parallel' : 'OrderedReady',
      minReadySeconds: o.minReadySeconds ?? 0,
      updateStrategy: o.onDelete
        ? { type: 'OnDelete' }
        : { type: 'RollingUpdate', rollingUpdate: { partition: o.partition ?? 0 } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    },
  };
  if (o.deleting) s.metadata.deletionTimestamp = '2024-01-01T00:00:00Z';
  return s;
}

interface PodOpts {
  rev?: string;
  ready?: boolean;
  phase?: string;
  terminating?: boolean;
  noIdentity?: boolean;
}

function pod(ordinal: number, o: PodOpts = {}): KObj {
  const name = `web-${ordinal}`;
  const ready = o.ready ?? true;
  const labels: KObj = { app: 'web', 'controller-revision-hash': o.rev ?? NEW };
  if (!o.noIdentity) {
    labels['statefulset.kubernetes.io/pod-name'] = name;
    labels['apps.kubernetes.io/pod-index'] = String(ordinal);
  }
  const metadata: KObj = { name, namespace: 'ns', labels };
  if (o.terminating) metadata.deletionTimestamp = '2024-01-01T00:59:00Z';
  return {
    metadata,
    spec: {},
    status: {
      phase: o.phase ?? (ready ? 'Running' : 'Pending'),
      conditions: [
        { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2024-01-01T00:30:00Z' },
      ],
    },
  };
}

const create = (ordinal: number, revision = NEW): StatefulSetAction => ({
  type: 'create',
  ordinal,
  revision,
});
const del = (ordinal: number, reason: 'failed' | 'scale-down' | 'update'): StatefulSetAction => ({
  type: 'delete',
  name: `web-${ordinal}`,
  reason,
});

interface Case {
  name: string;
  set?: KObj;
  pods: KObj[];
  current?: string;
  actions: StatefulSetAction[];
  status?: Partial<StatefulSetStatusFields>;
}

const cases: Case[] = [
  // OrderedReady creation, one at a time, each after its predecessors are Running and Ready.
  {
    name: 'ordered: nothing yet: web-0 only',
    pods: [],
    actions: [create(0)],
    status: { replicas: 1, readyReplicas: 0, updatedReplicas: 1, currentReplicas: 1 },
  },
  { name: 'ordered: web-0 not ready: wait', pods: [pod(0, { ready: false })], actions: [] },
  {
    name: 'ordered: web-0 ready but not Running: wait',
    pods: [pod(0, { phase: 'Pending' })],
    actions: [],
  },
  { name: 'ordered: web-0 ready: web-1', pods: [pod(0)], actions: [create(1)] },
  { name: 'ordered: web-0,1 ready: web-2', pods: [pod(0), pod(1)], actions: [create(2)] },
  {
    name: 'ordered: a gap is filled first',
    pods: [pod(0), pod(2)],
    actions: [create(1)],
  },
  {
    name: 'ordered: all ready',
    pods: [pod(0), pod(1), pod(2)],
    actions: [],
    status: {
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      updatedReplicas: 3,
      currentReplicas: 3,
      currentRevision: NEW,
      updateRevision: NEW,
      observedGeneration: 2,
    },
  },
  {
    name: 'ordered: minReadySeconds not yet passed: wait',
    set: set({ minReadySeconds: 3600 }),
    pods: [pod(0)],
    actions: [],
    status: { readyReplicas: 1, availableReplicas: 0 },
  },
  // Parallel.
  {
    name: 'parallel: all at once',
    set: set({ parallel: true }),
    pods: [],
    actions: [create(0), create(1), create(2)],
  },
  {
    name: 'parallel: does not wait for readiness',
    set: set({ parallel: true }),
    pods: [pod(0, { ready: false })],
    actions: [create(1), create(2)],
  },
  {
    name: 'parallel: skips a terminating pod',
    set: set({ parallel: true }),
    pods: [pod(0), pod(1, { terminating: true })],
    actions: [create(2)],
  },
  // Failed pods.
  {
    name: 'a failed pod is deleted and made again',
    pods: [pod(0), pod(1, { phase: 'Failed', ready: false }), pod(2)],
    actions: [del(1, 'failed'), create(1)],
  },
  { name: 'ordered: a terminating pod blocks', pods: [pod(0), pod(1, { terminating: true })], actions: [] },
  // Scale down.
  {
    name: 'ordered scale down: highest first, one at a time',
    set: set({ replicas: 1 }),
    pods: [pod(0), pod(1), pod(2)],
    actions: [del(2, 'scale-down')],
  },
  {
    name: 'ordered scale down: wait for the terminating one',
    set: set({ replicas: 1 }),
    pods: [pod(0), pod(1), pod(2, { terminating: true })],
    actions: [],
  },
  {
    name: 'ordered scale down: an unhealthy highest pod may go',
    set: set({ replicas: 1 }),
    pods: [pod(0), pod(1), pod(2, { ready: false })],
    actions: [del(2, 'scale-down')],
  },
  {
    name: 'ordered scale down: an unhealthy lower condemned pod does not block the highest',
    set: set({ replicas: 1 }),
    pods: [pod(0), pod(1, { ready: false }), pod(2)],
    actions: [del(2, 'scale-down')],
  },
  {
    name: 'ordered scale down: not while a kept pod is unready',
    set: set({ replicas: 1 }),
    pods: [pod(0, { ready: false }), pod(1), pod(2)],
    actions: [],
  },
  {
    name: 'parallel scale down: all condemned at once, highest first',
    set: set({ replicas: 1, parallel: true }),
    pods: [pod(0), pod(1), pod(2)],
    actions: [del(2, 'scale-down'), del(1, 'scale-down')],
  },
  // Rolling update (current OLD, update NEW).
  {
    name: 'rolling: highest old pod first',
    pods: [pod(0, { rev: OLD }), pod(1, { rev: OLD }), pod(2, { rev: OLD })],
    current: OLD,
    actions: [del(2, 'update')],
    status: { currentReplicas: 2, updatedReplicas: 0, currentRevision: OLD, updateRevision: NEW },
  },
  {
    name: 'rolling: the replaced ordinal is made at the update revision',
    pods: [pod(0, { rev: OLD }), pod(1, { rev: OLD })],
    current: OLD,
    actions: [create(2, NEW)],
  },
  {
    name: 'rolling: wait for the new pod to be ready',
    pods: [pod(0, { rev: OLD }), pod(1, { rev: OLD }), pod(2, { ready: false })],
    current: OLD,
    actions: [],
  },
  {
    name: 'rolling: then the next one down',
    pods: [pod(0, { rev: OLD }), pod(1, { rev: OLD }), pod(2)],
    current: OLD,
    actions: [del(1, 'update')],
  },
  {
    name: 'rolling: complete: the update revision becomes current',
    pods: [pod(0), pod(1), pod(2)],
    current: OLD,
    actions: [],
    status: { currentRevision: NEW, currentReplicas: 3, updatedReplicas: 3 },
  },
  {
    name: 'partition: ordinals below it are left alone',
    set: set({ partition: 2 }),
    pods: [pod(0, { rev: OLD }), pod(1, { rev: OLD }), pod(2)],
    current: OLD,
    actions: [],
    status: { currentRevision: OLD, currentReplicas: 2, updatedReplicas: 1 },
  },
  {
    name: 'partition: a missing ordinal below it is made at the current revision',
    set: set({ partition: 2 }),
    pods: [pod(0, { rev: OLD }), pod(2)],
    current: OLD,
    actions: [create(1, OLD)],
  },
  {
    name: 'OnDelete: old pods stay',
    set: set({ onDelete: true }),
    pods: [pod(0, { rev: OLD }), pod(1, { rev: OLD }), pod(2, { rev: OLD })],
    current: OLD,
    actions: [],
  },
  {
    name: 'OnDelete: a deleted pod comes back at the update revision',
    set: set({ onDelete: true }),
    pods: [pod(0, { rev: OLD }), pod(2, { rev: OLD })],
    current: OLD,
    actions: [create(1, NEW)],
  },
  {
    name: 'scaling takes precedence over updating',
    set: set({ replicas: 2 }),
    pods: [pod(0, { rev: OLD }), pod(1, { rev: OLD }), pod(2, { rev: OLD })],
    current: OLD,
    actions: [del(2, 'scale-down')],
  },
  // Identity, deletion, strangers.
  {
    name: 'missing identity labels are restored',
    pods: [pod(0, { noIdentity: true }), pod(1), pod(2)],
    actions: [{ type: 'fix-identity', name: 'web-0', ordinal: 0 }],
  },
  {
    name: 'a set being deleted only reports',
    set: set({ deleting: true }),
    pods: [pod(0)],
    actions: [],
    status: { replicas: 1, readyReplicas: 1 },
  },
];

describe('planStatefulSet', () => {
  for (const c of cases) {
    it(c.name, () => {
      const plan = planStatefulSet({
        set: c.set ?? set(),
        pods: c.pods,
        updateRevision: NEW,
        currentRevision: c.current ?? NEW,
        now: NOW,
      });
      expect(plan.actions).toEqual(c.actions);
      if (c.status) expect(plan.status).toMatchObject(c.status);
    });
  }
  it('ignores owned pods whose name is not an ordinal of the set', () => {
    const stray = pod(0);
    stray.metadata.name = 'web-x';
    const plan = planStatefulSet({
      set: set({ replicas: 1 }),
      pods: [stray],
      updateRevision: NEW,
      currentRevision: NEW,
      now: NOW,
    });
    expect(plan.actions).toEqual([create(0)]);
  });
});

describe('ordinalOf', () => {
  const cases: [string, number][] = [
    ['web-0', 0],
    ['web-12', 12],
    ['web-012', -1],
    ['web-', -1],
    ['web-x', -1],
    ['webb-1', -1],
    ['web-1-2', -1],
    ['other-1', -1],
  ];
  for (const [name, want] of cases) it(name, () => expect(ordinalOf('web', name)).toBe(want));
});

describe('newStatefulSetPod', () => {
  it('gives the pod its stable identity', () => {
    const s = set();
    const p = newStatefulSetPod(s, 2, { revision: 'web-abc', template: s.spec.template });
    expect(p.metadata.name).toBe('web-2');
    expect(p.metadata.labels).toEqual({
      app: 'web',
      'statefulset.kubernetes.io/pod-name': 'web-2',
      'apps.kubernetes.io/pod-index': '2',
      'controller-revision-hash': 'web-abc',
    });
    expect(p.spec.hostname).toBe('web-2');
    expect(p.spec.subdomain).toBe('web-svc');
    expect(p.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        name: 'web',
        uid: 'sts-uid',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(s.spec.template.metadata.labels).toEqual({ app: 'web' });
  });
  it('names revisions after the set and its template', () => {
    const a = set();
    const b = set();
    b.spec.template.spec.containers[0].image = 'j';
    expect(revisionName(a)).toMatch(/^web-[a-z0-9]+$/);
    expect(revisionName(a)).toBe(revisionName(set()));
    expect(revisionName(b)).not.toBe(revisionName(a));
  });
});
