/**
 * Deployment revisions and ReplicaSet identity: the pod-template-hash, template equality that
 * ignores it, the revision / revision-history / desired-replicas / max-replicas annotations, and
 * which ReplicaSet is the new one. Pure functions over plain objects.
 */
import type { KObj } from '../client/informer.js';
import { controllerReference } from './replicaset-controller-ref.js';

export const HASH_LABEL = 'pod-template-hash';
export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const ROLLBACK_TO = 'deprecated.deployment.rollback.to';
/** Longest revision-history annotation kept (upstream's limit). */
export const MAX_REVISION_HISTORY_CHARS = 2000;

/** Deployment annotations that are not copied to its ReplicaSets. */
const NOT_COPIED = new Set([
  LAST_APPLIED,
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  ROLLBACK_TO,
]);

/**
 * Drop what Go's semantic equality does not see: null, empty objects and arrays, empty strings.
 * Keys are sorted so the result is canonical.
 */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) {
    const a = v.map(normalize);
    return a.length ? a : undefined;
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = normalize((v as Record<string, unknown>)[k]);
      if (x !== undefined) out[k] = x;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (v === null || v === '') return undefined;
  return v;
}

function canonicalJson(v: unknown): string {
  return JSON.stringify(normalize(v) ?? {});
}

function withoutHash(t: KObj | undefined): KObj {
  const c: KObj = structuredClone(t ?? {});
  if (c.metadata?.labels) delete c.metadata.labels[HASH_LABEL];
  return c;
}

/** Pod templates equal apart from the pod-template-hash label (upstream's EqualIgnoreHash). */
export function equalIgnoreHash(a: KObj | undefined, b: KObj | undefined): boolean {
  return canonicalJson(withoutHash(a)) === canonicalJson(withoutHash(b));
}

function fnv32a(bytes: Uint8Array, h = 0x811c9dc5): number {
  let x = h;
  for (const b of bytes) x = Math.imul(x ^ b, 0x01000193) >>> 0;
  return x;
}

const SAFE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** Map each character to one that cannot spell words (upstream's SafeEncodeString). */
export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_CHARS[s.charCodeAt(i) % SAFE_CHARS.length];
  return out;
}

/**
 * The pod-template-hash of a template: FNV-32a of its canonical JSON (and the collision count,
 * when set), written in the safe alphabet. Stable across processes and key order.
 */
export function templateHash(template: KObj | undefined, collisionCount?: number): string {
  let h = fnv32a(new TextEncoder().encode(canonicalJson(template ?? {})));
  if (collisionCount !== undefined) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(b, h);
  }
  return safeEncode(String(h));
}

/** The revision annotation as a number; 0 when absent or invalid. */
export function revisionOf(o: KObj | undefined): number {
  const v = o?.metadata?.annotations?.[REVISION];
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return 0;
  return Number(v);
}

export function maxRevision(rss: readonly KObj[]): number {
  return rss.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
}

