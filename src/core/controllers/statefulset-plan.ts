/**
 * The StatefulSet controller's decisions, as a pure function of (StatefulSet, its pods, revisions,
 * now): which ordinals to create, which pods to delete (failed, condemned by a scale down, or
 * replaced by a rolling update), which pods need their identity labels fixed, and the status.
 *
 * The order of the returned actions is the order to carry them out. With OrderedReady
 * ("monotonic") at most one pod is created or deleted per pass and nothing moves while a lower
 * ordinal is not Running and Ready; Parallel creates and deletes all at once. A rolling update
 * replaces one pod at a time from the highest ordinal down to the partition, whatever the policy.
 */
import type { KObj } from '../client/informer.js';
import {
  isPodAvailable,
  isPodReady,
  isTerminal,
  isTerminating,
  ownerRefTo,
  podFromTemplate,
  REVISION_LABEL,
  templateHash,
} from './daemonset-statefulset-shared.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

/** Name of the revision of a StatefulSet's current template: `<set>-<hash>`. */
export function revisionName(set: KObj): string {
  return `${set.metadata.name}-${templateHash(set.spec?.template, set.status?.collisionCount)}`;
}

/** The ordinal of a pod of the set named `setName` (`web-3` -> 3), or -1 if the name is not one. */
export function ordinalOf(setName: string, podName: string): number {
  if (!podName.startsWith(`${setName}-`)) return -1;
  const rest = podName.slice(setName.length + 1);
  if (!/^(0|[1-9]\d*)$/.test(rest)) return -1;
  const n = Number(rest);
  return Number.isSafeInteger(n) ? n : -1;
}

/** The revision label of a pod. */
export function podRevision(pod: KObj): string | undefined {
  return pod.metadata?.labels?.[REVISION_LABEL];
}

/** Running with the Ready condition True. */
export function isRunningAndReady(pod: KObj): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod);
}

/** Running and ready, and not being deleted. */
export function isHealthy(pod: KObj): boolean {
  return isRunningAndReady(pod) && !isTerminating(pod);
}

/** The identity labels a pod of the set must carry. */
export function identityMatches(set: KObj, pod: KObj): boolean {
  const ord = ordinalOf(set.metadata.name, pod.metadata.name);
  const labels = pod.metadata.labels ?? {};
  return (
    ord >= 0 &&
    pod.metadata.namespace === set.metadata.namespace &&
    labels[POD_NAME_LABEL] === pod.metadata.name &&
    labels[POD_INDEX_LABEL] === String(ord)
  );
}

/**
 * The pod for one ordinal, from `template` (the template of revision `revision`): stable name,
 * identity labels, hostname = pod name and subdomain = spec.serviceName (the headless service).
 */
export function newStatefulSetPod(
  set: KObj,
  ordinal: number,
  opts: { revision: string; template: KObj | undefined },
): KObj {
  const name = `${set.metadata.name}-${ordinal}`;
  const pod = podFromTemplate(
    opts.template,
    ownerRefTo(set, 'apps/v1', 'StatefulSet'),
    set.metadata.namespace,
  );
  pod.metadata.name = name;
  pod.metadata.labels[POD_NAME_LABEL] = name;
  pod.metadata.labels[POD_INDEX_LABEL] = String(ordinal);
  pod.metadata.labels[REVISION_LABEL] = opts.revision;
  pod.spec.hostname = name;
  if (set.spec?.serviceName) pod.spec.subdomain = set.spec.serviceName;
  return pod;
}

export type StatefulSetAction =
  | { type: 'create'; ordinal: number; revision: string }
  | { type: 'delete'; name: string; reason: 'failed' | 'scale-down' | 'update' }
  | { type: 'fix-identity'; name: string; ordinal: number };

export interface StatefulSetStatusFields {
  observedGeneration: number;
  replicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  currentRevision: string;
  updateRevision: string;
  collisionCount: number;
}

export interface StatefulSetInput {
  set: KObj;
  /** The set's own pods (controller owner reference). */
  pods: readonly KObj[];
  /** Revision of the current spec (revisionName(set)). */
  updateRevision: string;
  /** Revision the set was fully at (status.currentRevision; the update revision when none). */
  currentRevision: string;
  now: Date;
}

export interface StatefulSetPlan {
  actions: StatefulSetAction[];
  status: StatefulSetStatusFields;
}

