/**
 * Server-side field validation (the `fieldValidation` query parameter of create, update and
 * patch): unknown fields checked against the generated OpenAPI definitions, duplicate JSON keys
 * found by a streaming scan of the request text, and duplicate YAML keys with their lines.
 *
 * Messages follow the apiserver's strict decoder: every problem is `unknown field "<path>"` or
 * `duplicate field "<path>"`, paths dotted with `[i]` for list items (`spec.template.spec.
 * containers[0].imagee`), deduplicated and capped at 100 per decode. `Strict` turns them into one
 * failed request, `Warn` (the default) into `Warning: 299` texts, `Ignore` drops them.
 *
 * Orders differ by source, as they do upstream: a JSON create/update body reports unknown and
 * duplicate fields interleaved in document order (one pass over the text); a YAML body reports its
 * duplicate keys first (one `yaml: unmarshal errors:` block), then the unknown fields walked with
 * keys sorted; a patch reports the patch body's duplicates first, then the unknown fields of the
 * patched object walked with keys sorted (upstream re-serialises it from a Go map).
 */
import { isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { generatedDefinitions, type Schema } from '../openapi/schema.js';

/** The values the `fieldValidation` parameter takes (`""` and absent mean `Warn`). */
export type FieldValidationDirective = 'Strict' | 'Warn' | 'Ignore';

/** Which options object names the parameter in the error for an unsupported value. */
export type FieldValidationOptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions';

/** The type an object is checked against. */
export interface TypeRef {
  apiVersion: string;
  kind: string;
}

/** One cause of a 422 Invalid Status. */
export interface FieldValidationCause {
  reason: string;
  message: string;
  field: string;
}

/** What a failed check answers, shaped like the Status the API server writes. */
export interface FieldValidationFailure {
  httpCode: 400 | 422;
  reason: 'BadRequest' | 'Invalid';
  message: string;
  details?: { group: string; kind: string; name: string; causes: FieldValidationCause[] };
}

/** The outcome of a check: fail with `error` (and `failure` for the Status), or go on with `warnings`. */
export interface FieldValidationResult {
  /** The Status message when the request must fail. */
  error?: string;
  /** The whole Status when the request must fail (code, reason, details). */
  failure?: FieldValidationFailure;
  /** Texts for `Warning: 299 - "<text>"` headers, in order. */
  warnings: string[];
}

/** A create or update body, parsed, plus the text it came from when there is one. */
export interface BodyCheckInput extends TypeRef {
  /** The decoded body. */
  obj: unknown;
  /** The body text when it was JSON: gives duplicate keys and upstream's document order. */
  rawJson?: string;
  /** The body text when it was YAML (parse it with `uniqueKeys: false`): gives duplicate keys. */
  rawYaml?: string;
  /** Names the options object in the unsupported-value error; default `CreateOptions`. */
  optionsKind?: FieldValidationOptionsKind;
}

/** A patch request: the patch text and the object it produced. */
export interface PatchCheckInput extends TypeRef {
  patchType: 'json' | 'merge' | 'strategic' | 'apply';
  /** The patch body text. */
  patch: string;
  /** The object after the patch (json, merge and strategic patches). */
  patched?: unknown;
  /** The patched object as serialised by the server (json and merge patches quote it in the error); default JSON.stringify(patched). */
  patchedJson?: string;
}

/** Options of {@link unknownFields}. */
export interface UnknownFieldsOptions {
  /** `document`: the object's own key order (default); `sorted`: keys sorted at every level. */
  order?: 'document' | 'sorted';
}

// ---- compiled per-definition lookup ----

interface StructNode {
  readonly t: 'struct';
  readonly fields: Map<string, FieldNode>;
  /** x-kubernetes-preserve-unknown-fields next to properties: undeclared keys are allowed. */
  readonly open: boolean;
}
interface MapNode {
  readonly t: 'map';
  readonly values: FieldNode;
}
interface ListNode {
  readonly t: 'list';
  readonly items: FieldNode;
}
/** Free-form JSON (preserve-unknown-fields): any key allowed, duplicate keys still reported. */
interface AnyNode {
  readonly t: 'any';
}
/** A value decoded as a whole (scalars, IntOrString, Quantity, Time, RawExtension, FieldsV1): nothing inside is checked. */
interface OpaqueNode {
  readonly t: 'opaque';
}
type FieldNode = StructNode | MapNode | ListNode | AnyNode | OpaqueNode;

const ANY: AnyNode = { t: 'any' };
const OPAQUE: OpaqueNode = { t: 'opaque' };
const MAX_PROBLEMS = 100;

const DEFS = generatedDefinitions();
const compiled = new Map<string, FieldNode>();

/** Definition names by `group/version/kind`, from the x-kubernetes-group-version-kind extensions. */
const BY_GVK: ReadonlyMap<string, string> = (() => {
  const out = new Map<string, string>();
  for (const [name, def] of Object.entries(DEFS)) {
    const gvks = def['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks)) continue;
    for (const g of gvks as { group?: string; version?: string; kind?: string }[]) {
      const key = `${g.group ?? ''}/${g.version ?? ''}/${g.kind ?? ''}`;
      if (!out.has(key)) out.set(key, name);
    }
  }
  return out;
})();

function compileDefinition(name: string): FieldNode {
  const hit = compiled.get(name);
  if (hit !== undefined) return hit;
  const def = DEFS[name];
  if (def === undefined) return OPAQUE;
  if (def.properties !== undefined && def['x-kubernetes-preserve-unknown-fields'] !== true) {
    // Registered before its fields so that recursive definitions resolve to this node.
    const node: StructNode = { t: 'struct', fields: new Map(), open: false };
    compiled.set(name, node);
    fillFields(node, def.properties);
    return node;
  }
  const node = compileSchema(def);
  compiled.set(name, node);
  return node;
}

function fillFields(node: StructNode, properties: Record<string, Schema>): void {
  for (const [key, prop] of Object.entries(properties)) node.fields.set(key, compileSchema(prop));
}

function compileSchema(s: Schema): FieldNode {
  if (s.$ref !== undefined) return compileDefinition(s.$ref.slice(s.$ref.lastIndexOf('/') + 1));
  const only = s.allOf?.length === 1 ? s.allOf[0] : undefined;
  if (only !== undefined && s.properties === undefined) return compileSchema(only);
  if (s['x-kubernetes-int-or-string'] === true) return OPAQUE;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  if (s.properties !== undefined) {
    const node: StructNode = { t: 'struct', fields: new Map(), open: preserve };
    fillFields(node, s.properties);
    return node;
  }
  if (preserve) return ANY;
  if (s.type === 'array') return { t: 'list', items: s.items === undefined ? ANY : compileSchema(s.items) };
  if (s.type === 'object') {
    const ap = s.additionalProperties;
    if (ap === true) return { t: 'map', values: ANY };
    if (ap !== undefined && ap !== false) return { t: 'map', values: compileSchema(ap) };
    // An object schema that declares nothing is decoded as raw JSON (RawExtension, FieldsV1, Patch).
    return OPAQUE;
  }
  return OPAQUE;
}

/** `apps/v1` -> [`apps`, `v1`]; `v1` -> [``, `v1`]. */
function splitApiVersion(apiVersion: string): [group: string, version: string] {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? ['', apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
}

const roots = new Map<string, StructNode | null>();

/** The compiled schema of a kind (apiVersion and kind always allowed at the top), or undefined when none is published. */
function rootNode(type: TypeRef): StructNode | undefined {
  const key = `${type.apiVersion}/${type.kind}`;
  const hit = roots.get(key);
  if (hit !== undefined) return hit ?? undefined;
  const [group, version] = splitApiVersion(type.apiVersion);
  const name = BY_GVK.get(`${group}/${version}/${type.kind}`);
  const node = name === undefined ? undefined : compileDefinition(name);
  let root: StructNode | null = null;
  if (node?.t === 'struct') {
    root = node;
    if (!node.fields.has('apiVersion') || !node.fields.has('kind')) {
      root = { t: 'struct', fields: new Map(node.fields), open: node.open };
      root.fields.set('apiVersion', OPAQUE);
      root.fields.set('kind', OPAQUE);
    }
  }
  roots.set(key, root);
  return root ?? undefined;
}

/** Whether unknown fields of this kind can be checked (the OpenAPI definitions publish its schema). */
export function hasFieldSchema(type: TypeRef): boolean {
  return rootNode(type) !== undefined;
}

// ---- paths and messages ----

type Segment = string | number;

function formatPath(segments: readonly Segment[], last?: Segment): string {
  let out = '';
  const add = (s: Segment): void => {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  };
  for (const s of segments) add(s);
  if (last !== undefined) add(last);
  return out;
}

const NON_PRINTABLE = /[\p{C}\p{Z}]/u;

/** A string quoted the way Go's `%q` prints it (printable Unicode kept, the rest escaped). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
      if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
      else if (c < 0x80) out += `\\x${c.toString(16).padStart(2, '0')}`;
      else if (c <= 0xffff) out += `\\u${c.toString(16).padStart(4, '0')}`;
      else out += `\\U${c.toString(16).padStart(8, '0')}`;
    } else {
      out += ch;
    }
  }
  return `${out}"`;
}

/** Collects strict-decoding problem texts: deduplicated, at most 100 (as the Go decoder keeps them). */
class Problems {
  readonly list: string[] = [];
  private readonly seen = new Set<string>();
  add(text: string): void {
    if (this.list.length >= MAX_PROBLEMS || this.seen.has(text)) return;
    this.seen.add(text);
    this.list.push(text);
  }
}

// ---- unknown fields of a decoded object ----

/**
 * Every path in `obj` that the kind's schema does not declare (`spec.replicass`,
 * `spec.template.spec.containers[0].imagee`, `metadata.labelz`). Maps (labels, annotations,
 * data) take any key; IntOrString, Quantity, RawExtension and preserve-unknown-fields values take
 * anything; an undeclared field is reported once and not looked into. Empty when the kind has no
 * published schema.
 */
export function unknownFields(type: TypeRef, obj: unknown, options: UnknownFieldsOptions = {}): string[] {
  const root = rootNode(type);
  return root === undefined ? [] : collectUnknown(root, obj, options);
}

const bySchema = new WeakMap<Schema, FieldNode>();

/**
 * Unknown fields of `obj` against a schema given by the caller (a CRD version's openAPIV3Schema,
 * say), with `$ref`s resolved in the generated definitions. The schema is compiled once per
 * schema object.
 */
export function unknownFieldsForSchema(
  schema: Schema,
  obj: unknown,
  options: UnknownFieldsOptions = {},
): string[] {
  let node = bySchema.get(schema);
  if (node === undefined) {
    node = compileSchema(schema);
    bySchema.set(schema, node);
  }
  return collectUnknown(node, obj, options);
}

/** Whether collectUnknown would find anything: the same walk, without paths, sorting or a list. */
function hasUnknown(node: FieldNode, value: unknown): boolean {
  switch (node.t) {
    case 'struct': {
      if (!isPlainObject(value)) return false;
      for (const key of Object.keys(value)) {
        const child = node.fields.get(key);
        if (child === undefined ? !node.open : hasUnknown(child, value[key])) return true;
      }
      return false;
    }
    case 'map': {
      if (!isPlainObject(value) || node.values.t === 'opaque' || node.values.t === 'any') return false;
      for (const key of Object.keys(value)) if (hasUnknown(node.values, value[key])) return true;
      return false;
    }
    case 'list': {
      if (!Array.isArray(value) || node.items.t === 'opaque' || node.items.t === 'any') return false;
      for (const item of value) if (hasUnknown(node.items, item)) return true;
      return false;
    }
    default:
      return false;
  }
}

function collectUnknown(root: FieldNode, obj: unknown, options: UnknownFieldsOptions): string[] {
  // Almost every object has no unknown field: find that out with the cheap walk first.
  if (!hasUnknown(root, obj)) return [];
  const out = new Problems();
  const sorted = options.order === 'sorted';
  const segments: Segment[] = [];
  const walk = (node: FieldNode, value: unknown): void => {
    if (out.list.length >= MAX_PROBLEMS) return;
    switch (node.t) {
      case 'struct': {
        if (!isPlainObject(value)) return;
        const keys = Object.keys(value);
        if (sorted) keys.sort();
        for (const key of keys) {
          const child = node.fields.get(key);
          if (child === undefined) {
            if (!node.open) out.add(formatPath(segments, key));
            continue;
          }
          segments.push(key);
          walk(child, value[key]);
          segments.pop();
        }
        return;
      }
      case 'map': {
        if (!isPlainObject(value) || node.values.t === 'opaque' || node.values.t === 'any') return;
        const keys = Object.keys(value);
        if (sorted) keys.sort();
        for (const key of keys) {
          segments.push(key);
          walk(node.values, value[key]);
          segments.pop();
        }
        return;
      }
      case 'list': {
        if (!Array.isArray(value) || node.items.t === 'opaque' || node.items.t === 'any') return;
        for (let i = 0; i < value.length; i++) {
          segments.push(i);
          walk(node.items, value[i]);
          segments.pop();
        }
        return;
      }
      default:
        return;
    }
  };
  walk(root, obj);
  return out.list;
}

/**
 * Drop every field the kind's schema does not declare, in place, as decoding into upstream's typed
 * structs does: under Warn and Ignore an unknown field is accepted but never stored. Returns the
 * number of fields removed. Kinds without a schema are left alone.
 */
export function pruneUnknownFields(type: TypeRef, obj: unknown): number {
  const root = rootNode(type);
  if (!root) return 0;
  let removed = 0;
  const walk = (node: FieldNode, value: unknown): void => {
    if (node.t === 'struct') {
      if (!isPlainObject(value)) return;
      for (const key of Object.keys(value)) {
        const child = node.fields.get(key);
        if (child === undefined) {
          if (!node.open) {
            delete value[key];
            removed++;
          }
          continue;
        }
        walk(child, value[key]);
      }
    } else if (node.t === 'map') {
      if (!isPlainObject(value) || node.values.t === 'opaque' || node.values.t === 'any') return;
      for (const v of Object.values(value)) walk(node.values, v);
    } else if (node.t === 'list') {
      if (!Array.isArray(value) || node.items.t === 'opaque' || node.items.t === 'any') return;
      for (const v of value) walk(node.items, v);
    }
  };
  walk(root, obj);
  return removed;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- streaming scan of JSON text ----

/** The JSON text could not be scanned (it is not valid JSON). */
export class JsonScanError extends Error {
  readonly code = 'FIELD_VALIDATION_JSON_SCAN';
  constructor(offset: number, found: string) {
    super(
      `cannot scan JSON for field validation: unexpected ${found === '' ? 'end of input' : `"${found}"`} at offset ${offset}`,
    );
    this.name = 'JsonScanError';
  }
}

/**
 * One pass over JSON text reporting, in document order, keys a struct does not declare
 * (`unknown field`, value skipped) and keys repeated in one object (`duplicate field`). A key
 * that is both unknown and repeated is reported once, as unknown, as the Go decoder does.
 */
type ProblemKind = 'unknown' | 'duplicate';

function scanJson(text: string, root: FieldNode, report: (kind: ProblemKind, path: string) => void): void {
  let i = 0;
  const segments: Segment[] = [];
  const n = text.length;

  const fail = (): never => {
    throw new JsonScanError(i, text.charAt(i));
  };
  const ws = (): void => {
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
    }
  };
  /** Past a string starting at text[i] === '"'; returns the raw slice including the quotes. */
  const skipString = (): string => {
    const start = i;
    for (i++; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x5c) i++;
      else if (c === 0x22) return text.slice(start, ++i);
    }
    return fail();
  };
  const readKey = (): string => {
    if (text.charCodeAt(i) !== 0x22) fail();
    const raw = skipString();
    return raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  };
  /** Past the value starting at text[i], without looking inside it. */
  const skipValue = (): void => {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      skipString();
      return;
    }
    if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x22) {
          skipString();
          continue;
        }
        i++;
        if (d === 0x7b || d === 0x5b) depth++;
        else if ((d === 0x7d || d === 0x5d) && --depth === 0) return;
      }
      fail();
    }
    // A literal: number, true, false or null.
    const start = i;
    for (; i < n; i++) {
      const d = text.charCodeAt(i);
      if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09)
        break;
    }
    if (i === start) fail();
  };
  const value = (node: FieldNode): void => {
    ws();
    const c = text.charCodeAt(i);
    if (c === 0x7b && (node.t === 'struct' || node.t === 'map' || node.t === 'any')) object(node);
    else if (c === 0x5b && (node.t === 'list' || node.t === 'any'))
      array(node.t === 'list' ? node.items : ANY);
    else skipValue();
  };
  const object = (node: StructNode | MapNode | AnyNode): void => {
    i++;
    ws();
    if (text.charCodeAt(i) === 0x7d) {
      i++;
      return;
    }
    let seen: Set<string> | undefined;
    for (;;) {
      ws();
      const key = readKey();
      ws();
      if (text.charCodeAt(i) !== 0x3a) fail();
      i++;
      let child: FieldNode | undefined;
      if (node.t === 'struct') {
        child = node.fields.get(key);
        if (child === undefined && node.open) child = ANY;
      } else {
        child = node.t === 'map' ? node.values : ANY;
      }
      if (child === undefined) {
        report('unknown', formatPath(segments, key));
        ws();
        skipValue();
      } else {
        seen ??= new Set();
        if (seen.has(key)) report('duplicate', formatPath(segments, key));
        else seen.add(key);
        segments.push(key);
        value(child);
        segments.pop();
      }
      ws();
      const sep = text.charCodeAt(i);
      i++;
      if (sep === 0x2c) continue;
      if (sep === 0x7d) return;
      i--;
      fail();
    }
  };
  const array = (items: FieldNode): void => {
    i++;
    ws();
    if (text.charCodeAt(i) === 0x5d) {
      i++;
      return;
    }
    for (let index = 0; ; index++) {
      segments.push(index);
      value(items);
      segments.pop();
      ws();
      const sep = text.charCodeAt(i);
      i++;
      if (sep === 0x2c) continue;
      if (sep === 0x5d) return;
      i--;
      fail();
    }
  };
  value(root);
}

