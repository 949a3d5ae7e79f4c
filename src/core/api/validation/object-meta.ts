/**
 * ObjectMeta validation on create and update (apimachinery `api/validation/objectmeta.go`).
 */
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import {
  duplicate,
  type FieldError,
  forbidden,
  GoValue,
  goStringSlice,
  invalid,
  required,
} from '../field-error.js';
import {
  FIELD_IMMUTABLE_MSG,
  jsonEqual,
  validateAnnotations,
  validateImmutable,
  validateLabels,
} from './common.js';
import { isQualifiedName, type NameValidator, validateNamespaceName } from './names.js';

export interface ObjectMetaOptions {
  /** The kind lives in a namespace (then `namespace` is required). */
  namespaced: boolean;
  nameFn: NameValidator;
  /** Field path of the metadata; `metadata` for objects, `spec.template.metadata` is not validated here. */
  path?: string;
}

/** Metadata of a new object: name/generateName, namespace, labels, annotations, owners, finalizers. */
export function validateObjectMeta(meta: ObjectMeta | undefined, opts: ObjectMetaOptions): FieldError[] {
  const p = opts.path ?? 'metadata';
  const m = meta ?? {};
  const errs: FieldError[] = [];
  if (m.generateName) {
    for (const msg of opts.nameFn(m.generateName, true))
      errs.push(invalid(`${p}.generateName`, m.generateName, msg));
  }
  if (!m.name) {
    // The registry generates a name from generateName before validation; until then accept the prefix.
    if (!m.generateName) errs.push(required(`${p}.name`, 'name or generateName is required'));
  } else {
    for (const msg of opts.nameFn(m.name, false)) errs.push(invalid(`${p}.name`, m.name, msg));
  }
  if (opts.namespaced) {
    if (!m.namespace) errs.push(required(`${p}.namespace`, ''));
    else
      for (const msg of validateNamespaceName(m.namespace, false))
        errs.push(invalid(`${p}.namespace`, m.namespace, msg));
  } else if (m.namespace) {
    errs.push(forbidden(`${p}.namespace`, 'not allowed on this type'));
  }
  if (m.generation !== undefined && m.generation < 0) {
    errs.push(invalid(`${p}.generation`, m.generation, 'must be greater than or equal to 0'));
  }
  errs.push(...validateLabels(m.labels, `${p}.labels`));
  errs.push(...validateAnnotations(m.annotations, `${p}.annotations`));
  errs.push(...validateOwnerReferences(m.ownerReferences, `${p}.ownerReferences`));
  errs.push(...validateFinalizers(m.finalizers, `${p}.finalizers`));
  return errs;
}

function validateOwnerReferences(refs: OwnerReference[] | undefined, p: string): FieldError[] {
  const errs: FieldError[] = [];
  const controllers: string[] = [];
  for (const r of refs ?? []) {
    const version = (r.apiVersion ?? '').split('/').pop() ?? '';
    if (version === '')
      errs.push(invalid(`${p}.apiVersion`, r.apiVersion ?? '', 'version must not be empty'));
    if (!r.kind) errs.push(invalid(`${p}.kind`, r.kind ?? '', 'kind must not be empty'));
    if (!r.name) errs.push(invalid(`${p}.name`, r.name ?? '', 'name must not be empty'));
    if (!r.uid) errs.push(invalid(`${p}.uid`, r.uid ?? '', 'uid must not be empty'));
    if (r.controller === true) controllers.push(`${r.apiVersion}/${r.kind}/${r.name}`);
  }
  if (controllers.length > 1) {
    errs.push(
      invalid(
        p,
        new GoValue(`[]v1.OwnerReference{...}`),
        `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(' and ')}`,
      ),
    );
  }
  return errs;
}

function validateFinalizers(finalizers: string[] | undefined, p: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  for (const f of finalizers ?? []) {
    for (const msg of isQualifiedName(f)) errs.push(invalid(p, f, msg));
    if (seen.has(f)) errs.push(duplicate(p, f));
    seen.add(f);
  }
  return errs;
}

/** Metadata of an update: immutable identity fields, and no new finalizers while deleting. */
export function validateObjectMetaUpdate(
  meta: ObjectMeta | undefined,
  old: ObjectMeta | undefined,
  opts: ObjectMetaOptions,
): FieldError[] {
  const p = opts.path ?? 'metadata';
  const n = meta ?? {};
  const o = old ?? {};
  const errs: FieldError[] = [];
  if (o.deletionTimestamp) {
    const before = new Set(o.finalizers ?? []);
    const extra = (n.finalizers ?? []).filter((f) => !before.has(f)).sort();
    if (extra.length > 0) {
      errs.push(
        forbidden(
          `${p}.finalizers`,
          `no new finalizers can be added if the object is being deleted, found new finalizers ${goStringSlice(extra)}`,
        ),
      );
    }
  }
  if (n.generation !== undefined && o.generation !== undefined && n.generation < o.generation) {
    errs.push(invalid(`${p}.generation`, n.generation, 'must not be decremented'));
  }
  errs.push(...validateImmutable(n.name ?? '', o.name ?? '', `${p}.name`));
  errs.push(...validateImmutable(n.namespace ?? '', o.namespace ?? '', `${p}.namespace`));
  errs.push(...validateImmutable(n.uid ?? '', o.uid ?? '', `${p}.uid`));
  errs.push(...validateImmutable(n.creationTimestamp, o.creationTimestamp, `${p}.creationTimestamp`));
  if (!jsonEqual(n.deletionTimestamp, o.deletionTimestamp)) {
    errs.push(invalid(`${p}.deletionTimestamp`, n.deletionTimestamp ?? null, FIELD_IMMUTABLE_MSG));
  }
  if (!jsonEqual(n.deletionGracePeriodSeconds, o.deletionGracePeriodSeconds)) {
    errs.push(
      invalid(`${p}.deletionGracePeriodSeconds`, n.deletionGracePeriodSeconds ?? null, FIELD_IMMUTABLE_MSG),
    );
  }
  errs.push(...validateLabels(n.labels, `${p}.labels`));
  errs.push(...validateAnnotations(n.annotations, `${p}.annotations`));
  errs.push(...validateOwnerReferences(n.ownerReferences, `${p}.ownerReferences`));
  errs.push(...validateFinalizers(n.finalizers, `${p}.finalizers`));
  return errs;
}