/** Oldest first; equal timestamps by name (upstream's ReplicaSetsByCreationTimestamp). */
export function byCreation(a: KObj, b: KObj): number {
  const ta = a.metadata?.creationTimestamp ?? '';
  const tb = b.metadata?.creationTimestamp ?? '';
  if (ta !== tb) return Date.parse(ta) - Date.parse(tb);
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** Lowest revision first, then oldest. */
export function byRevision(a: KObj, b: KObj): number {
  const d = revisionOf(a) - revisionOf(b);
  return d !== 0 ? d : byCreation(a, b);
}

/** The ReplicaSet whose template is the Deployment's (the oldest such, if several). */
export function findNewReplicaSet(d: KObj, rss: readonly KObj[]): KObj | undefined {
  return [...rss].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/** Copy the Deployment's annotations (but the controller's own) onto a ReplicaSet; true if any changed. */
export function copyDeploymentAnnotations(d: KObj, rs: KObj): boolean {
  const ann: Record<string, string> = (rs.metadata.annotations ??= {});
  let changed = false;
  for (const [k, v] of Object.entries<string>(d.metadata?.annotations ?? {})) {
    if (NOT_COPIED.has(k) || ann[k] === v) continue;
    ann[k] = v;
    changed = true;
  }
  return changed;
}

/** Set desired-replicas and max-replicas; true if either changed. */
export function setReplicasAnnotations(rs: KObj, desired: number, max: number): boolean {
  const ann: Record<string, string> = (rs.metadata.annotations ??= {});
  let changed = false;
  if (ann[DESIRED_REPLICAS] !== String(desired)) {
    ann[DESIRED_REPLICAS] = String(desired);
    changed = true;
  }
  if (ann[MAX_REPLICAS] !== String(max)) {
    ann[MAX_REPLICAS] = String(max);
    changed = true;
  }
  return changed;
}

/** Whether setReplicasAnnotations would change anything. */
export function replicasAnnotationsNeedUpdate(rs: KObj, desired: number, max: number): boolean {
  const ann = rs.metadata?.annotations ?? {};
  return ann[DESIRED_REPLICAS] !== String(desired) || ann[MAX_REPLICAS] !== String(max);
}

/** An annotation holding a non-negative integer. */
export function intAnnotation(o: KObj | undefined, key: string): number | undefined {
  const v = o?.metadata?.annotations?.[key];
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
}

export interface NewReplicaSetAnnotationsOptions {
  /** The ReplicaSet exists already (replica annotations are then left to scaling). */
  exists: boolean;
  desiredReplicas: number;
  maxReplicas: number;
  maxHistoryChars?: number | undefined;
}

/**
 * Annotate the new ReplicaSet: Deployment annotations, the revision (only ever raised), the
 * revision history when an old ReplicaSet becomes new again (a rollback), and for a ReplicaSet
 * about to be created its replica annotations. Mutates `rs`; true if anything changed.
 */
export function setNewReplicaSetAnnotations(
  d: KObj,
  rs: KObj,
  newRevision: number,
  opts: NewReplicaSetAnnotationsOptions,
): boolean {
  let changed = copyDeploymentAnnotations(d, rs);
  const ann: Record<string, string> = rs.metadata.annotations;
  const had = Object.hasOwn(ann, REVISION);
  const oldRaw = ann[REVISION] ?? '';
  if (oldRaw !== '' && !/^\d+$/.test(oldRaw)) return false;
  const old = oldRaw === '' ? 0 : Number(oldRaw);
  if (old < newRevision) {
    ann[REVISION] = String(newRevision);
    changed = true;
    if (had) {
      const history = ann[REVISION_HISTORY] ?? '';
      if (history === '') ann[REVISION_HISTORY] = oldRaw;
      else {
        const limit = opts.maxHistoryChars ?? MAX_REVISION_HISTORY_CHARS;
        const parts = history.split(',');
        let total = history.length + oldRaw.length + 1;
        let start = 0;
        while (total > limit && start < parts.length) {
          total -= (parts[start]?.length ?? 0) + 1;
          start++;
        }
        if (total <= limit) ann[REVISION_HISTORY] = [...parts.slice(start), oldRaw].join(',');
      }
    }
  }
  if (!opts.exists && setReplicasAnnotations(rs, opts.desiredReplicas, opts.maxReplicas)) changed = true;
  return changed;
}

/**
 * The ReplicaSet a Deployment creates for its current template: named `<deployment>-<hash>`,
 * the hash added to its labels, selector and pod template labels, owned by the Deployment.
 */
export function newReplicaSetFor(d: KObj, hash: string, replicas: number): KObj {
  const template: KObj = structuredClone(d.spec?.template ?? {});
  template.metadata ??= {};
  template.metadata.labels = { ...(template.metadata.labels ?? {}), [HASH_LABEL]: hash };
  const sel: KObj = structuredClone(d.spec?.selector ?? {});
  sel.matchLabels = { ...(sel.matchLabels ?? {}), [HASH_LABEL]: hash };
  const spec: KObj = { replicas, selector: sel, template };
  if (d.spec?.minReadySeconds !== undefined) spec.minReadySeconds = d.spec.minReadySeconds;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: { ...template.metadata.labels },
      annotations: {},
      ownerReferences: [controllerReference(d, 'apps/v1', 'Deployment')],
    },
    spec,
  };
}