/**
 * Paths of JSON object keys that appear twice in one object (`replicas` -> `spec.replicas`,
 * `metadata.labels.app` for a map key), in document order, from one streaming pass over the text
 * (no second parse). Throws {@link JsonScanError} when the text is not JSON.
 */
export function duplicateFields(jsonText: string): string[] {
  const paths = new Set<string>();
  scanJson(jsonText, ANY, (_kind, path) => {
    if (paths.size < MAX_PROBLEMS) paths.add(path);
  });
  return [...paths];
}

/**
 * The strict-decoding problems of a JSON body for a kind, as upstream words them, in document
 * order: `unknown field "spec.foo"` and `duplicate field "spec.replicas"` interleaved. Without a
 * published schema only duplicates are reported.
 */
export function jsonStrictProblems(type: TypeRef, jsonText: string): string[] {
  const problems = new Problems();
  scanJson(jsonText, rootNode(type) ?? ANY, (kind, path) => problems.add(`${kind} field ${goQuote(path)}`));
  return problems.list;
}

// ---- duplicate YAML keys ----

/**
 * Duplicate mapping keys of a YAML (or JSON) text as go-yaml reports them, in document order:
 * `line 5: key "name" already set in map` (the line of the repeated key).
 */
export function yamlDuplicateKeys(yamlText: string): string[] {
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { uniqueKeys: false, lineCounter: lines });
  const found: { offset: number; text: string }[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = pair.key;
        const k: unknown = isScalar(key) ? key.value : String(key);
        if (seen.has(k)) {
          const offset = isScalar(key) && key.range ? key.range[0] : 0;
          const shown = typeof k === 'string' ? goQuote(k) : String(k);
          found.push({ offset, text: `line ${lines.linePos(offset).line}: key ${shown} already set in map` });
        } else {
          seen.add(k);
        }
      }
    },
  });
  return found.sort((a, b) => a.offset - b.offset).map((f) => f.text);
}

