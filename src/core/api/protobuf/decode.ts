/**
 * Decoder of `application/vnd.kubernetes.protobuf` bodies (what kubectl >= 1.32 sends for typed
 * commands) into the JSON object the same client would have sent as JSON.
 *
 * Envelope: the 4 bytes `k8s\0`, then a runtime.Unknown message {1 typeMeta {1 apiVersion, 2 kind},
 * 2 raw (the object's own message), 3 contentEncoding, 4 contentType}. The object is decoded
 * field by field with the generated schema; well-known apimachinery messages (Time, Quantity,
 * IntOrString, ...) become their JSON forms. Go value fields that are zero are left out, as Go's
 * JSON `omitempty` would; pointer fields are kept whenever present, so `replicas: 0` survives.
 */
import { ProtobufDecodeError } from './errors.js';
import { type FieldSpec, KINDS, MESSAGES } from './schema.generated.js';
import {
  int64Of,
  uint64Of,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
  WireReader,
} from './wire-reader.js';

/** The media type of Kubernetes protobuf bodies. */
export const K8S_PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = [0x6b, 0x38, 0x73, 0x00];
const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const TIME = `${META}.Time`;
const MICRO_TIME = `${META}.MicroTime`;
const DURATION = `${META}.Duration`;
const FIELDS_V1 = `${META}.FieldsV1`;
const QUANTITY = 'k8s.io.apimachinery.pkg.api.resource.Quantity';
const INT_OR_STRING = 'k8s.io.apimachinery.pkg.util.intstr.IntOrString';
const RAW_EXTENSION = 'k8s.io.apimachinery.pkg.runtime.RawExtension';

const utf8 = new TextDecoder('utf-8');

/** Whether a Content-Type header names Kubernetes protobuf (parameters ignored). */
export function isK8sProtobuf(contentType: string | undefined): boolean {
  if (!contentType) return false;
  return contentType.split(';')[0]?.trim().toLowerCase() === K8S_PROTOBUF_MEDIA_TYPE;
}

/** Whether bytes start with the Kubernetes protobuf magic `k8s\0`. */
export function hasK8sProtobufMagic(body: Uint8Array): boolean {
  return body.length >= 4 && MAGIC.every((b, i) => body[i] === b);
}

/** Decode a Kubernetes protobuf body into its JSON object, `apiVersion` and `kind` included. */
export function decodeK8sProtobuf(body: Uint8Array): Record<string, unknown> {
  if (!hasK8sProtobufMagic(body)) {
    const seen = Buffer.from(body.subarray(0, 4)).toString('hex');
    throw new ProtobufDecodeError(
      'BAD_MAGIC',
      `protobuf body does not start with the k8s magic 6b387300 (saw ${seen || 'nothing'})`,
    );
  }
  const r = new WireReader(body, { start: 4 });
  let apiVersion = '';
  let kind = '';
  let raw: Uint8Array = new Uint8Array();
  let contentEncoding = '';
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (wire !== WIRE_LEN) {
      r.skip(wire);
      continue;
    }
    const payload = r.lengthDelimited();
    if (field === 1) {
      const tm = new WireReader(payload);
      while (!tm.done()) {
        const t = tm.tag();
        if (t.wire !== WIRE_LEN) tm.skip(t.wire);
        else if (t.field === 1) apiVersion = utf8.decode(tm.lengthDelimited());
        else if (t.field === 2) kind = utf8.decode(tm.lengthDelimited());
        else tm.skip(t.wire);
      }
    } else if (field === 2) raw = payload;
    else if (field === 3) contentEncoding = utf8.decode(payload);
  }
  if (contentEncoding !== '') {
    throw new ProtobufDecodeError(
      'UNSUPPORTED_ENCODING',
      `unsupported protobuf contentEncoding ${JSON.stringify(contentEncoding)}`,
    );
  }
  const message = messageForKind(apiVersion, kind);
  if (!message) throw new ProtobufDecodeError('UNKNOWN_KIND', `no protobuf schema for ${apiVersion} ${kind}`);
  const obj = decodeProtobufMessage(raw, message);
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ProtobufDecodeError('INVALID_VALUE', `${apiVersion} ${kind} did not decode to an object`);
  }
  return { apiVersion, kind, ...(obj as Record<string, unknown>) };
}

/** The fully qualified message name of a kind, if the schema knows it. */
export function messageForKind(apiVersion: string, kind: string): string | undefined {
  return KINDS[`${apiVersion} ${kind}`] ?? KINDS[`* ${kind}`];
}

/**
 * Decode one message's bytes by fully qualified name into its JSON value (an object for ordinary
 * messages; a string, number or null for the well-known apimachinery ones).
 */
