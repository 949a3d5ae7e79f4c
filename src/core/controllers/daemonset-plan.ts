/**
 * The DaemonSet controller's decisions, as pure functions of (DaemonSet, nodes, its pods, now):
 * which nodes should run a daemon pod, which nodes need one created, which pods must go (excess,
 * failed, misplaced, or replaced by a rolling update) and the status to report. The controller
 * (daemonset.ts) only gathers the inputs and carries the plan out.
 *
 * As upstream since 1.12, a daemon pod is not bound by the controller: it carries a required node
 * affinity on `metadata.name` of its node, and the scheduler binds it there.
 */
import type { KObj } from '../client/informer.js';
import { nodeMatchesPodSpec, untoleratedTaint } from './daemonset-node-fit.js';
import {
  isPodAvailable,
  isPodReady,
  isTerminal,
  isTerminating,
  ownerRefTo,
  podFromTemplate,
  REVISION_LABEL,
  scaledValue,
} from './daemonset-statefulset-shared.js';

/** Legacy label carrying the DaemonSet generation a pod was made at (upstream still sets it). */
export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';

const NO_EXECUTE = 'NoExecute';
const NO_SCHEDULE = 'NoSchedule';

/** Tolerations every daemon pod gets (operator Exists, no tolerationSeconds), as upstream. */
export function daemonPodTolerations(hostNetwork: boolean): KObj[] {
  const t = (key: string, effect: string): KObj => ({ key, operator: 'Exists', effect });
  const out = [
    t('node.kubernetes.io/not-ready', NO_EXECUTE),
    t('node.kubernetes.io/unreachable', NO_EXECUTE),
    t('node.kubernetes.io/disk-pressure', NO_SCHEDULE),
    t('node.kubernetes.io/memory-pressure', NO_SCHEDULE),
    t('node.kubernetes.io/pid-pressure', NO_SCHEDULE),
    t('node.kubernetes.io/unschedulable', NO_SCHEDULE),
  ];
  if (hostNetwork) out.push(t('node.kubernetes.io/network-unavailable', NO_SCHEDULE));
  return out;
}

/** Same key, operator, value and effect (tolerationSeconds may differ), as upstream's MatchToleration. */
function matchToleration(a: KObj, b: KObj): boolean {
  return (
    (a.key ?? '') === (b.key ?? '') &&
    (a.operator || 'Equal') === (b.operator || 'Equal') &&
    (a.value ?? '') === (b.value ?? '') &&
    (a.effect ?? '') === (b.effect ?? '')
  );
}

/**
 * The pod's tolerations with the daemon defaults added; a matching toleration (same key, operator,
 * value, effect) with other tolerationSeconds is replaced by the default, as upstream's
 * AddOrUpdateTolerationInPodSpec.
 */
export function withDaemonTolerations(spec: KObj): KObj[] {
  const out: KObj[] = [...(spec.tolerations ?? [])];
  for (const d of daemonPodTolerations(spec.hostNetwork === true)) {
    const i = out.findIndex((t) => matchToleration(t, d));
    if (i < 0) out.push(d);
    else if (out[i]!.tolerationSeconds !== undefined) out[i] = d;
  }
  return out;
}

/**
 * Pin a pod spec to one node by required node affinity (`matchFields metadata.name In [node]`),
 * replacing any required node selector terms (the controller has already checked them).
 */
export function pinToNode(spec: KObj, nodeName: string): void {
  const term = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  spec.affinity ??= {};
  spec.affinity.nodeAffinity ??= {};
  spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [term] };
}

/** The node a daemon pod is for: its nodeName, else the single name its required affinity pins. */
export function targetNodeName(pod: KObj): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms: KObj[] =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

export interface NodeFit {
  /** A daemon pod should be created on the node if it has none. */
  shouldRun: boolean;
  /** A daemon pod already there may stay (only a NoExecute taint it does not tolerate evicts it). */
  shouldContinueRunning: boolean;
}

