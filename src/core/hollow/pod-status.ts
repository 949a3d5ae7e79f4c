/**
 * What a hollow kubelet does with one pod bound to its node, free of I/O: delete it when it is
 * being deleted, report it Running and Ready, and, for pods of Jobs (restartPolicy Never or
 * OnFailure with the exit annotation), let its containers exit after the given seconds with the
 * given code. The caller applies the result through the pod's status subresource.
 */
import type { KObj } from '../client/informer.js';
import { rfc3339 } from './node-template.js';

/** Seconds after its containers start that a pod exits (restartPolicy Never / OnFailure only). */
export const EXIT_AFTER_ANNOTATION = 'k8ts.io/hollow-exit-after-seconds';
/** Exit code of that exit (default 0: the pod Succeeds). */
export const EXIT_CODE_ANNOTATION = 'k8ts.io/hollow-exit-code';

export type PodAction =
  | { kind: 'none'; recheckAtMs?: number }
  | { kind: 'delete' }
  /** Patch status (strategic merge); look again at `recheckAtMs` when set. */
  | { kind: 'patch'; status: KObj; recheckAtMs?: number };

export interface PodContext {
  nodeIp: string;
  /** Called only when the pod needs an IP it does not have yet. */
  podIp(): string;
  nowMs: number;
}

/** The next step for `pod` on this node. */
export function podAction(pod: KObj, ctx: PodContext): PodAction {
  if (pod.metadata?.deletionTimestamp) return { kind: 'delete' };
  const status: KObj = pod.status ?? {};
  if (status.phase === 'Succeeded' || status.phase === 'Failed') return { kind: 'none' };
  const exit = plannedExit(pod);
  const running = isRunningAndReady(pod);
  if (exit && running) {
    const startedMs = containerStartMs(status) ?? ctx.nowMs;
    const atMs = startedMs + exit.afterSeconds * 1000;
    if (ctx.nowMs < atMs) return { kind: 'none', recheckAtMs: atMs };
    return { kind: 'patch', status: exitedStatus(pod, exit.code, ctx.nowMs) };
  }
  if (running) return { kind: 'none' };
  const next = runningStatus(pod, ctx);
  const action: PodAction = { kind: 'patch', status: next };
  if (exit) action.recheckAtMs = ctx.nowMs + exit.afterSeconds * 1000;
  return action;
}

function plannedExit(pod: KObj): { afterSeconds: number; code: number } | undefined {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (policy !== 'Never' && policy !== 'OnFailure') return undefined;
  const raw = pod.metadata?.annotations?.[EXIT_AFTER_ANNOTATION];
  if (raw === undefined) return undefined;
  const afterSeconds = Number(raw);
  if (!Number.isFinite(afterSeconds) || afterSeconds < 0) return undefined;
  const code = Number(pod.metadata?.annotations?.[EXIT_CODE_ANNOTATION] ?? 0);
  return { afterSeconds, code: Number.isInteger(code) ? code : 1 };
}

/** Running, Ready and ContainersReady True, an IP, and every container reported running+ready. */
export function isRunningAndReady(pod: KObj): boolean {
  const s: KObj = pod.status ?? {};
  if (s.phase !== 'Running' || !s.podIP || !s.hostIP) return false;
  const conds: KObj[] = s.conditions ?? [];
  for (const type of ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled']) {
    if (conds.find((c) => c.type === type)?.status !== 'True') return false;
  }
  const containers: KObj[] = pod.spec?.containers ?? [];
  const statuses: KObj[] = s.containerStatuses ?? [];
  return containers.every((c) => {
    const cs = statuses.find((x) => x.name === c.name);
    return cs?.ready === true && cs.state?.running !== undefined;
  });
}

function containerStartMs(status: KObj): number | undefined {
  let latest: number | undefined;
  for (const cs of (status.containerStatuses as KObj[] | undefined) ?? []) {
    const t = Date.parse(cs.state?.running?.startedAt ?? '');
    if (!Number.isNaN(t)) latest = Math.max(latest ?? t, t);
  }
  if (latest !== undefined) return latest;
  const start = Date.parse(status.startTime ?? '');
  return Number.isNaN(start) ? undefined : start;
}

