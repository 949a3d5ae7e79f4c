import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiVersionOf, groupVersions, RESOURCES } from '../resources.js';
import {
  openapiV2,
  openapiV2Serialized,
  openapiV3For,
  openapiV3Index,
  openapiV3Serialized,
} from './openapi.js';

type Json = Record<string, any>;
const V3 = '#/components/schemas/';

function v3(path: string): Json {
  const doc = openapiV3For(path);
  if (doc === undefined) throw new Error(`no v3 document for ${path}`);
  return doc as Json;
}

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

/** Every `$ref` string anywhere in the value. */
function allRefs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) allRefs(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else allRefs(v, out);
    }
  }
  return out;
}

/** Follows a dotted field path from a schema the way `kubectl explain` does, returning each field's schema. */
function explainPath(doc: Json, root: string, fields: string[]): Json[] {
  const schemas = doc.components.schemas as Record<string, Json>;
  const resolve = (s: Json): Json => {
    let cur = s;
    for (;;) {
      const ref: string | undefined = cur.$ref ?? cur.allOf?.[0]?.$ref;
      if (ref === undefined) break;
      const next = schemas[ref.slice(V3.length)];
      if (next === undefined) throw new Error(`unresolved ${ref}`);
      cur = next;
    }
    return cur.items ? resolve(cur.items) : cur;
  };
  const seen: Json[] = [];
  let cur = schemas[root]!;
  for (const f of fields) {
    const prop = resolve(cur).properties?.[f];
    if (prop === undefined) throw new Error(`no field ${f}`);
    seen.push(prop);
    cur = prop;
  }
  seen.push(resolve(cur));
  return seen;
}

