/**
 * ReplicaSet status, computed from the pods it controls: replicas, fullyLabeledReplicas,
 * readyReplicas, availableReplicas, observedGeneration and the ReplicaFailure condition.
 */
import { labelSelectorFromObject, labelsMatch } from '../api/selector/label-selector.js';
import type { KObj } from '../client/informer.js';
import { isPodAvailable, isPodReady } from './replicaset-pods.js';

export interface ReplicaSetStatusInput {
  /** Active pods the ReplicaSet controls. */
  pods: readonly KObj[];
  /** The error of this sync's create/delete round, if any. */
  manageError?: Error | undefined;
  nowMs: number;
}

function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/**
 * The status the ReplicaSet should have (observedGeneration left as it was: it is set when the
 * status is written). Zero counts other than `replicas` are omitted, as upstream serialises them.
 */
export function calculateReplicaSetStatus(rs: KObj, input: ReplicaSetStatusInput): KObj {
  const old: KObj = rs.status ?? {};
  const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
  const templateSel = labelSelectorFromObject({ matchLabels: templateLabels });
  const minReady: number = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const p of input.pods) {
    if (labelsMatch(templateSel, p.metadata?.labels)) fullyLabeled++;
    if (isPodReady(p)) ready++;
    if (isPodAvailable(p, minReady, input.nowMs)) available++;
  }
  let conditions: KObj[] = [...(old.conditions ?? [])];
  const failure = conditions.find((c) => c.type === 'ReplicaFailure');
  if (input.manageError && !failure) {
    const diff = input.pods.length - (rs.spec?.replicas ?? 1);
    conditions.push({
      type: 'ReplicaFailure',
      status: 'True',
      lastTransitionTime: rfc3339(input.nowMs),
      reason: diff < 0 ? 'FailedCreate' : 'FailedDelete',
      message: input.manageError.message,
    });
  } else if (!input.manageError && failure) {
    conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
  }
  const status: KObj = { replicas: input.pods.length };
  if (fullyLabeled) status.fullyLabeledReplicas = fullyLabeled;
  if (ready) status.readyReplicas = ready;
  if (available) status.availableReplicas = available;
  if (old.observedGeneration !== undefined) status.observedGeneration = old.observedGeneration;
  if (conditions.length) status.conditions = conditions;
  return status;
}

/** The status to write, or undefined when the stored one is already it (and observed). */
export function replicaSetStatusUpdate(rs: KObj, next: KObj): KObj | undefined {
  const old: KObj = rs.status ?? {};
  const generation = rs.metadata?.generation ?? 0;
  const same =
    (old.replicas ?? 0) === next.replicas &&
    (old.fullyLabeledReplicas ?? 0) === (next.fullyLabeledReplicas ?? 0) &&
    (old.readyReplicas ?? 0) === (next.readyReplicas ?? 0) &&
    (old.availableReplicas ?? 0) === (next.availableReplicas ?? 0) &&
    (old.observedGeneration ?? 0) === generation &&
    JSON.stringify(old.conditions ?? []) === JSON.stringify(next.conditions ?? []);
  if (same) return undefined;
  const out: KObj = { ...next };
  if (generation) out.observedGeneration = generation;
  return out;
}
