/**
 * Field selectors (`?fieldSelector=metadata.name=x,spec.nodeName!=y`): parsing with upstream's
 * escaping rules (`\,` `\=` `\\` in values), the per-kind table of selectable fields, and
 * matching. Mirrors apimachinery's `fields` package and each registry's SelectableFields.
 */

import { resourceForKind } from '../resources.js';
import { SelectorParseError } from './errors.js';

export type FieldOperator = '=' | '==' | '!=';

export interface FieldRequirement {
  field: string;
  operator: FieldOperator;
  /** Unescaped value. */
  value: string;
}

/** A conjunction of field requirements; empty selects everything. */
export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
}

/** The selector that matches everything. */
export const ALL_FIELDS: FieldSelector = { requirements: [] };

/** Split on commas that are not escaped by a backslash. */
function splitTerms(text: string): string[] {
  if (text === '') return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

// Tried in this order at every position, so `!=` and `==` win over `=`.
const TERM_OPERATORS: readonly FieldOperator[] = ['!=', '==', '='];

function splitTerm(term: string): [string, FieldOperator, string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of TERM_OPERATORS) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

/** Undo `\\`, `\,` and `\=` escapes of a field selector value; unescaped `,` or `=` are errors. */
export function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let escaped = false;
  for (const c of s) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw new Error(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      escaped = false;
    } else if (c === '\\') {
      escaped = true;
    } else if (c === ',' || c === '=') {
      // Upstream prints the rune with %v, i.e. as its code point.
      throw new Error(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else {
      out += c;
    }
  }
  if (escaped) throw new Error('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Escape `\`, `,` and `=` in a field selector value. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/**
 * Parse the string form of a field selector; terms are sorted as upstream sorts them. Throws
 * SelectorParseError (`InvalidFieldSelector`).
 */
export function parseFieldSelector(text: string): FieldSelector {
  const parts = splitTerms(text).sort();
  const requirements: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const split = splitTerm(part);
    if (split === undefined) {
      throw new SelectorParseError(
        'InvalidFieldSelector',
        `invalid selector: '${text}'; can't understand '${part}'`,
        text,
      );
    }
    const [field, operator, raw] = split;
    let value: string;
    try {
      value = unescapeFieldValue(raw);
    } catch (e) {
      throw new SelectorParseError('InvalidFieldSelector', (e as Error).message, text);
    }
    requirements.push({ field, operator, value });
  }
  return { requirements };
}

/** The string form of a field selector, values escaped. */
export function fieldSelectorToString(sel: FieldSelector): string {
  return sel.requirements
    .map((r) => `${r.field}${r.operator === '!=' ? '!=' : '='}${escapeFieldValue(r.value)}`)
    .join(',');
}

/** The value a selector requires `field` to equal exactly, if any (for index lookups). */
export function requiresExactMatch(sel: FieldSelector, field: string): string | undefined {
  for (const r of sel.requirements) {
    if (r.field === field && r.operator !== '!=') return r.value;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Selectable fields per kind

type Obj = Record<string, unknown>;
type Extract = (obj: Obj) => string;

function get(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Obj)[p];
  }
  return cur;
}

function str(path: string): Extract {
  return (o) => {
    const v = get(o, path);
    return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
  };
}

/** Go's strconv.FormatBool of a bool field (absent is false). */
function bool(path: string): Extract {
  return (o) => (get(o, path) === true ? 'true' : 'false');
}

/** Go's strconv.Itoa of an int field (absent is 0). */
function int(path: string): Extract {
  return (o) => {
    const v = get(o, path);
    return typeof v === 'number' ? String(Math.trunc(v)) : '0';
  };
}

interface KindFields {
  fields: Record<string, Extract>;
  /** Old names the conversion accepts and rewrites (`spec.host` -> `spec.nodeName`). */
  aliases?: Record<string, string>;
  /** Kinds with their own conversion say `field label not supported`; the rest use the default text. */
  custom: boolean;
}

const META: Record<string, Extract> = {
  'metadata.name': str('metadata.name'),
  'metadata.namespace': str('metadata.namespace'),
};

const KINDS: Record<string, KindFields> = {
  'v1/Pod': {
    custom: true,
    fields: {
      ...META,
      'spec.nodeName': str('spec.nodeName'),
      'spec.restartPolicy': str('spec.restartPolicy'),
      'spec.schedulerName': str('spec.schedulerName'),
      'spec.serviceAccountName': str('spec.serviceAccountName'),
      'spec.hostNetwork': bool('spec.hostNetwork'),
      'status.phase': str('status.phase'),
      'status.podIP': str('status.podIP'),
      'status.nominatedNodeName': str('status.nominatedNodeName'),
    },
    aliases: { 'spec.host': 'spec.nodeName' },
  },
  'v1/Event': {
    custom: true,
    fields: {
      ...META,
      'involvedObject.kind': str('involvedObject.kind'),
      'involvedObject.namespace': str('involvedObject.namespace'),
      'involvedObject.name': str('involvedObject.name'),
      'involvedObject.uid': str('involvedObject.uid'),
      'involvedObject.apiVersion': str('involvedObject.apiVersion'),
      'involvedObject.resourceVersion': str('involvedObject.resourceVersion'),
      'involvedObject.fieldPath': str('involvedObject.fieldPath'),
      reason: str('reason'),
      reportingComponent: str('reportingComponent'),
      source: str('source.component'),
      type: str('type'),
    },
  },
  'v1/Secret': { custom: true, fields: { ...META, type: str('type') } },
  'v1/Node': {
    custom: true,
    fields: { 'metadata.name': str('metadata.name'), 'spec.unschedulable': bool('spec.unschedulable') },
  },
  'v1/Namespace': {
    custom: true,
    fields: { 'metadata.name': str('metadata.name'), 'status.phase': str('status.phase') },
  },
  'v1/Service': {
    custom: true,
    fields: { ...META, 'spec.clusterIP': str('spec.clusterIP'), 'spec.type': str('spec.type') },
  },
  'apps/v1/ReplicaSet': { custom: true, fields: { ...META, 'status.replicas': int('status.replicas') } },
  'batch/v1/Job': { custom: true, fields: { ...META, 'status.successful': int('status.succeeded') } },
};

const DEFAULT_KIND: KindFields = { custom: false, fields: META };

export interface KindRef {
  apiVersion: string;
  kind: string;
}

function kindFields(ref: KindRef): KindFields {
  return KINDS[`${ref.apiVersion}/${ref.kind}`] ?? DEFAULT_KIND;
}

/** The field labels a kind can be selected by. */
export function supportedFieldLabels(ref: KindRef): string[] {
  return Object.keys(kindFields(ref).fields);
}

/**
 * Check every field of `sel` is selectable for the kind and rewrite legacy aliases. Throws
 * SelectorParseError (`FieldLabelNotSupported`) with upstream's message for that kind.
 */
export function checkFieldSelector(sel: FieldSelector, ref: KindRef): FieldSelector {
  const kf = kindFields(ref);
  const requirements = sel.requirements.map((r) => {
    const field =
      kf.aliases && Object.hasOwn(kf.aliases, r.field) ? (kf.aliases[r.field] as string) : r.field;
    if (!Object.hasOwn(kf.fields, field)) {
      const message = kf.custom
        ? `field label not supported: ${r.field}`
        : `"${r.field}" is not a known field selector: only "metadata.name", "metadata.namespace"`;
      throw new SelectorParseError('FieldLabelNotSupported', message, fieldSelectorToString(sel));
    }
    return field === r.field ? r : { ...r, field };
  });
  return { requirements };
}

/** The selectable field values of `obj` (upstream's per-registry fields.Set). */
export function selectableFields(obj: object, ref?: KindRef): Record<string, string> {
  const o = obj as Obj;
  const r = ref ?? { apiVersion: String(o.apiVersion ?? ''), kind: String(o.kind ?? '') };
  const out: Record<string, string> = {};
  for (const [name, extract] of Object.entries(kindFields(r).fields)) out[name] = extract(o);
  // Cluster-scoped objects have no metadata.namespace field.
  if (resourceForKind(r.apiVersion, r.kind)?.namespaced === false) delete out['metadata.namespace'];
  return out;
}

/**
 * Whether `obj` satisfies every requirement. The kind comes from `ref` or else from the object's
 * apiVersion/kind. A field the object's kind does not have compares as the empty string.
 */
export function fieldSelectorMatches(obj: object, sel: FieldSelector, ref?: KindRef): boolean {
  if (sel.requirements.length === 0) return true;
  const set = selectableFields(obj, ref);
  return sel.requirements.every((r) => {
    const have = Object.hasOwn(set, r.field) ? set[r.field] : '';
    return r.operator === '!=' ? have !== r.value : have === r.value;
  });
}
