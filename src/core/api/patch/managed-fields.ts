/**
 * managedFields tracking for non-apply writes (create, update, patch), as upstream's
 * k8s.io/apiserver fieldmanager does it: the fields a write changes go to its manager and leave
 * every other manager; entries are keyed by (manager, operation, apiVersion for updates,
 * subresource) and stored as FieldsV1.
 *
 * Pure functions over JSON objects; the caller (the registry) passes the object before and after
 * its strategy ran and stores the returned entries in `metadata.managedFields`.
 */

import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { resourceForKind } from '../resources.js';
import { rfc3339Seconds } from '../rfc3339.js';
import {
  type FieldSchema,
  FieldSet,
  fieldElement,
  isObject,
  itemElement,
  jsonEqual,
  type PathElement,
  type Shape,
  schemaFor,
  shapeOf,
} from './fieldpath.js';

export type ManagedFieldsOperation = 'Apply' | 'Update';

/** One decoded managedFields entry. */
export interface ManagerEntry {
  manager: string;
  operation: ManagedFieldsOperation;
  apiVersion: string;
  subresource?: string;
  /** RFC3339 with seconds, as stored. */
  time?: string;
  fields: FieldSet;
}

/** Decoded managedFields, keyed by manager identifier (see managerIdentifier). */
export type ManagedSets = Map<string, ManagerEntry>;

/** managedFields that do not decode (wrong fieldsType, bad FieldsV1, bad operation). */
export class ManagedFieldsError extends Error {
  readonly code = 'InvalidManagedFields';
  constructor(message: string) {
    super(message);
    this.name = 'ManagedFieldsError';
  }
}

/** Manager name recorded for updates from before the cap merged them (upstream's bucket name). */
export const ANCIENT_CHANGES_MANAGER = 'ancient-changes';
/** Manager that owns what an object held before its first apply, when it had no managedFields. */
export const BEFORE_FIRST_APPLY_MANAGER = 'before-first-apply';
/** At most this many Update entries are kept; older ones merge into ANCIENT_CHANGES_MANAGER. */
export const MAX_UPDATE_MANAGERS = 10;
/** Longest field manager name upstream accepts. */
export const FIELD_MANAGER_MAX_LENGTH = 128;

/**
 * The identity of an entry: two writes merge into one entry when these match. Apply entries leave
 * the apiVersion out, so an applier keeps one entry across versions. Spelled as upstream's JSON.
 */
export function managerIdentifier(e: {
  manager: string;
  operation: ManagedFieldsOperation;
  apiVersion: string;
  subresource?: string | undefined;
}): string {
  const id: Record<string, string> = { manager: e.manager, operation: e.operation };
  if (e.operation !== 'Apply' && e.apiVersion !== '') id.apiVersion = e.apiVersion;
  if (e.subresource) id.subresource = e.subresource;
  return JSON.stringify(id);
}

/** Decode `metadata.managedFields`; throws ManagedFieldsError on an entry that does not decode. */
export function decodeManagedFields(entries: readonly ManagedFieldsEntry[] | undefined): ManagedSets {
  const out: ManagedSets = new Map();
  for (const e of entries ?? []) {
    if (e.operation !== 'Apply' && e.operation !== 'Update') {
      throw new ManagedFieldsError(`invalid operation ${JSON.stringify(e.operation ?? '')}`);
    }
    if (e.fieldsType !== 'FieldsV1') {
      throw new ManagedFieldsError(`found unexpected fieldsType ${e.fieldsType ?? ''}`);
    }
    let fields: FieldSet;
    try {
      fields = FieldSet.fromFieldsV1(e.fieldsV1 ?? {});
    } catch (err) {
      throw new ManagedFieldsError(`error decoding fieldsV1: ${(err as Error).message}`);
    }
    const entry: ManagerEntry = {
      manager: e.manager ?? '',
      operation: e.operation,
      apiVersion: e.apiVersion ?? '',
      fields,
    };
    if (e.subresource) entry.subresource = e.subresource;
    if (e.time) entry.time = e.time;
    out.set(managerIdentifier(entry), entry);
  }
  return out;
}

function timeSeconds(t: string | undefined): number {
  if (t === undefined) return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Encode decoded entries as `metadata.managedFields`, in upstream's order: by operation (Apply
 * first), time, manager, apiVersion, subresource. Empty sets are left out.
 */
