import type { Job, JobStatus } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import {
  countReleasedPods,
  formatIndexes,
  JOB_COMPLETION_INDEX,
  JOB_TRACKING_FINALIZER,
  nextBackoff,
  parseIndexes,
  planJob,
  podForJob,
  podGenerateName,
  trackFinishedPods,
} from './job-sync.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const T = (offsetMs: number) => `${new Date(NOW + offsetMs).toISOString().slice(0, 19)}Z`;

function job(spec: Partial<NonNullable<Job['spec']>> = {}, status: JobStatus = {}, name = 'pi'): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default', uid: 'job-uid' },
    spec: {
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      template: {
        metadata: {
          labels: { 'batch.kubernetes.io/controller-uid': 'job-uid', 'batch.kubernetes.io/job-name': name },
        },
        spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'busybox' }] },
      },
      ...spec,
    },
    status,
  };
}

let podSeq = 0;
function pod(
  phase: string,
  opts: {
    index?: number;
    finalizer?: boolean;
    deleting?: boolean;
    ready?: boolean;
    uid?: string;
    restarts?: number;
  } = {},
): Pod {
  podSeq++;
  const uid = opts.uid ?? `pod-${podSeq}`;
  return {
    metadata: {
      name: uid,
      namespace: 'default',
      uid,
      creationTimestamp: T(-600_000 + podSeq * 1000),
      finalizers: opts.finalizer === false ? [] : [JOB_TRACKING_FINALIZER],
      ...(opts.index === undefined ? {} : { annotations: { [JOB_COMPLETION_INDEX]: String(opts.index) } }),
      ...(opts.deleting ? { deletionTimestamp: T(0) } : {}),
    },
    spec: { containers: [{ name: 'pi' }] },
    status: {
      phase,
      ...(opts.ready ? { conditions: [{ type: 'Ready', status: 'True' }] } : {}),
      ...(opts.restarts ? { containerStatuses: [{ name: 'pi', restartCount: opts.restarts } as any] } : {}),
    },
  };
}

const conds = (s: JobStatus) => (s.conditions ?? []).map((c) => `${c.type}=${c.status}:${c.reason}`);

describe('indexes', () => {
  it.each([
    ['', []],
    ['0', [0]],
    ['0-2', [0, 1, 2]],
    ['1,3-5,7', [1, 3, 4, 5, 7]],
  ])('parse %j', (s, want) => {
    expect([...parseIndexes(s)]).toEqual(want);
  });
  it.each([
    [[], ''],
    [[3, 1, 2], '1-3'],
    [[0, 2, 4, 5, 6, 9], '0,2,4-6,9'],
    [[7, 7], '7'],
  ])('format %j', (xs, want) => {
    expect(formatIndexes(xs)).toBe(want);
  });
});

describe('podForJob', () => {
  it('creates a NonIndexed pod owned by the Job with the tracking finalizer', () => {
    const p = podForJob(job(), undefined);
    expect(p.metadata?.generateName).toBe('pi-');
    expect(p.metadata?.name).toBeUndefined();
    expect(p.metadata?.finalizers).toEqual([JOB_TRACKING_FINALIZER]);
    expect(p.metadata?.labels).toEqual({
      'batch.kubernetes.io/controller-uid': 'job-uid',
      'batch.kubernetes.io/job-name': 'pi',
    });
    expect(p.metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        name: 'pi',
        uid: 'job-uid',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(p.spec?.hostname).toBeUndefined();
  });

  it('gives an Indexed pod its index as annotation, label, hostname and env', () => {
    const p = podForJob(job({ completionMode: 'Indexed', completions: 3 }), 2);
    expect(p.metadata?.generateName).toBe('pi-2-');
    expect(p.metadata?.annotations?.[JOB_COMPLETION_INDEX]).toBe('2');
    expect(p.metadata?.labels?.[JOB_COMPLETION_INDEX]).toBe('2');
    expect(p.spec?.hostname).toBe('pi-2');
    expect(p.spec?.containers[0]?.env).toEqual([
      {
        name: 'JOB_COMPLETION_INDEX',
        valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX}']` } },
      },
    ]);
  });

  it.each([
    ['pi', undefined, 'pi-'],
    ['pi', 12, 'pi-12-'],
    ['a'.repeat(70), undefined, `${'a'.repeat(57)}-`],
    ['a'.repeat(70), 3, `${'a'.repeat(55)}-3-`],
  ])('generateName of %s index %s', (name, index, want) => {
    const g = podGenerateName(name, index);
    expect(g).toBe(want);
    expect(g.length + 5).toBeLessThanOrEqual(63);
  });
});

