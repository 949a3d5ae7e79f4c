/**
 * One Deployment sync as a plan: given the Deployment, the ReplicaSets it controls and (for
 * Recreate) their pods, the ordered writes upstream's deployment controller would make in one
 * pass: create or annotate the new ReplicaSet, scale ReplicaSets (proportionally on a resize,
 * step by step within maxSurge / maxUnavailable on a rolling update, all down then up on
 * Recreate), delete ReplicaSets beyond revisionHistoryLimit, and the status and events. The
 * controller executes the writes in order and stops at the first failure (the next sync plans
 * again from what the informers then show). Pure: no I/O, the clock is an input.
 */
import type { KObj } from '../client/informer.js';
import {
  byCreation,
  byRevision,
  DESIRED_REPLICAS,
  findNewReplicaSet,
  intAnnotation,
  MAX_REPLICAS,
  maxRevision,
  newReplicaSetFor,
  REVISION,
  replicasAnnotationsNeedUpdate,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  templateHash,
} from './deployment-revision.js';
import {
  activeReplicaSets,
  CONDITION_PROGRESSING,
  CONDITION_REPLICA_FAILURE,
  type Condition,
  calculateStatus,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  getCondition,
  hasProgressDeadline,
  isRollingUpdate,
  maxSurge,
  maxUnavailable,
  newCondition,
  REASON,
  removeCondition,
  replicasOf,
  rfc3339,
  scaledValue,
  setCondition,
  specReplicas,
  statusCount,
  statusEqual,
} from './deployment-util.js';

export type DeploymentWrite =
  | { op: 'createReplicaSet'; replicaSet: KObj }
  | {
      op: 'updateReplicaSet';
      name: string;
      replicas: number;
      annotations: Record<string, string>;
      minReadySeconds: number | undefined;
    }
  | { op: 'deleteReplicaSet'; name: string; uid: string }
  /** Set the Deployment's revision annotation (through the main resource). */
  | { op: 'setRevision'; revision: string }
  | { op: 'updateStatus'; status: KObj }
  | { op: 'event'; type: 'Normal' | 'Warning'; reason: string; message: string };

export interface DeploymentPlanInput {
  deployment: KObj;
  /** The ReplicaSets the Deployment controls (after adoption and release). */
  replicaSets: readonly KObj[];
  /** Pods by owning ReplicaSet uid; Recreate waits for old ones to be gone. */
  podsByReplicaSet?: ReadonlyMap<string, readonly KObj[]> | undefined;
  nowMs: number;
}

export interface DeploymentPlan {
  writes: DeploymentWrite[];
  /** Sync again after this long to check the progress deadline. */
  requeueAfterMs?: number | undefined;
}

/** Plan one sync of a Deployment. */
export function planDeploymentSync(input: DeploymentPlanInput): DeploymentPlan {
  return new Planner(input).run();
}

function isEmptySelector(sel: KObj | undefined): boolean {
  if (!sel) return true;
  return Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
}

/** Called per plan only; mutates its own clones of the inputs as the writes it plans would. */
class Planner {
  private readonly d: KObj;
  private readonly rss: KObj[];
  private readonly pods: ReadonlyMap<string, readonly KObj[]>;
  private readonly now: number;
  private readonly writes: DeploymentWrite[] = [];
  private requeueAfterMs: number | undefined;

  constructor(input: DeploymentPlanInput) {
    this.d = structuredClone(input.deployment);
    this.d.metadata.annotations ??= {};
    this.d.status ??= {};
    this.rss = input.replicaSets.map((rs) => structuredClone(rs));
    this.pods = input.podsByReplicaSet ?? new Map();
    this.now = input.nowMs;
  }