function condition(type: string, status: string, now: string, prev: KObj[], reason?: string): KObj {
  const old = prev.find((c) => c.type === type);
  const c: KObj = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now,
  };
  if (reason) c.reason = reason;
  return c;
}

function containerId(pod: KObj, name: string): string {
  return `hollow://${pod.metadata?.uid ?? pod.metadata?.name}/${name}`;
}

/** The status of a pod whose containers all run and are ready. */
export function runningStatus(pod: KObj, ctx: PodContext): KObj {
  const s: KObj = pod.status ?? {};
  const now = rfc3339(ctx.nowMs);
  const prev: KObj[] = s.conditions ?? [];
  const podIP: string = s.podIP || ctx.podIp();
  const oldStatuses: KObj[] = s.containerStatuses ?? [];
  const containerStatuses = ((pod.spec?.containers as KObj[] | undefined) ?? []).map((c) => {
    const old = oldStatuses.find((x) => x.name === c.name);
    const startedAt: string = old?.state?.running?.startedAt ?? now;
    return {
      name: c.name,
      image: c.image,
      imageID: `hollow-image://${c.image}`,
      containerID: containerId(pod, c.name),
      ready: true,
      started: true,
      restartCount: old?.restartCount ?? 0,
      state: { running: { startedAt } },
      ...(old?.lastState ? { lastState: old.lastState } : {}),
    };
  });
  const out: KObj = {
    phase: 'Running',
    hostIP: ctx.nodeIp,
    hostIPs: [{ ip: ctx.nodeIp }],
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: s.startTime ?? now,
    conditions: [
      condition('PodReadyToStartContainers', 'True', now, prev),
      condition('Initialized', 'True', now, prev),
      condition('Ready', 'True', now, prev),
      condition('ContainersReady', 'True', now, prev),
      condition('PodScheduled', 'True', now, prev),
    ],
    containerStatuses,
  };
  const inits: KObj[] = pod.spec?.initContainers ?? [];
  if (inits.length) {
    out.initContainerStatuses = inits.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `hollow-image://${c.image}`,
      containerID: containerId(pod, c.name),
      ready: true,
      restartCount: 0,
      state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } },
    }));
  }
  return out;
}

/**
 * The status after every container exited with `code`: Succeeded on 0, Failed otherwise with
 * restartPolicy Never; with OnFailure a non-zero exit restarts the containers (restartCount + 1).
 */
export function exitedStatus(pod: KObj, code: number, nowMs: number): KObj {
  const s: KObj = pod.status ?? {};
  const now = rfc3339(nowMs);
  const prev: KObj[] = s.conditions ?? [];
  const restart = code !== 0 && pod.spec?.restartPolicy === 'OnFailure';
  const reason = code === 0 ? 'Completed' : 'Error';
  const containerStatuses = ((s.containerStatuses as KObj[] | undefined) ?? []).map((cs) => {
    const terminated = {
      exitCode: code,
      reason,
      startedAt: cs.state?.running?.startedAt ?? now,
      finishedAt: now,
      containerID: cs.containerID,
    };
    if (restart) {
      return {
        ...cs,
        restartCount: (cs.restartCount ?? 0) + 1,
        lastState: { terminated },
        state: { running: { startedAt: now } },
      };
    }
    return { ...cs, ready: false, started: false, state: { terminated } };
  });
  if (restart) return { containerStatuses };
  return {
    phase: code === 0 ? 'Succeeded' : 'Failed',
    conditions: [
      condition('PodReadyToStartContainers', 'False', now, prev),
      condition('Ready', 'False', now, prev, 'PodCompleted'),
      condition('ContainersReady', 'False', now, prev, 'PodCompleted'),
    ],
    containerStatuses,
  };
}
