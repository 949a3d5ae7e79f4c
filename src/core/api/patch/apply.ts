/**
 * Server-side apply (`PATCH` with `application/apply-patch+yaml`), following upstream's
 * structured-merge-diff Updater.Apply and the apiserver fieldmanager around it:
 *
 * 1. merge the applied configuration into the live object (maps recurse, associative lists merge
 *    by their keys, sets by value, atomic lists and scalars are replaced);
 * 2. the configuration's field set becomes exactly what the applier owns;
 * 3. fields the applier owned last time, left out now and owned by no one else are pruned;
 * 4. fields another manager owns whose value this changes are conflicts: an error, or with
 *    `force` they move to the applier. Setting an owned field to the value it already has shares
 *    ownership instead.
 */

import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { cloneJson } from '../json-clone.js';
import {
  type FieldPath,
  type FieldSchema,
  FieldSet,
  fieldSetFromObject,
  isObject,
  itemElement,
  type PathElement,
  pathToString,
  removeFields as removeFieldsOf,
  type Shape,
  schemaFor,
  shapeOf,
} from './fieldpath.js';
import {
  BEFORE_FIRST_APPLY_MANAGER,
  capUpdateManagers,
  compareForOwnership,
  decodeManagedFields,
  emptyObject,
  encodeManagedFields,
  type FieldFilter,
  formatTime,
  type ManagedSets,
  type ManagerEntry,
  managerIdentifier,
  recordUpdate,
  resetFieldsFilter,
  STRIPPED_FIELDS,
} from './managed-fields.js';

/** Options of serverSideApply. */
export interface ApplyOptions {
  /** The applier's field manager name (required for apply requests). */
  manager: string;
  /** `force=true`: take conflicting fields from their managers instead of failing. */
  force: boolean;
  /** apiVersion the request addressed; the configuration must name the same. */
  apiVersion: string;
  kind: string;
  /** Time of the apply (stored with second precision). */
  time: Date;
  /** `status` etc. when applying to a subresource. */
  subresource?: string;
  /** Field schema; defaults to schemaFor(apiVersion, kind). */
  schema?: FieldSchema;
  /** What the applier may own; defaults to resetFieldsFilter(apiVersion, kind, subresource). */
  ignore?: FieldFilter;
}

/** The object to store and its managedFields (also set on `object.metadata`). */
export interface ApplyResult {
  object: Record<string, unknown>;
  managedFields: ManagedFieldsEntry[];
}

/** One field another manager owns and the apply would change. */
export interface ApplyConflict {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  /** Upstream's printing of the path: `.spec.template.spec.containers[name="web"].image`. */
  field: string;
  path: FieldPath;
}

/** An apply that would change fields other managers own (HTTP 409, reason Conflict). */
export class ApplyConflictError extends Error {
  readonly code = 'ApplyConflict';
  readonly httpCode = 409;
  readonly reason = 'Conflict';
  readonly conflicts: readonly ApplyConflict[];
  constructor(conflicts: readonly ApplyConflict[]) {
    super(conflictMessage(conflicts));
    this.name = 'ApplyConflictError';
    this.conflicts = conflicts;
  }
}

/** An apply configuration the server refuses (HTTP 400, reason BadRequest). */
export class ApplyInvalidError extends Error {
  readonly code = 'ApplyInvalid';
  readonly httpCode = 400;
  readonly reason = 'BadRequest';
  constructor(message: string) {
    super(message);
    this.name = 'ApplyInvalidError';
  }
}

/**
 * How upstream names a manager in conflict messages: `"kubectl"`, `"kubectl" with subresource
 * "scale"`, plus ` using apps/v1` for Update entries.
 */
export function describeManager(m: {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string | undefined;
}): string {
  let out = JSON.stringify(m.manager);
  if (m.subresource) out += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') out += ` using ${m.apiVersion}`;
  return out;
}

