/**
 * The swagger 2.0 document in the protobuf form kubectl and client-go ask for first
 * (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`): the `openapi.v2.Document`
 * message of gnostic's OpenAPIv2 schema. kubectl decodes it with gnostic-models and reads
 * definitions, their `x-kubernetes-group-version-kind` and the operations' query parameters from
 * it; without it `kubectl apply` of an unknown kind stops at "failed to download openapi".
 *
 * A hand-written encoder: a wire writer plus one field table per message. Field numbers follow
 * gnostic's OpenAPIv2.proto. As there, every `x-` key of an object that carries vendor
 * extensions becomes a NamedAny whose Any.yaml is the YAML text of the value, and `default`,
 * `example` and `enum` values are Any.yaml too. proto3 rules: scalars equal to their zero value
 * are left out; present sub-messages (even empty ones) and oneof members are always written, so
 * that `properties: {}` still decodes as a non-nil Properties (kube-openapi tells a Kind from a
 * Map by that).
 */
import { stringify } from 'yaml';
import { openapiV2, openapiV2Serialized } from './openapi.js';

/**
 * The Content-Type of the protobuf answer. kube-openapi answers with this spelling even when asked
 * for the deprecated `...spec.v2@v1.0+protobuf` one (which kubectl sends): Go's mime parser rejects
 * the `@`, so a client fails with "mime: unexpected content after media subtype" if it is echoed.
 */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** The deprecated spelling that kubectl and client-go put in Accept. */
const DEPRECATED_MEDIA_TYPE = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/** The protobuf document ready to serve: its bytes and its ETag value (unquoted). */
export interface SerializedProtobuf {
  body: Buffer;
  etag: string;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;

/**
 * Appends protobuf wire data. Sub-messages are encoded into their own writer first (their
 * length must be known before the bytes) and linked, not copied; `finish()` copies once.
 */
class ProtoWriter {
  length = 0;
  private readonly chunks: Array<Uint8Array | ProtoWriter> = [];
  private scratch: number[] = [];

  private flush(): void {
    if (this.scratch.length > 0) {
      this.chunks.push(Uint8Array.from(this.scratch));
      this.scratch = [];
    }
  }

