import { describe, expect, it } from 'vitest';
import { StrategicMergePatchError } from './errors.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';

type Obj = Record<string, unknown>;
const POD = { apiVersion: 'v1', kind: 'Pod' };
const DEPLOY = { apiVersion: 'apps/v1', kind: 'Deployment' };

const c = (name: string, extra: Obj = {}) => ({ name, ...extra });
const podWith = (spec: Obj, metadata: Obj = { name: 'p' }): Obj => ({ metadata, spec });

describe('applyStrategicMergePatch', () => {
  const cases: [string, { apiVersion: string; kind: string }, Obj, Obj, Obj][] = [
    [
      'maps merge, null deletes',
      POD,
      { metadata: { name: 'p', labels: { a: '1', b: '2' } } },
      { metadata: { labels: { b: null, c: '3' } } },
      { metadata: { name: 'p', labels: { a: '1', c: '3' } } },
    ],
    ['null for a missing key is ignored', POD, { spec: { a: 1 } }, { spec: { b: null } }, { spec: { a: 1 } }],
    [
      'scalar replaced by map',
      POD,
      { spec: { x: 'a' } },
      { spec: { x: { y: 1, z: null } } },
      { spec: { x: { y: 1 } } },
    ],
    [
      'merge key updates an entry in place',
      POD,
      podWith({
        containers: [c('a', { image: 'x:1', ports: [{ containerPort: 80 }] }), c('b', { image: 'y:1' })],
      }),
      { spec: { containers: [c('b', { image: 'y:2' })] } },
      podWith({
        containers: [c('a', { image: 'x:1', ports: [{ containerPort: 80 }] }), c('b', { image: 'y:2' })],
      }),
    ],
    [
      'new entries come first when the patch names only them (as kubectl patch docs show)',
      POD,
      podWith({ containers: [c('a'), c('b')] }),
      { spec: { containers: [c('new', { image: 'redis' })] } },
      podWith({ containers: [c('new', { image: 'redis' }), c('a'), c('b')] }),
    ],
    [
      'patch order wins for patched entries, server-only entries keep their place',
      POD,
      podWith({ containers: [c('a'), c('b'), c('c')] }),
      { spec: { containers: [c('d'), c('a', { image: 'z' })] } },
      podWith({ containers: [c('d'), c('a', { image: 'z' }), c('b'), c('c')] }),
    ],
    [
      'updating a later entry keeps earlier server entries before it',
      POD,
      podWith({ containers: [c('a'), c('b'), c('c')] }),
      { spec: { containers: [c('c', { image: 'z' })] } },
      podWith({ containers: [c('a'), c('b'), c('c', { image: 'z' })] }),
    ],
    [
      '$patch: delete in a list removes by merge key',
      POD,
      podWith({
        containers: [
          c('a', {
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
          }),
        ],
      }),
      { spec: { containers: [c('a', { env: [{ name: 'B', $patch: 'delete' }] })] } },
      podWith({ containers: [c('a', { env: [{ name: 'A', value: '1' }] })] }),
    ],
    [
      '$patch: replace element replaces the whole list',
      POD,
      podWith({ containers: [c('a'), c('b')] }),
      { spec: { containers: [{ $patch: 'replace' }, c('z', { image: 'q' })] } },
      podWith({ containers: [c('z', { image: 'q' })] }),
    ],
    [
      '$patch: replace on a map',
      POD,
      podWith({ nodeSelector: { a: '1', b: '2' } }),
      { spec: { nodeSelector: { $patch: 'replace', c: '3' } } },
      podWith({ nodeSelector: { c: '3' } }),
    ],
    [
      '$patch: delete on a map empties it',
      POD,
      podWith({ securityContext: { runAsUser: 1 } }),
      { spec: { securityContext: { $patch: 'delete' } } },
      podWith({ securityContext: {} }),
    ],
    [
      'lists without merge strategy are replaced (tolerations)',
      POD,
      podWith({ tolerations: [{ key: 'a', effect: 'NoSchedule' }] }),
      { spec: { tolerations: [{ key: 'b', effect: 'NoExecute' }] } },
      podWith({ tolerations: [{ key: 'b', effect: 'NoExecute' }] }),
    ],
    [
      'args are atomic',
      POD,
      podWith({ containers: [c('a', { args: ['x', 'y'] })] }),
      { spec: { containers: [c('a', { args: ['z'] })] } },
      podWith({ containers: [c('a', { args: ['z'] })] }),
    ],
    [
      'primitive merge list (finalizers) unions',
      POD,
      { metadata: { name: 'p', finalizers: ['a', 'b'] } },
      { metadata: { finalizers: ['b', 'c'] } },
      { metadata: { name: 'p', finalizers: ['a', 'b', 'c'] } },
    ],
    [
      '$deleteFromPrimitiveList removes finalizers',
      POD,
      { metadata: { name: 'p', finalizers: ['a', 'b', 'c'] } },
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'x'] } },
      { metadata: { name: 'p', finalizers: ['a', 'c'] } },
    ],
    [
      '$deleteFromPrimitiveList on a missing list is a no-op',
      POD,
      { metadata: { name: 'p' } },
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'] } },
      { metadata: { name: 'p' } },
    ],
    [
      '$setElementOrder on primitives',
      POD,
      { metadata: { name: 'p', finalizers: ['a', 'b'] } },
      { metadata: { '$setElementOrder/finalizers': ['c', 'b', 'a'], finalizers: ['c'] } },
      { metadata: { name: 'p', finalizers: ['c', 'b', 'a'] } },
    ],
    [
      '$setElementOrder alone reorders',
      POD,
      podWith({ containers: [c('a', { image: '1' }), c('b', { image: '2' })] }),
      { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }] } },
      podWith({ containers: [c('b', { image: '2' }), c('a', { image: '1' })] }),
    ],
    [
      '$retainKeys on Deployment strategy (switch to Recreate)',
      DEPLOY,
      { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%' } } } },
      { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
      { spec: { strategy: { type: 'Recreate' } } },
    ],
    [
      '$retainKeys on a volume source (merge,retainKeys list)',
      DEPLOY,
      {
        spec: {
          template: {
            spec: {
              volumes: [
                { name: 'v', emptyDir: {} },
                { name: 'w', emptyDir: {} },
              ],
            },
          },
        },
      },
      {
        spec: {
          template: {
            spec: { volumes: [{ name: 'v', $retainKeys: ['configMap', 'name'], configMap: { name: 'cm' } }] },
          },
        },
      },
      {
        spec: {
          template: {
            spec: {
              volumes: [
                { name: 'v', configMap: { name: 'cm' } },
                { name: 'w', emptyDir: {} },
              ],
            },
          },
        },
      },
    ],
    [
      'ports merge by containerPort',
      POD,
      podWith({ containers: [c('a', { ports: [{ containerPort: 80, name: 'http' }] })] }),
      {
        spec: {
          containers: [c('a', { ports: [{ containerPort: 80, name: 'web' }, { containerPort: 443 }] })],
        },
      },
      podWith({
        containers: [c('a', { ports: [{ containerPort: 80, name: 'web' }, { containerPort: 443 }] })],
      }),
    ],
    [
      'new list of a merge field is taken with directives applied',
      POD,
      podWith({ containers: [c('a')] }),
      { spec: { containers: [c('a', { env: [{ name: 'X', value: '1', valueFrom: null }] })] } },
      podWith({ containers: [c('a', { env: [{ name: 'X', value: '1' }] })] }),
    ],
    [
      'status conditions merge by type',
      POD,
      {
        status: {
          conditions: [
            { type: 'Ready', status: 'False' },
            { type: 'PodScheduled', status: 'True' },
          ],
        },
      },
      { status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      {
        status: {
          conditions: [
            { type: 'Ready', status: 'True' },
            { type: 'PodScheduled', status: 'True' },
          ],
        },
      },
    ],
    [
      'unknown kinds get JSON merge patch semantics',
      { apiVersion: 'example.com/v1', kind: 'Widget' },
      { spec: { containers: [c('a'), c('b')], keep: 1 } },
      { spec: { containers: [c('z')] } },
      { spec: { containers: [c('z')], keep: 1 } },
    ],
    [
      'kubectl scale shaped patch',
      DEPLOY,
      { spec: { replicas: 1, template: { spec: { containers: [c('a')] } } } },
      { spec: { replicas: 3 } },
      { spec: { replicas: 3, template: { spec: { containers: [c('a')] } } } },
    ],
  ];
  it.each(cases)('%s', (_name, kind, original, patch, want) => {
    const o = structuredClone(original);
    const p = structuredClone(patch);
    expect(applyStrategicMergePatch(o, p, kind)).toEqual(want);
    expect(o).toEqual(original);
    expect(p).toEqual(patch);
  });

  it('kubectl apply (client side) second apply: image change, env removed, injected sidecar kept', () => {
    const live = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"old":true}' },
      },
      spec: {
        replicas: 2,
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'nginx',
                image: 'nginx:1.14',
                imagePullPolicy: 'IfNotPresent',
                terminationMessagePath: '/dev/termination-log',
                env: [
                  { name: 'A', value: '1' },
                  { name: 'B', value: '2' },
                ],
              },
              { name: 'sidecar', image: 'envoy' },
            ],
            restartPolicy: 'Always',
          },
        },
      },
    };
    // The body kubectl sends: three-way diff of last-applied, new config and live.
    const patch = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"new":true}' } },
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'nginx' }],
            containers: [
              {
                '$setElementOrder/env': [{ name: 'A' }],
                env: [{ $patch: 'delete', name: 'B' }],
                image: 'nginx:1.16',
                name: 'nginx',
              },
            ],
          },
        },
      },
    };
    const out = applyStrategicMergePatch(live, patch, DEPLOY);
    expect(out.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toBe('{"new":true}');
    expect(out.spec.template.spec.containers).toEqual([
      {
        name: 'nginx',
        image: 'nginx:1.16',
        imagePullPolicy: 'IfNotPresent',
        terminationMessagePath: '/dev/termination-log',
        env: [{ name: 'A', value: '1' }],
      },
      { name: 'sidecar', image: 'envoy' },
    ]);
    expect(out.spec.replicas).toBe(2);
    expect(JSON.stringify(out)).not.toContain('$');
    expect(live.spec.template.spec.containers[0]?.image).toBe('nginx:1.14');
  });

  it('kubectl apply adding a container in the middle follows $setElementOrder', () => {
    const live = podWith({ containers: [c('a', { image: '1' }), c('c', { image: '3' })] });
    const patch = {
      spec: {
        '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
        containers: [c('b', { image: '2' })],
      },
    };
    const out = applyStrategicMergePatch(live, patch, POD) as { spec: { containers: { name: string }[] } };
    expect(out.spec.containers.map((x) => x.name)).toEqual(['a', 'b', 'c']);
  });

  it('kubectl label / annotate merge patches behave the same as strategic', () => {
    const live = { metadata: { name: 'p', labels: { app: 'web', old: 'x' } } };
    const out = applyStrategicMergePatch(live, { metadata: { labels: { old: null, env: 'prod' } } }, POD);
    expect(out.metadata.labels).toEqual({ app: 'web', env: 'prod' });
  });

  const bad: [string, unknown, string, string][] = [
    [
      'array body',
      [1],
      'InvalidPatch',
      'json: cannot unmarshal array into Go value of type map[string]interface {}',
    ],
    ['unknown $patch in map', { spec: { $patch: 'frob' } }, 'BadDirective', 'unknown patch type: "frob"'],
    [
      '$patch: merge in a list',
      { spec: { containers: [{ $patch: 'merge' }] } },
      'BadDirective',
      'merging lists cannot yet be specified in the patch',
    ],
    [
      'list entry without merge key',
      { spec: { containers: [{ image: 'x' }] } },
      'MissingMergeKey',
      'does not contain declared merge key: name',
    ],
    [
      'delete without merge key',
      { spec: { containers: [{ $patch: 'delete' }] } },
      'MissingMergeKey',
      'does not contain declared merge key: name',
    ],
    [
      '$setElementOrder that contradicts the patch list',
      {
        spec: { '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }], containers: [c('b'), c('a')] },
      },
      'SetElementOrderMismatch',
      "doesn't match $setElementOrder/ list",
    ],
    [
      '$retainKeys not a list',
      { spec: { securityContext: { $retainKeys: 'x' } } },
      'BadArgument',
      '$retainKeys',
    ],
  ];
  it.each(bad)('rejects %s', (_name, patch, code, message) => {
    const live = podWith({ containers: [c('a'), c('b')], securityContext: { runAsUser: 1 } });
    let err: unknown;
    try {
      applyStrategicMergePatch(live, patch, POD);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StrategicMergePatchError);
    expect((err as StrategicMergePatchError).code).toBe(code);
    expect((err as StrategicMergePatchError).message).toContain(message);
  });
});
