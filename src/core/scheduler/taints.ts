/** Taint and toleration matching, as upstream's ToleratesTaint. */

import { toleratesTaint } from '../api/toleration.js';
import type { Taint } from './node-info.js';
import type { Toleration } from './pod-info.js';

export { toleratesTaint };

/** Whether any of the tolerations tolerates the taint. */
export function tolerated(tols: Toleration[], taint: Taint): boolean {
  for (const t of tols) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first taint with one of the effects that no toleration tolerates. */
export function firstUntoleratedTaint(
  taints: Taint[],
  tols: Toleration[],
  effects: readonly string[],
): Taint | undefined {
  if (taints.length === 0) return undefined;
  for (const t of taints) if (effects.includes(t.effect) && !tolerated(tols, t)) return t;
  return undefined;
}

/** Number of PreferNoSchedule taints the pod does not tolerate (tolerations with an empty or PreferNoSchedule effect count). */
export function intolerablePreferNoSchedule(taints: Taint[], tols: Toleration[]): number {
  let n = 0;
  let relevant: Toleration[] | undefined;
  for (const t of taints) {
    if (t.effect !== 'PreferNoSchedule') continue;
    relevant ??= tols.filter((x) => !x.effect || x.effect === 'PreferNoSchedule');
    if (!tolerated(relevant, t)) n++;
  }
  return n;
}
