/**
 * What the DaemonSet and StatefulSet controllers share: the template hash that names a revision
 * (the `controller-revision-hash` label), pod readiness / availability as upstream's podutil reads
 * them, int-or-percent scaling, and the owner reference a controller stamps on its pods.
 * The revisions themselves are ControllerRevisions (controller-history.ts).
 */
import type { KObj } from '../client/informer.js';
import { isPodReady, readyCondition } from './pod-state.js';

export { isPodReady };

/** The label that names the revision a pod was made from. */
export const REVISION_LABEL = 'controller-revision-hash';

/** Alphabet of hash strings: no vowels (no words) and no look-alike characters, as upstream. */
const SAFE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** JSON with object keys sorted at every level, so equal objects hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** 32-bit FNV-1a of a string's UTF-8 bytes. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The hash of a pod template (plus the owner's collisionCount), as a short label-safe string;
 * equal templates give equal hashes, any change gives another.
 */
export function templateHash(template: unknown, collisionCount?: number): string {
  let text = canonicalJson(template ?? {});
  if (collisionCount !== undefined && collisionCount > 0) text += `#${collisionCount}`;
  const digits = String(fnv1a32(text));
  let out = '';
  for (const c of digits) out += SAFE_CHARS[c.charCodeAt(0) % SAFE_CHARS.length];
  return out;
}

/** The Ready condition of a pod, if it has one. */

/** Ready for at least `minReadySeconds` (measured from the Ready condition's transition). */
export function isPodAvailable(pod: KObj, minReadySeconds: number, now: Date): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse(readyCondition(pod)?.lastTransitionTime ?? '');
  if (Number.isNaN(since)) return false;
  return since + minReadySeconds * 1000 <= now.getTime();
}

/** Whether the pod is being deleted. */
export function isTerminating(pod: KObj): boolean {
  return Boolean(pod.metadata?.deletionTimestamp);
}

/** Failed or Succeeded: its containers will not run again. */
export function isTerminal(pod: KObj): boolean {
  const phase = pod.status?.phase;
  return phase === 'Failed' || phase === 'Succeeded';
}

/**
 * An int-or-percent against a total: `3` stays 3, `'25%'` of 10 is 3 when rounding up (2 down),
 * as upstream's intstr.GetScaledValueFromIntOrPercent.
 */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    const n = Number(v);
    if (Number.isInteger(n)) return n;
    throw new Error(`invalid value for IntOrString: invalid value "${v}"`);
  }
  const pct = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(pct) : Math.floor(pct);
}

/** The controller owner reference (controller: true) of an object, if any. */
export function controllerRef(obj: KObj): KObj | undefined {
  return (obj.metadata?.ownerReferences ?? []).find((r: KObj) => r.controller === true);
}

/** An owner reference naming `owner` as the controller, blocking its foreground deletion. */
export function ownerRefTo(owner: KObj, apiVersion: string, kind: string): KObj {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Index function: the uid of an object's controller owner (for `byIndex`). */
export function controllerUidIndex(obj: KObj): string[] {
  const ref = controllerRef(obj);
  return ref?.uid ? [ref.uid] : [];
}

/** Name of the controller-owner index on the shared pod informer. */
export const CONTROLLER_UID_INDEX = 'workloads/controller-uid';

/** Deep copy of a JSON object. */
export function clone<T>(v: T): T {
  return structuredClone(v);
}

/**
 * A pod made from a template, as upstream's GetPodFromTemplate: the template's labels,
 * annotations, finalizers and spec, owned by `owner`.
 */
export function podFromTemplate(template: KObj | undefined, ownerRef: KObj, namespace: string): KObj {
  const meta = template?.metadata ?? {};
  const pod: KObj = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace,
      labels: { ...(meta.labels ?? {}) },
      ownerReferences: [ownerRef],
    },
    spec: clone(template?.spec ?? {}),
  };
  if (meta.annotations) pod.metadata.annotations = { ...meta.annotations };
  if (meta.finalizers) pod.metadata.finalizers = [...meta.finalizers];
  return pod;
}