/** Whether a DaemonSet should run on a node (nodeName, nodeSelector, node affinity, taints). */
export function nodeShouldRunDaemonPod(node: KObj, ds: KObj): NodeFit {
  const tmpl: KObj = ds.spec?.template?.spec ?? {};
  const no = { shouldRun: false, shouldContinueRunning: false };
  if (tmpl.nodeName && tmpl.nodeName !== node.metadata.name) return no;
  if (!nodeMatchesPodSpec(tmpl, node)) return no;
  const tolerations = withDaemonTolerations(tmpl);
  const taints: KObj[] = node.spec?.taints ?? [];
  if (untoleratedTaint(taints, tolerations, [NO_SCHEDULE, NO_EXECUTE]) === undefined)
    return { shouldRun: true, shouldContinueRunning: true };
  return {
    shouldRun: false,
    shouldContinueRunning: untoleratedTaint(taints, tolerations, [NO_EXECUTE]) === undefined,
  };
}

/** The pod the DaemonSet wants on `nodeName`, at template revision `hash`. */
export function newDaemonPod(ds: KObj, nodeName: string, hash: string): KObj {
  const ref = ownerRefTo(ds, 'apps/v1', 'DaemonSet');
  const pod = podFromTemplate(ds.spec?.template, ref, ds.metadata.namespace);
  pod.metadata.generateName = `${ds.metadata.name}-`;
  pod.metadata.labels[REVISION_LABEL] = hash;
  pod.metadata.labels[TEMPLATE_GENERATION_LABEL] = String(ds.metadata.generation ?? 1);
  pod.spec.tolerations = withDaemonTolerations(pod.spec);
  pinToNode(pod.spec, nodeName);
  return pod;
}

/** Scheduled pods first, then oldest first, then by name: the one to keep comes first. */
export function byAgeScheduledFirst(a: KObj, b: KObj): number {
  const sa = a.spec?.nodeName ? 0 : 1;
  const sb = b.spec?.nodeName ? 0 : 1;
  if (sa !== sb) return sa - sb;
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** The DaemonSet's pods grouped by the node they are for (pods with no target are left out). */
export function podsByNode(pods: readonly KObj[]): Map<string, KObj[]> {
  const out = new Map<string, KObj[]>();
  for (const p of pods) {
    const n = targetNodeName(p);
    if (n === undefined) continue;
    let list = out.get(n);
    if (!list) out.set(n, (list = []));
    list.push(p);
  }
  return out;
}

export interface DaemonSetInput {
  ds: KObj;
  nodes: readonly KObj[];
  /** The DaemonSet's own pods (controller owner reference). */
  pods: readonly KObj[];
  /** Template hash of the current spec. */
  hash: string;
  now: Date;
}

export interface DaemonSetActions {
  /** Nodes to create a daemon pod for. */
  createOn: string[];
  /** Names of pods to delete. */
  deletePods: string[];
}

/** Whether a pod is at the DaemonSet's current template revision. */
export function isPodUpdated(pod: KObj, hash: string): boolean {
  return pod.metadata?.labels?.[REVISION_LABEL] === hash;
}

function surge(ds: KObj, desired: number): number {
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  if (ds.spec?.updateStrategy?.type !== 'RollingUpdate' || !ru) return 0;
  return scaledValue(ru.maxSurge, desired, true);
}

/**
 * The core loop: make every eligible node run exactly one daemon pod and no other node run any.
 * Failed pods are deleted (and replaced next round); with surge allowed, a second pod on a node
 * survives only while the update it belongs to needs it.
 */
export function planManage(input: DaemonSetInput): DaemonSetActions {
  const { ds, nodes, pods, hash, now } = input;
  const byNode = podsByNode(pods);
  const createOn: string[] = [];
  const deletePods: string[] = [];
  const minReady: number = ds.spec?.minReadySeconds ?? 0;
  const desired = nodes.filter((n) => nodeShouldRunDaemonPod(n, ds).shouldRun).length;
  const allowsSurge = surge(ds, desired) > 0;
  for (const node of nodes) {
    const name: string = node.metadata.name;
    const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
    const here = byNode.get(name);
    if (shouldRun && !here) {
      createOn.push(name);
      continue;
    }
    if (!here) continue;
    if (!shouldContinueRunning) {
      for (const p of here) if (!isTerminating(p)) deletePods.push(p.metadata.name);
      continue;
    }
    const running: KObj[] = [];
    for (const p of here) {
      if (isTerminating(p)) continue;
      if (isTerminal(p)) deletePods.push(p.metadata.name);
      else running.push(p);
    }
    running.sort(byAgeScheduledFirst);
    if (!allowsSurge) {
      for (const p of running.slice(1)) deletePods.push(p.metadata.name);
      continue;
    }
    if (running.length === 0) {
      // Surging: a node always keeps one live pod, so replace one whose only pod just went.
      if (shouldRun) createOn.push(name);
      continue;
    }
    // Surging: keep the oldest new pod, and the oldest old pod only while the new one is not yet
    // available and the old one still serves.
    let oldestNew: KObj | undefined;
    let oldestOld: KObj | undefined;
    for (const p of running) {
      if (isPodUpdated(p, hash)) {
        if (!oldestNew) {
          oldestNew = p;
          continue;
        }
      } else if (!oldestOld) {
        oldestOld = p;
        continue;
      }
      deletePods.push(p.metadata.name);
    }
    if (oldestNew && oldestOld) {
      if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, minReady, now))
        deletePods.push(oldestOld.metadata.name);
    }
  }
  // Unbound pods pinned to a node that no longer exists can never be scheduled.
  const known = new Set(nodes.map((n) => n.metadata.name as string));
  for (const [name, list] of byNode) {
    if (known.has(name)) continue;
    for (const p of list) if (!p.spec?.nodeName && !isTerminating(p)) deletePods.push(p.metadata.name);
  }
  return { createOn, deletePods };
}