  /** An unsigned varint; negative numbers are written as 64-bit two's complement (int64). */
  varint(n: number): void {
    if (n < 0 || n > Number.MAX_SAFE_INTEGER) {
      let b = BigInt.asUintN(64, BigInt(Math.trunc(n)));
      while (b > 127n) {
        this.scratch.push(Number(b & 127n) | 128);
        b >>= 7n;
        this.length++;
      }
      this.scratch.push(Number(b));
      this.length++;
      return;
    }
    let v = Math.trunc(n);
    while (v > 127) {
      this.scratch.push((v % 128) | 128);
      v = Math.floor(v / 128);
      this.length++;
    }
    this.scratch.push(v);
    this.length++;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  string(field: number, s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.tag(field, WIRE_LEN);
    this.varint(bytes.length);
    this.flush();
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  bool(field: number, b: boolean): void {
    this.tag(field, WIRE_VARINT);
    this.varint(b ? 1 : 0);
  }

  double(field: number, d: number): void {
    this.tag(field, WIRE_FIXED64);
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleLE(d);
    for (const b of bytes) this.scratch.push(b);
    this.length += 8;
  }

  /** A length-delimited sub-message; `child` must be complete. */
  message(field: number, child: ProtoWriter): void {
    this.tag(field, WIRE_LEN);
    this.varint(child.length);
    this.flush();
    child.flush();
    this.chunks.push(child);
    this.length += child.length;
  }

  finish(): Buffer {
    this.flush();
    const out = Buffer.allocUnsafe(this.length);
    this.copyInto(out, 0);
    return out;
  }

  private copyInto(out: Buffer, offset: number): number {
    let at = offset;
    for (const c of this.chunks) {
      if (c instanceof ProtoWriter) at = c.copyInto(out, at);
      else {
        out.set(c, at);
        at += c.length;
      }
    }
    return at;
  }
}

/** Writes the fields of one message, read from a JSON value, into `w`. */
type Encode = (w: ProtoWriter, v: unknown) => void;

type Kind =
  | 'string'
  | 'bool'
  | 'double'
  | 'int64'
  | 'strings'
  | 'any'
  | 'anys'
  | { one: Encode }
  | { many: Encode };

/** JSON key, field number, how the value is written. */
type FieldSpec = readonly [key: string, no: number, kind: Kind];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [v];
}

function sub(w: ProtoWriter, no: number, encode: Encode, v: unknown): void {
  const child = new ProtoWriter();
  encode(child, v);
  w.message(no, child);
}

/** The YAML text gnostic keeps for a free-form value (yaml 1.1 quoting, as go-yaml writes it). */
function yamlOf(v: unknown): string {
  return stringify(v, { version: '1.1', lineWidth: 0 });
}

/** Any { yaml = 2 } */
function anyValue(w: ProtoWriter, v: unknown): void {
  w.string(2, yamlOf(v));
}

function writeField(w: ProtoWriter, no: number, kind: Kind, v: unknown): void {
  switch (kind) {
    case 'string':
      if (typeof v === 'string' && v !== '') w.string(no, v);
      return;
    case 'bool':
      if (v === true) w.bool(no, true);
      return;
    case 'double':
      if (typeof v === 'number' && v !== 0) w.double(no, v);
      return;
    case 'int64':
      if (typeof v === 'number' && Number.isFinite(v) && Math.trunc(v) !== 0) {
        w.tag(no, WIRE_VARINT);
        w.varint(v);
      }
      return;
    case 'strings':
      for (const s of asList(v)) if (typeof s === 'string') w.string(no, s);
      return;
    case 'any':
      sub(w, no, anyValue, v);
      return;
    case 'anys':
      for (const x of asList(v)) sub(w, no, anyValue, x);
      return;
    default:
      if ('one' in kind) sub(w, no, kind.one, v);
      else for (const x of asList(v)) sub(w, no, kind.many, x);
  }
}

/** NamedAny { name = 1; value = 2 (Any) } for every `x-` key of `obj`, as field `no`. */
function writeVendorExtensions(w: ProtoWriter, no: number, obj: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(obj)) {
    if (!k.startsWith('x-') || v === undefined) continue;
    const named = new ProtoWriter();
    named.string(1, k);
    sub(named, 2, anyValue, v);
    w.message(no, named);
  }
}

/** Writes the listed fields of `v` in field-number order, then its vendor extensions (if `vendorNo`). */
function writeFields(w: ProtoWriter, v: unknown, specs: readonly FieldSpec[], vendorNo?: number): void {
  if (!isObject(v)) return;
  for (const [key, no, kind] of specs) {
    const value = v[key];
    if (value !== undefined && value !== null) writeField(w, no, kind, value);
  }
  if (vendorNo !== undefined) writeVendorExtensions(w, vendorNo, v);
}

/**
 * A map message: `repeated Named<X> field = no` with Named<X> { name = 1; value = 2 }. Keys
 * starting with `x-` are skipped when `skipVendor` (they go to the message's vendor_extension).
 */
function writeNamed(
  w: ProtoWriter,
  no: number,
  v: unknown,
  opts: { value: (w: ProtoWriter, no: number, v: unknown) => void; skipVendor: boolean },
): void {
  if (!isObject(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if ((opts.skipVendor && k.startsWith('x-')) || x === undefined) continue;
    const named = new ProtoWriter();
    named.string(1, k);
    opts.value(named, 2, x);
    w.message(no, named);
  }
}

const messageValue =
  (encode: Encode) =>
  (w: ProtoWriter, no: number, v: unknown): void =>
    sub(w, no, encode, v);

/** The 13 validation fields that parameters, items and headers share, from field `start` on. */
function validationFields(start: number): FieldSpec[] {
  const kinds: Array<[string, Kind]> = [
    ['default', 'any'],
    ['maximum', 'double'],
    ['exclusiveMaximum', 'bool'],
    ['minimum', 'double'],
    ['exclusiveMinimum', 'bool'],
    ['maxLength', 'int64'],
    ['minLength', 'int64'],
    ['pattern', 'string'],
    ['maxItems', 'int64'],
    ['minItems', 'int64'],
    ['uniqueItems', 'bool'],
    ['enum', 'anys'],
    ['multipleOf', 'double'],
  ];
  return kinds.map(([key, kind], i) => [key, start + i, kind] as const);
}

const CONTACT: readonly FieldSpec[] = [
  ['name', 1, 'string'],
  ['url', 2, 'string'],
  ['email', 3, 'string'],
];
const LICENSE: readonly FieldSpec[] = [
  ['name', 1, 'string'],
  ['url', 2, 'string'],
];
const EXTERNAL_DOCS: readonly FieldSpec[] = [
  ['description', 1, 'string'],
  ['url', 2, 'string'],
];
const INFO: readonly FieldSpec[] = [
  ['title', 1, 'string'],
  ['version', 2, 'string'],
  ['description', 3, 'string'],
  ['termsOfService', 4, 'string'],
  ['contact', 5, { one: contact }],
  ['license', 6, { one: license }],
];
const TAG: readonly FieldSpec[] = [
  ['name', 1, 'string'],
  ['description', 2, 'string'],
  ['externalDocs', 3, { one: externalDocs }],
];
const XML: readonly FieldSpec[] = [
  ['name', 1, 'string'],
  ['namespace', 2, 'string'],
  ['prefix', 3, 'string'],
  ['attribute', 4, 'bool'],
  ['wrapped', 5, 'bool'],
];
const SCHEMA: readonly FieldSpec[] = [
  ['$ref', 1, 'string'],
  ['format', 2, 'string'],
  ['title', 3, 'string'],
  ['description', 4, 'string'],
  ['default', 5, 'any'],
  ['multipleOf', 6, 'double'],
  ['maximum', 7, 'double'],
  ['exclusiveMaximum', 8, 'bool'],
  ['minimum', 9, 'double'],
  ['exclusiveMinimum', 10, 'bool'],
  ['maxLength', 11, 'int64'],
  ['minLength', 12, 'int64'],
  ['pattern', 13, 'string'],
  ['maxItems', 14, 'int64'],
  ['minItems', 15, 'int64'],
  ['uniqueItems', 16, 'bool'],
  ['maxProperties', 17, 'int64'],
  ['minProperties', 18, 'int64'],
  ['required', 19, 'strings'],
  ['enum', 20, 'anys'],
  ['additionalProperties', 21, { one: additionalPropertiesItem }],
  ['type', 22, { one: typeItem }],
  ['items', 23, { one: itemsItem }],
  ['allOf', 24, { many: schema }],
  ['properties', 25, { one: properties }],
  ['discriminator', 26, 'string'],
  ['readOnly', 27, 'bool'],
  ['xml', 28, { one: xml }],
  ['externalDocs', 29, { one: externalDocs }],
  ['example', 30, 'any'],
];
const FILE_SCHEMA: readonly FieldSpec[] = [
  ['format', 1, 'string'],
  ['title', 2, 'string'],
  ['description', 3, 'string'],
  ['default', 4, 'any'],
  ['required', 5, 'strings'],
  ['type', 6, 'string'],
  ['readOnly', 7, 'bool'],
  ['externalDocs', 8, { one: externalDocs }],
  ['example', 9, 'any'],
];
const PRIMITIVES_ITEMS: readonly FieldSpec[] = [
  ['type', 1, 'string'],
  ['format', 2, 'string'],
  ['items', 3, { one: primitivesItems }],
  ['collectionFormat', 4, 'string'],
  ...validationFields(5),
];
const HEADER: readonly FieldSpec[] = [...PRIMITIVES_ITEMS, ['description', 18, 'string']];
/** QueryParameterSubSchema and FormDataParameterSubSchema (same numbering). */
const QUERY_OR_FORM_PARAMETER: readonly FieldSpec[] = [
  ['required', 1, 'bool'],
  ['in', 2, 'string'],
  ['description', 3, 'string'],
  ['name', 4, 'string'],
  ['allowEmptyValue', 5, 'bool'],
  ['type', 6, 'string'],
  ['format', 7, 'string'],
  ['items', 8, { one: primitivesItems }],
  ['collectionFormat', 9, 'string'],
  ...validationFields(10),
];
/** HeaderParameterSubSchema and PathParameterSubSchema (same numbering). */
const HEADER_OR_PATH_PARAMETER: readonly FieldSpec[] = [
  ['required', 1, 'bool'],
  ['in', 2, 'string'],
  ['description', 3, 'string'],
  ['name', 4, 'string'],
  ['type', 5, 'string'],
  ['format', 6, 'string'],
  ['items', 7, { one: primitivesItems }],
  ['collectionFormat', 8, 'string'],
  ...validationFields(9),
];
const BODY_PARAMETER: readonly FieldSpec[] = [
  ['description', 1, 'string'],
  ['name', 2, 'string'],
  ['in', 3, 'string'],
  ['required', 4, 'bool'],
  ['schema', 5, { one: schema }],
];
const JSON_REFERENCE: readonly FieldSpec[] = [
  ['$ref', 1, 'string'],
  ['description', 2, 'string'],
];
const RESPONSE: readonly FieldSpec[] = [
  ['description', 1, 'string'],
  ['schema', 2, { one: schemaItem }],
  ['headers', 3, { one: headers }],
  ['examples', 4, { one: examples }],
];
const OPERATION: readonly FieldSpec[] = [
  ['tags', 1, 'strings'],
  ['summary', 2, 'string'],
  ['description', 3, 'string'],
  ['externalDocs', 4, { one: externalDocs }],
  ['operationId', 5, 'string'],
  ['produces', 6, 'strings'],
  ['consumes', 7, 'strings'],
  ['parameters', 8, { many: parametersItem }],
  ['responses', 9, { one: responses }],
  ['schemes', 10, 'strings'],
  ['deprecated', 11, 'bool'],
  ['security', 12, { many: securityRequirement }],
];
const PATH_ITEM: readonly FieldSpec[] = [
  ['$ref', 1, 'string'],
  ['get', 2, { one: operation }],
  ['put', 3, { one: operation }],
  ['post', 4, { one: operation }],
  ['delete', 5, { one: operation }],
  ['options', 6, { one: operation }],
  ['head', 7, { one: operation }],
  ['patch', 8, { one: operation }],
  ['parameters', 9, { many: parametersItem }],
];
const API_KEY_SECURITY: readonly FieldSpec[] = [
  ['type', 1, 'string'],
  ['name', 2, 'string'],
  ['in', 3, 'string'],
  ['description', 4, 'string'],
];
const BASIC_SECURITY: readonly FieldSpec[] = [
  ['type', 1, 'string'],
  ['description', 2, 'string'],
];
const OAUTH2_IMPLICIT: readonly FieldSpec[] = [
  ['type', 1, 'string'],
  ['flow', 2, 'string'],
  ['scopes', 3, { one: oauth2Scopes }],
  ['authorizationUrl', 4, 'string'],
  ['description', 5, 'string'],
];
/** Oauth2PasswordSecurity and Oauth2ApplicationSecurity (same numbering). */
const OAUTH2_TOKEN_ONLY: readonly FieldSpec[] = [
  ['type', 1, 'string'],
  ['flow', 2, 'string'],
  ['scopes', 3, { one: oauth2Scopes }],
  ['tokenUrl', 4, 'string'],
  ['description', 5, 'string'],
];
const OAUTH2_ACCESS_CODE: readonly FieldSpec[] = [
  ['type', 1, 'string'],
  ['flow', 2, 'string'],
  ['scopes', 3, { one: oauth2Scopes }],
  ['authorizationUrl', 4, 'string'],
  ['tokenUrl', 5, 'string'],
  ['description', 6, 'string'],
];
const DOCUMENT: readonly FieldSpec[] = [
  ['swagger', 1, 'string'],
  ['info', 2, { one: info }],
  ['host', 3, 'string'],
  ['basePath', 4, 'string'],
  ['schemes', 5, 'strings'],
  ['consumes', 6, 'strings'],
  ['produces', 7, 'strings'],
  ['paths', 8, { one: paths }],
  ['definitions', 9, { one: definitions }],
  ['parameters', 10, { one: parameterDefinitions }],
  ['responses', 11, { one: responseDefinitions }],
  ['security', 12, { many: securityRequirement }],
  ['securityDefinitions', 13, { one: securityDefinitions }],
  ['tags', 14, { many: tag }],
  ['externalDocs', 15, { one: externalDocs }],
];

// Message encoders. Function declarations (hoisted), so the recursive tables above can name them.

function contact(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, CONTACT, 4);
}
function license(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, LICENSE, 3);
}
function externalDocs(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, EXTERNAL_DOCS, 3);
}
function info(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, INFO, 7);
}
function tag(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, TAG, 4);
}
function xml(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, XML, 6);
}
function schema(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, SCHEMA, 31);
}
function fileSchema(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, FILE_SCHEMA, 10);
}
function primitivesItems(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, PRIMITIVES_ITEMS, 18);
}
function header(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, HEADER, 19);
}
function jsonReference(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, JSON_REFERENCE);
}
function response(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, RESPONSE, 5);
}
function operation(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, OPERATION, 13);
}
function pathItem(w: ProtoWriter, v: unknown): void {
  writeFields(w, v, PATH_ITEM, 10);
}

