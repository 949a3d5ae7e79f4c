/**
 * Score plugins: pure functions that rate each feasible node 0..100 for a pod, normalized over the
 * feasible nodes where upstream normalizes, and summed with upstream's default plugin weights.
 */
import { preferredAffinityWeight } from './node-affinity.js';
import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';
import { intolerablePreferNoSchedule } from './taints.js';

export const MAX_NODE_SCORE = 100;

/** Scores of every node, in the order of `nodes`. */
export type ScoreFn = (pod: PodInfo, nodes: readonly NodeInfo[]) => number[];

function fraction(requested: number, allocatable: number): number {
  if (allocatable <= 0) return 1;
  return Math.min(1, requested / allocatable);
}

/** NodeResourcesFit LeastAllocated: the share of cpu and memory left free after placing the pod (equal weights). */
export function leastAllocated(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
  return nodes.map((n) => {
    const cpu = 1 - fraction(n.nonZeroMilliCpu + pod.nonZeroMilliCpu, n.allocatable.milliCpu);
    const mem = 1 - fraction(n.nonZeroMemory + pod.nonZeroMemory, n.allocatable.memory);
    return Math.floor(((cpu + mem) / 2) * MAX_NODE_SCORE);
  });
}

/** NodeResourcesBalancedAllocation: 100 when cpu and memory would be equally used, lower as they diverge. */
export function balancedAllocation(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
  return nodes.map((n) => {
    const cpu = fraction(n.nonZeroMilliCpu + pod.nonZeroMilliCpu, n.allocatable.milliCpu);
    const mem = fraction(n.nonZeroMemory + pod.nonZeroMemory, n.allocatable.memory);
    // Standard deviation of two values is half their distance.
    const std = Math.abs(cpu - mem) / 2;
    return Math.floor((1 - std) * MAX_NODE_SCORE);
  });
}

/**
 * Default spreading of the pods of one controller: fewer of its pods on a node (and in the node's
 * zone, weighted 2/3 when nodes have zones) scores higher. Pods without a controller score 0 everywhere.
 */
export function defaultSpreading(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
  if (!pod.ownerUid) return nodes.map(() => 0);
  const counts = nodes.map((n) => n.ownerCounts.get(pod.ownerUid) ?? 0);
  let maxNode = 0;
  const zoneCounts = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) {
    const c = counts[i]!;
    if (c > maxNode) maxNode = c;
    const z = nodes[i]!.zone;
    if (z) zoneCounts.set(z, (zoneCounts.get(z) ?? 0) + c);
  }
  let maxZone = 0;
  for (const c of zoneCounts.values()) if (c > maxZone) maxZone = c;
  const haveZones = zoneCounts.size > 0;
  return nodes.map((n, i) => {
    let s = maxNode > 0 ? (MAX_NODE_SCORE * (maxNode - counts[i]!)) / maxNode : MAX_NODE_SCORE;
    if (haveZones) {
      const zs = n.zone
        ? maxZone > 0
          ? (MAX_NODE_SCORE * (maxZone - (zoneCounts.get(n.zone) ?? 0))) / maxZone
          : MAX_NODE_SCORE
        : 0;
      s = s / 3 + (zs * 2) / 3;
    }
    return Math.floor(s);
  });
}

/** TaintToleration: fewer untolerated PreferNoSchedule taints score higher (reverse-normalized). */
export function taintPreferNoSchedule(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
  const counts = nodes.map((n) =>
    n.taints.length ? intolerablePreferNoSchedule(n.taints, pod.tolerations) : 0,
  );
  let max = 0;
  for (const c of counts) if (c > max) max = c;
  return counts.map((c) =>
    max === 0 ? MAX_NODE_SCORE : MAX_NODE_SCORE - Math.floor((c * MAX_NODE_SCORE) / max),
  );
}

/** NodeAffinity preferred terms: summed weights of the matching terms, normalized to the best node. */
export function preferredNodeAffinity(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
  if (pod.preferredTerms.length === 0) return nodes.map(() => 0);
  const sums = nodes.map((n) => preferredAffinityWeight(pod.preferredTerms, n.labels, n.name));
  let max = 0;
  for (const s of sums) if (s > max) max = s;
  return sums.map((s) => (max === 0 ? 0 : Math.floor((s * MAX_NODE_SCORE) / max)));
}

export interface WeightedScore {
  name: string;
  weight: number;
  fn: ScoreFn;
}

/** Upstream's default score plugins and weights. */
export const DEFAULT_SCORES: readonly WeightedScore[] = [
  { name: 'NodeResourcesFit', weight: 1, fn: leastAllocated },
  { name: 'NodeResourcesBalancedAllocation', weight: 1, fn: balancedAllocation },
  { name: 'PodTopologySpread', weight: 2, fn: defaultSpreading },
  { name: 'TaintToleration', weight: 3, fn: taintPreferNoSchedule },
  { name: 'NodeAffinity', weight: 2, fn: preferredNodeAffinity },
];

/** Weighted sum of every score plugin per node. */
export function totalScores(
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  scores: readonly WeightedScore[] = DEFAULT_SCORES,
): number[] {
  const total = new Array<number>(nodes.length).fill(0);
  for (const s of scores) {
    const part = s.fn(pod, nodes);
    for (let i = 0; i < nodes.length; i++) total[i]! += s.weight * part[i]!;
  }
  return total;
}

/** Index of the highest total; ties broken uniformly at random (reservoir sampling). */
export function selectHost(totals: readonly number[], random: () => number = Math.random): number {
  let best = -1;
  let bestScore = Number.NEGATIVE_INFINITY;
  let ties = 0;
  for (let i = 0; i < totals.length; i++) {
    const s = totals[i]!;
    if (s > bestScore) {
      bestScore = s;
      best = i;
      ties = 1;
    } else if (s === bestScore) {
      ties++;
      if (random() * ties < 1) best = i;
    }
  }
  return best;
}