function conflictMessage(conflicts: readonly ApplyConflict[]): string {
  const first = conflicts[0];
  if (conflicts.length === 1 && first !== undefined) {
    return `Apply failed with 1 conflict: conflict with ${describeManager(first)}: ${first.field}`;
  }
  const lines: string[] = [];
  let current: string | undefined;
  for (const c of conflicts) {
    const who = describeManager(c);
    if (who !== current) {
      lines.push(`conflicts with ${who}:`);
      current = who;
    }
    lines.push(`- ${c.field}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

/** A Kubernetes Status for an apply conflict, with one FieldManagerConflict cause per field. */
export function applyConflictStatus(err: ApplyConflictError): {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: 'Conflict';
  details: { causes: { reason: string; message: string; field: string }[] };
  code: 409;
} {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: 'Conflict',
    details: {
      causes: err.conflicts.map((c) => ({
        reason: 'FieldManagerConflict',
        message: `conflict with ${describeManager(c)}`,
        field: c.field,
      })),
    },
    code: 409,
  };
}

// ---------------------------------------------------------------------------------------------
// Merging

function clone<T>(v: T): T {
  return v === undefined ? v : cloneJson(v);
}

/** A copy of configuration value `v` without null map entries (a null asks for the field unset). */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, c] of Object.entries(v)) if (c !== null && c !== undefined) out[k] = withoutNulls(c);
    return out;
  }
  return v;
}

/**
 * Order of a merged list (upstream's merge order): items only the live list has keep their place;
 * items of the configuration come in its order; a live item the configuration also lists moves
 * to where the configuration puts it.
 */
function mergeOrder(live: readonly PathElement[], config: readonly PathElement[]): PathElement[] {
  const inConfig = new Set(config);
  const inLive = new Set(live);
  const shared = config.filter((pe) => inLive.has(pe));
  const out: PathElement[] = [];
  const done = new Set<PathElement>();
  let nextShared = 0;
  let li = 0;
  let ci = 0;
  while (li < live.length || ci < config.length) {
    if (li < live.length) {
      const pe = live[li]!;
      if (!inConfig.has(pe)) {
        if (!done.has(pe)) out.push(pe);
        done.add(pe);
        li++;
        continue;
      }
      if (done.has(pe) || pe !== shared[nextShared]) {
        li++; // a shared item out of the configuration's order: placed when the config reaches it
        continue;
      }
    }
    if (ci < config.length) {
      const pe = config[ci++]!;
      if (done.has(pe)) continue;
      out.push(pe);
      done.add(pe);
      if (pe === shared[nextShared]) nextShared++;
      continue;
    }
    li++;
  }
  return out;
}

function indexItems(
  shape: Shape,
  list: readonly unknown[],
  where: string | undefined,
): { order: PathElement[]; items: Map<PathElement, unknown> } {
  const items = new Map<PathElement, unknown>();
  const order: PathElement[] = [];
  list.forEach((item, i) => {
    const pe = itemElement(shape, item, i);
    if (items.has(pe)) {
      if (where !== undefined) {
        throw new ApplyInvalidError(
          `failed to create typed patch object: ${where}: duplicate entries for key ${pathToString([pe])}`,
        );
      }
      return; // live duplicates: the first one stands for the key
    }
    items.set(pe, item);
    order.push(pe);
  });
  return { order, items };
}

/**
 * The live object with configuration `config` merged in. A null in the configuration removes the
 * field (Go objects drop it). Neither input is changed.
 */
export function mergeApplied(live: unknown, config: unknown, schema: FieldSchema): unknown {
  const merge = (l: unknown, r: unknown, names: readonly string[], where: string): unknown => {
    if (r === undefined) return clone(l);
    if (l === undefined || l === null || r === null) return withoutNulls(r);
    const rs = shapeOf(schema, names, r);
    const ls = shapeOf(schema, names, l);
    if (rs.type !== ls.type || rs.type === 'leaf') return withoutNulls(r);
    if (rs.type === 'map') {
      const lm = l as Record<string, unknown>;
      const rm = r as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(lm)) {
        const rv = rm[k];
        if (rv === undefined) out[k] = clone(v);
        else if (rv !== null) out[k] = merge(v, rv, [...names, k], `${where}.${k}`);
      }
      for (const [k, v] of Object.entries(rm)) {
        if (k in lm || v === null || v === undefined) continue;
        out[k] = withoutNulls(v);
      }
      return out;
    }
    const li = indexItems(rs, l as unknown[], undefined);
    const ri = indexItems(rs, r as unknown[], where);
    return mergeOrder(li.order, ri.order).map((pe) => {
      const lItem = li.items.get(pe);
      const rItem = ri.items.get(pe);
      if (rs.type === 'set') return clone(rItem ?? lItem);
      if (rItem === undefined) return clone(lItem);
      return merge(lItem, rItem, names, `${where}${pathToString([pe])}`);
    });
  };
  // Validate the configuration's lists even where nothing is live yet.
  fieldSetFromConfig(config, schema);
  return merge(live, config, [], '');
}

/** fieldSetFromObject, refusing associative lists with duplicate keys in the configuration. */
function fieldSetFromConfig(config: unknown, schema: FieldSchema): FieldSet {
  const check = (v: unknown, names: readonly string[], where: string): void => {
    const shape = shapeOf(schema, names, v);
    if (shape.type === 'map') {
      for (const [k, c] of Object.entries(v as Record<string, unknown>))
        check(c, [...names, k], `${where}.${k}`);
    } else if (shape.type !== 'leaf') {
      const { order, items } = indexItems(shape, v as unknown[], where);
      if (shape.type === 'associative')
        for (const pe of order) check(items.get(pe), names, `${where}${pathToString([pe])}`);
    }
  };
  check(config, [], '');
  return fieldSetFromObject(config, schema);
}

// ---------------------------------------------------------------------------------------------
// Pruning

/**
 * Remove from `merged` what the applier owned last time (`lastSet`), no longer applies, and no
 * manager (the applier's new set included) owns. Parents of owned fields stay; unowned fields
 * the applier never owned (defaults, other writers' leftovers) stay.
 */
function prune(
  merged: unknown,
  managed: ManagedSets,
  lastSet: FieldSet | undefined,
  schema: FieldSchema,
): unknown {
  if (lastSet === undefined || lastSet.isEmpty()) return merged;
  const last = lastSet.ensureNamedFieldsAreMembers();
  let owned = new FieldSet();
  for (const e of managed.values()) owned = owned.union(e.fields);
  owned = owned.ensureNamedFieldsAreMembers();
  const mergedSet = fieldSetFromObject(merged, schema).ensureNamedFieldsAreMembers();
  // Everything last applied goes, then what someone owns comes back...
  const firstCut = fieldSetFromObject(
    removeFieldsOf(merged, last, schema),
    schema,
  ).ensureNamedFieldsAreMembers();
  const secondCut = removeFieldsOf(merged, mergedSet.difference(firstCut.union(owned)), schema);
  // ...and of what is still gone, only what the applier owned last time is really removed.
  const kept = fieldSetFromObject(secondCut, schema).ensureNamedFieldsAreMembers();
  return removeFieldsOf(merged, mergedSet.difference(kept).intersection(last), schema);
}

// ---------------------------------------------------------------------------------------------
// Apply

function metadataOf(obj: Record<string, unknown>): Record<string, unknown> | undefined {
  return isObject(obj.metadata) ? obj.metadata : undefined;
}

function validateConfig(applied: unknown, opts: ApplyOptions): Record<string, unknown> {
  if (!isObject(applied)) throw new ApplyInvalidError('apply patch must be a JSON or YAML object');
  if (applied.apiVersion !== opts.apiVersion) {
    throw new ApplyInvalidError(
      `Incorrect version specified in apply patch. Specified patch version: ${String(applied.apiVersion ?? '')}, expected: ${opts.apiVersion}`,
    );
  }
  if (applied.kind !== opts.kind) {
    throw new ApplyInvalidError(
      `Incorrect kind specified in apply patch. Specified patch kind: ${String(applied.kind ?? '')}, expected: ${opts.kind}`,
    );
  }
  const meta = metadataOf(applied);
  if (meta?.managedFields !== undefined && meta.managedFields !== null) {
    throw new ApplyInvalidError('metadata.managedFields must be nil');
  }
  return applied;
}

/**
 * Apply configuration `applied` for `opts.manager` to `live` (undefined: create by apply).
 * Returns the object to store, with its new managedFields, or throws ApplyConflictError (without
 * force) or ApplyInvalidError. The caller still runs defaulting, the strategy and validation.
 */
export function serverSideApply(
  live: Record<string, unknown> | undefined,
  applied: unknown,
  opts: ApplyOptions,
): ApplyResult {
  const config = validateConfig(applied, opts);
  const schema = opts.schema ?? schemaFor(opts.apiVersion, opts.kind);
  const ignore = opts.ignore ?? resetFieldsFilter(opts.apiVersion, opts.kind, opts.subresource);
  const liveObj = live ?? {};
  const liveMeta = metadataOf(liveObj);
  const managed = decodeManagedFields(
    Array.isArray(liveMeta?.managedFields) ? (liveMeta.managedFields as ManagedFieldsEntry[]) : undefined,
  );

  if (live !== undefined && managed.size === 0) {
    // An object written before fields were tracked: whatever it holds belongs to a placeholder
    // manager, so the first apply conflicts where it would change existing values.
    const change = compareForOwnership(emptyObject(opts.apiVersion, opts.kind), live, { schema, ignore });
    recordUpdate(managed, change, {
      manager: BEFORE_FIRST_APPLY_MANAGER,
      apiVersion: opts.apiVersion,
      subresource: opts.subresource,
      time: opts.time,
    });
  }

  const merged = mergeApplied(liveObj, config, schema);
  const applierSet = ignore(fieldSetFromConfig(config, schema)).difference(STRIPPED_FIELDS);
  const entry: ManagerEntry = {
    manager: opts.manager,
    operation: 'Apply',
    apiVersion: opts.apiVersion,
    time: formatTime(opts.time),
    fields: applierSet,
  };
  if (opts.subresource) entry.subresource = opts.subresource;
  const applierId = managerIdentifier(entry);
  const lastSet = managed.get(applierId)?.fields;
  managed.set(applierId, entry);

  const pruned = prune(merged, managed, lastSet, schema) as Record<string, unknown>;

  const change = compareForOwnership(liveObj, pruned, { schema, ignore });
  const changed = change.added.union(change.modified);
  const conflicts: { id: string; entry: ManagerEntry; set: FieldSet }[] = [];
  for (const [id, e] of managed) {
    if (id === applierId) continue;
    const set = e.fields.intersection(changed);
    if (!set.isEmpty()) conflicts.push({ id, entry: e, set });
  }
  if (conflicts.length > 0 && !opts.force) {
    conflicts.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    throw new ApplyConflictError(
      conflicts.flatMap(({ entry: e, set }) =>
        set.paths().map((path) => {
          const c: ApplyConflict = {
            manager: e.manager,
            operation: e.operation,
            apiVersion: e.apiVersion,
            field: pathToString(path),
            path,
          };
          if (e.subresource) c.subresource = e.subresource;
          return c;
        }),
      ),
    );
  }
  for (const [id, e] of managed) {
    if (id === applierId) continue;
    e.fields = e.fields.difference(changed).difference(change.removed);
    if (e.fields.isEmpty()) managed.delete(id);
  }
  if (applierSet.isEmpty()) managed.delete(applierId);
  capUpdateManagers(managed);

  const managedFields = encodeManagedFields(managed);
  const object = pruned;
  const meta = isObject(object.metadata) ? object.metadata : {};
  if (managedFields.length > 0) meta.managedFields = managedFields;
  else delete meta.managedFields;
  object.metadata = meta;
  return { object, managedFields };
}
