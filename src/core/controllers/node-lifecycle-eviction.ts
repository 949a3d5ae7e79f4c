/**
 * NoExecute eviction, free of I/O (upstream's taint eviction): when must a pod on a node with
 * NoExecute taints be deleted? Immediately if some taint is not tolerated; never if every
 * toleration used tolerates it forever (no tolerationSeconds, as DaemonSet pods do); otherwise at
 * the time the taints appeared plus the smallest tolerationSeconds of the tolerations used.
 */

import { toleratesTaint } from '../api/toleration.js';
import type { KObj } from '../client/informer.js';

export { toleratesTaint };

/** The NoExecute taints of a node. */
export function noExecuteTaints(node: KObj): KObj[] {
  return ((node.spec?.taints as KObj[] | undefined) ?? []).filter((t) => t.effect === 'NoExecute');
}

export type EvictionDecision = { kind: 'keep' } | { kind: 'evictAt'; atMs: number };

/**
 * When to evict `pod` from a node with `taints` (its NoExecute taints). The taints' start is their
 * earliest timeAdded; a taint without one counts from `nowMs`.
 */
export function evictionDecision(pod: KObj, taints: KObj[], nowMs: number): EvictionDecision {
  if (taints.length === 0) return { kind: 'keep' };
  const tolerations: KObj[] = pod.spec?.tolerations ?? [];
  const used: KObj[] = [];
  for (const taint of taints) {
    const tol = tolerations.find((t) => toleratesTaint(t, taint));
    if (!tol) return { kind: 'evictAt', atMs: nowMs };
    used.push(tol);
  }
  let minSeconds: number | undefined;
  for (const t of used) {
    if (typeof t.tolerationSeconds !== 'number') continue;
    const s = Math.max(0, t.tolerationSeconds);
    minSeconds = minSeconds === undefined ? s : Math.min(minSeconds, s);
  }
  if (minSeconds === undefined) return { kind: 'keep' };
  let start = nowMs;
  for (const t of taints) {
    const added = t.timeAdded ? Date.parse(t.timeAdded) : Number.NaN;
    start = Math.min(start, Number.isNaN(added) ? nowMs : added);
  }
  return { kind: 'evictAt', atMs: start + minSeconds * 1000 };
}
