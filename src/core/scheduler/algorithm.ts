/**
 * One scheduling decision: filter nodes (starting where the previous decision stopped, and stopping
 * once enough feasible nodes are found, as upstream's percentageOfNodesToScore), score the feasible
 * ones and pick the best. Pure: the node list and the start index come in, the choice goes out.
 */
import { DEFAULT_FILTERS, type FilterFailure, type FilterFn, runFilters } from './filters.js';
import { fitErrorMessage } from './fit-error.js';
import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';
import { DEFAULT_SCORES, selectHost, totalScores, type WeightedScore } from './scores.js';

/** Upstream's floor: never stop filtering before this many feasible nodes. */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
export const MIN_FEASIBLE_NODES_PERCENTAGE = 5;

/**
 * How many feasible nodes to look for. `percentage` 0 (the default) is upstream's adaptive value:
 * 50% minus 1% per 125 nodes, at least 5%; the result is at least 100 nodes (or all of them).
 */
export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND || percentage >= 100) return numAllNodes;
  let pct = percentage;
  if (pct <= 0) pct = Math.max(MIN_FEASIBLE_NODES_PERCENTAGE, 50 - Math.floor(numAllNodes / 125));
  const n = Math.floor((numAllNodes * pct) / 100);
  return Math.max(n, MIN_FEASIBLE_NODES_TO_FIND);
}

export interface ScheduleOptions {
  /** Index in `nodes` to start filtering at (rotated between decisions so every node gets its turn). */
  startIndex?: number | undefined;
  percentageOfNodesToScore?: number | undefined;
  filters?: readonly FilterFn[] | undefined;
  scores?: readonly WeightedScore[] | undefined;
  random?: (() => number) | undefined;
}

export type ScheduleResult =
  | { ok: true; node: NodeInfo; feasible: number; nextStartIndex: number }
  | { ok: false; message: string; failures: FilterFailure[]; nextStartIndex: number };

/** Choose a node for the pod among `nodes` (nodes with a Node object only). */
export function schedulePod(
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  opts: ScheduleOptions = {},
): ScheduleResult {
  const n = nodes.length;
  const start = n === 0 ? 0 : (opts.startIndex ?? 0) % n;
  const want = numFeasibleNodesToFind(n, opts.percentageOfNodesToScore);
  const filters = opts.filters ?? DEFAULT_FILTERS;
  const feasible: NodeInfo[] = [];
  const failures: FilterFailure[] = [];
  let processed = 0;
  for (; processed < n && feasible.length < want; processed++) {
    const node = nodes[(start + processed) % n]!;
    const fail = runFilters(pod, node, filters);
    if (fail) failures.push(fail);
    else feasible.push(node);
  }
  const nextStartIndex = n === 0 ? 0 : (start + processed) % n;
  if (feasible.length === 0) {
    return { ok: false, message: fitErrorMessage(n, failures), failures, nextStartIndex };
  }
  if (feasible.length === 1) return { ok: true, node: feasible[0]!, feasible: 1, nextStartIndex };
  const totals = totalScores(pod, feasible, opts.scores ?? DEFAULT_SCORES);
  const best = selectHost(totals, opts.random);
  return { ok: true, node: feasible[best]!, feasible: feasible.length, nextStartIndex };
}
