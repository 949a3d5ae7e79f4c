/**
 * Per-kind write rules the registry applies around defaulting and validation, as upstream's
 * registry strategies do: what a create resets, what an update of the main resource or of the
 * status subresource may change, and when metadata.generation moves.
 */
import type { ResourceInfo } from '../api/resources.js';

export type KObj = Record<string, any>;

/** Kinds whose status is reset on create (their controllers or kubelet own it). */
const RESET_STATUS_ON_CREATE = new Set([
  'Service',
  'Deployment',
  'ReplicaSet',
  'DaemonSet',
  'StatefulSet',
  'Job',
  'CronJob',
  'Ingress',
]);

/** Who sent a write (the authenticated user). */
export interface Requester {
  name: string;
  uid?: string | undefined;
  groups: string[];
}

/** Called on create after the body is decoded, before defaulting. */
export function prepareForCreate(info: ResourceInfo, obj: KObj, user?: Requester): void {
  if (RESET_STATUS_ON_CREATE.has(info.kind)) obj.status = {};
  if (info.kind === 'CertificateSigningRequest') prepareCsrForCreate(obj, user);
  if (info.kind === 'Pod') obj.status = { phase: 'Pending', qosClass: qosClass(obj) };
  if (info.kind === 'Namespace') obj.status = { phase: 'Active' };
  if (hasGeneration(obj)) obj.metadata.generation = 1;
}

/**
 * Called on update: the main resource cannot change status (when status is a subresource), the
 * status subresource cannot change anything but status.
 */
export function prepareForUpdate(
  info: ResourceInfo,
  obj: KObj,
  old: KObj,
  subresource: string | undefined,
): KObj {
  if (info.kind === 'CertificateSigningRequest') return prepareCsrForUpdate(obj, old, subresource);
  if (subresource === 'status') {
    const next: KObj = { ...old, status: obj.status };
    // Status writers may still touch labels and annotations only through the main resource.
    next.metadata = { ...old.metadata, resourceVersion: obj.metadata?.resourceVersion };
    return next;
  }
  if (info.subresources.includes('status') && (subresource === undefined || subresource === 'scale')) {
    if (old.status === undefined) delete obj.status;
    else obj.status = old.status;
  }
  return obj;
}

/**
 * A CSR records who asked: spec.username, uid, groups and extra come from the requester, never
 * from the body (upstream's csr strategy); the status starts empty.
 */
function prepareCsrForCreate(obj: KObj, user: Requester | undefined): void {
  obj.spec ??= {};
  delete obj.spec.username;
  delete obj.spec.uid;
  delete obj.spec.groups;
  delete obj.spec.extra;
  if (user) {
    obj.spec.username = user.name;
    if (user.uid) obj.spec.uid = user.uid;
    obj.spec.groups = [...user.groups];
  }
  obj.status = {};
}

const APPROVAL_CONDITIONS = new Set(['Approved', 'Denied']);

/**
 * CSR updates (upstream's three strategies): the main resource changes metadata only; /status
 * changes the certificate and the non-approval conditions (Approved/Denied are kept as they
 * were); /approval changes only the Approved/Denied conditions.
 */
function prepareCsrForUpdate(obj: KObj, old: KObj, subresource: string | undefined): KObj {
  const meta = { ...obj.metadata };
  if (subresource === 'status' || subresource === 'approval') {
    meta.labels = old.metadata.labels;
    meta.annotations = old.metadata.annotations;
    meta.finalizers = old.metadata.finalizers;
    meta.ownerReferences = old.metadata.ownerReferences;
    for (const k of Object.keys(meta)) if (meta[k] === undefined) delete meta[k];
  }
  const oldConds: KObj[] = old.status?.conditions ?? [];
  const newConds: KObj[] = obj.status?.conditions ?? [];
  let status: KObj = old.status ?? {};
  if (subresource === 'status') {
    const conditions = [
      ...oldConds.filter((c) => APPROVAL_CONDITIONS.has(c.type)),
      ...newConds.filter((c) => !APPROVAL_CONDITIONS.has(c.type)),
    ];
    status = { ...(obj.status ?? {}) };
    if (conditions.length) status.conditions = conditions;
    else delete status.conditions;
  } else if (subresource === 'approval') {
    const conditions = [
      ...newConds.filter((c) => APPROVAL_CONDITIONS.has(c.type)),
      ...oldConds.filter((c) => !APPROVAL_CONDITIONS.has(c.type)),
    ];
    status = { ...(old.status ?? {}) };
    if (conditions.length) status.conditions = conditions;
    else delete status.conditions;
  }
  // Conditions without lastTransitionTime (kubectl sends a zero time as null) get the old one of
  // the same type, else now (upstream's populateConditionTimestamps).
  const now = `${new Date().toISOString().slice(0, 19)}Z`;
  status.conditions = status.conditions?.map((c: KObj) => {
    if (c.lastTransitionTime) return c;
    const prev = oldConds.find((o) => o.type === c.type && o.status === c.status)?.lastTransitionTime;
    return { ...c, lastTransitionTime: prev ?? now };
  });
  if (status.conditions === undefined) delete status.conditions;
  const next: KObj = { ...obj, metadata: meta, spec: old.spec, status };
  if (Object.keys(status).length === 0 && old.status === undefined) delete next.status;
  return next;
}

/** Objects with a spec track generation; it moves when anything but metadata and status changes. */
export function hasGeneration(obj: KObj): boolean {
  return obj.spec !== undefined || obj.template !== undefined;
}

/** True if the desired state (everything but metadata and status) differs. */
export function specChanged(a: KObj, b: KObj): boolean {
  const strip = (o: KObj) => {
    const { metadata: _m, status: _s, ...rest } = o;
    return rest;
  };
  return !deepEqual(strip(a), strip(b));
}

/** Structural equality of JSON values. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}

/** The pod's QoS class as upstream computes it from requests and limits. */
export function qosClass(pod: KObj): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers: KObj[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined) guaranteed = false;
      else if (req[r] !== undefined && String(req[r]) !== String(lim[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed && containers.length > 0 ? 'Guaranteed' : 'Burstable';
}