describe('trackFinishedPods', () => {
  it.each([
    {
      title: 'records finished pods holding the finalizer',
      j: job(),
      pods: [pod('Succeeded', { uid: 's1' }), pod('Failed', { uid: 'f1' }), pod('Running', { uid: 'r1' })],
      released: [],
      want: { succeeded: ['s1'], failed: ['f1'], unfinalize: ['s1', 'f1'], changed: true },
    },
    {
      title: 'a deleted pod that did not succeed is a failure',
      j: job(),
      pods: [pod('Running', { uid: 'd1', deleting: true })],
      released: [],
      want: { succeeded: [], failed: ['d1'], unfinalize: ['d1'], changed: true },
    },
    {
      title: 'pods without the finalizer or already released are not counted again',
      j: job(),
      pods: [pod('Succeeded', { uid: 's1', finalizer: false }), pod('Succeeded', { uid: 's2' })],
      released: ['s2'],
      want: { succeeded: [], failed: [], unfinalize: [], changed: false },
    },
    {
      title: 'pods already uncounted are only released',
      j: job({}, { uncountedTerminatedPods: { succeeded: ['s1'] } }),
      pods: [pod('Succeeded', { uid: 's1' })],
      released: [],
      want: { succeeded: ['s1'], failed: [], unfinalize: ['s1'], changed: false },
    },
    {
      title: 'pods deleted by a suspension are not failures',
      j: job({ suspend: true }),
      pods: [pod('Running', { uid: 'd1', deleting: true })],
      released: [],
      want: { succeeded: [], failed: [], unfinalize: ['d1'], changed: false },
    },
    {
      title: 'an Indexed job counts each index once',
      j: job({ completionMode: 'Indexed', completions: 3 }, { completedIndexes: '0' }),
      pods: [
        pod('Succeeded', { uid: 'a', index: 0 }),
        pod('Succeeded', { uid: 'b', index: 1 }),
        pod('Succeeded', { uid: 'c', index: 1 }),
      ],
      released: [],
      want: {
        succeeded: ['b'],
        failed: [],
        unfinalize: ['a', 'b', 'c'],
        changed: true,
        completedIndexes: '0-1',
      },
    },
  ])('$title', ({ j, pods, released, want }) => {
    const r = trackFinishedPods(j, pods, new Set(released));
    expect(r.status.uncountedTerminatedPods?.succeeded ?? []).toEqual(want.succeeded);
    expect(r.status.uncountedTerminatedPods?.failed ?? []).toEqual(want.failed);
    expect(r.unfinalize.map((p) => p.metadata?.uid)).toEqual(want.unfinalize);
    expect(r.changed).toBe(want.changed);
    if ('completedIndexes' in want) expect(r.status.completedIndexes).toBe(want.completedIndexes);
  });

  it('a Job being deleted releases its running pods without counting them', () => {
    const j = job();
    j.metadata!.deletionTimestamp = T(0);
    const r = trackFinishedPods(j, [pod('Running', { uid: 'r1' })], new Set());
    expect(r.unfinalize.map((p) => p.metadata?.uid)).toEqual(['r1']);
    expect(r.changed).toBe(false);
  });
});

describe('countReleasedPods', () => {
  it('moves released and vanished uids into the counters, keeps the held ones', () => {
    const j = job();
    const status: JobStatus = {
      succeeded: 1,
      failed: 2,
      uncountedTerminatedPods: { succeeded: ['s1', 's2'], failed: ['f1', 'gone'] },
    };
    const pods = [
      pod('Succeeded', { uid: 's1' }),
      pod('Succeeded', { uid: 's2' }),
      pod('Failed', { uid: 'f1' }),
    ];
    const next = countReleasedPods(j, status, pods, new Set(['s1', 'f1']));
    expect(next.succeeded).toBe(2);
    expect(next.failed).toBe(4);
    expect(next.uncountedTerminatedPods).toEqual({ succeeded: ['s2'], failed: [] });
  });

  it('an Indexed job counts completed indexes', () => {
    const j = job({ completionMode: 'Indexed', completions: 3 });
    const next = countReleasedPods(
      j,
      { completedIndexes: '0-1', uncountedTerminatedPods: { succeeded: ['a', 'b'] } },
      [],
      new Set(),
    );
    expect(next.succeeded).toBe(2);
    expect(next.uncountedTerminatedPods).toEqual({});
  });
});

