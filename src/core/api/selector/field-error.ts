/**
 * A validation failure of one field, shaped like upstream's field.Error so the API server can turn
 * a list of them into a `422 Invalid` Status with `details.causes`.
 */

export type FieldErrorType = 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden';

export interface FieldError {
  /** The Status cause reason. */
  type: FieldErrorType;
  /** Dotted path of the field, e.g. `spec.selector.matchExpressions[0].key`. */
  field: string;
  /** The offending value, for `FieldValueInvalid`. */
  badValue?: unknown;
  detail: string;
  /** Upstream's rendering: `<field>: Invalid value: "<v>": <detail>`. */
  message: string;
}

/** Go's `%q`/`%#v` look of a bad value, as upstream prints it in field errors. */
export function formatBadValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]string(nil)';
    return `[]string{${value.map((v) => JSON.stringify(String(v))).join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** A `FieldValueInvalid` error. */
export function invalidField(field: string, value: unknown, detail: string): FieldError {
  return {
    type: 'FieldValueInvalid',
    field,
    badValue: value,
    detail,
    message: `${field}: Invalid value: ${formatBadValue(value)}: ${detail}`,
  };
}

/** A `FieldValueRequired` error. */
export function requiredField(field: string, detail: string): FieldError {
  return { type: 'FieldValueRequired', field, detail, message: `${field}: Required value: ${detail}` };
}

/** A `FieldValueForbidden` error. */
export function forbiddenField(field: string, detail: string): FieldError {
  return { type: 'FieldValueForbidden', field, detail, message: `${field}: Forbidden: ${detail}` };
}
