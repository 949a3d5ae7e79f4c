/**
 * Node selector matching, as upstream's nodeaffinity helpers: `spec.nodeSelector` (every label
 * equal), required node affinity (terms ORed; inside a term every expression and field ANDed; an
 * empty term matches nothing) and preferred terms (summed weights).
 */
import type { NodeSelectorRequirement, NodeSelectorTerm, PodInfo, PreferredTerm } from './pod-info.js';

const INTEGER = /^[+-]?\d+$/;

/** Whether one label requirement holds for the labels. */
export function matchRequirement(req: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const v = labels[req.key];
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return has && values.includes(v!);
    case 'NotIn':
      return !has || !values.includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || values.length !== 1 || !INTEGER.test(v!) || !INTEGER.test(values[0]!)) return false;
      const a = Number(v);
      const b = Number(values[0]);
      return req.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** Whether a field requirement holds; the only field upstream supports is `metadata.name`. */
export function matchField(req: NodeSelectorRequirement, nodeName: string): boolean {
  if (req.key !== 'metadata.name') return false;
  const values = req.values ?? [];
  if (req.operator === 'In') return values.length === 1 && values[0] === nodeName;
  if (req.operator === 'NotIn') return !values.includes(nodeName);
  return false;
}

/** Whether one node selector term matches (an empty term matches no node). */
export function matchTerm(term: NodeSelectorTerm, labels: Record<string, string>, nodeName: string): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const e of exprs) if (!matchRequirement(e, labels)) return false;
  for (const f of fields) if (!matchField(f, nodeName)) return false;
  return true;
}

/** Whether terms ORed match. */
export function matchTerms(
  terms: NodeSelectorTerm[],
  labels: Record<string, string>,
  nodeName: string,
): boolean {
  for (const t of terms) if (matchTerm(t, labels, nodeName)) return true;
  return false;
}

/** nodeSelector and required node affinity of a pod against a node. */
export function matchesNodeSelectorAndAffinity(
  pod: Pick<PodInfo, 'nodeSelector' | 'requiredTerms'>,
  labels: Record<string, string>,
  nodeName: string,
): boolean {
  for (const k in pod.nodeSelector) if (labels[k] !== pod.nodeSelector[k]) return false;
  if (pod.requiredTerms === undefined) return true;
  return matchTerms(pod.requiredTerms, labels, nodeName);
}

/** Sum of the weights of the preferred terms the node matches. */
export function preferredAffinityWeight(
  terms: PreferredTerm[],
  labels: Record<string, string>,
  nodeName: string,
): number {
  let sum = 0;
  for (const t of terms) if (t.weight && matchTerm(t.preference ?? {}, labels, nodeName)) sum += t.weight;
  return sum;
}
