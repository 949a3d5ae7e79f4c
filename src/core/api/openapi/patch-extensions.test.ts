import { describe, expect, it } from 'vitest';
import { resourceForKind } from '../resources.js';
import { addPatchExtensions } from './patch-extensions.js';
import { generatedDefinitions, type Schema } from './schema.js';

function withExtensions(apiVersion: string, kind: string): Record<string, Schema> {
  const r = resourceForKind(apiVersion, kind);
  if (r === undefined) throw new Error(kind);
  const defs = structuredClone(generatedDefinitions()) as Record<string, Schema>;
  addPatchExtensions(defs, [r]);
  return defs;
}

const prop = (defs: Record<string, Schema>, def: string, field: string) =>
  defs[def]?.properties?.[field] ?? {};

describe('addPatchExtensions', () => {
  it.each([
    [
      'apps/v1',
      'Deployment',
      'io.k8s.api.core.v1.Container',
      'ports',
      { 'x-kubernetes-patch-merge-key': 'containerPort' },
    ],
    [
      'apps/v1',
      'StatefulSet',
      'io.k8s.api.core.v1.PodSpec',
      'containers',
      { 'x-kubernetes-patch-merge-key': 'name' },
    ],
    ['v1', 'Pod', 'io.k8s.api.core.v1.PodStatus', 'conditions', { 'x-kubernetes-patch-merge-key': 'type' }],
    ['v1', 'Node', 'io.k8s.api.core.v1.NodeStatus', 'addresses', { 'x-kubernetes-patch-merge-key': 'type' }],
    [
      'v1',
      'Service',
      'io.k8s.api.core.v1.ServiceSpec',
      'ports',
      { 'x-kubernetes-list-map-keys': ['port', 'protocol'] },
    ],
    [
      'v1',
      'ConfigMap',
      'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
      'finalizers',
      { 'x-kubernetes-list-type': 'set' },
    ],
  ])('%s %s reaches %s.%s', (apiVersion, kind, def, field, want) => {
    expect(prop(withExtensions(apiVersion, kind), def, field)).toMatchObject(want);
  });

  it('writes nothing for definitions the kind does not reach', () => {
    const defs = withExtensions('v1', 'ConfigMap');
    expect(prop(defs, 'io.k8s.api.core.v1.PodSpec', 'containers')).not.toHaveProperty(
      'x-kubernetes-patch-merge-key',
    );
  });

  it('leaves the generated definitions untouched', () => {
    withExtensions('v1', 'Pod');
    expect(
      prop(generatedDefinitions() as Record<string, Schema>, 'io.k8s.api.core.v1.PodSpec', 'containers'),
    ).not.toHaveProperty('x-kubernetes-patch-merge-key');
  });
});