describe('openapi v3 documents', () => {
  it('serves one document per group/version, linked from the index with its hash', () => {
    const index = openapiV3Index();
    expect(Object.keys(index.paths).sort()).toEqual(
      groupVersions()
        .map((gv) => gvPath(gv.group, gv.version))
        .sort(),
    );
    for (const [path, { serverRelativeURL }] of Object.entries(index.paths)) {
      const s = openapiV3Serialized(path);
      expect(s).toBeDefined();
      const hash = createHash('sha512').update(s!.json).digest('hex').toUpperCase();
      expect(s!.etag).toBe(hash);
      expect(serverRelativeURL).toBe(`/openapi/v3/${path}?hash=${hash}`);
      expect(JSON.parse(s!.json)).toEqual(openapiV3For(path));
    }
    expect(openapiV3For('apis/nope.example.com/v1')).toBeUndefined();
    expect(openapiV3For('/apis/apps/v1')).toBe(openapiV3For('apis/apps/v1'));
  });

  it('tags Deployment with its group/version/kind', () => {
    const doc = v3('apis/apps/v1');
    expect(doc.openapi).toBe('3.0.0');
    const dep = doc.components.schemas['io.k8s.api.apps.v1.Deployment'];
    expect(dep['x-kubernetes-group-version-kind']).toEqual([
      { group: 'apps', version: 'v1', kind: 'Deployment' },
    ]);
    expect(dep.description).toMatch(/Deployment/);
  });

  it('carries strategic merge metadata where kubectl apply looks for it', () => {
    const s = v3('apis/apps/v1').components.schemas;
    expect(s['io.k8s.api.core.v1.PodSpec'].properties.containers).toMatchObject({
      type: 'array',
      items: { $ref: `${V3}io.k8s.api.core.v1.Container` },
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    });
    expect(s['io.k8s.api.core.v1.Container'].properties.ports).toMatchObject({
      'x-kubernetes-patch-merge-key': 'containerPort',
      'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
    });
    expect(s['io.k8s.api.core.v1.Container'].properties.env['x-kubernetes-patch-merge-key']).toBe('name');
    expect(s['io.k8s.api.core.v1.PodSpec'].properties.volumes['x-kubernetes-patch-strategy']).toBe(
      'merge,retainKeys',
    );
    expect(s['io.k8s.api.apps.v1.DeploymentSpec'].properties.strategy['x-kubernetes-patch-strategy']).toBe(
      'retainKeys',
    );
    expect(
      s['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.ownerReferences[
        'x-kubernetes-patch-merge-key'
      ],
    ).toBe('uid');
    expect(s['io.k8s.api.core.v1.Container'].properties.args['x-kubernetes-list-type']).toBe('atomic');
    expect(s['io.k8s.api.core.v1.Container'].properties.image).not.toHaveProperty(
      'x-kubernetes-patch-strategy',
    );
    const svc = v3('api/v1').components.schemas['io.k8s.api.core.v1.ServiceSpec'].properties.ports;
    expect(svc['x-kubernetes-list-map-keys']).toEqual(['port', 'protocol']);
  });

  it('describes every field along deployment.spec.template.spec.containers', () => {
    const doc = v3('apis/apps/v1');
    const path = explainPath(doc, 'io.k8s.api.apps.v1.Deployment', [
      'spec',
      'template',
      'spec',
      'containers',
    ]);
    for (const s of path.slice(0, -1)) expect(s.description, JSON.stringify(s).slice(0, 80)).toBeTruthy();
    const container = path.at(-1)!;
    expect(container.description).toMatch(/container/i);
    expect(Object.keys(container.properties)).toEqual(
      expect.arrayContaining(['name', 'image', 'ports', 'env', 'resources']),
    );
    for (const [name, p] of Object.entries(container.properties as Record<string, Json>)) {
      expect(p.description, `Container.${name}`).toBeTruthy();
    }
    expect(container.required).toEqual(['name']);
    expect(doc.components.schemas['io.k8s.api.apps.v1.DeploymentSpec'].required).toEqual([
      'selector',
      'template',
    ]);
  });

  it('resolves every $ref inside each document', () => {
    for (const path of Object.keys(openapiV3Index().paths)) {
      const doc = v3(path);
      const refs = allRefs(doc);
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) {
        expect(ref.startsWith(V3), ref).toBe(true);
        expect(doc.components.schemas[ref.slice(V3.length)], `${path}: ${ref}`).toBeDefined();
      }
    }
  });

  it('writes the scalar wrapper types as upstream v3 does', () => {
    const s = v3('apis/apps/v1').components.schemas;
    expect(s['io.k8s.apimachinery.pkg.util.intstr.IntOrString']).toMatchObject({
      format: 'int-or-string',
      'x-kubernetes-int-or-string': true,
      oneOf: [{ type: 'integer' }, { type: 'string' }],
    });
    expect(s['io.k8s.apimachinery.pkg.api.resource.Quantity'].oneOf).toEqual([
      { type: 'string' },
      { type: 'number' },
    ]);
    expect(s['io.k8s.apimachinery.pkg.apis.meta.v1.Time']).toMatchObject({
      type: 'string',
      format: 'date-time',
    });
    expect(s['io.k8s.api.apps.v1.RollingUpdateDeployment'].properties.maxSurge.$ref).toBe(
      `${V3}io.k8s.apimachinery.pkg.util.intstr.IntOrString`,
    );
    expect(s['io.k8s.api.apps.v1.DeploymentSpec'].properties.replicas).toMatchObject({
      type: 'integer',
      format: 'int32',
    });
    expect(s['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.generation.format).toBe('int64');
  });

  it('gives every write operation fieldValidation, and PATCH the strategic merge media type', () => {
    for (const r of RESOURCES) {
      const doc = v3(gvPath(r.group, r.version));
      const patches = Object.values(doc.paths as Record<string, Json>)
        .map((item) => item.patch)
        .filter((op): op is Json => op?.['x-kubernetes-group-version-kind']?.kind === r.kind);
      expect(patches.length, r.kind).toBeGreaterThan(0);
      for (const op of patches) {
        expect(op['x-kubernetes-action']).toBe('patch');
        expect(op['x-kubernetes-group-version-kind']).toEqual({
          group: r.group,
          version: r.version,
          kind: r.kind,
        });
        expect(op.parameters.map((p: Json) => p.name)).toContain('fieldValidation');
        expect(Object.keys(op.requestBody.content)).toContain('application/strategic-merge-patch+json');
      }
      for (const item of Object.values(doc.paths as Record<string, Json>)) {
        for (const method of ['post', 'put']) {
          if (item[method])
            expect(item[method].parameters.map((p: Json) => p.name)).toContain('fieldValidation');
        }
      }
    }
  });

  it('lays out the paths kubectl explain searches for a resource', () => {
    const doc = v3('apis/apps/v1');
    const list = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments'];
    expect(list.get).toMatchObject({
      operationId: 'listAppsV1NamespacedDeployment',
      'x-kubernetes-action': 'list',
      'x-kubernetes-group-version-kind': { group: 'apps', version: 'v1', kind: 'Deployment' },
    });
    expect(list.get.responses['200'].content['application/json'].schema.$ref).toBe(
      `${V3}io.k8s.api.apps.v1.DeploymentList`,
    );
    const scale = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'];
    expect(scale.put['x-kubernetes-group-version-kind']).toEqual({
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
    });
    expect(doc.components.schemas['io.k8s.api.autoscaling.v1.Scale']).toBeDefined();
    expect(doc.paths['/apis/apps/v1/deployments'].get.operationId).toBe(
      'listAppsV1DeploymentForAllNamespaces',
    );
    const core = v3('api/v1');
    expect(core.paths['/api/v1/nodes/{name}'].get.operationId).toBe('readCoreV1Node');
    expect(core.paths['/api/v1/namespaces/{namespace}/pods/{name}/binding'].post.operationId).toBe(
      'createCoreV1NamespacedPodBinding',
    );
    expect(core.paths['/api/v1/namespaces/{name}/finalize'].put.operationId).toBe(
      'replaceCoreV1NamespaceFinalize',
    );
  });

  it('has a schema with a group/version/kind for every served kind and its list', () => {
    for (const r of RESOURCES) {
      const schemas = v3(gvPath(r.group, r.version)).components.schemas as Record<string, Json>;
      for (const kind of [r.kind, r.listKind]) {
        const tagged = Object.values(schemas).filter((s) =>
          (s['x-kubernetes-group-version-kind'] ?? []).some(
            (g: Json) => g.group === r.group && g.version === r.version && g.kind === kind,
          ),
        );
        expect(tagged, `${apiVersionOf(r)} ${kind}`).toHaveLength(1);
      }
    }
  });
});

describe('openapi v2 document', () => {
  it('is swagger 2.0 with every path, resolvable refs and fieldValidation on writes', () => {
    const doc = openapiV2() as Json;
    expect(doc.swagger).toBe('2.0');
    for (const ref of allRefs(doc)) {
      expect(ref.startsWith('#/definitions/'), ref).toBe(true);
      expect(doc.definitions[ref.slice('#/definitions/'.length)], ref).toBeDefined();
    }
    const item = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'];
    expect(item.patch.consumes).toContain('application/strategic-merge-patch+json');
    expect(item.patch.parameters.map((p: Json) => p.name)).toEqual(
      expect.arrayContaining(['body', 'fieldValidation']),
    );
    expect(item.patch['x-kubernetes-group-version-kind']).toEqual({ group: '', version: 'v1', kind: 'Pod' });
    expect(
      doc.definitions['io.k8s.api.core.v1.PodSpec'].properties.containers['x-kubernetes-patch-merge-key'],
    ).toBe('name');
    expect(doc.definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString']).toMatchObject({
      type: 'string',
      format: 'int-or-string',
    });
    for (const r of RESOURCES) {
      const prefix = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
      const collection = r.namespaced
        ? `${prefix}/namespaces/{namespace}/${r.plural}`
        : `${prefix}/${r.plural}`;
      expect(doc.paths[collection]?.post?.['x-kubernetes-action'], collection).toBe('post');
    }
    const s = openapiV2Serialized();
    expect(JSON.parse(s.json)).toEqual(doc);
    expect(s.etag).toMatch(/^[0-9A-F]{128}$/);
  });
});
