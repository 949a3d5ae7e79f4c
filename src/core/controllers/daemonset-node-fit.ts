/**
 * Whether a node fits a pod spec, in the three ways a DaemonSet asks before it places a pod
 * itself: spec.nodeSelector, required node affinity, and taints the pod does not tolerate.
 * Pure functions over plain objects (Node and PodSpec JSON).
 */

import { toleratesTaint } from '../api/toleration.js';
import type { KObj } from '../client/informer.js';

export { toleratesTaint };

/** The first taint with one of `effects` that no toleration tolerates, if any. */
export function untoleratedTaint(
  taints: readonly KObj[] | undefined,
  tolerations: readonly KObj[] | undefined,
  effects: readonly string[],
): KObj | undefined {
  for (const taint of taints ?? []) {
    if (!effects.includes(taint.effect)) continue;
    if (!(tolerations ?? []).some((t) => toleratesTaint(t, taint))) return taint;
  }
  return undefined;
}

function requirementHolds(req: KObj, value: string | undefined): boolean {
  const values: string[] = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      const have = Number.parseInt(value, 10);
      const want = Number.parseInt(values[0]!, 10);
      if (Number.isNaN(have) || Number.isNaN(want)) return false;
      return req.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/** One NodeSelectorTerm: every expression and field requirement holds; an empty term matches nothing. */
export function nodeSelectorTermMatches(term: KObj, node: KObj): boolean {
  const exprs: KObj[] = term.matchExpressions ?? [];
  const fields: KObj[] = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels: Record<string, string> = node.metadata?.labels ?? {};
  for (const e of exprs) {
    const v = Object.hasOwn(labels, e.key) ? labels[e.key] : undefined;
    if (!requirementHolds(e, v)) return false;
  }
  for (const f of fields) {
    // metadata.name is the one field node selectors may name.
    const v = f.key === 'metadata.name' ? node.metadata?.name : undefined;
    if (v === undefined || !requirementHolds(f, v)) return false;
  }
  return true;
}

/** spec.nodeSelector and required node affinity (terms ORed) both hold for the node. */
export function nodeMatchesPodSpec(spec: KObj, node: KObj): boolean {
  const labels: Record<string, string> = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries((spec.nodeSelector ?? {}) as Record<string, string>)) {
    if (labels[k] !== v) return false;
  }
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  return ((required.nodeSelectorTerms ?? []) as KObj[]).some((t) => nodeSelectorTermMatches(t, node));
}
