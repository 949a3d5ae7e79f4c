/**
 * The message of a pod no node fits, shaped as upstream's FitError: a histogram of the filter
 * reasons over all nodes (entries sorted as strings), then what preemption concluded per node.
 * k8ts does not preempt, so a node rejected for a resolvable reason (resources, ports) reads as
 * upstream's "no victims" and an unresolvable one as "not helpful", exactly as upstream words a
 * cluster where no lower-priority pod could be evicted.
 */
import type { FilterFailure } from './filters.js';

export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';
export const PREEMPTION_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NO_PREEMPTION_VICTIMS = 'No preemption victims found for incoming pod';

function histogram(items: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const r of items) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts]
    .map(([r, n]) => `${n} ${r}`)
    .sort()
    .join(', ');
}

/** `0/N nodes are available: <reasons>. preemption: 0/N nodes are available: <preemption>.` */
export function fitErrorMessage(numAllNodes: number, failures: readonly FilterFailure[]): string {
  if (numAllNodes === 0) return NO_NODES_AVAILABLE;
  let msg = `0/${numAllNodes} nodes are available:`;
  const reasons = histogram(failures.flatMap((f) => f.reasons));
  if (reasons) msg += ` ${reasons}.`;
  const pre = histogram(
    failures.map((f) => (f.unresolvable ? PREEMPTION_NOT_HELPFUL : NO_PREEMPTION_VICTIMS)),
  );
  msg += ` preemption: 0/${numAllNodes} nodes are available: ${pre}.`;
  return msg;
}