/** At most one new and one old live pod on the node; `ok` false when there are more (manage prunes). */
function updatedPodsOnNode(
  pods: readonly KObj[],
  hash: string,
): { newPod?: KObj | undefined; oldPod?: KObj | undefined; ok: boolean } {
  let newPod: KObj | undefined;
  let oldPod: KObj | undefined;
  for (const p of pods) {
    if (isTerminating(p)) continue;
    if (isPodUpdated(p, hash)) {
      if (newPod) return { ok: false };
      newPod = p;
    } else {
      if (oldPod) return { ok: false };
      oldPod = p;
    }
  }
  return { newPod, oldPod, ok: true };
}

/** maxSurge and maxUnavailable scaled against the number of nodes that should run the set. */
export function rollingUpdateBudget(
  ds: KObj,
  nodes: readonly KObj[],
): { maxSurge: number; maxUnavailable: number; desired: number } {
  const desired = nodes.filter((n) => nodeShouldRunDaemonPod(n, ds).shouldRun).length;
  const ru = ds.spec?.updateStrategy?.rollingUpdate ?? {};
  const maxSurge = scaledValue(ru.maxSurge, desired, true);
  let maxUnavailable = scaledValue(ru.maxUnavailable ?? 1, desired, true);
  // Both zero would never progress: upstream falls back to one unavailable at a time.
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable, desired };
}

/**
 * One step of a RollingUpdate (run only when the core loop had nothing to do). Without surge: delete
 * old pods while at most maxUnavailable nodes lack an available pod (unavailable old pods go at
 * once); the core loop then creates their replacements. With surge: create new pods next to old
 * ones (at most maxSurge in flight; at once where the old one is unavailable), delete an old pod
 * when its node's new pod is available.
 */
