/**
 * The pure part of the Job controller (upstream pkg/controller/job): given a Job, the pods it
 * controls and the time, what to count, which pods to create and delete, and the status to write.
 * No I/O here; job.ts runs these steps against the API.
 *
 * Counting is exactly-once through the `batch.kubernetes.io/job-tracking` pod finalizer, as
 * upstream: a finished pod that still has the finalizer is first recorded by uid in
 * `status.uncountedTerminatedPods` (step 1, written), then its finalizer is removed (step 2), then
 * its uid moves from the uncounted lists to `status.succeeded` / `status.failed` (step 3).
 */
import type { Job, JobCondition, JobStatus } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const JOB_COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';

/** Reasons and messages of the conditions, as upstream words them. */
export const JOB_REASONS = {
  backoffLimit: { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' },
  deadline: { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' },
  completions: { reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' },
  suspended: { reason: 'JobSuspended', message: 'Job suspended' },
  resumed: { reason: 'JobResumed', message: 'Job resumed' },
} as const;

/** Delay before a failed pod is replaced: base * 2^(failures-1), capped (upstream 10 s, 10 min). */
export interface PodBackoff {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_POD_BACKOFF: PodBackoff = { baseMs: 10_000, maxMs: 600_000 };

/** Failures since the last success, kept in memory per Job (as upstream's backoff record store). */
export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime: number;
}

type Cond = JobCondition;

function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function hasCondition(status: JobStatus | undefined, type: string): boolean {
  return (status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

/** True once the Job has its terminal condition (Complete or Failed). */
export function jobFinished(job: Job): boolean {
  return hasCondition(job.status, 'Complete') || hasCondition(job.status, 'Failed');
}

/** The time the Job finished (its terminal condition's transition), in ms, if it has. */
export function jobFinishTime(job: Job): number | undefined {
  const c = (job.status?.conditions ?? []).find(
    (x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True',
  );
  if (!c?.lastTransitionTime) return undefined;
  const t = Date.parse(c.lastTransitionTime);
  return Number.isNaN(t) ? undefined : t;
}

/** Set (or flip) a condition; the transition time moves only when the status changes. */
function setCondition(
  status: JobStatus,
  type: string,
  value: 'True' | 'False',
  why: { reason: string; message: string },
  now: number,
): void {
  const conds = (status.conditions ??= []);
  const t = rfc3339(now);
  const existing = conds.find((c) => c.type === type);
  if (existing) {
    if (existing.status !== value) existing.lastTransitionTime = t;
    existing.status = value;
    existing.reason = why.reason;
    existing.message = why.message;
    existing.lastProbeTime = t;
    return;
  }
  const c: Cond = {
    type,
    status: value,
    reason: why.reason,
    message: why.message,
    lastProbeTime: t,
    lastTransitionTime: t,
  };
  conds.push(c);
}

function hasFinalizer(pod: Pod): boolean {
  return (pod.metadata?.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
}

function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Running or pending and not being deleted. */
export function isActive(pod: Pod): boolean {
  return !isTerminal(pod) && !pod.metadata?.deletionTimestamp;
}

function isReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** A pod is finished for counting when terminal, or when deleted before succeeding (a failure). */
function finishedAs(pod: Pod): 'succeeded' | 'failed' | undefined {
  if (pod.status?.phase === 'Succeeded') return 'succeeded';
  if (pod.status?.phase === 'Failed') return 'failed';
  if (pod.metadata?.deletionTimestamp) return 'failed';
  return undefined;
}

/** The completion index of a pod of an Indexed Job, or undefined when absent or malformed. */
export function podIndex(pod: Pod): number | undefined {
  const v = pod.metadata?.annotations?.[JOB_COMPLETION_INDEX] ?? pod.metadata?.labels?.[JOB_COMPLETION_INDEX];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** Parse `status.completedIndexes` (`1,3-5,7`) into a sorted set. */
export function parseIndexes(s: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (s ?? '').split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-');
    const lo = Number(a);
    const hi = b === undefined ? lo : Number(b);
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) continue;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

/** Format indexes as `status.completedIndexes` writes them: sorted, consecutive runs as ranges. */
export function formatIndexes(set: Iterable<number>): string {
  const xs = [...new Set(set)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === (xs[j] as number) + 1) j++;
    parts.push(i === j ? `${xs[i]}` : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function indexed(job: Job): boolean {
  return job.spec?.completionMode === 'Indexed';
}

export interface TrackResult {
  /** The status with newly finished pods added to uncountedTerminatedPods (and completedIndexes). */
  status: JobStatus;
  /** Whether `status` differs from the Job's (a write is needed before removing finalizers). */
  changed: boolean;
  /** Pods whose finalizer may now be removed (recorded in the uncounted lists, or not counted at all). */
  unfinalize: Pod[];
  newSucceeded: number;
  newFailed: number;
}

/**
 * Step 1: record finished pods that still hold the tracking finalizer in
 * `status.uncountedTerminatedPods`. `finalizerGone` holds uids whose finalizer removal was already
 * sent (the cache may still show it): those were counted before and are skipped.
 */
export function trackFinishedPods(
  job: Job,
  pods: readonly Pod[],
  finalizerGone: ReadonlySet<string>,
): TrackResult {
  const status: JobStatus = structuredClone(job.status ?? {});
  const unc = {
    succeeded: [...(status.uncountedTerminatedPods?.succeeded ?? [])],
    failed: [...(status.uncountedTerminatedPods?.failed ?? [])],
  };
  const known = new Set([...unc.succeeded, ...unc.failed]);
  const completed = parseIndexes(status.completedIndexes);
  const completions = job.spec?.completions ?? 0;
  const unfinalize: Pod[] = [];
  let newSucceeded = 0;
  let newFailed = 0;
  let changed = false;
  const deleting = job.metadata?.deletionTimestamp !== undefined && job.metadata?.deletionTimestamp !== null;
  for (const pod of pods) {
    const uid = pod.metadata?.uid ?? '';
    if (!hasFinalizer(pod) || finalizerGone.has(uid)) continue;
    const as = finishedAs(pod);
    if (known.has(uid)) {
      unfinalize.push(pod);
      continue;
    }
    if (as === undefined) {
      // A Job being deleted lets go of its pods whatever their state (they are not counted).
      if (deleting) unfinalize.push(pod);
      continue;
    }
    if (as === 'succeeded') {
      const idx = podIndex(pod);
      if (indexed(job)) {
        // Only a valid, not yet completed index counts; the pod is released either way.
        if (idx === undefined || idx >= completions || completed.has(idx)) {
          unfinalize.push(pod);
          continue;
        }
        completed.add(idx);
      }
      unc.succeeded.push(uid);
      newSucceeded++;
    } else if (job.spec?.suspend === true && pod.status?.phase !== 'Failed') {
      // Pods removed because the Job was suspended are not failures.
      unfinalize.push(pod);
      continue;
    } else {
      unc.failed.push(uid);
      newFailed++;
    }
    known.add(uid);
    unfinalize.push(pod);
    changed = true;
  }
  if (changed) {
    status.uncountedTerminatedPods = { succeeded: unc.succeeded, failed: unc.failed };
    if (indexed(job)) status.completedIndexes = formatIndexes(completed);
  }
  return { status, changed, unfinalize, newSucceeded, newFailed };
}

/**
 * Step 3: move uncounted uids whose pods no longer hold the finalizer (released, or gone) into the
 * counters. `released` are uids whose finalizer removal succeeded in this sync.
 */
export function countReleasedPods(
  job: Job,
  status: JobStatus,
  pods: readonly Pod[],
  released: ReadonlySet<string>,
): JobStatus {
  const next: JobStatus = structuredClone(status);
  const holding = new Set(
    pods
      .filter((p) => hasFinalizer(p) && !released.has(p.metadata?.uid ?? ''))
      .map((p) => p.metadata?.uid ?? ''),
  );
  const unc = next.uncountedTerminatedPods;
  if (unc === undefined) return next;
  const keepS: string[] = [];
  const keepF: string[] = [];
  let s = next.succeeded ?? 0;
  let f = next.failed ?? 0;
  for (const uid of unc.succeeded ?? []) {
    if (holding.has(uid)) keepS.push(uid);
    else s++;
  }
  for (const uid of unc.failed ?? []) {
    if (holding.has(uid)) keepF.push(uid);
    else f++;
  }
  if (indexed(job)) s = parseIndexes(next.completedIndexes).size - keepS.length;
  next.succeeded = s;
  next.failed = f;
  next.uncountedTerminatedPods = keepS.length || keepF.length ? { succeeded: keepS, failed: keepF } : {};
  return next;
}

export interface JobPlanOptions {
  now: number;
  backoff?: BackoffRecord | undefined;
  podBackoff?: PodBackoff | undefined;
}

export interface JobEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface JobPlan {
  /** Pods to create: one entry each, the completion index for Indexed Jobs (else undefined). */
  create: (number | undefined)[];
  /** Active pods to delete. */
  delete: Pod[];
  status: JobStatus;
  events: JobEvent[];
  /** Sync again after this long (a deadline or a pod-failure backoff is pending). */
  requeueAfterMs?: number | undefined;
}

/** Deletion order among active pods: unscheduled, then not running, then not ready, then newest. */
function removalOrder(a: Pod, b: Pod): number {
  const rank = (p: Pod) => [
    p.spec?.nodeName ? 1 : 0,
    p.status?.phase === 'Running' ? 1 : 0,
    isReady(p) ? 1 : 0,
  ];
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
  const ta = Date.parse(a.metadata?.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata?.creationTimestamp ?? '') || 0;
  return tb - ta;
}

/** Container restarts of the active pods (for restartPolicy OnFailure, which never fails a pod). */
function activeRestarts(active: readonly Pod[]): number {
  let n = 0;
  for (const p of active) {
    for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])])
      n += cs.restartCount ?? 0;
  }
  return n;
}

/**
 * Step 4: given the counted status (steps 1-3 done), decide creations, deletions, conditions and
 * the status to write. Pods being deleted are neither active nor replaced-blocking.
 */
export function planJob(job: Job, pods: readonly Pod[], status: JobStatus, opts: JobPlanOptions): JobPlan {
  const spec = job.spec ?? { template: {} };
  const now = opts.now;
  const next: JobStatus = structuredClone(status);
  const events: JobEvent[] = [];
  const active = pods.filter(isActive);
  const terminating = pods.filter((p) => !isTerminal(p) && p.metadata?.deletionTimestamp);
  const unc = next.uncountedTerminatedPods ?? {};
  const succeeded = (next.succeeded ?? 0) + (indexed(job) ? 0 : (unc.succeeded ?? []).length);
  const failed = (next.failed ?? 0) + (unc.failed ?? []).length;
  const parallelism = spec.parallelism ?? 1;
  const completions = spec.completions ?? undefined;
  const completed = parseIndexes(next.completedIndexes);
  const plan: JobPlan = { create: [], delete: [], status: next, events };
  let requeue: number | undefined;
  const wantRequeue = (ms: number) => {
    requeue = requeue === undefined ? ms : Math.min(requeue, ms);
  };

  let failing = hasCondition(next, 'FailureTarget');
  let succeeding = hasCondition(next, 'SuccessCriteriaMet');

  if (spec.suspend === true && !failing && !succeeding) {
    plan.delete.push(...active);
    if (!hasCondition(next, 'Suspended')) {
      setCondition(next, 'Suspended', 'True', JOB_REASONS.suspended, now);
      events.push({ type: 'Normal', reason: 'Suspended', message: 'Job suspended' });
    }
  } else {
    if (hasCondition(next, 'Suspended')) {
      setCondition(next, 'Suspended', 'False', JOB_REASONS.resumed, now);
      events.push({ type: 'Normal', reason: 'Resumed', message: 'Job resumed' });
      next.startTime = rfc3339(now);
    }
    next.startTime ??= rfc3339(now);
  }

  // Failure: too many failed pods (or container restarts under OnFailure), or past the deadline.
  if (!failing && !succeeding && spec.suspend !== true) {
    const limit = spec.backoffLimit ?? 6;
    const restarts = spec.template?.spec?.restartPolicy === 'OnFailure' ? activeRestarts(active) : 0;
    const restartsExceeded = restarts > 0 && (limit === 0 || restarts >= limit);
    let why: { reason: string; message: string } | undefined;
    if (failed > limit || restartsExceeded) why = JOB_REASONS.backoffLimit;
    else if (
      spec.activeDeadlineSeconds !== undefined &&
      spec.activeDeadlineSeconds !== null &&
      next.startTime
    ) {
      const left = Date.parse(next.startTime) + spec.activeDeadlineSeconds * 1000 - now;
      if (left <= 0) why = JOB_REASONS.deadline;
      else wantRequeue(left);
    }
    if (why) {
      setCondition(next, 'FailureTarget', 'True', why, now);
      events.push({ type: 'Warning', reason: why.reason, message: why.message });
      failing = true;
    }
  }

  // Success criteria.
  if (!failing && !succeeding) {
    let met: boolean;
    if (indexed(job)) met = completions !== undefined && completed.size >= completions;
    else if (completions === undefined) met = succeeded > 0 && active.length === 0;
    else met = succeeded >= completions;
    if (met) {
      setCondition(next, 'SuccessCriteriaMet', 'True', JOB_REASONS.completions, now);
      succeeding = true;
    }
  }

  if (failing || succeeding) {
    plan.delete.push(...active);
  } else if (spec.suspend !== true) {
    planPods(job, active, { succeeded, completed, parallelism, completions }, plan);
    // Replacements for failed pods wait out the backoff.
    if (plan.create.length > 0 && opts.backoff && opts.backoff.failuresAfterLastSuccess > 0) {
      const pb = opts.podBackoff ?? DEFAULT_POD_BACKOFF;
      const delay = Math.min(pb.baseMs * 2 ** (opts.backoff.failuresAfterLastSuccess - 1), pb.maxMs);
      const left = opts.backoff.lastFailureTime + delay - now;
      if (left > 0) {
        plan.create = [];
        wantRequeue(left);
      }
    }
  }

  // Terminal conditions wait until every pod has stopped and been counted.
  const deleted = new Set(plan.delete.map((p) => p.metadata?.uid));
  const stillRunning = active.filter((p) => !deleted.has(p.metadata?.uid)).length;
  const settled =
    stillRunning === 0 &&
    terminating.length === 0 &&
    plan.delete.length === 0 &&
    (unc.succeeded ?? []).length === 0 &&
    (unc.failed ?? []).length === 0;
  if (settled && failing && !hasCondition(next, 'Failed')) {
    const ft = (next.conditions ?? []).find((c) => c.type === 'FailureTarget');
    const why = { reason: ft?.reason ?? JOB_REASONS.backoffLimit.reason, message: ft?.message ?? '' };
    setCondition(next, 'Failed', 'True', why, now);
  } else if (settled && succeeding && !hasCondition(next, 'Complete')) {
    setCondition(next, 'Complete', 'True', JOB_REASONS.completions, now);
    next.completionTime = rfc3339(now);
    events.push({ type: 'Normal', reason: 'Completed', message: 'Job completed' });
  }

  next.active = stillRunning + plan.create.length;
  next.ready = active.filter((p) => !deleted.has(p.metadata?.uid) && isReady(p)).length;
  next.terminating = terminating.length + plan.delete.length;
  if (requeue !== undefined) plan.requeueAfterMs = requeue;
  return plan;
}

function planPods(
  job: Job,
  active: readonly Pod[],
  c: { succeeded: number; completed: Set<number>; parallelism: number; completions: number | undefined },
  plan: JobPlan,
): void {
  if (!indexed(job)) {
    let want: number;
    if (c.completions === undefined) want = c.succeeded > 0 ? active.length : c.parallelism;
    else want = Math.max(0, Math.min(c.parallelism, c.completions - c.succeeded));
    const diff = want - active.length;
    if (diff > 0) for (let i = 0; i < diff; i++) plan.create.push(undefined);
    else if (diff < 0) plan.delete.push(...[...active].sort(removalOrder).slice(0, -diff));
    return;
  }
  const completions = c.completions ?? 0;
  const byIndex = new Map<number, Pod[]>();
  for (const p of active) {
    const i = podIndex(p);
    // Pods without a valid, still pending index, and duplicates of an index, are removed.
    if (i === undefined || i >= completions || c.completed.has(i)) {
      plan.delete.push(p);
      continue;
    }
    const list = byIndex.get(i) ?? [];
    list.push(p);
    byIndex.set(i, list);
  }
  for (const list of byIndex.values()) {
    if (list.length > 1) plan.delete.push(...[...list].sort(removalOrder).slice(0, list.length - 1));
  }
  const running = byIndex.size;
  const remaining = completions - c.completed.size;
  const want = Math.max(0, Math.min(c.parallelism, remaining));
  if (running > want) {
    const extra = [...byIndex.keys()].sort((a, b) => b - a).slice(0, running - want);
    for (const i of extra) plan.delete.push(...(byIndex.get(i) ?? []));
    return;
  }
  for (let i = 0; i < completions && plan.create.length < want - running; i++) {
    if (!c.completed.has(i) && !byIndex.has(i)) plan.create.push(i);
  }
}

/** The generateName of a Job's pod: `<job>-` or `<job>-<index>-`, the Job name cut to fit. */
export function podGenerateName(jobName: string, index: number | undefined): string {
  const suffix = index === undefined ? '-' : `-${index}-`;
  // Generated names add 5 characters; the whole must stay a 63-character label.
  const max = 63 - 5 - suffix.length;
  return `${jobName.slice(0, max)}${suffix}`;
}

/** The pod a Job creates: its template with the owner reference, tracking finalizer and index. */
export function podForJob(job: Job, index: number | undefined): Pod {
  const t = structuredClone(job.spec?.template ?? {});
  const meta = t.metadata ?? {};
  const labels = { ...(meta.labels ?? {}) };
  const annotations = { ...(meta.annotations ?? {}) };
  const spec = t.spec ?? { containers: [] };
  if (index !== undefined) {
    annotations[JOB_COMPLETION_INDEX] = String(index);
    labels[JOB_COMPLETION_INDEX] = String(index);
    spec.hostname ??= `${job.metadata?.name ?? ''}-${index}`.slice(0, 63);
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      const env = (c.env ??= []);
      if (!env.some((e) => e.name === 'JOB_COMPLETION_INDEX')) {
        env.push({
          name: 'JOB_COMPLETION_INDEX',
          valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX}']` } },
        });
      }
    }
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: podGenerateName(job.metadata?.name ?? 'job', index),
      namespace: job.metadata?.namespace ?? 'default',
      labels,
      ...(Object.keys(annotations).length ? { annotations } : {}),
      finalizers: [JOB_TRACKING_FINALIZER],
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: job.metadata?.name ?? '',
          uid: job.metadata?.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
  };
}

/** Update a backoff record with the pods counted in this sync. */
export function nextBackoff(
  rec: BackoffRecord | undefined,
  counted: { newSucceeded: number; newFailed: number },
  now: number,
): BackoffRecord | undefined {
  if (counted.newSucceeded > 0) return undefined;
  if (counted.newFailed === 0) return rec;
  return {
    failuresAfterLastSuccess: (rec?.failuresAfterLastSuccess ?? 0) + counted.newFailed,
    lastFailureTime: now,
  };
}
