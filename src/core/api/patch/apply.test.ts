import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { describe, expect, it } from 'vitest';
import {
  ApplyConflictError,
  ApplyInvalidError,
  type ApplyOptions,
  applyConflictStatus,
  mergeApplied,
  serverSideApply,
} from './apply.js';
import { schemaFor } from './fieldpath.js';
import { updateManagedFields } from './managed-fields.js';

const T0 = new Date('2024-05-01T10:00:00Z');
const T1 = new Date('2024-05-01T10:01:00Z');
const T2 = new Date('2024-05-01T10:02:00Z');
const T3 = new Date('2024-05-01T10:03:00Z');

const applyOpts = (manager: string, time: Date, force = false): ApplyOptions => ({
  manager,
  force,
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  time,
});

/** An apply configuration for Deployment `web`. */
function config(
  opts: { replicas?: number; image?: string; labels?: Record<string, string>; env?: boolean } = {},
): Record<string, any> {
  const container: Record<string, unknown> = { name: 'web', image: opts.image ?? 'nginx:1.25' };
  if (opts.env) container.env = [{ name: 'MODE', value: 'prod' }];
  const spec: Record<string, unknown> = {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } },
  };
  if (opts.replicas !== undefined) spec.replicas = opts.replicas;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: opts.labels ?? { app: 'web' } },
    spec,
  };
}

/** Store an object the way the registry would: server metadata added. */
function persist(obj: Record<string, any>, rv: number): Record<string, any> {
  return { ...obj, metadata: { ...obj.metadata, uid: 'u-1', resourceVersion: String(rv) } };
}

/** serverSideApply with the object typed loosely, for terse assertions. */
function run(live: Record<string, any> | undefined, cfg: unknown, opts: ApplyOptions) {
  const r = serverSideApply(live, cfg, opts);
  return { object: r.object as Record<string, any>, managedFields: r.managedFields };
}

function entryOf(entries: ManagedFieldsEntry[], manager: string, operation = 'Apply') {
  return entries.find((e) => e.manager === manager && e.operation === operation);
}

function conflictOf(fn: () => unknown): ApplyConflictError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApplyConflictError) return err;
    throw err;
  }
  throw new Error('expected an apply conflict');
}