export function planRollingUpdate(input: DaemonSetInput): DaemonSetActions {
  const { ds, nodes, pods, hash, now } = input;
  const minReady: number = ds.spec?.minReadySeconds ?? 0;
  const byNode = podsByNode(pods);
  const { maxSurge, maxUnavailable, desired } = rollingUpdateBudget(ds, nodes);
  const nodeByName = new Map(nodes.map((n) => [n.metadata.name as string, n]));
  const available = (p: KObj) => isPodAvailable(p, minReady, now);
  const shouldRunOn = (name: string) => {
    const node = nodeByName.get(name);
    return node !== undefined && nodeShouldRunDaemonPod(node, ds).shouldRun;
  };
  const names = [...byNode.keys()].sort();

  if (maxSurge === 0) {
    let unavailable = 0;
    const replace: string[] = [];
    const candidates: string[] = [];
    for (const name of names) {
      const { newPod, oldPod, ok } = updatedPodsOnNode(byNode.get(name)!, hash);
      if (!ok || (!newPod && !oldPod) || (newPod && oldPod)) {
        unavailable++;
        continue;
      }
      if (newPod) {
        if (!available(newPod)) unavailable++;
        continue;
      }
      if (!available(oldPod!)) replace.push(oldPod!.metadata.name);
      else if (unavailable < maxUnavailable) candidates.push(oldPod!.metadata.name);
    }
    const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
    return { createOn: [], deletePods: [...replace, ...candidates.slice(0, room)] };
  }

  const deletePods: string[] = [];
  const misplaced: string[] = [];
  const allowedNew: string[] = [];
  const candidateNew: string[] = [];
  let surging = 0;
  let numAvailable = 0;
  for (const name of names) {
    const { newPod, oldPod, ok } = updatedPodsOnNode(byNode.get(name)!, hash);
    if (!ok) {
      surging++;
      continue;
    }
    const serving = oldPod ?? newPod;
    if (serving && available(serving)) numAvailable++;
    if (!oldPod) continue;
    if (!newPod) {
      if (!available(oldPod)) {
        if (!shouldRunOn(name)) deletePods.push(oldPod.metadata.name);
        else allowedNew.push(name);
      } else if (!shouldRunOn(name)) {
        misplaced.push(oldPod.metadata.name);
      } else if (surging < maxSurge) {
        candidateNew.push(name);
      }
      continue;
    }
    if (!available(newPod)) surging++;
    else deletePods.push(oldPod.metadata.name);
  }
  // Pods on nodes the set no longer fits go only while enough others are available elsewhere.
  const deletable = Math.min(Math.max(0, numAvailable - desired), misplaced.length);
  deletePods.push(...misplaced.slice(0, deletable));
  const room = Math.min(Math.max(0, maxSurge - surging), candidateNew.length);
  return { createOn: [...allowedNew, ...candidateNew.slice(0, room)], deletePods };
}

/** The DaemonSet status fields the controller owns (observedGeneration set by the caller). */
export interface DaemonSetCounts {
  desiredNumberScheduled: number;
  currentNumberScheduled: number;
  numberMisscheduled: number;
  numberReady: number;
  numberAvailable: number;
  numberUnavailable: number;
  updatedNumberScheduled: number;
}

/** Count nodes that should / do run the set, and how many of their (oldest) pods are ready, available, updated. */
export function daemonSetCounts(input: DaemonSetInput): DaemonSetCounts {
  const { ds, nodes, pods, hash, now } = input;
  const byNode = podsByNode(pods);
  const minReady: number = ds.spec?.minReadySeconds ?? 0;
  const c: DaemonSetCounts = {
    desiredNumberScheduled: 0,
    currentNumberScheduled: 0,
    numberMisscheduled: 0,
    numberReady: 0,
    numberAvailable: 0,
    numberUnavailable: 0,
    updatedNumberScheduled: 0,
  };
  for (const node of nodes) {
    const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
    const here = (byNode.get(node.metadata.name) ?? []).filter((p) => !(isTerminating(p) && isTerminal(p)));
    if (!shouldRun) {
      if (here.length > 0) c.numberMisscheduled++;
      continue;
    }
    c.desiredNumberScheduled++;
    if (here.length === 0) continue;
    c.currentNumberScheduled++;
    const pod = [...here].sort(byAgeScheduledFirst)[0]!;
    if (isPodReady(pod)) {
      c.numberReady++;
      if (isPodAvailable(pod, minReady, now)) c.numberAvailable++;
    }
    if (isPodUpdated(pod, hash)) c.updatedNumberScheduled++;
  }
  c.numberUnavailable = c.desiredNumberScheduled - c.numberAvailable;
  return c;
}