describe('planJob', () => {
  it.each([
    {
      title: 'a new job starts parallelism pods and its clock',
      j: job({ completions: 3, parallelism: 2 }),
      pods: [],
      want: { create: 2, del: 0, active: 2, conds: [], startTime: T(0) },
    },
    {
      title: 'no more pods than the completions left',
      j: job({ completions: 3, parallelism: 2 }, { succeeded: 2, startTime: T(-5000) }),
      pods: [pod('Running')],
      want: { create: 0, del: 0, active: 1, conds: [], startTime: T(-5000) },
    },
    {
      title: 'completions reached: SuccessCriteriaMet and Complete together when nothing runs',
      j: job({ completions: 3, parallelism: 2 }, { succeeded: 3, startTime: T(-5000) }),
      pods: [],
      want: {
        create: 0,
        del: 0,
        active: 0,
        conds: ['SuccessCriteriaMet=True:CompletionsReached', 'Complete=True:CompletionsReached'],
        completionTime: T(0),
        events: ['Completed'],
      },
    },
    {
      title: 'completions reached with pods still running: they are stopped first',
      j: job({ completions: 1, parallelism: 2 }, { succeeded: 1, startTime: T(-5000) }),
      pods: [pod('Running')],
      want: { create: 0, del: 1, active: 0, conds: ['SuccessCriteriaMet=True:CompletionsReached'] },
    },
    {
      title: 'uncounted pods delay the terminal condition',
      j: job({}, { succeeded: 0, startTime: T(-5000), uncountedTerminatedPods: { succeeded: ['x'] } }),
      pods: [],
      want: { create: 0, del: 0, active: 0, conds: ['SuccessCriteriaMet=True:CompletionsReached'] },
    },
    {
      title: 'past the backoff limit: FailureTarget and Failed',
      j: job({ backoffLimit: 1 }, { failed: 2, startTime: T(-5000) }),
      pods: [],
      want: {
        create: 0,
        del: 0,
        active: 0,
        conds: ['FailureTarget=True:BackoffLimitExceeded', 'Failed=True:BackoffLimitExceeded'],
        events: ['BackoffLimitExceeded'],
      },
    },
    {
      title: 'at the backoff limit the job retries',
      j: job({ backoffLimit: 1 }, { failed: 1, startTime: T(-5000) }),
      pods: [],
      want: { create: 1, del: 0, active: 1, conds: [] },
    },
    {
      title: 'past the backoff limit with pods running: they are stopped, Failed waits',
      j: job({ backoffLimit: 0, parallelism: 2, completions: 2 }, { failed: 1, startTime: T(-5000) }),
      pods: [pod('Running')],
      want: { create: 0, del: 1, active: 0, conds: ['FailureTarget=True:BackoffLimitExceeded'] },
    },
    {
      title: 'restartPolicy OnFailure: container restarts count against the limit',
      j: job(
        {
          backoffLimit: 2,
          template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'pi', image: 'busybox' }] } },
        },
        { startTime: T(-5000) },
      ),
      pods: [pod('Running', { restarts: 2 })],
      want: { create: 0, del: 1, active: 0, conds: ['FailureTarget=True:BackoffLimitExceeded'] },
    },
    {
      title: 'past activeDeadlineSeconds',
      j: job({ activeDeadlineSeconds: 10 }, { startTime: T(-10_000) }),
      pods: [pod('Running')],
      want: { create: 0, del: 1, active: 0, conds: ['FailureTarget=True:DeadlineExceeded'] },
    },
    {
      title: 'before activeDeadlineSeconds: look again when it passes',
      j: job({ activeDeadlineSeconds: 10 }, { startTime: T(-4000) }),
      pods: [pod('Running')],
      want: { create: 0, del: 0, active: 1, conds: [], requeue: 6000 },
    },
    {
      title: 'suspended: pods stopped, Suspended condition',
      j: job({ suspend: true }, { startTime: T(-4000) }),
      pods: [pod('Running')],
      want: { create: 0, del: 1, active: 0, conds: ['Suspended=True:JobSuspended'], events: ['Suspended'] },
    },
    {
      title: 'resumed: condition flips, the clock restarts',
      j: job(
        { suspend: false },
        {
          startTime: T(-4000),
          conditions: [
            { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' },
          ],
        },
      ),
      pods: [],
      want: {
        create: 1,
        del: 0,
        active: 1,
        conds: ['Suspended=False:JobResumed'],
        startTime: T(0),
        events: ['Resumed'],
      },
    },
    {
      title: 'lower parallelism: extra pods deleted, unscheduled first',
      j: job({ completions: 5, parallelism: 1 }, { startTime: T(-4000) }),
      pods: [
        { ...pod('Running', { uid: 'bound' }), spec: { nodeName: 'n1', containers: [] } },
        pod('Pending', { uid: 'pending' }),
      ],
      want: { create: 0, del: 1, active: 1, conds: [], deleted: ['pending'] },
    },
    {
      title: 'no completions: one success ends the job once the others stop',
      j: job({ completions: undefined, parallelism: 2 }, { succeeded: 1, startTime: T(-4000) }),
      pods: [pod('Running')],
      want: { create: 0, del: 0, active: 1, conds: [] },
    },
    {
      title: 'no completions: nothing left running',
      j: job({ completions: undefined, parallelism: 2 }, { succeeded: 1, startTime: T(-4000) }),
      pods: [],
      want: {
        create: 0,
        del: 0,
        active: 0,
        conds: ['SuccessCriteriaMet=True:CompletionsReached', 'Complete=True:CompletionsReached'],
        completionTime: T(0),
      },
    },
    {
      title: 'ready pods are counted',
      j: job({ completions: 2, parallelism: 2 }, { startTime: T(-4000) }),
      pods: [pod('Running', { ready: true }), pod('Running')],
      want: { create: 0, del: 0, active: 2, ready: 1, conds: [] },
    },
  ])('$title', ({ j, pods, want }) => {
    const plan = planJob(j, pods, j.status ?? {}, { now: NOW });
    expect(plan.create.length).toBe(want.create);
    expect(plan.delete.length).toBe(want.del);
    expect(plan.status.active).toBe(want.active);
    expect(conds(plan.status)).toEqual(want.conds);
    if ('startTime' in want) expect(plan.status.startTime).toBe(want.startTime);
    if ('completionTime' in want) expect(plan.status.completionTime).toBe(want.completionTime);
    else expect(plan.status.completionTime).toBeUndefined();
    if ('events' in want) expect(plan.events.map((e) => e.reason)).toEqual(want.events);
    if ('requeue' in want) expect(plan.requeueAfterMs).toBe(want.requeue);
    if ('ready' in want) expect(plan.status.ready).toBe(want.ready);
    if ('deleted' in want) expect(plan.delete.map((p) => p.metadata?.uid)).toEqual(want.deleted);
  });

  it('Indexed: creates the lowest missing indexes and removes duplicates', () => {
    const j = job(
      { completionMode: 'Indexed', completions: 5, parallelism: 3 },
      { completedIndexes: '0', startTime: T(-1) },
    );
    const pods = [
      pod('Running', { uid: 'i1a', index: 1 }),
      pod('Running', { uid: 'i1b', index: 1 }),
      pod('Running', { uid: 'i0', index: 0 }),
      pod('Running', { uid: 'bad', index: 9 }),
    ];
    const plan = planJob(j, pods, j.status ?? {}, { now: NOW });
    expect(plan.delete.map((p) => p.metadata?.uid).sort()).toEqual(['bad', 'i0', 'i1b']);
    expect(plan.create).toEqual([2, 3]);
  });

  it('Indexed: complete when every index succeeded', () => {
    const j = job(
      { completionMode: 'Indexed', completions: 3, parallelism: 3 },
      { completedIndexes: '0-2', succeeded: 3, startTime: T(-1) },
    );
    const plan = planJob(j, [], j.status ?? {}, { now: NOW });
    expect(conds(plan.status)).toContain('Complete=True:CompletionsReached');
  });

  it('waits out the pod failure backoff before replacing a failed pod', () => {
    const j = job({ backoffLimit: 6 }, { failed: 2, startTime: T(-60_000) });
    const backoff = { failuresAfterLastSuccess: 2, lastFailureTime: NOW - 5000 };
    const plan = planJob(j, [], j.status ?? {}, {
      now: NOW,
      backoff,
      podBackoff: { baseMs: 10_000, maxMs: 600_000 },
    });
    expect(plan.create).toEqual([]);
    expect(plan.requeueAfterMs).toBe(15_000);
    const later = planJob(j, [], j.status ?? {}, { now: NOW + 15_000, backoff });
    expect(later.create).toHaveLength(1);
  });
});

describe('nextBackoff', () => {
  it.each([
    [undefined, 0, 1, { failuresAfterLastSuccess: 1, lastFailureTime: NOW }],
    [
      { failuresAfterLastSuccess: 2, lastFailureTime: 0 },
      0,
      2,
      { failuresAfterLastSuccess: 4, lastFailureTime: NOW },
    ],
    [{ failuresAfterLastSuccess: 2, lastFailureTime: 0 }, 1, 0, undefined],
    [
      { failuresAfterLastSuccess: 2, lastFailureTime: 7 },
      0,
      0,
      { failuresAfterLastSuccess: 2, lastFailureTime: 7 },
    ],
  ])('%j + %i succeeded %i failed', (rec, s, f, want) => {
    expect(nextBackoff(rec, { newSucceeded: s, newFailed: f }, NOW)).toEqual(want);
  });
});