  run(): DeploymentPlan {
    const d = this.d;
    if (isEmptySelector(d.spec?.selector)) {
      this.event(
        'Warning',
        'SelectingAll',
        'This deployment is selecting all pods. A non-empty selector is required.',
      );
      if ((d.status.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        this.writeStatus({ ...d.status, observedGeneration: d.metadata.generation });
      }
      return this.done();
    }
    if (d.metadata.deletionTimestamp) {
      const [newRS, oldRSs] = this.syncRevision(false);
      this.syncStatus([...oldRSs, newRS], newRS);
      return this.done();
    }
    this.checkPausedConditions();
    if (d.spec?.paused || this.isScalingEvent()) {
      this.syncScaling();
      return this.done();
    }
    if (isRollingUpdate(d)) this.rolloutRolling();
    else this.rolloutRecreate();
    return this.done();
  }

  private done(): DeploymentPlan {
    return { writes: this.writes, requeueAfterMs: this.requeueAfterMs };
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.writes.push({ op: 'event', type, reason, message });
  }

  private writeStatus(status: KObj): void {
    if (statusEqual(this.d.status, status)) return;
    this.d.status = status;
    this.writes.push({ op: 'updateStatus', status: structuredClone(status) });
  }

  private setRevision(revision: string): void {
    if (this.d.metadata.annotations[REVISION] === revision) return;
    this.d.metadata.annotations[REVISION] = revision;
    this.writes.push({ op: 'setRevision', revision });
  }

  private updateReplicaSet(rs: KObj): void {
    this.writes.push({
      op: 'updateReplicaSet',
      name: rs.metadata.name,
      replicas: rs.spec.replicas ?? 0,
      annotations: { ...(rs.metadata.annotations ?? {}) },
      minReadySeconds: rs.spec.minReadySeconds,
    });
  }

  /**
   * The new ReplicaSet (created when asked and missing) and the old ones, with the revision
   * annotations brought up to date on both sides.
   */
  private syncRevision(create: boolean): [KObj | undefined, KObj[]] {
    const d = this.d;
    const existing = findNewReplicaSet(d, this.rss);
    const oldRSs = this.rss.filter((rs) => rs !== existing);
    const newRevision = maxRevision(oldRSs) + 1;
    const replicas = replicasOf(d);
    if (existing) {
      const annotated = setNewReplicaSetAnnotations(d, existing, newRevision, {
        exists: true,
        desiredReplicas: replicas,
        maxReplicas: replicas + maxSurge(d),
      });
      const minReadyChanged = (existing.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0);
      if (minReadyChanged) existing.spec.minReadySeconds = d.spec.minReadySeconds;
      if (annotated || minReadyChanged) this.updateReplicaSet(existing);
      this.setRevision(existing.metadata.annotations?.[REVISION] ?? String(newRevision));
      if (hasProgressDeadline(d) && !getCondition(d.status, CONDITION_PROGRESSING)) {
        const status = structuredClone(d.status);
        setCondition(
          status,
          newCondition(
            CONDITION_PROGRESSING,
            'True',
            REASON.foundNewReplicaSet,
            `Found new replica set "${existing.metadata.name}"`,
            this.now,
          ),
        );
        this.writeStatus(status);
      }
      return [existing, oldRSs];
    }
    if (!create) return [undefined, oldRSs];
    const hash = templateHash(d.spec?.template, d.status.collisionCount);
    const rs = newReplicaSetFor(d, hash, 0);
    rs.spec.replicas = this.newRSNewReplicas([...oldRSs, rs], rs);
    setNewReplicaSetAnnotations(d, rs, newRevision, {
      exists: false,
      desiredReplicas: replicas,
      maxReplicas: replicas + maxSurge(d),
    });
    this.writes.push({ op: 'createReplicaSet', replicaSet: structuredClone(rs) });
    // Ordering needs a timestamp; the server assigns the real one.
    rs.metadata.creationTimestamp = rfc3339(this.now);
    rs.status = {};
    this.rss.push(rs);
    if (rs.spec.replicas > 0) {
      this.event(
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${rs.metadata.name} from 0 to ${rs.spec.replicas}`,
      );
    }
    this.setRevision(String(newRevision));
    if (hasProgressDeadline(d)) {
      const status = structuredClone(d.status);
      setCondition(
        status,
        newCondition(
          CONDITION_PROGRESSING,
          'True',
          REASON.newReplicaSetCreated,
          `Created new replica set "${rs.metadata.name}"`,
          this.now,
        ),
      );
      this.writeStatus(status);
    }
    return [rs, oldRSs];
  }

  /** Replicas the new ReplicaSet may have now (upstream's NewRSNewReplicas). */
  private newRSNewReplicas(allRSs: readonly KObj[], newRS: KObj): number {
    const d = this.d;
    const replicas = replicasOf(d);
    if (!isRollingUpdate(d)) return replicas;
    const surge = scaledValue(d.spec?.strategy?.rollingUpdate?.maxSurge ?? '25%', replicas, true);
    const current = specReplicas(allRSs);
    const maxTotal = replicas + surge;
    const have = newRS.spec?.replicas ?? 0;
    if (current >= maxTotal) return have;
    return have + Math.min(maxTotal - current, replicas - have);
  }

  private checkPausedConditions(): void {
    const d = this.d;
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status, CONDITION_PROGRESSING);
    if (cond?.reason === REASON.timedOut) return;
    const pausedCond = cond?.reason === REASON.paused;
    let next: Condition | undefined;
    if (d.spec?.paused && !pausedCond) {
      next = newCondition(CONDITION_PROGRESSING, 'Unknown', REASON.paused, 'Deployment is paused', this.now);
    } else if (!d.spec?.paused && pausedCond) {
      next = newCondition(
        CONDITION_PROGRESSING,
        'Unknown',
        REASON.resumed,
        'Deployment is resumed',
        this.now,
      );
    }
    if (!next) return;
    const status = structuredClone(d.status);
    setCondition(status, next);
    this.writeStatus(status);
  }

  /** A replica count change: an active ReplicaSet was sized for another spec.replicas. */
  private isScalingEvent(): boolean {
    const [newRS, oldRSs] = this.syncRevision(false);
    for (const rs of activeReplicaSets([...oldRSs, newRS])) {
      const desired = intAnnotation(rs, DESIRED_REPLICAS);
      if (desired !== undefined && desired !== replicasOf(this.d)) return true;
    }
    return false;
  }

  /** Resize (also while paused): scale, clean up old ReplicaSets when paused, write status. */
  private syncScaling(): void {
    const [newRS, oldRSs] = this.syncRevision(false);
    this.scale(newRS, oldRSs);
    if (this.d.spec?.paused) this.cleanup(oldRSs);
    this.syncStatus([...oldRSs, newRS], newRS);
  }

  /** Scale a ReplicaSet and record the event (no-op at the same size). */
  private scaleAndRecord(rs: KObj, size: number): boolean {
    if ((rs.spec.replicas ?? 0) === size) return false;
    return this.scaleReplicaSet(rs, size);
  }

  /** Set size and replica annotations; an event when the size changed. True if the size changed. */
  private scaleReplicaSet(rs: KObj, size: number): boolean {
    const d = this.d;
    const desired = replicasOf(d);
    const max = desired + maxSurge(d);
    const from = rs.spec.replicas ?? 0;
    const sizeChanged = from !== size;
    if (!sizeChanged && !replicasAnnotationsNeedUpdate(rs, desired, max)) return false;
    rs.spec.replicas = size;
    setReplicasAnnotations(rs, desired, max);
    this.updateReplicaSet(rs);
    if (sizeChanged) {
      this.event(
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${from < size ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${size}`,
      );
    }
    return sizeChanged;
  }

  /** Upstream's scale(): one active ReplicaSet takes the new size; several share it proportionally. */
  private scale(newRS: KObj | undefined, oldRSs: KObj[]): void {
    const d = this.d;
    const replicas = replicasOf(d);
    const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
    if (activeOrLatest) {
      if ((activeOrLatest.spec.replicas ?? 0) !== replicas) this.scaleAndRecord(activeOrLatest, replicas);
      return;
    }
    if (newRS && isSaturated(d, newRS)) {
      for (const old of activeReplicaSets(oldRSs)) this.scaleAndRecord(old, 0);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const all = activeReplicaSets([...oldRSs, newRS]);
    const allowed = replicas > 0 ? replicas + maxSurge(d) : 0;
    const toAdd = allowed - specReplicas(all);
    if (toAdd > 0) all.sort((a, b) => bySize(a, b) || byCreation(b, a));
    else if (toAdd < 0) all.sort((a, b) => bySize(a, b) || byCreation(a, b));
    const sizes = new Map<KObj, number>();
    let added = 0;
    for (const rs of all) {
      const cur = rs.spec.replicas ?? 0;
      if (toAdd !== 0) {
        const p = proportion(rs, d, toAdd, added);
        sizes.set(rs, cur + p);
        added += p;
      } else sizes.set(rs, cur);
    }
    const first = all[0];
    if (toAdd !== 0 && first) sizes.set(first, Math.max(0, (sizes.get(first) ?? 0) + toAdd - added));
    for (const rs of all) this.scaleReplicaSet(rs, Math.max(0, sizes.get(rs) ?? 0));
  }

  private rolloutRolling(): void {
    const [newRS, oldRSs] = this.syncRevision(true);
    const all: KObj[] = newRS ? [...oldRSs, newRS] : [...oldRSs];
    if (newRS && this.reconcileNewReplicaSet(all, newRS)) {
      this.syncRolloutStatus(all, newRS);
      return;
    }
    if (newRS && this.reconcileOldReplicaSets(all, activeReplicaSets(oldRSs), newRS)) {
      this.syncRolloutStatus(all, newRS);
      return;
    }
    if (deploymentComplete(this.d, this.d.status)) this.cleanup(oldRSs);
    this.syncRolloutStatus(all, newRS);
  }

  private reconcileNewReplicaSet(all: KObj[], newRS: KObj): boolean {
    const replicas = replicasOf(this.d);
    const cur = newRS.spec.replicas ?? 0;
    if (cur === replicas) return false;
    if (cur > replicas) return this.scaleAndRecord(newRS, replicas);
    return this.scaleAndRecord(newRS, this.newRSNewReplicas(all, newRS));
  }

  private reconcileOldReplicaSets(all: KObj[], oldRSs: KObj[], newRS: KObj): boolean {
    if (specReplicas(oldRSs) === 0) return false;
    const d = this.d;
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const newUnavailable = (newRS.spec.replicas ?? 0) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = specReplicas(all) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    const cleaned = this.cleanupUnhealthyReplicas(oldRSs, maxScaledDown);
    const scaled = this.scaleDownOldForRollingUpdate([...oldRSs, newRS], oldRSs);
    return cleaned + scaled > 0;
  }

  /** Scale down old ReplicaSets' unavailable pods first: they cost no availability. */
  private cleanupUnhealthyReplicas(oldRSs: KObj[], maxCleanup: number): number {
    let total = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (total >= maxCleanup) break;
      const cur = rs.spec.replicas ?? 0;
      const avail = rs.status?.availableReplicas ?? 0;
      if (cur === 0 || cur === avail) continue;
      const n = Math.min(maxCleanup - total, cur - avail);
      this.scaleAndRecord(rs, cur - n);
      total += n;
    }
    return total;
  }

  /** Scale down old ReplicaSets, oldest first, as far as minimum availability allows. */
  private scaleDownOldForRollingUpdate(all: KObj[], oldRSs: KObj[]): number {
    const d = this.d;
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const available = statusCount(all, 'availableReplicas');
    if (available <= minAvailable) return 0;
    const target = available - minAvailable;
    let total = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (total >= target) break;
      const cur = rs.spec.replicas ?? 0;
      if (cur === 0) continue;
      const n = Math.min(cur, target - total);
      this.scaleAndRecord(rs, cur - n);
      total += n;
    }
    return total;
  }