/** AdditionalPropertiesItem: oneof { Schema schema = 1; bool boolean = 2 }. */
function additionalPropertiesItem(w: ProtoWriter, v: unknown): void {
  if (typeof v === 'boolean') w.bool(2, v);
  else sub(w, 1, schema, v);
}
/** TypeItem { repeated string value = 1 } from `"string"` or `["string", "null"]`. */
function typeItem(w: ProtoWriter, v: unknown): void {
  writeField(w, 1, 'strings', v);
}
/** ItemsItem { repeated Schema schema = 1 } from one schema or a list of them. */
function itemsItem(w: ProtoWriter, v: unknown): void {
  writeField(w, 1, { many: schema }, v);
}
/** Properties { repeated NamedSchema additional_properties = 1 }. */
function properties(w: ProtoWriter, v: unknown): void {
  writeNamed(w, 1, v, { value: messageValue(schema), skipVendor: false });
}
/** SchemaItem: oneof { Schema schema = 1; FileSchema file_schema = 2 }. */
function schemaItem(w: ProtoWriter, v: unknown): void {
  if (isObject(v) && v.type === 'file') sub(w, 2, fileSchema, v);
  else sub(w, 1, schema, v);
}
/** Headers { repeated NamedHeader additional_properties = 1 }. */
function headers(w: ProtoWriter, v: unknown): void {
  writeNamed(w, 1, v, { value: messageValue(header), skipVendor: false });
}
/** Examples { repeated NamedAny additional_properties = 1 }. */
function examples(w: ProtoWriter, v: unknown): void {
  writeNamed(w, 1, v, { value: messageValue(anyValue), skipVendor: false });
}
/** NonBodyParameter: oneof by `in` { header = 1; formData = 2; query = 3; path = 4 }. */
function nonBodyParameter(w: ProtoWriter, v: unknown): void {
  const where = isObject(v) ? v.in : undefined;
  if (where === 'header') sub(w, 1, (c, x) => writeFields(c, x, HEADER_OR_PATH_PARAMETER, 22), v);
  else if (where === 'formData') sub(w, 2, (c, x) => writeFields(c, x, QUERY_OR_FORM_PARAMETER, 23), v);
  else if (where === 'path') sub(w, 4, (c, x) => writeFields(c, x, HEADER_OR_PATH_PARAMETER, 22), v);
  else sub(w, 3, (c, x) => writeFields(c, x, QUERY_OR_FORM_PARAMETER, 23), v);
}
/** Parameter: oneof { BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2 }. */
function parameter(w: ProtoWriter, v: unknown): void {
  if (isObject(v) && v.in === 'body') sub(w, 1, (c, x) => writeFields(c, x, BODY_PARAMETER, 6), v);
  else sub(w, 2, nonBodyParameter, v);
}
/** ParametersItem: oneof { Parameter parameter = 1; JsonReference json_reference = 2 }. */
function parametersItem(w: ProtoWriter, v: unknown): void {
  if (isObject(v) && typeof v.$ref === 'string') sub(w, 2, jsonReference, v);
  else sub(w, 1, parameter, v);
}
/** ResponseValue: oneof { Response response = 1; JsonReference json_reference = 2 }. */
function responseValue(w: ProtoWriter, v: unknown): void {
  if (isObject(v) && typeof v.$ref === 'string') sub(w, 2, jsonReference, v);
  else sub(w, 1, response, v);
}
/** Responses { repeated NamedResponseValue response_code = 1; repeated NamedAny vendor_extension = 2 }. */
function responses(w: ProtoWriter, v: unknown): void {
  writeNamed(w, 1, v, { value: messageValue(responseValue), skipVendor: true });
  if (isObject(v)) writeVendorExtensions(w, 2, v);
}
/** Paths { repeated NamedAny vendor_extension = 1; repeated NamedPathItem path = 2 }. */
function paths(w: ProtoWriter, v: unknown): void {
  if (isObject(v)) writeVendorExtensions(w, 1, v);
  writeNamed(w, 2, v, { value: messageValue(pathItem), skipVendor: true });
}
/** Definitions { repeated NamedSchema additional_properties = 1 }. */
function definitions(w: ProtoWriter, v: unknown): void {
  writeNamed(w, 1, v, { value: messageValue(schema), skipVendor: false });
}
/** ParameterDefinitions { repeated NamedParameter additional_properties = 1 }. */
function parameterDefinitions(w: ProtoWriter, v: unknown): void {
  writeNamed(w, 1, v, { value: messageValue(parameter), skipVendor: false });
}
/** ResponseDefinitions { repeated NamedResponse additional_properties = 1 }. */
function responseDefinitions(w: ProtoWriter, v: unknown): void {
  writeNamed(w, 1, v, { value: messageValue(response), skipVendor: false });
}
/** SecurityRequirement { repeated NamedStringArray additional_properties = 1 }, StringArray { repeated string value = 1 }. */
function securityRequirement(w: ProtoWriter, v: unknown): void {
  writeNamed(w, 1, v, {
    value: messageValue((c, x) => writeField(c, 1, 'strings', x)),
    skipVendor: false,
  });
}
/** Oauth2Scopes { repeated NamedString additional_properties = 1 }. */
function oauth2Scopes(w: ProtoWriter, v: unknown): void {
  writeNamed(w, 1, v, { value: (c, no, x) => writeField(c, no, 'string', x), skipVendor: false });
}
/** SecurityDefinitionsItem: oneof by `type` (and `flow` for oauth2). */
function securityDefinitionsItem(w: ProtoWriter, v: unknown): void {
  const type = isObject(v) ? v.type : undefined;
  const flow = isObject(v) ? v.flow : undefined;
  if (type === 'basic') sub(w, 1, (c, x) => writeFields(c, x, BASIC_SECURITY, 3), v);
  else if (type === 'oauth2' && flow === 'implicit')
    sub(w, 3, (c, x) => writeFields(c, x, OAUTH2_IMPLICIT, 6), v);
  else if (type === 'oauth2' && flow === 'password')
    sub(w, 4, (c, x) => writeFields(c, x, OAUTH2_TOKEN_ONLY, 6), v);
  else if (type === 'oauth2' && flow === 'application')
    sub(w, 5, (c, x) => writeFields(c, x, OAUTH2_TOKEN_ONLY, 6), v);
  else if (type === 'oauth2') sub(w, 6, (c, x) => writeFields(c, x, OAUTH2_ACCESS_CODE, 7), v);
  else sub(w, 2, (c, x) => writeFields(c, x, API_KEY_SECURITY, 5), v);
}
/** SecurityDefinitions { repeated NamedSecurityDefinitionsItem additional_properties = 1 }. */
function securityDefinitions(w: ProtoWriter, v: unknown): void {
  writeNamed(w, 1, v, { value: messageValue(securityDefinitionsItem), skipVendor: false });
}

/** Encodes a swagger 2.0 document (parsed JSON) as a gnostic `openapi.v2.Document` protobuf message. */
export function encodeOpenApiV2Protobuf(doc: object): Buffer {
  const w = new ProtoWriter();
  writeFields(w, doc, DOCUMENT, 16);
  return w.finish();
}

/** Whether an Accept media type (without parameters) names the protobuf form of /openapi/v2 (either spelling). */
export function isOpenApiV2ProtobufType(mediaType: string): boolean {
  const t = mediaType.trim().toLowerCase();
  return t === OPENAPI_V2_PROTOBUF_CONTENT_TYPE || t === DEPRECATED_MEDIA_TYPE;
}

let cached: SerializedProtobuf | undefined;

/**
 * The server's swagger 2.0 document as protobuf, encoded once on first use. Its ETag is the JSON
 * document's, as kube-openapi does (one ETag per document, both forms; answers carry Vary: Accept).
 */
export function openapiV2ProtobufSerialized(): SerializedProtobuf {
  cached ??= { body: encodeOpenApiV2Protobuf(openapiV2()), etag: openapiV2Serialized().etag };
  return cached;
}
