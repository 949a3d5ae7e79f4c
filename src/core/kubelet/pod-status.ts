/**
 * A pod's status from what its worker knows, free of I/O: container states (running, waiting,
 * terminated, with lastState and restartCount), the phase by upstream's rules (getPhase), and the
 * conditions PodScheduled, PodReadyToStartContainers, Initialized, ContainersReady and Ready.
 */
import type { KObj } from '../client/informer.js';
import { rfc3339 } from './time-format.js';

export interface Termination {
  exitCode: number;
  signal?: number | undefined;
  reason: string;
  message?: string | undefined;
  startedAtMs: number;
  finishedAtMs: number;
  containerId: string;
}

export interface ContainerView {
  name: string;
  image: string;
  running?: { id: string; startedAtMs: number } | undefined;
  /** The most recent termination, and the one before it. */
  last?: Termination | undefined;
  prev?: Termination | undefined;
  /** Set when the worker holds the container back (backoff, config error, no command, ...). */
  waiting?: { reason: string; message?: string | undefined } | undefined;
  restartCount: number;
  ready: boolean;
  started: boolean;
}

export interface PodView {
  pod: KObj;
  hostIp: string;
  podIp?: string | undefined;
  startTimeMs: number;
  sandboxReady: boolean;
  inits: ContainerView[];
  containers: ContainerView[];
  /** Every init container completed (exit 0). */
  initialized: boolean;
  /** The pod has failed for good (an init container failed under restartPolicy Never). */
  failed?: { reason: string; message: string } | undefined;
  nowMs: number;
}

const CONTAINER_ID_PREFIX = 'process://';

function terminated(t: Termination): KObj {
  const out: KObj = {
    exitCode: t.exitCode,
    reason: t.reason,
    startedAt: rfc3339(t.startedAtMs),
    finishedAt: rfc3339(t.finishedAtMs),
    containerID: CONTAINER_ID_PREFIX + t.containerId,
  };
  if (t.signal) out.signal = t.signal;
  if (t.message) out.message = t.message;
  return out;
}

/** The containerStatuses entry of one container. */
export function containerStatus(c: ContainerView, opts: { init: boolean; defaultWaiting: string }): KObj {
  let state: KObj;
  let lastState: KObj = {};
  let containerID: string | undefined;
  if (c.running) {
    state = { running: { startedAt: rfc3339(c.running.startedAtMs) } };
    if (c.last) lastState = { terminated: terminated(c.last) };
    containerID = CONTAINER_ID_PREFIX + c.running.id;
  } else if (c.waiting) {
    state = {
      waiting: { reason: c.waiting.reason, ...(c.waiting.message ? { message: c.waiting.message } : {}) },
    };
    if (c.last) lastState = { terminated: terminated(c.last) };
  } else if (c.last) {
    state = { terminated: terminated(c.last) };
    if (c.prev) lastState = { terminated: terminated(c.prev) };
    containerID = CONTAINER_ID_PREFIX + c.last.containerId;
  } else {
    state = { waiting: { reason: opts.defaultWaiting } };
  }
  const out: KObj = {
    name: c.name,
    image: c.image,
    imageID: '',
    ready: c.ready && c.running !== undefined,
    restartCount: c.restartCount,
    started: c.running !== undefined && c.started,
    state,
    lastState,
  };
  if (containerID) out.containerID = containerID;
  if (opts.init) out.started = c.running !== undefined;
  return out;
}

/** Upstream's getPhase over the main containers (init containers handled by the caller). */
export function podPhase(pod: KObj, containers: ContainerView[], initialized: boolean): string {
  if (!initialized) return 'Pending';
  const policy: string = pod.spec?.restartPolicy ?? 'Always';
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of containers) {
    if (c.running) running++;
    else if (c.waiting || !c.last) {
      if (c.last) stopped++;
      else waiting++;
    } else {
      stopped++;
      if (c.last.exitCode === 0) succeeded++;
    }
  }
  if (waiting === containers.length && containers.length > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (running === 0 && stopped > 0 && waiting === 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'OnFailure') return 'Running';
    return 'Failed';
  }
  return 'Pending';
}

function cond(prev: KObj[], type: string, ok: boolean, now: string, reason?: string, message?: string): KObj {
  const status = ok ? 'True' : 'False';
  const old = prev.find((c) => c.type === type);
  const out: KObj = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now,
  };
  if (!ok && reason) out.reason = reason;
  if (!ok && message) out.message = message;
  return out;
}

/** The status the kubelet writes (merge patch: lists replaced whole). */
export function computePodStatus(v: PodView): KObj {
  const now = rfc3339(v.nowMs);
  const prev: KObj[] = v.pod.status?.conditions ?? [];
  let phase = v.failed ? 'Failed' : podPhase(v.pod, v.containers, v.initialized);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const unready = v.containers.filter((c) => !(c.ready && c.running)).map((c) => c.name);
  const incomplete = v.inits
    .filter((c) => !(c.last && c.last.exitCode === 0 && !c.running))
    .map((c) => c.name);
  const containersReady = unready.length === 0 && v.containers.length > 0 && !terminal;
  const initOk = v.initialized || incomplete.length === 0;
  const conditions = [
    cond(prev, 'PodReadyToStartContainers', v.sandboxReady, now),
    cond(
      prev,
      'Initialized',
      initOk,
      now,
      'ContainersNotInitialized',
      `containers with incomplete status: [${incomplete.join(' ')}]`,
    ),
    cond(
      prev,
      'Ready',
      containersReady,
      now,
      terminal ? 'PodCompleted' : 'ContainersNotReady',
      terminal ? '' : `containers with unready status: [${unready.join(' ')}]`,
    ),
    cond(
      prev,
      'ContainersReady',
      containersReady,
      now,
      terminal ? 'PodCompleted' : 'ContainersNotReady',
      terminal ? '' : `containers with unready status: [${unready.join(' ')}]`,
    ),
    cond(prev, 'PodScheduled', true, now),
  ];
  if (phase === 'Pending' && v.containers.some((c) => c.running)) phase = 'Running';
  const status: KObj = {
    phase,
    conditions,
    hostIP: v.hostIp,
    hostIPs: [{ ip: v.hostIp }],
    startTime: rfc3339(v.startTimeMs),
    containerStatuses: v.containers.map((c) =>
      containerStatus(c, {
        init: false,
        defaultWaiting: v.initialized ? 'ContainerCreating' : 'PodInitializing',
      }),
    ),
  };
  if (v.failed) {
    status.reason = v.failed.reason;
    status.message = v.failed.message;
  }
  if (v.podIp) {
    status.podIP = v.podIp;
    status.podIPs = [{ ip: v.podIp }];
  }
  if (v.inits.length)
    status.initContainerStatuses = v.inits.map((c) =>
      containerStatus(c, {
        init: true,
        defaultWaiting: v.sandboxReady ? 'PodInitializing' : 'PodInitializing',
      }),
    );
  return status;
}
