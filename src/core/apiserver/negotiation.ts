/**
 * Content negotiation: which media type a response is encoded in (JSON, YAML, Table, aggregated
 * discovery) and how a request body is decoded.
 */
import YAML from 'yaml';
import { decodeK8sProtobuf, isK8sProtobuf } from '../api/protobuf/decode.js';
import { ProtobufDecodeError } from '../api/protobuf/errors.js';
import { badRequest, unsupportedMediaType } from './errors.js';
import { storedJson } from './stored-json.js';

export interface MediaRange {
  type: string;
  /** Lower-cased parameters: `as`, `g`, `v`, `q`... */
  params: Record<string, string>;
}

/** Parse an Accept header into media ranges in preference order (q-values honoured, stable). */
export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [{ type: '*/*', params: {} }];
  const out: { r: MediaRange; q: number; i: number }[] = [];
  header.split(',').forEach((part, i) => {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    if (!type) return;
    const p: Record<string, string> = {};
    for (const kv of params) {
      const eq = kv.indexOf('=');
      if (eq > 0) p[kv.slice(0, eq).trim().toLowerCase()] = kv.slice(eq + 1).trim();
    }
    const q = p.q === undefined ? 1 : Number(p.q);
    out.push({ r: { type: type.toLowerCase(), params: p }, q: Number.isNaN(q) ? 0 : q, i });
  });
  out.sort((a, b) => b.q - a.q || a.i - b.i);
  return out.map((o) => o.r);
}

export type ResponseFormat = 'json' | 'yaml';

export interface Negotiated {
  format: ResponseFormat;
  /** `Table` when the client asked for server-side printing, `PartialObjectMetadata(List)` for metadata-only. */
  as?: 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList' | undefined;
  /** The group/version requested for `as` (meta.k8s.io v1 or v1beta1). */
  asVersion?: string | undefined;
}

const JSON_TYPES = new Set(['application/json', 'application/*', '*/*', 'application/json-patch+json']);

/** Pick the response format for an API object (or list/table). */
export function negotiateObject(accept: string | undefined): Negotiated {
  for (const r of parseAccept(accept)) {
    if (r.params.as) {
      if (r.type !== 'application/json' && r.type !== 'application/yaml') continue;
      if (r.params.g !== 'meta.k8s.io') continue;
      if (r.params.as === 'Table' || r.params.as.startsWith('PartialObjectMetadata')) {
        return {
          format: r.type === 'application/yaml' ? 'yaml' : 'json',
          as: r.params.as as Negotiated['as'],
          asVersion: r.params.v ?? 'v1',
        };
      }
      continue;
    }
    if (JSON_TYPES.has(r.type)) return { format: 'json' };
    if (r.type === 'application/yaml' || r.type === 'text/yaml') return { format: 'yaml' };
  }
  return { format: 'json' };
}

/** Encode a response body (an object the registry just wrote reuses the text it stored). */
export function encode(body: unknown, format: ResponseFormat): { payload: string; contentType: string } {
  if (format === 'yaml') return { payload: YAML.stringify(body), contentType: 'application/yaml' };
  return { payload: storedJson(body) ?? JSON.stringify(body), contentType: 'application/json' };
}

/** Media type of a request body, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
}

/** Decode a JSON or YAML body into a value; a clear 400/415 on anything else. */
export function decodeBody(
  raw: Buffer | string | undefined | null,
  contentType: string | undefined,
): unknown {
  const mt = mediaType(contentType);
  if (isK8sProtobuf(mt)) {
    // kubectl >= 1.32 sends typed objects as Kubernetes protobuf (k8s\0 + runtime.Unknown).
    const buf =
      raw === undefined || raw === null ? Buffer.alloc(0) : typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (buf.length === 0) throw badRequest('the body of the request was empty');
    try {
      return decodeK8sProtobuf(buf);
    } catch (e) {
      if (e instanceof ProtobufDecodeError) {
        if (e.code === 'UNKNOWN_KIND') throw unsupportedMediaType(`${mt} (${e.message})`);
        throw badRequest(`error decoding protobuf: ${e.message}`);
      }
      throw e;
    }
  }
  const text = raw === undefined || raw === null ? '' : typeof raw === 'string' ? raw : raw.toString('utf8');
  if (text.trim() === '') throw badRequest('the body of the request was empty');
  if (mt === 'application/yaml' || mt === 'text/yaml' || mt === 'application/apply-patch+yaml') {
    try {
      // Duplicate keys are reported by field validation (warnings or a Strict error), as upstream does.
      const docs = YAML.parseAllDocuments(text, { uniqueKeys: false });
      if (docs.length !== 1) throw new Error(`expected one YAML document, got ${docs.length}`);
      const doc = docs[0]!;
      if (doc.errors.length > 0) throw doc.errors[0]!;
      return doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (mt.startsWith('application/') && (mt.endsWith('json') || mt.endsWith('+json'))) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw badRequest(`error decoding JSON: ${(e as Error).message}`);
    }
  }
  throw unsupportedMediaType(mt);
}
