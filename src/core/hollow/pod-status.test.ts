import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import { rfc3339 } from './node-template.js';
import { EXIT_AFTER_ANNOTATION, EXIT_CODE_ANNOTATION, isRunningAndReady, podAction } from './pod-status.js';

const T = Date.parse('2025-01-01T00:00:00Z');
const ctx = (nowMs = T) => ({ nodeIp: '10.240.0.1', podIp: () => '10.42.0.2', nowMs });

function pod(
  extra: { annotations?: Record<string, string>; restartPolicy?: string; status?: KObj } = {},
): KObj {
  return {
    metadata: { name: 'p', namespace: 'default', uid: 'u1', annotations: extra.annotations ?? {} },
    spec: {
      nodeName: 'hollow-0',
      restartPolicy: extra.restartPolicy ?? 'Always',
      containers: [
        { name: 'a', image: 'nginx' },
        { name: 'b', image: 'busybox' },
      ],
    },
    status: extra.status ?? { phase: 'Pending' },
  };
}

/** Apply an action's status the way a strategic merge patch would for these fields. */
function applied(p: KObj, status: KObj): KObj {
  const conds: KObj[] = [...(p.status.conditions ?? [])];
  for (const c of status.conditions ?? []) {
    const i = conds.findIndex((x) => x.type === c.type);
    if (i >= 0) conds[i] = { ...conds[i], ...c };
    else conds.push(c);
  }
  return { ...p, status: { ...p.status, ...status, conditions: conds } };
}

describe('podAction', () => {
  it('reports a pending pod Running and Ready with IPs, then leaves it alone', () => {
    const p = pod();
    const a = podAction(p, ctx());
    if (a.kind !== 'patch') throw new Error(`want patch, got ${a.kind}`);
    expect(a.status).toMatchObject({
      phase: 'Running',
      podIP: '10.42.0.2',
      podIPs: [{ ip: '10.42.0.2' }],
      hostIP: '10.240.0.1',
      hostIPs: [{ ip: '10.240.0.1' }],
      startTime: rfc3339(T),
    });
    const conds = Object.fromEntries(a.status.conditions.map((c: KObj) => [c.type, c.status]));
    expect(conds).toMatchObject({
      Initialized: 'True',
      Ready: 'True',
      ContainersReady: 'True',
      PodScheduled: 'True',
    });
    expect(a.status.containerStatuses.map((c: KObj) => [c.name, c.ready, c.state.running.startedAt])).toEqual(
      [
        ['a', true, rfc3339(T)],
        ['b', true, rfc3339(T)],
      ],
    );
    expect(a.recheckAtMs).toBeUndefined();
    const running = applied(p, a.status);
    expect(isRunningAndReady(running)).toBe(true);
    expect(podAction(running, ctx(T + 1000))).toEqual({ kind: 'none' });
  });

  it('restores Ready after the node lifecycle controller marked the pod not ready', () => {
    const running = applied(pod(), (podAction(pod(), ctx()) as { status: KObj }).status);
    const marked = applied(running, { conditions: [{ type: 'Ready', status: 'False' }] });
    const a = podAction(marked, ctx(T + 5000));
    if (a.kind !== 'patch') throw new Error(`want patch, got ${a.kind}`);
    expect(a.status.podIP).toBe('10.42.0.2');
    expect(a.status.containerStatuses[0].state.running.startedAt).toBe(rfc3339(T));
    expect(a.status.conditions.find((c: KObj) => c.type === 'Ready').lastTransitionTime).toBe(
      rfc3339(T + 5000),
    );
  });

  it('deletes a pod being deleted', () => {
    const p = pod();
    p.metadata.deletionTimestamp = rfc3339(T);
    expect(podAction(p, ctx())).toEqual({ kind: 'delete' });
  });

  const terminal: string[] = ['Succeeded', 'Failed'];
  it.each(terminal)('leaves a %s pod alone', (phase) => {
    expect(podAction(pod({ status: { phase } }), ctx())).toEqual({ kind: 'none' });
  });

  const exits: [string, string, string | undefined, KObj][] = [
    [
      'Never, exit 0 -> Succeeded',
      'Never',
      undefined,
      { phase: 'Succeeded', exitCode: 0, reason: 'Completed' },
    ],
    [
      'OnFailure, exit 0 -> Succeeded',
      'OnFailure',
      '0',
      { phase: 'Succeeded', exitCode: 0, reason: 'Completed' },
    ],
    ['Never, exit 3 -> Failed', 'Never', '3', { phase: 'Failed', exitCode: 3, reason: 'Error' }],
  ];
  it.each(exits)('Job pod: %s', (_n, restartPolicy, code, want) => {
    const annotations: Record<string, string> = { [EXIT_AFTER_ANNOTATION]: '2' };
    if (code !== undefined) annotations[EXIT_CODE_ANNOTATION] = code;
    const p = pod({ annotations, restartPolicy });
    const start = podAction(p, ctx());
    if (start.kind !== 'patch') throw new Error(`want patch, got ${start.kind}`);
    expect(start.recheckAtMs).toBe(T + 2000);
    const running = applied(p, start.status);
    expect(podAction(running, ctx(T + 1999))).toEqual({ kind: 'none', recheckAtMs: T + 2000 });
    const done = podAction(running, ctx(T + 2000));
    if (done.kind !== 'patch') throw new Error(`want patch, got ${done.kind}`);
    expect(done.status.phase).toBe(want.phase);
    expect(done.status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode: want.exitCode,
      reason: want.reason,
      finishedAt: rfc3339(T + 2000),
    });
    const ready = done.status.conditions.find((c: KObj) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'PodCompleted' });
  });

  it('OnFailure with a non-zero exit restarts the containers', () => {
    const annotations = { [EXIT_AFTER_ANNOTATION]: '1', [EXIT_CODE_ANNOTATION]: '1' };
    const p = pod({ annotations, restartPolicy: 'OnFailure' });
    const running = applied(p, (podAction(p, ctx()) as { status: KObj }).status);
    const a = podAction(running, ctx(T + 1000));
    if (a.kind !== 'patch') throw new Error(`want patch, got ${a.kind}`);
    expect(a.status.phase).toBeUndefined();
    expect(a.status.containerStatuses[0]).toMatchObject({
      restartCount: 1,
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
      state: { running: { startedAt: rfc3339(T + 1000) } },
    });
    // The next exit counts from the restart.
    const restarted = applied(running, a.status);
    expect(podAction(restarted, ctx(T + 1500))).toEqual({ kind: 'none', recheckAtMs: T + 2000 });
  });

  it('ignores the exit annotation for restartPolicy Always', () => {
    const p = pod({ annotations: { [EXIT_AFTER_ANNOTATION]: '0' } });
    const running = applied(p, (podAction(p, ctx()) as { status: KObj }).status);
    expect(podAction(running, ctx(T + 60_000))).toEqual({ kind: 'none' });
  });
});
