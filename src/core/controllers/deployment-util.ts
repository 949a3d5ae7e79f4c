/**
 * Pure Deployment arithmetic, as upstream's deployment util: maxSurge / maxUnavailable from ints
 * and percentages (surge rounds up, unavailable rounds down), replica counts over ReplicaSets,
 * conditions, the status the controller writes and the complete / progressing / timed-out tests
 * `kubectl rollout status` depends on.
 */
import type { KObj } from '../client/informer.js';

export const CONDITION_PROGRESSING = 'Progressing';
export const CONDITION_AVAILABLE = 'Available';
export const CONDITION_REPLICA_FAILURE = 'ReplicaFailure';

/** Reasons of the Progressing and Available conditions (upstream's words). */
export const REASON = {
  newReplicaSetCreated: 'NewReplicaSetCreated',
  foundNewReplicaSet: 'FoundNewReplicaSet',
  replicaSetUpdated: 'ReplicaSetUpdated',
  newReplicaSetAvailable: 'NewReplicaSetAvailable',
  timedOut: 'ProgressDeadlineExceeded',
  paused: 'DeploymentPaused',
  resumed: 'DeploymentResumed',
  failedCreate: 'ReplicaSetCreateError',
  minimumAvailable: 'MinimumReplicasAvailable',
  minimumUnavailable: 'MinimumReplicasUnavailable',
} as const;

/** progressDeadlineSeconds at this value means "no deadline". */
const NO_DEADLINE = 2147483647;

export class IntOrPercentError extends Error {
  readonly code = 'InvalidIntOrPercent';
  constructor(value: unknown) {
    super(`invalid value for IntOrString: ${JSON.stringify(value)} is not an integer or a percentage`);
    this.name = 'IntOrPercentError';
  }
}

