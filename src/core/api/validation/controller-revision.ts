/**
 * apps/v1 ControllerRevision validation (upstream ValidateControllerRevision*): data is
 * mandatory and immutable, revision is non-negative.
 */
import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import { type FieldError, GoValue, required } from '../field-error.js';
import { validateImmutable, validateNonNegative } from './common.js';

/** A ControllerRevision create. */
export function validateControllerRevision(cr: ControllerRevision): FieldError[] {
  const errs: FieldError[] = [];
  if (cr.data === undefined || cr.data === null) errs.push(required('data', 'data is mandatory'));
  errs.push(...validateNonNegative(cr.revision, 'revision'));
  return errs;
}

/** A ControllerRevision update: data never changes (a new revision is a new object). */
export function validateControllerRevisionUpdate(
  cr: ControllerRevision,
  old: ControllerRevision,
): FieldError[] {
  return [
    ...validateControllerRevision(cr),
    ...validateImmutable(cr.data, old.data, 'data', new GoValue('runtime.RawExtension{...}')),
  ];
}
