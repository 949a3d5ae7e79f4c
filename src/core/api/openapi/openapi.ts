/**
 * The OpenAPI documents of the API server: swagger 2.0 at /openapi/v2 and OpenAPI 3.0 per
 * group/version at /openapi/v3/<api/v1 | apis/<group>/<version>>, with the index at /openapi/v3.
 * Built lazily once from the generated definitions, the patch metadata and the resource list;
 * serialized JSON and its hash (used as ETag and as the `hash` of the index URLs) are cached so
 * serving is a lookup. kubectl explain (1.27+) and kubectl apply read the v3 documents.
 */
import { createHash } from 'node:crypto';
import { groupVersions, RESOURCES } from '../resources.js';
import { resourcePaths, tagOf } from './operations.js';
import { addPatchExtensions } from './patch-extensions.js';
import { v2Paths, v3Paths } from './render.js';
import {
  closure,
  generatedDefinitions,
  refsOf,
  type Schema,
  SOURCE_VERSION,
  V2_REF_PREFIX,
} from './schema.js';

/** A document ready to serve: its JSON text and an ETag value (upstream style: uppercase sha512). */
export interface SerializedDoc {
  json: string;
  etag: string;
}

export interface OpenAPIV3Index {
  paths: Record<string, { serverRelativeURL: string }>;
}

const INFO = { title: 'Kubernetes', version: `v${SOURCE_VERSION}` };
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

let definitions: Record<string, Schema> | undefined;
let v2: { doc: object; serialized: SerializedDoc } | undefined;
const v3 = new Map<string, { doc: object; serialized: SerializedDoc }>();

function hashOf(json: string): string {
  return createHash('sha512').update(json).digest('hex').toUpperCase();
}

function serialize(doc: object): SerializedDoc {
  const json = JSON.stringify(doc);
  return { json, etag: hashOf(json) };
}

/** Generated definitions plus patch/list extensions, computed once. */
function allDefinitions(): Record<string, Schema> {
  if (definitions === undefined) {
    const defs = structuredClone(generatedDefinitions()) as Record<string, Schema>;
    addPatchExtensions(defs, RESOURCES);
    definitions = defs;
  }
  return definitions;
}

/** `api/v1` or `apis/apps/v1` for a group/version. */
function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

/** The v3 form of a definition: refs into components/schemas and v3 types for the oneOf scalars. */
function toV3(name: string, def: Schema): Schema {
  const out = JSON.parse(
    JSON.stringify(def).replaceAll(`"${V2_REF_PREFIX}`, '"#/components/schemas/'),
  ) as Schema;
  if (name === INT_OR_STRING) {
    delete out.type;
    out.oneOf = [{ type: 'integer' }, { type: 'string' }];
    out['x-kubernetes-int-or-string'] = true;
  } else if (name === QUANTITY) {
    delete out.type;
    out.oneOf = [{ type: 'string' }, { type: 'number' }];
  }
  return out;
}

function buildV2(): { doc: object; serialized: SerializedDoc } {
  const paths: Record<string, object> = {};
  for (const r of RESOURCES) Object.assign(paths, v2Paths(resourcePaths(r), tagOf(r.group, r.version)));
  const doc = {
    swagger: '2.0',
    info: INFO,
    paths,
    definitions: allDefinitions(),
    securityDefinitions: { BearerToken: { type: 'apiKey', name: 'authorization', in: 'header' } },
    security: [{ BearerToken: [] }],
  };
  return { doc, serialized: serialize(doc) };
}

function buildV3(group: string, version: string): { doc: object; serialized: SerializedDoc } | undefined {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const tag = tagOf(group, version);
  const paths: Record<string, object> = {};
  for (const r of rs) Object.assign(paths, v3Paths(resourcePaths(r), tag));
  const defs = allDefinitions();
  const schemas: Record<string, Schema> = {};
  for (const name of [...closure(refsOf(paths, '#/components/schemas/'), defs)].sort()) {
    const def = defs[name];
    if (def !== undefined) schemas[name] = toV3(name, def);
  }
  const doc = {
    openapi: '3.0.0',
    info: INFO,
    paths,
    components: {
      schemas,
      securitySchemes: {
        BearerToken: {
          type: 'apiKey',
          description: 'Bearer Token authentication',
          name: 'authorization',
          in: 'header',
        },
      },
    },
    security: [{ BearerToken: [] }],
  };
  return { doc, serialized: serialize(doc) };
}

function v3Entry(path: string): { doc: object; serialized: SerializedDoc } | undefined {
  const key = path.replace(/^\/+|\/+$/g, '');
  const cached = v3.get(key);
  if (cached !== undefined) return cached;
  for (const gv of groupVersions()) {
    if (gvPath(gv.group, gv.version) !== key) continue;
    const built = buildV3(gv.group, gv.version);
    if (built !== undefined) v3.set(key, built);
    return built;
  }
  return undefined;
}

/** The swagger 2.0 document (all paths and definitions). Shared: do not mutate. */
export function openapiV2(): object {
  v2 ??= buildV2();
  return v2.doc;
}

/** The swagger 2.0 document serialized, with its ETag. */
export function openapiV2Serialized(): SerializedDoc {
  v2 ??= buildV2();
  return v2.serialized;
}

/** The /openapi/v3 index: one entry per served group/version, its URL carrying the document's hash. */
export function openapiV3Index(): OpenAPIV3Index {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersions()) {
    const key = gvPath(gv.group, gv.version);
    const entry = v3Entry(key);
    if (entry !== undefined)
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${entry.serialized.etag}` };
  }
  return { paths };
}

/** The OpenAPI 3.0 document of `api/v1` or `apis/<group>/<version>`; undefined if not served. Shared: do not mutate. */
export function openapiV3For(groupVersionPath: string): object | undefined {
  return v3Entry(groupVersionPath)?.doc;
}

/** The v3 document of a group/version serialized, with its ETag (equal to the index URL's hash). */
export function openapiV3Serialized(groupVersionPath: string): SerializedDoc | undefined {
  return v3Entry(groupVersionPath)?.serialized;
}
