/**
 * Pure pod logic of the ReplicaSet controller: which pods count, which are ready or available,
 * which to delete first when scaling down, and the pod a template makes.
 */
import type { KObj } from '../client/informer.js';
import { isPodReady, readyCondition } from './pod-state.js';
import { controllerReference } from './replicaset-controller-ref.js';

export { isPodReady };

/** Annotation a user sets to steer scale-down (lower cost goes first). */
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

/** Parse an RFC 3339 timestamp to ms; undefined when absent or invalid. */
export function timeMs(t: unknown): number | undefined {
  if (typeof t !== 'string' || t === '') return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A pod that counts towards replicas: not terminal and not being deleted. */
export function isPodActive(pod: KObj): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && pod.metadata?.deletionTimestamp === undefined;
}

/** When the pod became ready (ms), if it is ready. */
export function podReadyTime(pod: KObj): number | undefined {
  const c = readyCondition(pod);
  return c?.status === 'True' ? timeMs(c.lastTransitionTime) : undefined;
}

/** Ready for at least minReadySeconds at `nowMs`. */
export function isPodAvailable(pod: KObj, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = podReadyTime(pod);
  return since !== undefined && since + minReadySeconds * 1000 <= nowMs;
}

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function deletionCost(pod: KObj): number {
  const v = pod.metadata?.annotations?.[POD_DELETION_COST];
  if (typeof v !== 'string' || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : 0;
}

function maxRestarts(pod: KObj): number {
  let n = 0;
  for (const c of pod.status?.containerStatuses ?? []) n = Math.max(n, c.restartCount ?? 0);
  return n;
}

/** floor(log2(age in ns)), the bucket upstream's logarithmic scale-down compares. */
function logBucket(t: number, nowMs: number): number {
  const age = nowMs - t;
  return age > 0 ? Math.floor(Math.log2(age * 1e6)) : 0;
}

/**
 * Compare two timestamps the way upstream's LogarithmicScaleDown does: the more recent goes
 * first, but times in the same power-of-two age bucket tie (broken by uid for determinism).
 * Returns <0 when `a` goes first, >0 when `b` does, 0 when the timestamps are equal.
 */
function compareRecent(
  a: KObj,
  b: KObj,
  ta: number | undefined,
  tb: number | undefined,
  nowMs: number,
): number {
  if (ta === tb) return 0;
  if (ta === undefined) return -1;
  if (tb === undefined) return 1;
  const diff = logBucket(ta, nowMs) - logBucket(tb, nowMs);
  if (diff !== 0) return diff;
  const ua = String(a.metadata?.uid ?? '');
  const ub = String(b.metadata?.uid ?? '');
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

/**
 * Order pods for deletion, first to go first: unscheduled before scheduled, Pending before
 * Unknown before Running, not ready before ready, lower pod-deletion-cost first, more pods of the
 * same owner family on the node first (`rank`), recently ready first, more restarts first, newer
 * first.
 */
export function compareForDeletion(a: KObj, b: KObj, rankA: number, rankB: number, nowMs: number): number {
  const na = a.spec?.nodeName ?? '';
  const nb = b.spec?.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '' ? -1 : 1;
  const pa = PHASE_ORDER[a.status?.phase ?? ''] ?? 0;
  const pb = PHASE_ORDER[b.status?.phase ?? ''] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca - cb;
  if (rankA !== rankB) return rankB - rankA;
  if (ra && rb) {
    const c = compareRecent(a, b, podReadyTime(a), podReadyTime(b), nowMs);
    if (c !== 0) return c;
  }
  const rsA = maxRestarts(a);
  const rsB = maxRestarts(b);
  if (rsA !== rsB) return rsB - rsA;
  return compareRecent(
    a,
    b,
    timeMs(a.metadata?.creationTimestamp),
    timeMs(b.metadata?.creationTimestamp),
    nowMs,
  );
}

/**
 * The `count` pods to delete from `pods`. `related` are the active and inactive pods of the whole
 * owner family (the ReplicaSets of one Deployment); pods on nodes crowded with them go first.
 */
export function podsToDelete(
  pods: readonly KObj[],
  related: readonly KObj[],
  count: number,
  nowMs: number,
): KObj[] {
  if (count >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked = pods.map((p) => ({ p, rank: onNode.get(p.spec?.nodeName ?? '') ?? 0 }));
  ranked.sort((x, y) => compareForDeletion(x.p, y.p, x.rank, y.rank, nowMs));
  return ranked.slice(0, count).map((x) => x.p);
}

/** The pod a ReplicaSet creates: its template, named `<rs>-<5 random>` by the API server. */
export function podFromTemplate(rs: KObj): KObj {
  const t: KObj = rs.spec?.template ?? {};
  const tm: KObj = t.metadata ?? {};
  const metadata: KObj = {
    generateName: `${rs.metadata.name}-`,
    namespace: rs.metadata.namespace,
    labels: { ...(tm.labels ?? {}) },
    ownerReferences: [controllerReference(rs, 'apps/v1', 'ReplicaSet')],
  };
  if (tm.annotations) metadata.annotations = { ...tm.annotations };
  if (tm.finalizers) metadata.finalizers = [...tm.finalizers];
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: structuredClone(t.spec ?? {}) };
}

/** Batch sizes of a slow start: 1, 2, 4, ... capped by what remains (upstream's slowStartBatch). */
export function slowStartBatches(count: number, initial = 1): number[] {
  const out: number[] = [];
  let remaining = count;
  let size = Math.min(remaining, initial);
  while (size > 0) {
    out.push(size);
    remaining -= size;
    size = Math.min(2 * size, remaining);
  }
  return out;
}

/**
 * Run `fn` `count` times in slow-start batches (each batch in parallel); stop after the first
 * batch with a failure. Resolves with the number of successes and the first error.
 */
export async function slowStartBatch(
  count: number,
  fn: () => Promise<void>,
  initial = 1,
): Promise<{ successes: number; error: unknown }> {
  let successes = 0;
  for (const size of slowStartBatches(count, initial)) {
    const results = await Promise.allSettled(Array.from({ length: size }, () => fn()));
    let error: unknown;
    for (const r of results) {
      if (r.status === 'fulfilled') successes++;
      else error ??= r.reason ?? new Error('failed');
    }
    if (error !== undefined) return { successes, error };
  }
  return { successes, error: undefined };
}
