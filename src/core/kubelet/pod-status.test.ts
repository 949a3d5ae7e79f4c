import { describe, expect, it } from 'vitest';
import { type ContainerView, computePodStatus, podPhase } from './pod-status.js';

const T0 = Date.UTC(2026, 0, 1);
const running = (name: string, ready = true): ContainerView => ({
  name,
  image: 'i',
  running: { id: `id-${name}`, startedAtMs: T0 },
  restartCount: 0,
  ready,
  started: true,
});
const exited = (name: string, code: number, waiting?: string): ContainerView => ({
  name,
  image: 'i',
  last: {
    exitCode: code,
    reason: code === 0 ? 'Completed' : 'Error',
    startedAtMs: T0,
    finishedAtMs: T0 + 1000,
    containerId: `id-${name}`,
  },
  ...(waiting ? { waiting: { reason: waiting } } : {}),
  restartCount: 1,
  ready: false,
  started: false,
});
const fresh = (name: string): ContainerView => ({
  name,
  image: 'i',
  restartCount: 0,
  ready: false,
  started: false,
});
const pod = (restartPolicy: string) => ({
  metadata: { name: 'p', namespace: 'd' },
  spec: { restartPolicy },
  status: {},
});

describe('podPhase (upstream getPhase)', () => {
  it.each([
    ['Always', [fresh('a')], 'Pending'],
    ['Always', [running('a'), fresh('b')], 'Running'],
    ['Always', [exited('a', 0)], 'Running'],
    ['Always', [exited('a', 1, 'CrashLoopBackOff')], 'Running'],
    ['OnFailure', [exited('a', 0)], 'Succeeded'],
    ['OnFailure', [exited('a', 1)], 'Running'],
    ['Never', [exited('a', 0), exited('b', 0)], 'Succeeded'],
    ['Never', [exited('a', 0), exited('b', 2)], 'Failed'],
    ['Never', [running('a'), exited('b', 2)], 'Running'],
  ] as const)('%s %#', (policy, cs, want) => {
    expect(podPhase(pod(policy), [...cs], true)).toBe(want);
  });
  it('pending until initialized', () => {
    expect(podPhase(pod('Always'), [fresh('a')], false)).toBe('Pending');
  });
});

describe('computePodStatus', () => {
  const base = {
    hostIp: '192.0.2.1',
    podIp: '10.42.0.2',
    startTimeMs: T0,
    sandboxReady: true,
    inits: [],
    initialized: true,
    nowMs: T0 + 5000,
  };
  it('running and ready', () => {
    const s = computePodStatus({ ...base, pod: pod('Always'), containers: [running('a')] });
    expect(s.phase).toBe('Running');
    expect(s.podIP).toBe('10.42.0.2');
    expect(Object.fromEntries(s.conditions.map((c: any) => [c.type, c.status]))).toEqual({
      PodReadyToStartContainers: 'True',
      Initialized: 'True',
      Ready: 'True',
      ContainersReady: 'True',
      PodScheduled: 'True',
    });
    expect(s.containerStatuses[0]).toMatchObject({
      name: 'a',
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: '2026-01-01T00:00:00Z' } },
      containerID: 'process://id-a',
    });
  });
  it('unready container: Ready False with the upstream reason and message', () => {
    const s = computePodStatus({
      ...base,
      pod: pod('Always'),
      containers: [running('a', false), running('b')],
    });
    const ready = s.conditions.find((c: any) => c.type === 'Ready');
    expect(ready).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [a]',
    });
  });
  it('crash loop: waiting with lastState.terminated', () => {
    const s = computePodStatus({
      ...base,
      pod: pod('Always'),
      containers: [exited('a', 137, 'CrashLoopBackOff')],
    });
    expect(s.containerStatuses[0].state).toEqual({ waiting: { reason: 'CrashLoopBackOff' } });
    expect(s.containerStatuses[0].lastState.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(s.containerStatuses[0].restartCount).toBe(1);
  });
  it('init containers pending: Initialized False, main containers PodInitializing', () => {
    const s = computePodStatus({
      ...base,
      pod: pod('Always'),
      inits: [running('init')],
      initialized: false,
      containers: [fresh('a')],
    });
    expect(s.phase).toBe('Pending');
    expect(s.conditions.find((c: any) => c.type === 'Initialized')).toMatchObject({
      status: 'False',
      message: 'containers with incomplete status: [init]',
    });
    expect(s.containerStatuses[0].state).toEqual({ waiting: { reason: 'PodInitializing' } });
  });
  it('completed pod: Ready False with PodCompleted; lastTransitionTime kept when unchanged', () => {
    const p = pod('Never');
    (p.status as any).conditions = [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: '2020-01-01T00:00:00Z' },
    ];
    const s = computePodStatus({ ...base, pod: p, containers: [exited('a', 0)] });
    expect(s.phase).toBe('Succeeded');
    expect(s.conditions.find((c: any) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PodCompleted',
    });
    expect(s.conditions.find((c: any) => c.type === 'PodScheduled').lastTransitionTime).toBe(
      '2020-01-01T00:00:00Z',
    );
    expect(s.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
  });
});
