/**
 * Filter plugins: pure functions of (pod, node) that say why a node cannot take a pod, with the
 * reason strings upstream's plugins use (they end up in the FailedScheduling message). Run in
 * upstream's default order; a node's diagnosis is the first plugin that rejects it.
 */
import { matchesNodeSelectorAndAffinity } from './node-affinity.js';
import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';
import { firstUntoleratedTaint, tolerated } from './taints.js';

/** Why a node was rejected. `unresolvable`: preempting pods would not help (upstream's UnschedulableAndUnresolvable). */
export interface FilterFailure {
  plugin: string;
  reasons: string[];
  unresolvable: boolean;
}

export type FilterFn = (pod: PodInfo, node: NodeInfo) => FilterFailure | undefined;

export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const REASON_NODE_NAME = "node(s) didn't match the requested node name";
export const REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";
export const REASON_TOO_MANY_PODS = 'Too many pods';

const UNSCHEDULABLE_TAINT = { key: 'node.kubernetes.io/unschedulable', value: '', effect: 'NoSchedule' };
const NO_SCHEDULE_EFFECTS = ['NoSchedule', 'NoExecute'] as const;

/** NodeUnschedulable: `spec.unschedulable` nodes, unless the pod tolerates the unschedulable taint. */
export function nodeUnschedulable(pod: PodInfo, node: NodeInfo): FilterFailure | undefined {
  if (!node.unschedulable || tolerated(pod.tolerations, UNSCHEDULABLE_TAINT)) return undefined;
  return { plugin: 'NodeUnschedulable', reasons: [REASON_UNSCHEDULABLE], unresolvable: true };
}

/** NodeName: a pod that names its node fits only that node. */
export function nodeName(pod: PodInfo, node: NodeInfo): FilterFailure | undefined {
  if (!pod.nodeName || pod.nodeName === node.name) return undefined;
  return { plugin: 'NodeName', reasons: [REASON_NODE_NAME], unresolvable: true };
}

/** TaintToleration: every NoSchedule/NoExecute taint must be tolerated. */
export function taintToleration(pod: PodInfo, node: NodeInfo): FilterFailure | undefined {
  const t = firstUntoleratedTaint(node.taints, pod.tolerations, NO_SCHEDULE_EFFECTS);
  if (!t) return undefined;
  return {
    plugin: 'TaintToleration',
    reasons: [`node(s) had untolerated taint {${t.key}: ${t.value}}`],
    unresolvable: true,
  };
}

/** NodeAffinity: nodeSelector and required node affinity. */
export function nodeAffinity(pod: PodInfo, node: NodeInfo): FilterFailure | undefined {
  if (matchesNodeSelectorAndAffinity(pod, node.labels, node.name)) return undefined;
  return { plugin: 'NodeAffinity', reasons: [REASON_NODE_AFFINITY], unresolvable: true };
}

/** NodePorts: a wanted hostPort (protocol, IP, port) must be free on the node. */
export function nodePorts(pod: PodInfo, node: NodeInfo): FilterFailure | undefined {
  for (const hp of pod.hostPorts) {
    if (node.portInUse(hp)) return { plugin: 'NodePorts', reasons: [REASON_NODE_PORTS], unresolvable: false };
  }
  return undefined;
}

/** NodeResourcesFit: pod count and every requested resource against allocatable minus what is requested. */
export function nodeResourcesFit(pod: PodInfo, node: NodeInfo): FilterFailure | undefined {
  const a = node.allocatable;
  const used = node.requested;
  const r = pod.requests;
  // Hot path (every node of every decision): decide first, build the reasons only on failure.
  const tooMany = node.podCount + 1 > a.pods;
  const cpu = r.milliCpu > 0 && r.milliCpu > a.milliCpu - used.milliCpu;
  const mem = r.memory > 0 && r.memory > a.memory - used.memory;
  const eph = r.ephemeralStorage > 0 && r.ephemeralStorage > a.ephemeralStorage - used.ephemeralStorage;
  let scalar: string[] | undefined;
  if (r.scalar.size > 0) {
    for (const [name, want] of r.scalar) {
      if (want > 0 && want > (a.scalar.get(name) ?? 0) - (used.scalar.get(name) ?? 0))
        (scalar ??= []).push(`Insufficient ${name}`);
    }
  }
  if (!tooMany && !cpu && !mem && !eph && !scalar) return undefined;
  const reasons: string[] = [];
  if (tooMany) reasons.push(REASON_TOO_MANY_PODS);
  if (cpu) reasons.push('Insufficient cpu');
  if (mem) reasons.push('Insufficient memory');
  if (eph) reasons.push('Insufficient ephemeral-storage');
  if (scalar) reasons.push(...scalar);
  return { plugin: 'NodeResourcesFit', reasons, unresolvable: false };
}

/** The default filter plugins in upstream's order. */
export const DEFAULT_FILTERS: readonly FilterFn[] = [
  nodeUnschedulable,
  nodeName,
  taintToleration,
  nodeAffinity,
  nodePorts,
  nodeResourcesFit,
];

/** Run filters in order; the first failure is the node's diagnosis. */
export function runFilters(
  pod: PodInfo,
  node: NodeInfo,
  filters: readonly FilterFn[] = DEFAULT_FILTERS,
): FilterFailure | undefined {
  for (const f of filters) {
    const fail = f(pod, node);
    if (fail) return fail;
  }
  return undefined;
}