export function decodeProtobufMessage(bytes: Uint8Array, message: string): unknown {
  switch (message) {
    case TIME:
      return decodeTime(bytes, false);
    case MICRO_TIME:
      return decodeTime(bytes, true);
    case DURATION:
      return goDuration(scalarFields(bytes).get(1));
    case QUANTITY:
      return stringField(bytes, 1) ?? '0';
    case INT_OR_STRING: {
      const f = scalarFields(bytes);
      if (numberOf(f.get(1)) === 1) return f.get(3) === undefined ? '' : utf8.decode(f.get(3) as Uint8Array);
      return numberOf(f.get(2)) | 0;
    }
    case FIELDS_V1:
      return embeddedJson(bytesField(bytes, 1), message);
    case RAW_EXTENSION:
      return embeddedJson(bytesField(bytes, 1), message);
  }
  const schema = MESSAGES[message];
  if (!schema) throw new ProtobufDecodeError('UNKNOWN_KIND', `no protobuf schema for message ${message}`);
  return decodeObject(bytes, message, schema);
}

function decodeObject(bytes: Uint8Array, message: string, schema: Readonly<Record<number, FieldSpec>>) {
  const out: Record<string, unknown> = {};
  const r = new WireReader(bytes);
  while (!r.done()) {
    const { field, wire } = r.tag();
    const spec = schema[field];
    if (!spec) {
      r.skip(wire); // a field newer than the schema: ignored, as upstream decoders do
      continue;
    }
    const [name, type, repeated, mode] = spec;
    const where = `${message}.${name}`;
    if (type.startsWith('map:')) {
      if (wire !== WIRE_LEN) throw wireError(where, wire);
      const map = (out[name] ??= {}) as Record<string, unknown>;
      const [key, value] = decodeMapEntry(r.lengthDelimited(), type, where);
      Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
      continue;
    }
    if (type.startsWith('message:')) {
      if (wire !== WIRE_LEN) throw wireError(where, wire);
      const value = decodeProtobufMessage(r.lengthDelimited(), type.slice('message:'.length));
      if (repeated) ((out[name] ??= []) as unknown[]).push(value);
      else if (mode === 'inline' && value !== null && typeof value === 'object') Object.assign(out, value);
      else out[name] = value;
      continue;
    }
    if (repeated) {
      const list = (out[name] ??= []) as unknown[];
      if (wire === WIRE_LEN && type !== 'string' && type !== 'bytes') {
        const packed = new WireReader(r.lengthDelimited());
        while (!packed.done()) list.push(readScalar(packed, type, packedWire(type), where));
      } else list.push(readScalar(r, type, wire, where));
      continue;
    }
    const value = readScalar(r, type, wire, where);
    if (mode === 'value' && isZero(value)) delete out[name];
    else out[name] = value;
  }
  return out;
}

function decodeMapEntry(bytes: Uint8Array, type: string, where: string): [string, unknown] {
  const [, keyType = 'string', ...rest] = type.split(':');
  const valueType = rest.join(':');
  let key: unknown = keyType === 'string' ? '' : 0;
  let value: unknown;
  const r = new WireReader(bytes);
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) key = readScalar(r, keyType, wire, `${where} key`);
    else if (field === 2) {
      if (valueType.startsWith('message:')) {
        if (wire !== WIRE_LEN) throw wireError(`${where} value`, wire);
        value = decodeProtobufMessage(r.lengthDelimited(), valueType.slice('message:'.length));
      } else value = readScalar(r, valueType, wire, `${where} value`);
    } else r.skip(wire);
  }
  if (value === undefined) {
    value = valueType.startsWith('message:')
      ? decodeProtobufMessage(new Uint8Array(), valueType.slice('message:'.length))
      : zeroOf(valueType);
  }
  return [String(key), value];
}

function packedWire(type: string): number {
  if (type === 'double') return WIRE_FIXED64;
  if (type === 'float') return WIRE_FIXED32;
  return WIRE_VARINT;
}

function readScalar(r: WireReader, type: string, wire: number, where: string): unknown {
  const expected = type === 'string' || type === 'bytes' ? WIRE_LEN : packedWire(type);
  if (wire !== expected) throw wireError(where, wire);
  switch (type) {
    case 'string':
      return utf8.decode(r.lengthDelimited());
    case 'bytes':
      return Buffer.from(r.lengthDelimited()).toString('base64');
    case 'bool': {
      const v = r.varint64();
      return v.lo !== 0 || v.hi !== 0;
    }
    case 'int32':
      return r.varint64().lo | 0;
    case 'uint32':
      return r.varint64().lo;
    case 'int64':
      return int64Of(r.varint64());
    case 'uint64':
      return uint64Of(r.varint64());
    case 'double':
      return Buffer.from(r.fixed64()).readDoubleLE(0);
    case 'float':
      return Buffer.from(r.fixed32()).readFloatLE(0);
    default:
      throw new ProtobufDecodeError('INVALID_VALUE', `${where}: unsupported field type ${type}`);
  }
}

