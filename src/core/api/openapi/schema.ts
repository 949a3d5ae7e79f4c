/**
 * The OpenAPI schema model and the generated definitions (built from the kubernetes-types .d.ts
 * files by scripts/gen-openapi.mjs and committed, so the runtime needs no TypeScript compiler).
 * Definitions are stored swagger-2.0 style: `$ref: '#/definitions/<name>'`.
 */
import generated from './generated/definitions.json' with { type: 'json' };

/** One OpenAPI schema node (the subset of JSON schema that Kubernetes publishes). */
export interface Schema {
  description?: string;
  type?: string;
  format?: string;
  $ref?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  oneOf?: Schema[];
  allOf?: Schema[];
  [extension: `x-${string}`]: unknown;
}

/** A group/version/kind as the `x-kubernetes-group-version-kind` extension writes it. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export const V2_REF_PREFIX = '#/definitions/';
export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

const DEFINITIONS = (generated as unknown as { definitions: Record<string, Schema> }).definitions;

/** The kubernetes-types version the definitions were generated from (`1.30.0`). */
export const SOURCE_VERSION = (generated as unknown as { source: string }).source.split(' ').pop() ?? '';

/** The generated definitions by name; callers must not mutate them (clone first). */
export function generatedDefinitions(): Readonly<Record<string, Schema>> {
  return DEFINITIONS;
}

/** Definition name of a kind: `io.k8s.api.apps.v1.Deployment` (group `networking.k8s.io` -> `networking`). */
export function definitionName(group: string, version: string, kind: string): string {
  const pkg = group === '' ? 'core' : (group.split('.')[0] ?? group);
  return `io.k8s.api.${pkg}.${version}.${kind}`;
}

/** Names of the definitions a schema references directly (`$ref`s anywhere inside it). */
export function refsOf(schema: unknown, prefix: string, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(schema)) {
    for (const s of schema) refsOf(s, prefix, out);
  } else if (schema !== null && typeof schema === 'object') {
    for (const [k, v] of Object.entries(schema)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(prefix)) out.add(v.slice(prefix.length));
      else if (typeof v === 'object') refsOf(v, prefix, out);
    }
  }
  return out;
}

/** The named definitions plus everything they reference, transitively. */
export function closure(
  roots: Iterable<string>,
  defs: Readonly<Record<string, Schema>>,
  prefix: string = V2_REF_PREFIX,
): Set<string> {
  const seen = new Set<string>();
  const queue = [...roots];
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    if (seen.has(name)) continue;
    const def = defs[name];
    if (def === undefined) continue;
    seen.add(name);
    for (const r of refsOf(def, prefix)) if (!seen.has(r)) queue.push(r);
  }
  return seen;
}