/** Resolve an int or a "N%" of `total`, rounding up or down. Absent counts as 0. */
export function scaledValue(v: number | string | undefined | null, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(-?\d+)%$/.exec(v);
  if (!m) throw new IntOrPercentError(v);
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/**
 * maxSurge and maxUnavailable as numbers for `desired` replicas. Both resolving to 0 (possible
 * when a small percentage rounds down) would stall a rollout, so maxUnavailable becomes 1.
 */
export function resolveFenceposts(
  maxSurge: number | string | undefined,
  maxUnavailable: number | string | undefined,
  desired: number,
): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge, desired, true);
  let unavailable = scaledValue(maxUnavailable, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

/** spec.replicas with the API default. */
export function replicasOf(o: KObj | undefined): number {
  return o?.spec?.replicas ?? 1;
}

export function isRollingUpdate(d: KObj): boolean {
  return (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

function fenceposts(d: KObj): { surge: number; unavailable: number } {
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  return resolveFenceposts(ru.maxSurge ?? '25%', ru.maxUnavailable ?? '25%', replicasOf(d));
}

/** How many pods above spec.replicas a rollout may run (0 for Recreate). */
export function maxSurge(d: KObj): number {
  return isRollingUpdate(d) ? fenceposts(d).surge : 0;
}

/** How many of spec.replicas may be unavailable during a rollout (0 for Recreate). */
export function maxUnavailable(d: KObj): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  return Math.min(fenceposts(d).unavailable, replicas);
}

/** Sum of spec.replicas. */
export function specReplicas(rss: readonly (KObj | undefined)[]): number {
  return rss.reduce((n, rs) => n + (rs ? (rs.spec?.replicas ?? 0) : 0), 0);
}

/** Sum of a status counter. */
export function statusCount(
  rss: readonly (KObj | undefined)[],
  field: 'replicas' | 'readyReplicas' | 'availableReplicas',
): number {
  return rss.reduce((n, rs) => n + (rs ? (rs.status?.[field] ?? 0) : 0), 0);
}

/** ReplicaSets with spec.replicas > 0. */
export function activeReplicaSets(rss: readonly (KObj | undefined)[]): KObj[] {
  return rss.filter((rs): rs is KObj => rs !== undefined && (rs.spec?.replicas ?? 0) > 0);
}

export function hasProgressDeadline(d: KObj): boolean {
  const p = d.spec?.progressDeadlineSeconds;
  return typeof p === 'number' && p !== NO_DEADLINE;
}

/** RFC 3339 with seconds, as metav1.Time serialises. */
export function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** A condition stamped `nowMs` for both update and transition times. */
export function newCondition(
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
  nowMs: number,
): Condition {
  const t = rfc3339(nowMs);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

export function getCondition(status: KObj | undefined, type: string): Condition | undefined {
  return (status?.conditions ?? []).find((c: Condition) => c.type === type);
}

/**
 * Set a condition: no change when status and reason are the same; the transition time is kept
 * when only the reason changes. The condition moves to the end of the list, as upstream's does.
 */
export function setCondition(status: KObj, c: Condition): void {
  const cur = getCondition(status, c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return;
  const next = { ...c };
  if (cur && cur.status === c.status && cur.lastTransitionTime)
    next.lastTransitionTime = cur.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((x: Condition) => x.type !== c.type), next];
}

export function removeCondition(status: KObj, type: string): void {
  const rest = (status.conditions ?? []).filter((x: Condition) => x.type !== type);
  if (rest.length) status.conditions = rest;
  else delete status.conditions;
}

/**
 * The status a Deployment has given its ReplicaSets (conditions carried over, Available set).
 * Zero counters are omitted, as upstream serialises them.
 */
export function calculateStatus(
  allRSs: readonly (KObj | undefined)[],
  newRS: KObj | undefined,
  d: KObj,
  nowMs: number,
): KObj {
  const available = statusCount(allRSs, 'availableReplicas');
  const unavailable = Math.max(0, specReplicas(allRSs) - available);
  const status: KObj = {};
  const put = (k: string, v: number) => {
    if (v) status[k] = v;
  };
  put('observedGeneration', d.metadata?.generation ?? 0);
  put('replicas', statusCount(allRSs, 'replicas'));
  put('updatedReplicas', statusCount([newRS], 'replicas'));
  put('readyReplicas', statusCount(allRSs, 'readyReplicas'));
  put('availableReplicas', available);
  put('unavailableReplicas', unavailable);
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (d.status?.conditions?.length) status.conditions = structuredClone(d.status.conditions);
  if (available >= replicasOf(d) - maxUnavailable(d)) {
    setCondition(
      status,
      newCondition(
        CONDITION_AVAILABLE,
        'True',
        REASON.minimumAvailable,
        'Deployment has minimum availability.',
        nowMs,
      ),
    );
  } else {
    setCondition(
      status,
      newCondition(
        CONDITION_AVAILABLE,
        'False',
        REASON.minimumUnavailable,
        'Deployment does not have minimum availability.',
        nowMs,
      ),
    );
  }
  return status;
}

/** All replicas updated, available, no old ones left, and the latest generation observed. */
export function deploymentComplete(d: KObj, st: KObj): boolean {
  const r = replicasOf(d);
  return (
    (st.updatedReplicas ?? 0) === r &&
    (st.replicas ?? 0) === r &&
    (st.availableReplicas ?? 0) === r &&
    (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)
  );
}

/** Something moved forward since the stored status: more updated / ready / available, fewer old. */
export function deploymentProgressing(d: KObj, st: KObj): boolean {
  const old: KObj = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (st.replicas ?? 0) - (st.updatedReplicas ?? 0);
  return (
    (st.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (st.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (st.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** The Progressing condition was last updated more than progressDeadlineSeconds ago. */
export function deploymentTimedOut(d: KObj, st: KObj, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(st, CONDITION_PROGRESSING);
  if (!c) return false;
  if (c.reason === REASON.newReplicaSetAvailable) return false;
  if (c.reason === REASON.timedOut) return true;
  const from = c.lastUpdateTime ? Date.parse(c.lastUpdateTime) : Number.NaN;
  if (Number.isNaN(from)) return false;
  return from + d.spec.progressDeadlineSeconds * 1000 < nowMs;
}

/** Structural equality of two statuses (absent and zero / empty are the same, as in Go). */
export function statusEqual(a: KObj | undefined, b: KObj | undefined): boolean {
  return canonical(a ?? {}) === canonical(b ?? {});
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (x === 0 || x === null || (Array.isArray(x) && x.length === 0)) return undefined;
    if (x && typeof x === 'object' && !Array.isArray(x)) {
      const out: KObj = {};
      for (const k of Object.keys(x).sort()) out[k] = x[k];
      return out;
    }
    return x;
  });
}