  private rolloutRecreate(): void {
    let [newRS, oldRSs] = this.syncRevision(false);
    let scaledDown = false;
    for (const rs of activeReplicaSets(oldRSs)) if (this.scaleAndRecord(rs, 0)) scaledDown = true;
    if (scaledDown || this.oldPodsRunning(newRS, oldRSs)) {
      this.syncRolloutStatus([...oldRSs, newRS], newRS);
      return;
    }
    if (!newRS) [newRS, oldRSs] = this.syncRevision(true);
    if (newRS) this.scaleAndRecord(newRS, replicasOf(this.d));
    if (deploymentComplete(this.d, this.d.status)) this.cleanup(oldRSs);
    this.syncRolloutStatus([...oldRSs, newRS], newRS);
  }

  /** Old ReplicaSets still report pods, or their pods are not all terminal. */
  private oldPodsRunning(newRS: KObj | undefined, oldRSs: KObj[]): boolean {
    if (statusCount(oldRSs, 'replicas') > 0) return true;
    for (const rs of oldRSs) {
      if (rs === newRS) continue;
      for (const p of this.pods.get(rs.metadata.uid) ?? []) {
        const phase = p.status?.phase;
        if (phase !== 'Succeeded' && phase !== 'Failed') return true;
      }
    }
    return false;
  }

