/**
 * Attaches the strategic-merge and list-type extensions (`x-kubernetes-patch-strategy`,
 * `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`) to the
 * definitions. The facts come from ../patch/patch-meta.ts, which answers by kind and field path;
 * this walks each served kind's schema tree, asks for every property's path, and writes the answer
 * onto the property of the definition that holds it. kubectl reads these from the OpenAPI v3
 * document to compute client-side apply patches, so they must agree with what the server's own
 * patch code does — hence one source.
 */
import { fieldMeta, type ListMeta } from '../patch/patch-meta.js';
import { apiVersionOf, type ResourceInfo } from '../resources.js';
import { definitionName, type Schema, V2_REF_PREFIX } from './schema.js';

function refTarget(s: Schema | undefined): string | undefined {
  const ref = s?.$ref ?? s?.allOf?.[0]?.$ref;
  return ref?.startsWith(V2_REF_PREFIX) ? ref.slice(V2_REF_PREFIX.length) : undefined;
}

function applyMeta(prop: Schema, meta: ListMeta): void {
  // A definition shared by several kinds is reached once per kind; the first answer stands.
  if (meta.strategy !== undefined) prop['x-kubernetes-patch-strategy'] ??= meta.strategy;
  if (meta.mergeKey !== undefined) prop['x-kubernetes-patch-merge-key'] ??= meta.mergeKey;
  if (meta.listType !== undefined && prop.type === 'array') prop['x-kubernetes-list-type'] ??= meta.listType;
  if (meta.mapKeys !== undefined && prop.type === 'array')
    prop['x-kubernetes-list-map-keys'] ??= [...meta.mapKeys];
}

/**
 * Writes patch/list extensions into `defs` (mutated in place; pass a clone) for every resource's
 * kind, following `$ref`s through properties and array items (maps are not part of field paths).
 */
export function addPatchExtensions(defs: Record<string, Schema>, resources: readonly ResourceInfo[]): void {
  for (const r of resources) {
    const apiVersion = apiVersionOf(r);
    const visited = new Set<string>();
    const walk = (name: string, path: readonly string[]): void => {
      if (visited.has(name)) return;
      visited.add(name);
      const props = defs[name]?.properties;
      if (props === undefined) return;
      for (const [field, prop] of Object.entries(props)) {
        const at = [...path, field];
        const meta = fieldMeta(apiVersion, r.kind, at);
        if (meta !== undefined) applyMeta(prop, meta);
        const next = refTarget(prop) ?? refTarget(prop.items);
        if (next !== undefined) walk(next, at);
      }
    };
    walk(definitionName(r.group, r.version, r.kind), []);
  }
}