function yamlErrorsBlock(lines: readonly string[]): string {
  return `yaml: unmarshal errors:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

// ---- the directive ----

const SUPPORTED = ['', 'Ignore', 'Strict', 'Warn'] as const;

/**
 * The directive a request asked for: absent or `""` is `Warn`; an unsupported value is a 422
 * Invalid on the options object, worded as upstream's `field.NotSupported`.
 */
export function parseFieldValidation(
  value: string | readonly string[] | undefined,
  optionsKind: FieldValidationOptionsKind = 'CreateOptions',
): { directive: FieldValidationDirective } | { failure: FieldValidationFailure } {
  const v = typeof value === 'string' ? value : (value?.[0] ?? '');
  if (v === '' || v === 'Warn') return { directive: 'Warn' };
  if (v === 'Strict' || v === 'Ignore') return { directive: v };
  const body = `Unsupported value: ${goQuote(v)}: supported values: ${SUPPORTED.map((s) => goQuote(s)).join(', ')}`;
  return {
    failure: {
      httpCode: 422,
      reason: 'Invalid',
      message: `${optionsKind}.meta.k8s.io "" is invalid: fieldValidation: ${body}`,
      details: {
        group: 'meta.k8s.io',
        kind: optionsKind,
        name: '',
        causes: [{ reason: 'FieldValueNotSupported', message: body, field: 'fieldValidation' }],
      },
    },
  };
}

function failed(failure: FieldValidationFailure): FieldValidationResult {
  return { error: failure.message, failure, warnings: [] };
}

function decided(
  directive: FieldValidationDirective,
  problems: string[],
  strict: (joined: string) => FieldValidationFailure,
  warnings: () => string[] = () => problems,
): FieldValidationResult {
  if (directive === 'Ignore' || problems.length === 0) return { warnings: [] };
  if (directive === 'Warn') return { warnings: warnings() };
  return failed(strict(`strict decoding error: ${problems.join(', ')}`));
}

/**
 * Field validation of a create or update body. `Strict` with problems fails with upstream's 400:
 * `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown
 * field "spec.foo"`; `Warn` (also when the parameter is absent) returns one warning per problem;
 * `Ignore` returns nothing. An unsupported directive fails with a 422 on the options object.
 */
export function checkFieldValidation(
  mode: string | readonly string[] | undefined,
  input: BodyCheckInput,
): FieldValidationResult {
  const parsed = parseFieldValidation(mode, input.optionsKind ?? 'CreateOptions');
  if ('failure' in parsed) return failed(parsed.failure);
  const { directive } = parsed;
  if (directive === 'Ignore') return { warnings: [] };

  let problems: string[];
  let yamlLines: string[] = [];
  if (input.rawJson !== undefined) {
    problems = jsonStrictProblems(input, input.rawJson);
  } else {
    if (input.rawYaml !== undefined) yamlLines = yamlDuplicateKeys(input.rawYaml);
    // Upstream decodes YAML through a Go map, so its unknown fields come out with keys sorted.
    const order = input.rawYaml !== undefined ? 'sorted' : 'document';
    problems = unknownFields(input, input.obj, { order }).map((p) => `unknown field ${goQuote(p)}`);
    if (yamlLines.length > 0) problems = [yamlErrorsBlock(yamlLines), ...problems];
  }
  const version = splitApiVersion(input.apiVersion)[1];
  return decided(
    directive,
    problems,
    (joined) => ({
      httpCode: 400,
      reason: 'BadRequest',
      message: `${input.kind} in version ${goQuote(version)} cannot be handled as a ${input.kind}: ${joined}`,
    }),
    () => (yamlLines.length > 0 ? [...yamlLines, ...problems.slice(1)] : problems),
  );
}

/** Fields of one JSON patch operation, as the apiserver decodes them strictly. */
const JSON_PATCH_OPS: ListNode = {
  t: 'list',
  items: {
    t: 'struct',
    open: false,
    fields: new Map<string, FieldNode>([
      ['op', OPAQUE],
      ['path', OPAQUE],
      ['from', OPAQUE],
      ['value', ANY],
    ]),
  },
};

/**
 * Field validation of a patch. What differs from create/update, as upstream does it:
 * - json, merge and strategic patches fail with a 422 Invalid on field `patch` whose value is the
 *   patched object's JSON (json/merge) or the patch as a Go map (strategic), not a 400;
 * - the patch body's own duplicate keys come first (every repeated key, even an undeclared one),
 *   then the unknown fields of the patched object, walked with keys sorted;
 * - a JSON patch reports its operations' undeclared or repeated keys as `json patch unknown field
 *   "[0].foo"` / `json patch duplicate field "[1].path"` instead of body duplicates;
 * - an apply patch reports only duplicate YAML keys (its unknown fields are the field manager's
 *   schema errors), failing with a 400 `error strict decoding YAML: ...`.
 */
export function checkPatchFieldValidation(
  mode: string | readonly string[] | undefined,
  input: PatchCheckInput,
): FieldValidationResult {
  const parsed = parseFieldValidation(mode, 'PatchOptions');
  if ('failure' in parsed) return failed(parsed.failure);
  const { directive } = parsed;
  if (directive === 'Ignore') return { warnings: [] };

  if (input.patchType === 'apply') {
    const lines = yamlDuplicateKeys(input.patch);
    return decided(directive, lines, () => ({
      httpCode: 400,
      reason: 'BadRequest',
      message: `error strict decoding YAML: error converting YAML to JSON: ${yamlErrorsBlock(lines)}`,
    }));
  }

  const problems = new Problems();
  if (input.patchType === 'json') {
    scanJson(input.patch, JSON_PATCH_OPS, (kind, path) =>
      problems.add(`json patch ${kind} field ${goQuote(path)}`),
    );
  } else {
    scanJson(input.patch, ANY, (kind, path) => problems.add(`${kind} field ${goQuote(path)}`));
  }
  for (const p of unknownFields(input, input.patched, { order: 'sorted' }))
    problems.add(`unknown field ${goQuote(p)}`);

  return decided(directive, problems.list, (joined) => {
    // Only a failure shows the value: a patch that passes does not pay for serializing it.
    const badValue =
      input.patchType === 'strategic'
        ? goFormat(JSON.parse(input.patch))
        : (input.patchedJson ?? JSON.stringify(input.patched));
    const body = `Invalid value: ${goQuote(badValue)}: ${joined}`;
    return {
      httpCode: 422,
      reason: 'Invalid',
      message: ` "" is invalid: patch: ${body}`,
      details: {
        group: '',
        kind: '',
        name: '',
        causes: [{ reason: 'FieldValueInvalid', message: body, field: 'patch' }],
      },
    };
  });
}

/** A decoded JSON value printed as Go's `%+v` prints a map[string]interface{} (keys sorted). */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    return `map[${keys.map((k) => `${k}:${goFormat(o[k])}`).join(' ')}]`;
  }
  if (typeof v === 'number') return goFloat(v);
  return String(v);
}

/** A number as Go's `%v` prints a float64 (exponent form below 1e-4 and from 1e21). */
function goFloat(n: number): string {
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) {
    const [mantissa, exp = '0'] = n.toExponential().split('e');
    const sign = exp.startsWith('-') ? '-' : '+';
    const digits = exp.replace(/^[+-]/, '').padStart(2, '0');
    return `${mantissa}e${sign}${digits}`;
  }
  return String(n);
}