  /** Delete the oldest old ReplicaSets beyond revisionHistoryLimit (only empty, settled ones). */
  private cleanup(oldRSs: KObj[]): void {
    const limit = this.d.spec?.revisionHistoryLimit;
    if (typeof limit !== 'number') return;
    const alive = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = alive.length - limit;
    if (diff <= 0) return;
    alive.sort(byRevision);
    for (const rs of alive.slice(0, diff)) {
      if ((rs.status?.replicas ?? 0) !== 0 || (rs.spec?.replicas ?? 0) !== 0) continue;
      if ((rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      this.writes.push({ op: 'deleteReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid });
    }
  }

  private syncStatus(all: (KObj | undefined)[], newRS: KObj | undefined): void {
    this.writeStatus(calculateStatus(all, newRS, this.d, this.now));
  }

  /** Status with the Progressing condition moved on (or timed out) and ReplicaFailure copied up. */
  private syncRolloutStatus(all: (KObj | undefined)[], newRS: KObj | undefined): void {
    const d = this.d;
    const status = calculateStatus(all, newRS, d, this.now);
    if (!hasProgressDeadline(d)) removeCondition(status, CONDITION_PROGRESSING);
    const cur = getCondition(d.status, CONDITION_PROGRESSING);
    const complete =
      (status.replicas ?? 0) === (status.updatedReplicas ?? 0) &&
      cur?.reason === REASON.newReplicaSetAvailable;
    if (hasProgressDeadline(d) && !complete) {
      const subject = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
      if (deploymentComplete(d, status)) {
        setCondition(
          status,
          newCondition(
            CONDITION_PROGRESSING,
            'True',
            REASON.newReplicaSetAvailable,
            `${subject} has successfully progressed.`,
            this.now,
          ),
        );
      } else if (deploymentProgressing(d, status)) {
        const c = newCondition(
          CONDITION_PROGRESSING,
          'True',
          REASON.replicaSetUpdated,
          `${subject} is progressing.`,
          this.now,
        );
        if (cur) {
          if (cur.status === 'True' && cur.lastTransitionTime) c.lastTransitionTime = cur.lastTransitionTime;
          removeCondition(status, CONDITION_PROGRESSING);
        }
        setCondition(status, c);
      } else if (deploymentTimedOut(d, status, this.now)) {
        setCondition(
          status,
          newCondition(
            CONDITION_PROGRESSING,
            'False',
            REASON.timedOut,
            `${subject} has timed out progressing.`,
            this.now,
          ),
        );
      }
    }
    const failure = replicaFailure(all, newRS);
    if (failure) setCondition(status, failure);
    else removeCondition(status, CONDITION_REPLICA_FAILURE);
    if (statusEqual(d.status, status)) {
      this.requeueAfterMs = this.stuckRequeue(status);
      return;
    }
    this.writeStatus(status);
  }

  /** When to look again for a progress deadline that may pass without any event. */
  private stuckRequeue(status: KObj): number | undefined {
    const d = this.d;
    const cur = getCondition(d.status, CONDITION_PROGRESSING);
    if (!hasProgressDeadline(d) || !cur) return undefined;
    if (deploymentComplete(d, status) || cur.reason === REASON.timedOut) return undefined;
    const last = cur.lastUpdateTime ? Date.parse(cur.lastUpdateTime) : Number.NaN;
    if (Number.isNaN(last)) return undefined;
    const after = last + d.spec.progressDeadlineSeconds * 1000 - this.now;
    return after < 1000 ? 1000 : after + 1000;
  }
}

function bySize(a: KObj, b: KObj): number {
  return (b.spec?.replicas ?? 0) - (a.spec?.replicas ?? 0);
}

/** The one active ReplicaSet, or the latest when none is active; undefined when several are. */
export function findActiveOrLatest(newRS: KObj | undefined, oldRSs: readonly KObj[]): KObj | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = activeReplicaSets([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  if (active.length === 1) return active[0];
  return undefined;
}

/** The new ReplicaSet runs all of spec.replicas, available. */
export function isSaturated(d: KObj, rs: KObj): boolean {
  const r = replicasOf(d);
  return (
    intAnnotation(rs, DESIRED_REPLICAS) === r &&
    (rs.spec?.replicas ?? 0) === r &&
    (rs.status?.availableReplicas ?? 0) === r
  );
}

/**
 * A ReplicaSet's share of `toAdd` replicas (negative: to remove), by its size relative to the
 * max-replicas it was annotated with, bounded by what is left to distribute.
 */
export function proportion(rs: KObj, d: KObj, toAdd: number, added: number): number {
  const cur = rs.spec?.replicas ?? 0;
  if (cur === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(rs: KObj, d: KObj): number {
  const cur = rs.spec?.replicas ?? 0;
  const replicas = replicasOf(d);
  if (replicas === 0) return -cur;
  const deploymentMax = replicas + maxSurge(d);
  const annotated = intAnnotation(rs, MAX_REPLICAS) ?? d.status?.replicas ?? 0;
  if (annotated === 0) return 0;
  return Math.round((cur * deploymentMax) / annotated) - cur;
}

/** The ReplicaFailure condition of the new ReplicaSet, else of any other, as a Deployment condition. */
function replicaFailure(all: (KObj | undefined)[], newRS: KObj | undefined): Condition | undefined {
  const pick = (rs: KObj | undefined) =>
    (rs?.status?.conditions ?? []).find((c: KObj) => c.type === CONDITION_REPLICA_FAILURE);
  const c = pick(newRS) ?? all.map(pick).find((x) => x !== undefined);
  if (!c) return undefined;
  return {
    type: CONDITION_REPLICA_FAILURE,
    status: c.status,
    lastUpdateTime: c.lastTransitionTime,
    lastTransitionTime: c.lastTransitionTime,
    reason: c.reason,
    message: c.message,
  };
}