export function encodeManagedFields(sets: ManagedSets): ManagedFieldsEntry[] {
  const entries = [...sets.values()].filter((e) => !e.fields.isEmpty());
  entries.sort(
    (p, q) =>
      compareText(p.operation, q.operation) ||
      timeSeconds(p.time) - timeSeconds(q.time) ||
      compareText(p.manager, q.manager) ||
      compareText(p.apiVersion, q.apiVersion) ||
      compareText(p.subresource ?? '', q.subresource ?? ''),
  );
  return entries.map((e) => {
    const out: ManagedFieldsEntry = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion };
    if (e.time !== undefined) out.time = e.time;
    out.fieldsType = 'FieldsV1';
    out.fieldsV1 = e.fields.toFieldsV1();
    if (e.subresource) out.subresource = e.subresource;
    return out;
  });
}

/** `d` as RFC3339 with whole seconds in UTC (metav1.Time). */
export function formatTime(d: Date): string {
  return rfc3339Seconds(d.getTime());
}

/**
 * The manager name of a request: the `fieldManager` query parameter, else the user-agent up to its
 * first `/`, without unprintable characters, cut to 128 bytes (upstream's prefixFromUserAgent).
 */
export function managerFromUserAgent(
  fieldManager: string | undefined,
  userAgent: string | undefined,
): string {
  if (fieldManager) return fieldManager;
  const prefix = (userAgent ?? '').split('/')[0] ?? '';
  let out = '';
  let bytes = 0;
  for (const ch of prefix) {
    if (/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(ch)) continue;
    const n = Buffer.byteLength(ch);
    if (bytes + n > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
    bytes += n;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Which fields never count

/** Fields no manager ever owns (upstream's strip set): type meta and server-set metadata. */
export const STRIPPED_FIELDS: FieldSet = FieldSet.of(
  [
    ['apiVersion'],
    ['kind'],
    ['metadata'],
    ['metadata', 'name'],
    ['metadata', 'namespace'],
    ['metadata', 'creationTimestamp'],
    ['metadata', 'selfLink'],
    ['metadata', 'uid'],
    ['metadata', 'clusterName'],
    ['metadata', 'generation'],
    ['metadata', 'managedFields'],
    ['metadata', 'resourceVersion'],
  ].map((p) => p.map(fieldElement)),
);

/**
 * Server-set metadata that changes without a manager (graceful deletion) plus the strip set: left
 * out when comparing, so such changes move no ownership.
 */
const SERVER_METADATA: FieldSet = STRIPPED_FIELDS.union(
  FieldSet.of([
    [fieldElement('metadata'), fieldElement('deletionTimestamp')],
    [fieldElement('metadata'), fieldElement('deletionGracePeriodSeconds')],
  ]),
);

/** A filter over field sets: what a write may own (upstream's reset fields). */
export type FieldFilter = (set: FieldSet) => FieldSet;

/**
 * The root fields a filter made here keeps, so that a comparison filtered by it need not walk the
 * others: what it would find there the filter drops anyway.
 */
const filterScopes = new WeakMap<FieldFilter, RootScope>();

/** A filter dropping `paths` and everything below them. */
export function excludeFields(paths: readonly (readonly string[])[]): FieldFilter {
  const drop = FieldSet.of(paths.map((p) => p.map(fieldElement)));
  const filter: FieldFilter = (s) => s.recursiveDifference(drop);
  // Only whole root fields can be skipped; a deeper path still needs its root field walked.
  filterScopes.set(filter, { skip: new Set(paths.filter((p) => p.length === 1).map((p) => p[0]!)) });
  return filter;
}

/** A filter keeping only `paths` and everything below them. */
export function includeOnlyFields(paths: readonly (readonly string[])[]): FieldFilter {
  const keep = FieldSet.of(paths.map((p) => p.map(fieldElement)));
  const filter: FieldFilter = (s) => s.recursiveIntersection(keep);
  filterScopes.set(filter, { only: new Set(paths.filter((p) => p.length > 0).map((p) => p[0]!)) });
  return filter;
}

/**
 * The fields a write through `subresource` of `apiVersion`/`kind` may not own, because the
 * strategy resets them: `status` on the main resource of kinds with a status subresource
 * (unknown kinds: assumed to have one), everything but `status` on the status subresource,
 * everything but `spec.replicas` on the scale subresource.
 */
export function resetFieldsFilter(apiVersion: string, kind: string, subresource?: string): FieldFilter {
  if (subresource === 'status') return STATUS_ONLY;
  if (subresource === 'scale') return REPLICAS_ONLY;
  if (subresource !== undefined && subresource !== '') return KEEP_ALL;
  const info = resourceForKind(apiVersion, kind);
  if (info !== undefined && !info.subresources.includes('status')) return KEEP_ALL;
  return ALL_BUT_STATUS;
}

// The filters resetFieldsFilter hands out, made once (filters are pure).
const STATUS_ONLY = includeOnlyFields([['status']]);
const REPLICAS_ONLY = includeOnlyFields([['spec', 'replicas']]);
const ALL_BUT_STATUS = excludeFields([['status']]);
const KEEP_ALL: FieldFilter = (s) => s;

// ---------------------------------------------------------------------------------------------
// Empty objects

/**
 * Struct fields of each built-in kind that a freshly made Go object already holds (non-pointer
 * structs). Upstream compares a create against such an empty object, so these nodes count as
 * pre-existing: `f:spec` of a new Deployment gets no `.` entry, `f:spec` of a custom resource does.
 */
const TEMPLATE = ['spec.template', 'spec.template.metadata', 'spec.template.spec'];
const EMPTY_STRUCTS: Record<string, readonly string[]> = {
  'v1/Pod': ['spec', 'status'],
  'v1/Service': ['spec', 'status', 'status.loadBalancer'],
  'v1/Node': [
    'spec',
    'status',
    'status.daemonEndpoints',
    'status.daemonEndpoints.kubeletEndpoint',
    'status.nodeInfo',
  ],
  'v1/Namespace': ['spec', 'status'],
  'v1/Event': ['involvedObject', 'source'],
  'apps/v1/Deployment': ['spec', ...TEMPLATE, 'spec.strategy', 'status'],
  'apps/v1/ReplicaSet': ['spec', ...TEMPLATE, 'status'],
  'apps/v1/DaemonSet': ['spec', ...TEMPLATE, 'spec.updateStrategy', 'status'],
  'apps/v1/StatefulSet': ['spec', ...TEMPLATE, 'spec.updateStrategy', 'status'],
  'batch/v1/Job': ['spec', ...TEMPLATE, 'status'],
  'batch/v1/CronJob': [
    'spec',
    'spec.jobTemplate',
    'spec.jobTemplate.metadata',
    'spec.jobTemplate.spec',
    ...TEMPLATE.map((p) => p.replace('spec.', 'spec.jobTemplate.spec.')),
    'status',
  ],
  'networking.k8s.io/v1/Ingress': ['spec', 'status', 'status.loadBalancer'],
  'networking.k8s.io/v1/IngressClass': ['spec'],
  'coordination.k8s.io/v1/Lease': ['spec'],
  'certificates.k8s.io/v1/CertificateSigningRequest': ['spec', 'status'],
};

/** Lists that a fresh Go object serializes as `null` (no omitempty): they exist, empty. */
const NULL_LISTS: Record<string, readonly string[]> = {
  'v1/Pod': ['spec.containers'],
  'apps/v1/Deployment': ['spec.template.spec.containers'],
  'apps/v1/ReplicaSet': ['spec.template.spec.containers'],
  'apps/v1/DaemonSet': ['spec.template.spec.containers'],
  'apps/v1/StatefulSet': ['spec.template.spec.containers'],
  'batch/v1/Job': ['spec.template.spec.containers'],
  'batch/v1/CronJob': ['spec.jobTemplate.spec.template.spec.containers'],
};

/** The empty object of a kind that a create is compared against (only `metadata` for unknown kinds). */
export function emptyObject(apiVersion: string, kind: string): Record<string, unknown> {
  const out: Record<string, unknown> = { metadata: {} };
  const at = (dotted: string): [Record<string, unknown>, string] => {
    const names = dotted.split('.');
    const last = names.pop()!;
    let m = out;
    for (const name of names) {
      const next = m[name];
      if (isObject(next)) m = next;
      else {
        const created: Record<string, unknown> = {};
        m[name] = created;
        m = created;
      }
    }
    return [m, last];
  };
  const gvk = `${apiVersion}/${kind}`;
  for (const dotted of EMPTY_STRUCTS[gvk] ?? []) {
    const [m, last] = at(dotted);
    if (!isObject(m[last])) m[last] = {};
  }
  for (const dotted of NULL_LISTS[gvk] ?? []) {
    const [m, last] = at(dotted);
    m[last] = null;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparing objects

/** The fields a write added, modified and removed. */
export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

function listIndex(shape: Shape, list: readonly unknown[]): Map<PathElement, unknown> {
  const out = new Map<PathElement, unknown>();
  for (let i = 0; i < list.length; i++) out.set(itemElement(shape, list[i], i), list[i]);
  return out;
}

const NO_FIELDS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;
const NO_ITEMS: readonly unknown[] = Object.freeze([]);

/**
 * Which root fields a comparison walks: `only` these, or all but `skip`. Exact only for filters
 * that drop everything outside `only` (or everything under `skip`) anyway; see filterScopes.
 */
interface RootScope {
  only?: ReadonlySet<string> | undefined;
  skip?: ReadonlySet<string> | undefined;
  /** Leave out metadata.managedFields (only for comparisons that drop server-set metadata after). */
  skipManagedFields?: boolean;
}

/**
 * Compare two versions of an object field by field (upstream's typed Compare): a node that
 * appears is added with all it holds, one that goes is removed with all it held, a leaf whose value
 * changed is modified. Maps and list items are nodes; scalars and atomic lists/maps are leaves.
 */
export function compareObjects(oldObj: unknown, newObj: unknown, schema: FieldSchema): Comparison {
  return compareWithin(oldObj, newObj, schema, undefined);
}

/**
 * compareObjects restricted to the root fields `scope` names. One walk with a path stack (no
 * per-node path copies); a subtree that is the same value on both sides (shared by reference, as
 * a status write shares the old metadata) holds no change and is skipped.
 */
function compareWithin(
  oldObj: unknown,
  newObj: unknown,
  schema: FieldSchema,
  scope: RootScope | undefined,
): Comparison {
  const added = new FieldSet();
  const modified = new FieldSet();
  const removed = new FieldSet();
  // The path and property names of the node being visited; pushed and popped around each child.
  const path: PathElement[] = [];
  const names: string[] = [];

  const field = (l: unknown, r: unknown, k: string): void => {
    // metadata.managedFields is an atomic leaf that compareFiltered drops: not worth comparing.
    if (scope?.skipManagedFields && k === 'managedFields' && names.length === 1 && names[0] === 'metadata') {
      if (!isObject(l) && !isObject(r)) return;
    }
    path.push(fieldElement(k));
    names.push(k);
    visit(l, r);
    path.pop();
    names.pop();
  };

  const children = (l: unknown, r: unknown, shape: Shape): void => {
    if (shape.type === 'map') {
      const lm = isObject(l) ? l : NO_FIELDS;
      const rm = isObject(r) ? r : NO_FIELDS;
      const root = path.length === 0 && scope !== undefined;
      for (const k of Object.keys(rm)) {
        if (root && !inScope(scope, k)) continue;
        field(lm[k], rm[k], k);
      }
      for (const k of Object.keys(lm)) {
        if (Object.hasOwn(rm, k) || (root && !inScope(scope, k))) continue;
        field(lm[k], rm[k], k);
      }
      return;
    }
    if (shape.type === 'leaf') return;
    const li = listIndex(shape, Array.isArray(l) ? l : NO_ITEMS);
    const ri = listIndex(shape, Array.isArray(r) ? r : NO_ITEMS);
    const item = (pe: PathElement, lItem: unknown, rItem: unknown): void => {
      path.push(pe);
      if (shape.type === 'set' || !isObject(lItem ?? rItem)) {
        if (lItem === undefined) added.insert(path);
        else if (rItem === undefined) removed.insert(path);
        else if (!jsonEqual(lItem, rItem)) modified.insert(path);
      } else visit(lItem, rItem);
      path.pop();
    };
    for (const [pe, rItem] of ri) item(pe, li.get(pe), rItem);
    for (const [pe, lItem] of li) if (!ri.has(pe)) item(pe, lItem, undefined);
  };

  const visit = (l: unknown, r: unknown): void => {
    // The same value on both sides (also both undefined or both null) changed nothing.
    if (l === r) return;
    if ((l === undefined || l === null) && (r === undefined || r === null)) {
      if (l === null && r === undefined) removed.insert(path);
      else if (l === undefined && r === null) added.insert(path);
      return;
    }
    const ls = l === undefined || l === null ? undefined : shapeOf(schema, names, l);
    const rs = r === undefined || r === null ? undefined : shapeOf(schema, names, r);
    if (ls !== undefined && rs !== undefined && ls.type !== rs.type) {
      // A value changed kind (say map to scalar): the node changed, what it held went or came.
      modified.insert(path);
      children(l, undefined, ls);
      children(undefined, r, rs);
      return;
    }
    const shape = (rs ?? ls)!;
    if (shape.type === 'leaf') {
      if (l === undefined) added.insert(path);
      else if (r === undefined) removed.insert(path);
      else if (!jsonEqual(l, r)) modified.insert(path);
      return;
    }
    // A null map or list counts as an existing, empty one (a Go nil slice or map).
    if (l === undefined) added.insert(path);
    else if (r === undefined) removed.insert(path);
    children(l, r, shape);
  };

  visit(isObject(oldObj) ? oldObj : {}, isObject(newObj) ? newObj : {});
  return { added, modified, removed };
}

function inScope(scope: RootScope, k: string): boolean {
  if (scope.only !== undefined) return scope.only.has(k);
  return scope.skip === undefined || !scope.skip.has(k);
}

/**
 * compareObjects restricted by `filter` and without server-set metadata. Fields the filter is
 * known to drop whole (see filterScopes) are not walked at all.
 */
function compareFiltered(
  oldObj: unknown,
  newObj: unknown,
  schema: FieldSchema,
  filter: FieldFilter,
): Comparison {
  const scope = filterScopes.get(filter);
  const c = compareWithin(oldObj, newObj, schema, { ...scope, skipManagedFields: true });
  const f = (s: FieldSet) => (s.isEmpty() ? s : filter(s).difference(SERVER_METADATA));
  return { added: f(c.added), modified: f(c.modified), removed: f(c.removed) };
}

// ---------------------------------------------------------------------------------------------
// Recording a write

/** Options of updateManagedFields. */
export interface UpdateManagedFieldsOptions {
  /** Field manager: the fieldManager query parameter or managerFromUserAgent. */
  manager: string;
  operation: 'Update';
  /** apiVersion of the resource the request addressed (`apps/v1`). */
  apiVersion: string;
  /** Kind; defaults to the new object's `kind`. */
  kind?: string;
  /** `status`, `scale`, ... when the write went through a subresource. */
  subresource?: string;
  /** Time of the write (stored with second precision). */
  time: Date;
  /** Field schema; defaults to schemaFor(apiVersion, kind). */
  schema?: FieldSchema;
  /** What this write may own; defaults to resetFieldsFilter(apiVersion, kind, subresource). */
  ignore?: FieldFilter;
}

function isResetRequest(mf: unknown): boolean {
  if (!Array.isArray(mf)) return false;
  if (mf.length === 0) return true;
  return mf.length === 1 && isObject(mf[0]) && Object.keys(mf[0]).length === 0;
}

function managedFieldsOf(obj: unknown): ManagedFieldsEntry[] | undefined {
  if (!isObject(obj) || !isObject(obj.metadata)) return undefined;
  const mf = obj.metadata.managedFields;
  return Array.isArray(mf) ? (mf as ManagedFieldsEntry[]) : undefined;
}

function decodeOrEmpty(entries: readonly ManagedFieldsEntry[] | undefined): ManagedSets {
  try {
    return decodeManagedFields(entries);
  } catch {
    return new Map();
  }
}

/**
 * The managed fields a write starts from (upstream's decodeLiveOrNew): a subresource write always
 * uses the stored object's; `[]` or `[{}]` in the request resets them; otherwise the request's own
 * entries win when they decode and are non-empty, else the stored object's.
 */
export function managedBeforeWrite(oldObj: unknown, newObj: unknown, subresource?: string): ManagedSets {
  if (subresource) return decodeOrEmpty(managedFieldsOf(oldObj));
  const requested = isObject(newObj) && isObject(newObj.metadata) ? newObj.metadata.managedFields : undefined;
  if (isResetRequest(requested)) return new Map();
  if (Array.isArray(requested)) {
    try {
      const m = decodeManagedFields(requested as ManagedFieldsEntry[]);
      if (m.size > 0) return m;
    } catch {
      // fall through to the stored object's entries
    }
  }
  return decodeOrEmpty(managedFieldsOf(oldObj));
}

/**
 * Give `manager` the fields that changed from `oldObj` to `newObj` (mutates `managed`): they leave
 * every other entry, removed fields leave every entry, and the manager's entry (merged with its
 * previous one) gets `time`. A write that changes nothing the manager may own leaves all as is.
 */
export function recordUpdate(
  managed: ManagedSets,
  change: Comparison,
  entry: { manager: string; apiVersion: string; subresource?: string | undefined; time: Date },
): void {
  const changed = change.added.union(change.modified);
  for (const [id, e] of managed) {
    e.fields = e.fields.difference(changed).difference(change.removed);
    if (e.fields.isEmpty()) managed.delete(id);
  }
  const own = changed.difference(change.removed).difference(STRIPPED_FIELDS);
  if (own.isEmpty()) return;
  const next: ManagerEntry = {
    manager: entry.manager,
    operation: 'Update',
    apiVersion: entry.apiVersion,
    time: formatTime(entry.time),
    fields: own,
  };
  if (entry.subresource) next.subresource = entry.subresource;
  const id = managerIdentifier(next);
  const previous = managed.get(id);
  if (previous !== undefined) next.fields = own.union(previous.fields);
  managed.set(id, next);
}

/**
 * Keep at most `max` Update entries: the oldest merge, per apiVersion, into an
 * `ancient-changes` entry (upstream's capManagersManager).
 */
export function capUpdateManagers(managed: ManagedSets, max = MAX_UPDATE_MANAGERS): void {
  const updaters = [...managed.entries()].filter(([, e]) => e.operation === 'Update');
  if (updaters.length <= max) return;
  updaters.sort(([ia, a], [ib, b]) => timeSeconds(a.time) - timeSeconds(b.time) || compareText(ia, ib));
  let count = updaters.length;
  const firstOfVersion = new Map<string, string>();
  for (const [id, e] of updaters) {
    if (count <= max) break;
    const bucket = managerIdentifier({
      manager: ANCIENT_CHANGES_MANAGER,
      operation: 'Update',
      apiVersion: e.apiVersion,
    });
    const first = firstOfVersion.get(e.apiVersion);
    if (first === undefined) {
      firstOfVersion.set(e.apiVersion, id);
      continue;
    }
    let target = managed.get(bucket);
    if (target === undefined) {
      const firstEntry = managed.get(first)!;
      managed.delete(first);
      target = {
        manager: ANCIENT_CHANGES_MANAGER,
        operation: 'Update',
        apiVersion: e.apiVersion,
        fields: firstEntry.fields,
      };
      if (firstEntry.time !== undefined) target.time = firstEntry.time;
      managed.set(bucket, target);
    }
    target.fields = target.fields.union(e.fields);
    if (e.time !== undefined) target.time = e.time;
    else delete target.time;
    managed.delete(id);
    count--;
  }
}

/**
 * The managedFields to store after a create, update or non-apply patch from `oldObj` (undefined
 * for a create) to `newObj`, both as they will be stored after the strategy ran. Fields that
 * changed go to `opts.manager`; see recordUpdate. Returns [] when nothing is tracked (store no
 * managedFields then).
 */
export function updateManagedFields(
  oldObj: Record<string, unknown> | undefined,
  newObj: Record<string, unknown>,
  opts: UpdateManagedFieldsOptions,
): ManagedFieldsEntry[] {
  const kind = opts.kind ?? (typeof newObj.kind === 'string' ? newObj.kind : '');
  const schema = opts.schema ?? schemaFor(opts.apiVersion, kind);
  const ignore = opts.ignore ?? resetFieldsFilter(opts.apiVersion, kind, opts.subresource);
  const managed = managedBeforeWrite(oldObj, newObj, opts.subresource);
  const base = oldObj ?? emptyObject(opts.apiVersion, kind);
  const change = compareFiltered(base, newObj, schema, ignore);
  recordUpdate(managed, change, {
    manager: opts.manager,
    apiVersion: opts.apiVersion,
    subresource: opts.subresource,
    time: opts.time,
  });
  capUpdateManagers(managed);
  return encodeManagedFields(managed);
}

/** Compare `oldObj` with `newObj` for ownership: reset fields and server-set metadata left out. */
export function compareForOwnership(
  oldObj: unknown,
  newObj: unknown,
  opts: { schema: FieldSchema; ignore: FieldFilter },
): Comparison {
  return compareFiltered(oldObj, newObj, opts.schema, opts.ignore);
}