describe('serverSideApply', () => {
  it('creates by apply: the object is the configuration, owned by the applier', () => {
    const { object, managedFields } = run(undefined, config({ replicas: 2 }), applyOpts('kubectl', T0));
    expect(object.spec).toEqual(config({ replicas: 2 }).spec);
    expect(managedFields).toEqual([
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        time: '2024-05-01T10:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:selector': {},
            'f:template': {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
            },
          },
        },
      },
    ]);
    expect((object.metadata as any).managedFields).toEqual(managedFields);
  });

  it.each([
    {
      name: 'a label',
      first: config({ labels: { app: 'web', tier: 'front' } }),
      second: config(),
      check: (o: any) => expect(o.metadata.labels).toEqual({ app: 'web' }),
    },
    {
      name: 'replicas',
      first: config({ replicas: 3 }),
      second: config(),
      check: (o: any) => expect(o.spec.replicas).toBeUndefined(),
    },
    {
      name: 'a list inside a container',
      first: config({ env: true }),
      second: config(),
      check: (o: any) =>
        expect(o.spec.template.spec.containers[0]).toEqual({ name: 'web', image: 'nginx:1.25' }),
    },
  ])('re-applying without $name removes it', ({ first, second, check }) => {
    const v1 = persist(run(undefined, first, applyOpts('kubectl', T0)).object, 1);
    const { object, managedFields } = run(v1, second, applyOpts('kubectl', T1));
    check(object);
    expect(managedFields).toHaveLength(1);
    expect(managedFields[0]?.time).toBe('2024-05-01T10:01:00Z');
  });

  it('a field the applier drops stays when another manager also owns it', () => {
    const v1 = persist(
      run(undefined, config({ labels: { app: 'web', tier: 'a' } }), applyOpts('one', T0)).object,
      1,
    );
    const v2 = persist(
      run(v1, config({ labels: { app: 'web', tier: 'a' } }), applyOpts('two', T1)).object,
      2,
    );
    const { object } = run(v2, config(), applyOpts('one', T2));
    expect(object.metadata.labels).toEqual({ app: 'web', tier: 'a' });
  });

  it('fields the applier never owned (defaults) are not pruned', () => {
    const created = run(undefined, config({ replicas: 2 }), applyOpts('kubectl', T0)).object;
    created.spec.template.spec.containers[0].imagePullPolicy = 'IfNotPresent';
    created.spec.revisionHistoryLimit = 10;
    const { object } = run(persist(created, 1), config(), applyOpts('kubectl', T1));
    expect(object.spec.revisionHistoryLimit).toBe(10);
    expect(object.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
    expect(object.spec.replicas).toBeUndefined();
  });

  describe('conflicts with an Update manager', () => {
    // created by `kubectl create`, then applied
    const created = persist(config({ replicas: 1 }), 1);
    created.metadata.managedFields = updateManagedFields(undefined, created, {
      manager: 'kubectl-client-side-apply',
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: T0,
    });

    it.each([
      {
        name: 'one differing field',
        applied: config({ replicas: 3 }),
        message:
          'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
      },
      {
        name: 'two differing fields',
        applied: config({ replicas: 3, image: 'nginx:1.26' }),
        message:
          'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n' +
          '- .spec.replicas\n' +
          '- .spec.template.spec.containers[name="web"].image',
      },
    ])('$name', ({ applied, message }) => {
      const err = conflictOf(() => run(created, applied, applyOpts('kubectl', T1)));
      expect(err.message).toBe(message);
      expect(err.code).toBe('ApplyConflict');
      expect(err.conflicts[0]).toMatchObject({
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        apiVersion: 'apps/v1',
        field: '.spec.replicas',
      });
    });

    it('the same values share ownership without a conflict', () => {
      const { managedFields } = run(created, config({ replicas: 1 }), applyOpts('kubectl', T1));
      expect(JSON.stringify(entryOf(managedFields, 'kubectl')?.fieldsV1)).toContain('f:replicas');
      expect(
        JSON.stringify(entryOf(managedFields, 'kubectl-client-side-apply', 'Update')?.fieldsV1),
      ).toContain('f:replicas');
    });

    it('force moves ownership to the applier', () => {
      const { object, managedFields } = run(
        created,
        config({ replicas: 3, image: 'nginx:1.26' }),
        applyOpts('kubectl', T1, true),
      );
      expect(object.spec.replicas).toBe(3);
      const other = JSON.stringify(entryOf(managedFields, 'kubectl-client-side-apply', 'Update')?.fieldsV1);
      expect(other).not.toContain('f:replicas');
      expect(other).not.toContain('f:image');
      expect(other).toContain('f:selector');
      expect(JSON.stringify(entryOf(managedFields, 'kubectl')?.fieldsV1)).toContain('f:replicas');
    });

    it('turns into a 409 Status with FieldManagerConflict causes', () => {
      const err = conflictOf(() => run(created, config({ replicas: 3 }), applyOpts('kubectl', T1)));
      expect(applyConflictStatus(err)).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: err.message,
        reason: 'Conflict',
        details: {
          causes: [
            {
              reason: 'FieldManagerConflict',
              message: 'conflict with "kubectl-client-side-apply" using apps/v1',
              field: '.spec.replicas',
            },
          ],
        },
        code: 409,
      });
    });
  });

  it('conflicts with another applier name it without an apiVersion', () => {
    const v1 = persist(run(undefined, config({ replicas: 2 }), applyOpts('helm', T0)).object, 1);
    const err = conflictOf(() => run(v1, config({ replicas: 4 }), applyOpts('argocd', T1)));
    expect(err.message).toBe('Apply failed with 1 conflict: conflict with "helm": .spec.replicas');
  });

  it('merges a container list keyed by name with another manager’s container', () => {
    const v1 = persist(run(undefined, config(), applyOpts('kubectl', T0)).object, 1);
    // a sidecar injector adds its container with an update
    const v2 = structuredClone(v1);
    v2.spec.template.spec.containers.unshift({ name: 'proxy', image: 'envoy' });
    v2.metadata.managedFields = updateManagedFields(v1, v2, {
      manager: 'injector',
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: T1,
    });
    const { object, managedFields } = run(
      persist(v2, 2),
      config({ image: 'nginx:1.26' }),
      applyOpts('kubectl', T2),
    );
    expect(object.spec.template.spec.containers).toEqual([
      { name: 'proxy', image: 'envoy' },
      { name: 'web', image: 'nginx:1.26' },
    ]);
    expect(entryOf(managedFields, 'injector', 'Update')?.fieldsV1).toEqual({
      'f:spec': {
        'f:template': {
          'f:spec': { 'f:containers': { 'k:{"name":"proxy"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
        },
      },
    });
  });

  it('kubectl apply --server-side, kubectl scale, then a re-apply with other replicas conflicts', () => {
    const applied = persist(run(undefined, config({ replicas: 2 }), applyOpts('kubectl', T0)).object, 1);
    // kubectl scale --replicas=5 writes through the scale subresource
    const scaled = structuredClone(applied);
    scaled.spec.replicas = 5;
    scaled.metadata.managedFields = updateManagedFields(applied, scaled, {
      manager: 'kubectl',
      operation: 'Update',
      apiVersion: 'apps/v1',
      subresource: 'scale',
      time: T1,
    });
    expect(
      scaled.metadata.managedFields.map((e: ManagedFieldsEntry) => [e.operation, e.subresource]),
    ).toEqual([
      ['Apply', undefined],
      ['Update', 'scale'],
    ]);
    expect(scaled.metadata.managedFields[1].fieldsV1).toEqual({ 'f:spec': { 'f:replicas': {} } });
    expect(JSON.stringify(scaled.metadata.managedFields[0].fieldsV1)).not.toContain('f:replicas');

    const live = persist(scaled, 2);
    const err = conflictOf(() => run(live, config({ replicas: 3 }), applyOpts('kubectl', T2)));
    expect(err.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas',
    );
    // the value scale set: shared, no conflict
    expect(run(live, config({ replicas: 5 }), applyOpts('kubectl', T2)).object.spec.replicas).toBe(5);
    // leaving replicas out keeps the scaled value: the applier no longer owns it
    expect(run(live, config(), applyOpts('kubectl', T3)).object.spec.replicas).toBe(5);
  });

  it('an object without managedFields gets a before-first-apply owner', () => {
    const legacy = persist(config({ replicas: 1 }), 1);
    const err = conflictOf(() => run(legacy, config({ replicas: 2 }), applyOpts('kubectl', T1)));
    expect(err.message).toBe(
      'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas',
    );
  });

  it('status in the configuration of the main resource is not owned', () => {
    const cfg = { ...config(), status: { replicas: 7 } };
    const { managedFields } = run(undefined, cfg, applyOpts('kubectl', T0));
    expect(JSON.stringify(managedFields[0]?.fieldsV1)).not.toContain('f:status');
  });

  it.each([
    {
      name: 'another apiVersion',
      cfg: { ...config(), apiVersion: 'apps/v1beta1' },
      message:
        'Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1',
    },
    {
      name: 'managedFields',
      cfg: { ...config(), metadata: { name: 'web', managedFields: [] } },
      message: 'metadata.managedFields must be nil',
    },
    {
      name: 'duplicate keys',
      cfg: (() => {
        const c = config();
        c.spec.template.spec.containers.push({ name: 'web', image: 'x' });
        return c;
      })(),
      message: /duplicate entries for key \[name="web"\]/,
    },
  ])('refuses a configuration with $name', ({ cfg, message }) => {
    expect(() => run(undefined, cfg, applyOpts('kubectl', T0))).toThrow(ApplyInvalidError);
    expect(() => run(undefined, cfg, applyOpts('kubectl', T0))).toThrow(message);
  });
});

