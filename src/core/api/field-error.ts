/**
 * Field errors of API validation, and the messages the API server answers with. The wording follows
 * apimachinery's `field.Error` so users and tools that parse `kubectl` output see what they know:
 * `<field>: <Type text>[: <bad value>][: <detail>]`.
 */

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid';

export interface FieldError {
  type: FieldErrorType;
  /** Dotted field path, e.g. `spec.containers[0].image`. */
  field: string;
  /** The offending value; absent when the message shows no value. */
  badValue?: unknown;
  detail: string;
}

/** One `details.causes` entry of a Kubernetes `Status`. */
export interface StatusCause {
  reason: FieldErrorType;
  message: string;
  field: string;
}

/**
 * A bad value rendered exactly as Go's `%#v` would print the upstream type
 * (`map[string]string{"app":"x"}`, `v1.LabelSelector{...}`), so messages match upstream's.
 */
export class GoValue {
  readonly repr: string;
  constructor(repr: string) {
    this.repr = repr;
  }
  toString(): string {
    return this.repr;
  }
}

const typeText: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
};

/** A required field is missing: `<field>: Required value[: detail]`. */
export function required(field: string, detail = ''): FieldError {
  return { type: 'FieldValueRequired', field, detail };
}

/** A value is malformed: `<field>: Invalid value: <value>: <detail>`. */
export function invalid(field: string, value: unknown, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, badValue: value, detail };
}

/** A value is not one of an enum: `Unsupported value: "x": supported values: "a", "b"`. */
export function notSupported(field: string, value: unknown, valid: readonly string[]): FieldError {
  const detail = valid.length > 0 ? `supported values: ${valid.map(goQuote).join(', ')}` : '';
  return { type: 'FieldValueNotSupported', field, badValue: value, detail };
}

/** A value repeats one that must be unique: `<field>: Duplicate value: "x"`. */
export function duplicate(field: string, value: unknown): FieldError {
  return { type: 'FieldValueDuplicate', field, badValue: value, detail: '' };
}

/** A referenced value does not exist: `<field>: Not found: "x"`. */
export function notFound(field: string, value: unknown): FieldError {
  return { type: 'FieldValueNotFound', field, badValue: value, detail: '' };
}

/** A well-formed value that is not allowed here: `<field>: Forbidden: <detail>`. */
export function forbidden(field: string, detail: string): FieldError {
  return { type: 'FieldValueForbidden', field, badValue: '', detail };
}

/** A value longer than allowed; the value itself is not echoed. */
export function tooLong(field: string, value: unknown, maxLength: number): FieldError {
  const detail =
    maxLength >= 0
      ? `may not be more than ${maxLength} ${maxLength === 1 ? 'byte' : 'bytes'}`
      : 'value is too long';
  return { type: 'FieldValueTooLong', field, badValue: value, detail };
}

/** A list with more items than allowed: `<field>: Too many: 5: must have at most 4 items`. */
export function tooMany(field: string, actual: number, max: number): FieldError {
  const detail = max >= 0 ? `must have at most ${max} ${max === 1 ? 'item' : 'items'}` : 'has too many items';
  return { type: 'FieldValueTooMany', field, badValue: actual, detail };
}

/** A value of the wrong JSON type. */
export function typeInvalid(field: string, value: unknown, detail: string): FieldError {
  return { type: 'FieldValueTypeInvalid', field, badValue: value, detail };
}

/** A failure not caused by the input. */
export function internalError(field: string, detail: string): FieldError {
  return { type: 'InternalError', field, detail };
}

/** The message without the field: `Invalid value: "Foo": <detail>` (upstream `ErrorBody`). */
export function fieldErrorBody(e: FieldError): string {
  let s = typeText[e.type];
  const showsValue =
    e.type !== 'FieldValueRequired' &&
    e.type !== 'FieldValueForbidden' &&
    e.type !== 'FieldValueTooLong' &&
    e.type !== 'InternalError';
  if (showsValue) s += `: ${formatGoValue(e.badValue)}`;
  if (e.detail !== '') s += `: ${e.detail}`;
  return s;
}

/** The full message of one error: `metadata.name: Invalid value: "Foo": ...`. */
export function fieldErrorMessage(e: FieldError): string {
  const body = fieldErrorBody(e);
  return e.field === '' ? body : `${e.field}: ${body}`;
}

/** `Status.details.causes` for a list of errors. */
export function statusCauses(errors: readonly FieldError[]): StatusCause[] {
  return errors.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field }));
}

/**
 * The message of an `Invalid` (422) Status: `Deployment.apps "web" is invalid: [a, b]`; one distinct
 * error has no brackets; the core group prints the bare kind.
 */
export function invalidStatusMessage(
  kind: string,
  groupForMessage: string,
  name: string,
  errors: readonly FieldError[],
): string {
  const qualified = groupForMessage === '' ? kind : `${kind}.${groupForMessage}`;
  const head = `${qualified} ${goQuote(name)} is invalid`;
  const msgs = [...new Set(errors.map(fieldErrorMessage))];
  if (msgs.length === 0) return head;
  if (msgs.length === 1) return `${head}: ${msgs[0]}`;
  return `${head}: [${msgs.join(', ')}]`;
}

/** Quote a string the way Go's `%q` / `strconv.Quote` does. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Render a bad value as Go's `%v`/`%q`/`%#v` would for the matching upstream type. */
export function formatGoValue(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (v instanceof GoValue) return v.repr;
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return goStringSlice(v);
  return JSON.stringify(v);
}

/** `map[string]string{"a":"b"}` (sorted keys, as Go prints maps); `(nil)` when absent. */
export function goStringMap(m: Readonly<Record<string, string>> | undefined | null): GoValue {
  if (m === undefined || m === null) return new GoValue('map[string]string(nil)');
  const keys = Object.keys(m).sort();
  return new GoValue(
    `map[string]string{${keys.map((k) => `${goQuote(k)}:${goQuote(String(m[k]))}`).join(', ')}}`,
  );
}

/** `[]string{"a", "b"}`; `[]string(nil)` when absent. */
export function goStringSlice(a: readonly string[] | undefined | null): string {
  if (a === undefined || a === null) return '[]string(nil)';
  return `[]string{${a.map(goQuote).join(', ')}}`;
}

interface SelectorLike {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** A label selector printed as upstream's `v1.LabelSelector{...}` value. */
export function goLabelSelector(sel: SelectorLike | undefined | null): GoValue {
  if (sel === undefined || sel === null) return new GoValue('(*v1.LabelSelector)(nil)');
  const exprs =
    sel.matchExpressions === undefined
      ? '[]v1.LabelSelectorRequirement(nil)'
      : `[]v1.LabelSelectorRequirement{${sel.matchExpressions
          .map(
            (r) =>
              `v1.LabelSelectorRequirement{Key:${goQuote(r.key)}, Operator:${goQuote(r.operator)}, Values:${goStringSlice(r.values)}}`,
          )
          .join(', ')}}`;
  return new GoValue(
    `v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels).repr}, MatchExpressions:${exprs}}`,
  );
}

/** An int-or-string printed as upstream's `intstr.IntOrString{...}` value. */
export function goIntOrString(v: number | string | undefined): GoValue {
  if (typeof v === 'string') return new GoValue(`intstr.IntOrString{Type:1, IntVal:0, StrVal:${goQuote(v)}}`);
  return new GoValue(`intstr.IntOrString{Type:0, IntVal:${v ?? 0}, StrVal:""}`);
}