function zeroOf(type: string): unknown {
  if (type === 'string' || type === 'bytes') return '';
  if (type === 'bool') return false;
  return 0;
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

function wireError(where: string, wire: number): ProtobufDecodeError {
  return new ProtobufDecodeError('BAD_WIRE_TYPE', `${where}: unexpected wire type ${wire}`);
}

/** Last value of each field of a small message: varints as halves, length-delimited as bytes. */
function scalarFields(bytes: Uint8Array): Map<number, Uint8Array | { lo: number; hi: number }> {
  const out = new Map<number, Uint8Array | { lo: number; hi: number }>();
  const r = new WireReader(bytes);
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (wire === WIRE_VARINT) out.set(field, r.varint64());
    else if (wire === WIRE_LEN) out.set(field, r.lengthDelimited());
    else r.skip(wire);
  }
  return out;
}

function numberOf(v: Uint8Array | { lo: number; hi: number } | undefined): number {
  if (v === undefined || v instanceof Uint8Array) return 0;
  const n = int64Of(v);
  return typeof n === 'number' ? n : Number(n);
}

function bytesField(bytes: Uint8Array, field: number): Uint8Array | undefined {
  const v = scalarFields(bytes).get(field);
  return v instanceof Uint8Array ? v : undefined;
}

function stringField(bytes: Uint8Array, field: number): string | undefined {
  const v = bytesField(bytes, field);
  return v === undefined ? undefined : utf8.decode(v);
}

/** Time / MicroTime: an empty message is the zero time (JSON null); otherwise RFC 3339 in UTC. */
function decodeTime(bytes: Uint8Array, micro: boolean): string | null {
  if (bytes.length === 0) return null;
  const f = scalarFields(bytes);
  const seconds = numberOf(f.get(1));
  const nanos = numberOf(f.get(2)) | 0;
  const date = new Date(seconds * 1000);
  const iso = Number.isNaN(date.getTime()) ? '' : date.toISOString();
  if (iso.length !== 24 || nanos < 0 || nanos > 999_999_999) {
    throw new ProtobufDecodeError('INVALID_VALUE', `time out of range: seconds=${seconds} nanos=${nanos}`);
  }
  const base = iso.slice(0, 19);
  if (!micro) return `${base}Z`;
  return `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`;
}

/** A Duration's nanoseconds in Go's `time.Duration.String()` form (`1h2m3.5s`, `150ms`, `0s`). */
export function goDuration(v: Uint8Array | { lo: number; hi: number } | undefined): string {
  let ns = v === undefined || v instanceof Uint8Array ? 0n : BigInt(int64Of(v));
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  if (neg) ns = -ns;
  const sign = neg ? '-' : '';
  const frac = (n: bigint, digits: number): string => {
    const s = n.toString().padStart(digits, '0').replace(/0+$/, '');
    return s === '' ? '' : `.${s}`;
  };
  if (ns < 1000n) return `${sign}${ns}ns`;
  if (ns < 1_000_000n) return `${sign}${ns / 1000n}${frac(ns % 1000n, 3)}µs`;
  if (ns < 1_000_000_000n) return `${sign}${ns / 1_000_000n}${frac(ns % 1_000_000n, 6)}ms`;
  const totalSeconds = ns / 1_000_000_000n;
  const secs = `${totalSeconds % 60n}${frac(ns % 1_000_000_000n, 9)}s`;
  const minutes = totalSeconds / 60n;
  if (minutes === 0n) return `${sign}${secs}`;
  if (minutes < 60n) return `${sign}${minutes}m${secs}`;
  return `${sign}${minutes / 60n}h${minutes % 60n}m${secs}`;
}

/** FieldsV1.Raw / RawExtension.raw: embedded JSON (or a nested k8s protobuf object); absent is null. */
function embeddedJson(raw: Uint8Array | undefined, message: string): unknown {
  if (raw === undefined || raw.length === 0) return null;
  if (hasK8sProtobufMagic(raw)) return decodeK8sProtobuf(raw);
  try {
    return JSON.parse(utf8.decode(raw));
  } catch {
    throw new ProtobufDecodeError('INVALID_VALUE', `${message} does not hold JSON`);
  }
}