describe('mergeApplied', () => {
  const schema = schemaFor('apps/v1', 'Deployment');
  const containers = (...names: string[]) => ({
    spec: { template: { spec: { containers: names.map((name) => ({ name })) } } },
  });
  const names = (o: any) => o.spec.template.spec.containers.map((c: { name: string }) => c.name);

  it.each([
    { live: ['a', 'b'], cfg: ['b', 'c'], want: ['a', 'b', 'c'] },
    { live: ['a', 'x', 'b'], cfg: ['b', 'a'], want: ['x', 'b', 'a'] },
    { live: ['x', 'a', 'y'], cfg: ['c', 'a', 'd'], want: ['x', 'c', 'a', 'y', 'd'] },
    { live: [], cfg: ['a'], want: ['a'] },
    { live: ['a'], cfg: [], want: ['a'] },
  ])('orders associative items: live $live + config $cfg -> $want', ({ live, cfg, want }) => {
    expect(names(mergeApplied(containers(...live), containers(...cfg), schema))).toEqual(want);
  });

  it.each([
    {
      name: 'atomic lists are replaced',
      live: { spec: { template: { spec: { tolerations: [{ key: 'a' }, { key: 'b' }] } } } },
      cfg: { spec: { template: { spec: { tolerations: [{ key: 'c' }] } } } },
      want: { spec: { template: { spec: { tolerations: [{ key: 'c' }] } } } },
    },
    {
      name: 'sets merge by value',
      live: { metadata: { finalizers: ['a', 'b'] } },
      cfg: { metadata: { finalizers: ['c', 'a'] } },
      want: { metadata: { finalizers: ['c', 'a', 'b'] } },
    },
    {
      name: 'atomic maps are replaced',
      live: { spec: { selector: { matchLabels: { a: '1' }, matchExpressions: [] } } },
      cfg: { spec: { selector: { matchLabels: { b: '2' } } } },
      want: { spec: { selector: { matchLabels: { b: '2' } } } },
    },
    {
      name: 'maps merge and null unsets',
      live: { metadata: { labels: { a: '1', b: '2' } } },
      cfg: { metadata: { labels: { b: null, c: '3' } } },
      want: { metadata: { labels: { a: '1', c: '3' } } },
    },
    {
      name: 'ports match by containerPort and the defaulted protocol',
      live: {
        spec: {
          template: {
            spec: {
              containers: [{ name: 'a', ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }] }],
            },
          },
        },
      },
      cfg: {
        spec: {
          template: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 80, hostPort: 8080 }] }] } },
        },
      },
      want: {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'a', ports: [{ containerPort: 80, protocol: 'TCP', name: 'http', hostPort: 8080 }] },
              ],
            },
          },
        },
      },
    },
  ])('$name', ({ live, cfg, want }) => {
    const before = structuredClone(live);
    expect(mergeApplied(live, cfg, schema)).toEqual(want);
    expect(live).toEqual(before);
  });
});