/** Plan one pass of the StatefulSet control loop. */
export function planStatefulSet(input: StatefulSetInput): StatefulSetPlan {
  const { set, pods, updateRevision, currentRevision, now } = input;
  const replicaCount: number = set.spec?.replicas ?? 1;
  const monotonic = set.spec?.podManagementPolicy !== 'Parallel';
  const strategy: KObj = set.spec?.updateStrategy ?? { type: 'RollingUpdate' };
  const rolling = (strategy.type ?? 'RollingUpdate') === 'RollingUpdate';
  const partition: number = rolling ? (strategy.rollingUpdate?.partition ?? 0) : 0;
  const minReady: number = set.spec?.minReadySeconds ?? 0;
  const available = (p: KObj) => isRunningAndReady(p) && isPodAvailable(p, minReady, now);

  const status: StatefulSetStatusFields = {
    observedGeneration: set.metadata.generation ?? 1,
    replicas: 0,
    readyReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
    availableReplicas: 0,
    currentRevision,
    updateRevision,
    collisionCount: set.status?.collisionCount ?? 0,
  };
  const countRevision = (rev: string | undefined, by: number) => {
    if (rev === currentRevision) status.currentReplicas += by;
    if (rev === updateRevision) status.updatedReplicas += by;
  };

  // Slot every pod: ordinals below replicas are kept, those above are condemned.
  type Slot = { pod?: KObj | undefined; planned?: string | undefined };
  const slots: Slot[] = Array.from({ length: replicaCount }, () => ({}));
  const condemned: KObj[] = [];
  for (const pod of pods) {
    status.replicas++;
    if (isRunningAndReady(pod)) {
      status.readyReplicas++;
      if (available(pod)) status.availableReplicas++;
    }
    if (!isTerminating(pod)) countRevision(podRevision(pod), 1);
    const ord = ordinalOf(set.metadata.name, pod.metadata.name);
    if (ord < 0) continue;
    if (ord < replicaCount) slots[ord]!.pod = pod;
    else condemned.push(pod);
  }
  condemned.sort(
    (a, b) => ordinalOf(set.metadata.name, b.metadata.name) - ordinalOf(set.metadata.name, a.metadata.name),
  );

  const actions: StatefulSetAction[] = [];
  const done = (): StatefulSetPlan => ({ actions, status: completeRollingUpdate(rolling, status) });
  if (set.metadata.deletionTimestamp) return done();

  // The first unhealthy pod, scanning kept ordinals upward, then condemned ones from the highest.
  let firstUnhealthy: KObj | undefined;
  for (const s of slots) if (!firstUnhealthy && s.pod && !isHealthy(s.pod)) firstUnhealthy = s.pod;
  for (const p of condemned) if (!firstUnhealthy && !isHealthy(p)) firstUnhealthy = p;

  for (let i = 0; i < replicaCount; i++) {
    const slot = slots[i]!;
    if (slot.pod && isTerminal(slot.pod) && !isTerminating(slot.pod)) {
      // A pod that will not run again is deleted and made anew under the same name.
      actions.push({ type: 'delete', name: slot.pod.metadata.name, reason: 'failed' });
      status.replicas--;
      countRevision(podRevision(slot.pod), -1);
      slot.pod = undefined;
    }
    if (!slot.pod) {
      const revision = rolling && i < partition ? currentRevision : updateRevision;
      actions.push({ type: 'create', ordinal: i, revision });
      slot.planned = revision;
      status.replicas++;
      countRevision(revision, 1);
      if (monotonic) return done();
      continue;
    }
    const pod = slot.pod;
    // Wait for a graceful delete to finish before the ordinal is made again.
    if (isTerminating(pod)) {
      if (monotonic) return done();
      continue;
    }
    if (!available(pod) && monotonic) return done();
    if (!identityMatches(set, pod))
      actions.push({ type: 'fix-identity', name: pod.metadata.name, ordinal: i });
  }

  // Scale down: highest ordinal first; with OrderedReady one at a time, all predecessors healthy.
  for (const pod of condemned) {
    if (isTerminating(pod)) {
      if (monotonic) return done();
      continue;
    }
    if (!isRunningAndReady(pod) && monotonic && pod !== firstUnhealthy) return done();
    actions.push({ type: 'delete', name: pod.metadata.name, reason: 'scale-down' });
    countRevision(podRevision(pod), -1);
    if (monotonic) return done();
  }

  if (!rolling) return done();

  // Rolling update: replace the highest ordinal not at the update revision, waiting for health.
  for (let i = replicaCount - 1; i >= partition; i--) {
    const slot = slots[i]!;
    if (slot.planned !== undefined || !slot.pod) return done();
    const pod = slot.pod;
    if (podRevision(pod) !== updateRevision && !isTerminating(pod)) {
      actions.push({ type: 'delete', name: pod.metadata.name, reason: 'update' });
      if (podRevision(pod) === currentRevision) status.currentReplicas--;
      return done();
    }
    if (!isHealthy(pod)) return done();
  }
  return done();
}

/** When every pod is updated and ready, the update revision becomes the current one. */
function completeRollingUpdate(rolling: boolean, s: StatefulSetStatusFields): StatefulSetStatusFields {
  if (rolling && s.updatedReplicas === s.replicas && s.readyReplicas === s.replicas) {
    return { ...s, currentReplicas: s.updatedReplicas, currentRevision: s.updateRevision };
  }
  return s;
}
