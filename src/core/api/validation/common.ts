/**
 * Checks shared by many kinds: labels, annotations, label selectors, immutability, numbers and ports.
 */

import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import {
  type FieldError,
  forbidden,
  goStringMap,
  invalid,
  notSupported,
  required,
  tooLong,
} from '../field-error.js';
import { labelSelectorFromObject, labelsMatch } from '../selector/label-selector.js';
import {
  isQualifiedName,
  isValidLabelValue,
  isValidPercent,
  isValidPortName,
  isValidPortNum,
} from './names.js';

export const IS_NEGATIVE_MSG = 'must be greater than or equal to 0';
export const FIELD_IMMUTABLE_MSG = 'field is immutable';
/** Upstream's cap on the summed size of all annotation keys and values. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/** Structural equality of JSON values; absent, null and empty containers are the same (Go semantics). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (isEmpty(a) && isEmpty(b)) return true;
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!jsonEqual(ao[k], bo[k])) return false;
  return true;
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

/** `Invalid value: <new>: field is immutable` when the value changed. */
export function validateImmutable(
  newVal: unknown,
  oldVal: unknown,
  field: string,
  shown?: unknown,
): FieldError[] {
  return jsonEqual(newVal, oldVal)
    ? []
    : [invalid(field, shown === undefined ? newVal : shown, FIELD_IMMUTABLE_MSG)];
}

/** A number that must be >= 0 when present. */
export function validateNonNegative(v: unknown, field: string): FieldError[] {
  if (v === undefined || v === null) return [];
  return typeof v === 'number' && v >= 0 ? [] : [invalid(field, v, IS_NEGATIVE_MSG)];
}

/** A number that must be > 0 when present. */
export function validatePositive(v: unknown, field: string): FieldError[] {
  if (v === undefined || v === null) return [];
  return typeof v === 'number' && v > 0 ? [] : [invalid(field, v, 'must be greater than 0')];
}

/** Label keys are qualified names; values are label values. The path is the map itself, as upstream. */
export function validateLabels(labels: Record<string, string> | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const m of isQualifiedName(k)) errs.push(invalid(field, k, m));
    if (typeof v !== 'string') errs.push(invalid(field, v, 'label values must be strings'));
    else for (const m of isValidLabelValue(v)) errs.push(invalid(field, v, m));
  }
  return errs;
}

/** Annotation keys are qualified names (case-insensitive); the total size is capped at 256 KiB. */
export function validateAnnotations(ann: Record<string, string> | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(ann ?? {})) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(invalid(field, k, m));
    total += Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : String(v));
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(field, '', TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

/** Structure of a `metav1.LabelSelector`: operators, values, keys and matchLabels. */
export function validateLabelSelector(sel: LabelSelector | undefined, field: string): FieldError[] {
  if (sel === undefined || sel === null) return [];
  const errs: FieldError[] = [];
  (sel.matchExpressions ?? []).forEach((r, i) => {
    const p = `${field}.matchExpressions[${i}]`;
    const n = r.values?.length ?? 0;
    if (r.operator === 'In' || r.operator === 'NotIn') {
      if (n === 0) errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (r.operator === 'Exists' || r.operator === 'DoesNotExist') {
      if (n > 0)
        errs.push(
          forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
        );
    } else {
      errs.push(invalid(`${p}.operator`, r.operator, 'not a valid selector operator'));
    }
    for (const m of isQualifiedName(r.key ?? '')) errs.push(invalid(`${p}.key`, r.key ?? '', m));
  });
  errs.push(...validateLabels(sel.matchLabels, `${field}.matchLabels`));
  return errs;
}

/** True when a selector has no requirements (it would select everything). */
export function selectorIsEmpty(sel: LabelSelector | undefined): boolean {
  return (
    sel === undefined ||
    (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)
  );
}

/** Whether a label set satisfies a `metav1.LabelSelector`. */
export function selectorMatches(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  try {
    return labelsMatch(labelSelectorFromObject(sel), labels);
  } catch {
    return false; // a selector that does not parse selects nothing; validation reports it
  }
}

/** Template labels must be selected by the workload's selector (skipped for an empty selector). */
export function validateSelectorMatchesTemplate(
  sel: LabelSelector | undefined,
  templateLabels: Record<string, string> | undefined,
  field: string,
): FieldError[] {
  if (sel === undefined || selectorIsEmpty(sel)) return [];
  if (selectorMatches(sel, templateLabels)) return [];
  return [invalid(field, goStringMap(templateLabels), '`selector` does not match template `labels`')];
}

/** A port given as number (1-65535) or IANA name (`targetPort`, probe ports). */
export function validatePortNumOrName(port: unknown, field: string): FieldError[] {
  if (typeof port === 'number') return isValidPortNum(port).map((m) => invalid(field, port, m));
  if (typeof port === 'string') {
    if (port === '') return [required(field, '')];
    return isValidPortName(port).map((m) => invalid(field, port, m));
  }
  return [invalid(field, port, 'must be an integer or a port name')];
}

/** A protocol: TCP, UDP or SCTP. */
export function validateProtocol(proto: unknown, field: string): FieldError[] {
  if (proto === undefined || proto === '') return [required(field, '')];
  return proto === 'TCP' || proto === 'UDP' || proto === 'SCTP'
    ? []
    : [notSupported(field, proto, ['SCTP', 'TCP', 'UDP'])];
}

/** Validates an enum that must be set. */
export function validateEnum(v: unknown, valid: readonly string[], field: string): FieldError[] {
  if (v === undefined || v === null || v === '') return [required(field, '')];
  return valid.includes(v as string) ? [] : [notSupported(field, v, valid)];
}

/** The integer value of an int-or-percent (percent as its number). */
export function intOrPercentValue(v: number | string | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^[0-9]+%$/.test(v)) return Number(v.slice(0, -1));
  return 0;
}

/** An int-or-percent that must be a non-negative integer or `N%`. */
export function validatePositiveIntOrPercent(
  v: number | string | undefined,
  field: string,
  shown: unknown,
): FieldError[] {
  if (typeof v === 'string') {
    const msgs = isValidPercent(v);
    if (msgs.length > 0) return [invalid(field, shown, msgs.join(', '))];
    return [];
  }
  if (typeof v === 'number') return v >= 0 ? [] : [invalid(field, v, IS_NEGATIVE_MSG)];
  return [];
}

/** A percent above 100 is invalid. */
export function validateNotMoreThan100Percent(
  v: number | string | undefined,
  field: string,
  shown: unknown,
): FieldError[] {
  if (typeof v !== 'string' || !/^[0-9]+%$/.test(v)) return [];
  return intOrPercentValue(v) > 100 ? [invalid(field, shown, 'must not be greater than 100%')] : [];
}
