import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { describe, expect, it } from 'vitest';
import {
  type FieldSchema,
  FieldSet,
  fieldElement,
  isObject,
  itemElement,
  jsonEqual,
  type Shape,
  schemaFor,
  shapeOf,
} from './fieldpath.js';
import {
  type Comparison,
  capUpdateManagers,
  compareForOwnership,
  compareObjects,
  decodeManagedFields,
  emptyObject,
  encodeManagedFields,
  formatTime,
  ManagedFieldsError,
  managerFromUserAgent,
  resetFieldsFilter,
  STRIPPED_FIELDS,
  updateManagedFields,
} from './managed-fields.js';

const T0 = new Date('2024-05-01T10:00:00.750Z');
const T1 = new Date('2024-05-01T10:05:00Z');

/** A Deployment as stored after `kubectl create deployment web --image=nginx` and defaulting. */
function createdDeployment(): Record<string, any> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'u-1',
      resourceVersion: '10',
      generation: 1,
      creationTimestamp: '2024-05-01T10:00:00Z',
      labels: { app: 'web' },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [{ name: 'nginx', image: 'nginx', imagePullPolicy: 'Always', resources: {} }],
          restartPolicy: 'Always',
          securityContext: {},
        },
      },
    },
    status: {},
  };
}

/** What upstream records for that create (hand-written, as `kubectl get -o json` shows it). */
const createEntry: ManagedFieldsEntry = {
  manager: 'kubectl-create',
  operation: 'Update',
  apiVersion: 'apps/v1',
  time: '2024-05-01T10:00:00Z',
  fieldsType: 'FieldsV1',
  fieldsV1: {
    'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
    'f:spec': {
      'f:replicas': {},
      'f:selector': {},
      'f:strategy': {
        'f:rollingUpdate': { '.': {}, 'f:maxSurge': {}, 'f:maxUnavailable': {} },
        'f:type': {},
      },
      'f:template': {
        'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
        'f:spec': {
          'f:containers': {
            'k:{"name":"nginx"}': {
              '.': {},
              'f:image': {},
              'f:imagePullPolicy': {},
              'f:name': {},
              'f:resources': {},
            },
          },
          'f:restartPolicy': {},
          'f:securityContext': {},
        },
      },
    },
  },
};

const opts = (manager: string, time: Date, extra: { subresource?: string; apiVersion?: string } = {}) => ({
  manager,
  operation: 'Update' as const,
  apiVersion: extra.apiVersion ?? 'apps/v1',
  time,
  ...(extra.subresource ? { subresource: extra.subresource } : {}),
});

function stored(obj: Record<string, any>, managedFields: ManagedFieldsEntry[]): Record<string, any> {
  return { ...obj, metadata: { ...obj.metadata, managedFields } };
}

/** manager -> FieldsV1 JSON text, for compact assertions. */
function owners(entries: ManagedFieldsEntry[]): Record<string, string> {
  return Object.fromEntries(
    entries.map((e) => [
      `${e.manager}/${e.operation}${e.subresource ? `/${e.subresource}` : ''}`,
      JSON.stringify(e.fieldsV1),
    ]),
  );
}

describe('updateManagedFields', () => {
  it('records a create like upstream, against the empty object of the kind', () => {
    const got = updateManagedFields(undefined, createdDeployment(), opts('kubectl-create', T0));
    expect(got).toEqual([createEntry]);
    // key order within the entry and within FieldsV1 matters for byte-identical output
    expect(JSON.stringify(got[0])).toBe(JSON.stringify(createEntry));
  });

  it('a custom resource create owns its spec node too', () => {
    const cr = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } };
    const got = updateManagedFields(undefined, cr, opts('ctl', T0, { apiVersion: 'example.com/v1' }));
    expect(got[0]?.fieldsV1).toEqual({ 'f:spec': { '.': {}, 'f:size': {} } });
  });

  it('tracks two managers: changed fields move, untouched ones stay', () => {
    const v1 = stored(createdDeployment(), [createEntry]);
    const v2 = structuredClone(v1);
    v2.spec.replicas = 3;
    v2.metadata.labels.tier = 'front';
    const got = updateManagedFields(v1, v2, opts('kubectl-edit', T1));
    expect(got.map((e) => [e.manager, e.time])).toEqual([
      ['kubectl-create', '2024-05-01T10:00:00Z'],
      ['kubectl-edit', '2024-05-01T10:05:00Z'],
    ]);
    const o = owners(got);
    expect(o['kubectl-edit/Update']).toBe(
      '{"f:metadata":{"f:labels":{"f:tier":{}}},"f:spec":{"f:replicas":{}}}',
    );
    expect(o['kubectl-create/Update']).not.toContain('f:replicas');
    expect(o['kubectl-create/Update']).toContain('f:app');
  });

  it.each([
    {
      name: 'same manager, same apiVersion: one merged entry with the new time',
      second: opts('kubectl-create', T1),
      want: [['kubectl-create', 'apps/v1', '2024-05-01T10:05:00Z', undefined]],
    },
    {
      name: 'same manager through a subresource: a separate entry',
      second: opts('kubectl-create', T1, { subresource: 'scale' }),
      want: [
        ['kubectl-create', 'apps/v1', '2024-05-01T10:00:00Z', undefined],
        ['kubectl-create', 'apps/v1', '2024-05-01T10:05:00Z', 'scale'],
      ],
    },
    {
      name: 'same manager, other apiVersion: a separate entry',
      second: opts('kubectl-create', T1, { apiVersion: 'apps/v1beta2' }),
      want: [
        ['kubectl-create', 'apps/v1', '2024-05-01T10:00:00Z', undefined],
        ['kubectl-create', 'apps/v1beta2', '2024-05-01T10:05:00Z', undefined],
      ],
    },
  ])('$name', ({ second, want }) => {
    const v1 = stored(createdDeployment(), [createEntry]);
    const v2 = structuredClone(v1);
    v2.spec.replicas = 5;
    const got = updateManagedFields(v1, v2, second);
    expect(got.map((e) => [e.manager, e.apiVersion, e.time, e.subresource])).toEqual(want);
  });

  it('removing a field takes it from its owner; an emptied entry is dropped', () => {
    const v1 = stored(createdDeployment(), [
      createEntry,
      {
        manager: 'labeler',
        operation: 'Update',
        apiVersion: 'apps/v1',
        time: '2024-05-01T10:01:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:team': {} } } },
      },
    ]);
    v1.metadata.labels.team = 'a';
    const v2 = structuredClone(v1);
    delete v2.metadata.labels.team;
    delete v2.spec.strategy.rollingUpdate;
    const got = updateManagedFields(v1, v2, opts('kubectl-edit', T1));
    expect(got.map((e) => e.manager)).toEqual(['kubectl-create']);
    expect(JSON.stringify(got[0]?.fieldsV1)).not.toContain('rollingUpdate');
  });

  it.each([
    {
      name: 'status changes on the main resource are not tracked',
      change: (o: any) => {
        o.status = { replicas: 1 };
      },
      subresource: undefined,
      want: undefined,
    },
    {
      name: 'server-set metadata is not tracked',
      change: (o: any) => {
        o.metadata.resourceVersion = '11';
        o.metadata.generation = 2;
        o.metadata.deletionTimestamp = '2024-05-01T11:00:00Z';
      },
      subresource: undefined,
      want: undefined,
    },
    {
      name: 'the status subresource tracks status only',
      change: (o: any) => {
        o.status = { replicas: 1, conditions: [{ type: 'Available', status: 'True' }] };
        o.spec.replicas = 9;
      },
      subresource: 'status',
      want: '{"f:status":{"f:conditions":{".":{},"k:{\\"type\\":\\"Available\\"}":{".":{},"f:status":{},"f:type":{}}},"f:replicas":{}}}',
    },
  ])('$name', ({ change, subresource, want }) => {
    const v1 = stored(createdDeployment(), [createEntry]);
    const v2 = structuredClone(v1);
    change(v2);
    const got = updateManagedFields(v1, v2, opts('controller', T1, subresource ? { subresource } : {}));
    const entry = got.find((e) => e.manager === 'controller');
    expect(entry && JSON.stringify(entry.fieldsV1)).toBe(want);
    expect(got.find((e) => e.manager === 'kubectl-create')?.time).toBe('2024-05-01T10:00:00Z');
  });

  it.each([
    { name: '[] resets', requested: [], want: ['editor'] },
    { name: '[{}] resets', requested: [{}], want: ['editor'] },
    { name: 'omitted keeps the stored entries', requested: undefined, want: ['kubectl-create', 'editor'] },
    {
      name: 'entries that do not decode fall back to the stored ones',
      requested: [{ manager: 'x', operation: 'Update', fieldsType: 'FieldsV2', fieldsV1: {} }],
      want: ['kubectl-create', 'editor'],
    },
  ])('managedFields in the request: $name', ({ requested, want }) => {
    const v1 = stored(createdDeployment(), [createEntry]);
    const v2 = structuredClone(v1);
    if (requested === undefined) delete v2.metadata.managedFields;
    else v2.metadata.managedFields = requested;
    v2.spec.replicas = 2;
    const got = updateManagedFields(v1, v2, opts('editor', T1));
    expect(got.map((e) => e.manager)).toEqual(want);
  });

  it('a reset with no other change stores no managedFields', () => {
    const v1 = stored(createdDeployment(), [createEntry]);
    const v2 = structuredClone(v1);
    v2.metadata.managedFields = [{}];
    expect(updateManagedFields(v1, v2, opts('editor', T1))).toEqual([]);
  });
});

describe('entries', () => {
  it('sorts Apply before Update, then by time, manager', () => {
    const mk = (manager: string, operation: string, time: string): ManagedFieldsEntry => ({
      manager,
      operation,
      apiVersion: 'v1',
      time,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:data': { [`f:${manager}`]: {} } },
    });
    const decoded = decodeManagedFields([
      mk('b', 'Update', '2024-01-01T00:00:02Z'),
      mk('a', 'Update', '2024-01-01T00:00:02Z'),
      mk('z', 'Update', '2024-01-01T00:00:01Z'),
      mk('y', 'Apply', '2024-01-01T00:00:09Z'),
    ]);
    expect(encodeManagedFields(decoded).map((e) => e.manager)).toEqual(['y', 'z', 'a', 'b']);
  });

  it.each([
    {
      name: 'unknown fieldsType',
      e: { manager: 'a', operation: 'Update', fieldsType: 'FieldsV2', fieldsV1: {} },
    },
    {
      name: 'unknown operation',
      e: { manager: 'a', operation: 'Patch', fieldsType: 'FieldsV1', fieldsV1: {} },
    },
    {
      name: 'bad FieldsV1',
      e: { manager: 'a', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { q: {} } },
    },
  ])('refuses $name', ({ e }) => {
    expect(() => decodeManagedFields([e])).toThrow(ManagedFieldsError);
  });

  it('caps Update entries at 10, merging the oldest into ancient-changes', () => {
    const entries: ManagedFieldsEntry[] = [];
    for (let i = 0; i < 12; i++) {
      entries.push({
        manager: `m${String(i).padStart(2, '0')}`,
        operation: 'Update',
        apiVersion: 'v1',
        time: `2024-01-01T00:00:${String(i).padStart(2, '0')}Z`,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { [`f:k${i}`]: {} } },
      });
    }
    const managed = decodeManagedFields(entries);
    capUpdateManagers(managed);
    const out = encodeManagedFields(managed);
    expect(out).toHaveLength(10);
    const ancient = out.find((e) => e.manager === 'ancient-changes');
    expect(ancient?.fieldsV1).toEqual({ 'f:data': { 'f:k0': {}, 'f:k1': {}, 'f:k2': {} } });
    expect(ancient?.time).toBe('2024-01-01T00:00:02Z');
    expect(out.map((e) => e.manager)).not.toContain('m00');
  });

  it('formats times as RFC3339 seconds', () => {
    expect(formatTime(T0)).toBe('2024-05-01T10:00:00Z');
  });

  it('the empty object of a Deployment has its non-pointer structs', () => {
    expect(emptyObject('apps/v1', 'Deployment')).toEqual({
      metadata: {},
      spec: { template: { metadata: {}, spec: { containers: null } }, strategy: {} },
      status: {},
    });
    expect(emptyObject('example.com/v1', 'Widget')).toEqual({ metadata: {} });
  });
});

describe('managerFromUserAgent', () => {
  it.each([
    {
      fm: 'kubectl-client-side-apply',
      ua: 'kubectl/v1.30.0 (linux/amd64)',
      want: 'kubectl-client-side-apply',
    },
    { fm: undefined, ua: 'kubectl/v1.30.0 (linux/amd64) kubernetes/abc', want: 'kubectl' },
    { fm: '', ua: 'kube-controller-manager/v1.30.0', want: 'kube-controller-manager' },
    { fm: undefined, ua: 'curl', want: 'curl' },
    { fm: undefined, ua: 'bad\u0007agent/1', want: 'badagent' },
    { fm: undefined, ua: `${'x'.repeat(200)}/1`, want: 'x'.repeat(128) },
    { fm: undefined, ua: undefined, want: '' },
  ])('($fm, $ua) -> $want', ({ fm, ua, want }) => {
    expect(managerFromUserAgent(fm, ua)).toBe(want);
  });
});

describe('compareObjects and compareForOwnership against a plain reference walk', () => {
  // The comparison as first written (one FieldSet.insert per path, no pruning): the faster walk
  // must find exactly the same fields on every pair below, whole or filtered.
  function reference(oldObj: unknown, newObj: unknown, schema: FieldSchema): Comparison {
    const added = new FieldSet();
    const modified = new FieldSet();
    const removed = new FieldSet();
    const index = (shape: Shape, list: readonly unknown[]) => {
      const out = new Map<string, unknown>();
      list.forEach((item, i) => {
        out.set(itemElement(shape, item, i), item);
      });
      return out;
    };
    const children = (l: unknown, r: unknown, shape: Shape, path: string[], names: string[]): void => {
      if (shape.type === 'map') {
        const lm = isObject(l) ? l : {};
        const rm = isObject(r) ? r : {};
        for (const k of new Set([...Object.keys(lm), ...Object.keys(rm)]))
          visit(lm[k], rm[k], [...path, fieldElement(k)], [...names, k]);
        return;
      }
      if (shape.type === 'leaf') return;
      const li = index(shape, Array.isArray(l) ? l : []);
      const ri = index(shape, Array.isArray(r) ? r : []);
      for (const pe of new Set([...li.keys(), ...ri.keys()])) {
        const lItem = li.get(pe);
        const rItem = ri.get(pe);
        const p = [...path, pe];
        if (shape.type === 'set' || !isObject(lItem ?? rItem)) {
          if (lItem === undefined) added.insert(p);
          else if (rItem === undefined) removed.insert(p);
          else if (!jsonEqual(lItem, rItem)) modified.insert(p);
          continue;
        }
        visit(lItem, rItem, p, names);
      }
    };
    const visit = (l: unknown, r: unknown, path: string[], names: string[]): void => {
      if ((l === undefined || l === null) && (r === undefined || r === null)) {
        if (l === null && r === undefined) removed.insert(path);
        else if (l === undefined && r === null) added.insert(path);
        return;
      }
      const ls = l === undefined || l === null ? undefined : shapeOf(schema, names, l);
      const rs = r === undefined || r === null ? undefined : shapeOf(schema, names, r);
      if (ls !== undefined && rs !== undefined && ls.type !== rs.type) {
        modified.insert(path);
        children(l, undefined, ls, path, names);
        children(undefined, r, rs, path, names);
        return;
      }
      const shape = (rs ?? ls)!;
      if (shape.type === 'leaf') {
        if (l === undefined) added.insert(path);
        else if (r === undefined) removed.insert(path);
        else if (!jsonEqual(l, r)) modified.insert(path);
        return;
      }
      if (l === undefined) added.insert(path);
      else if (r === undefined) removed.insert(path);
      children(l, r, shape, path, names);
    };
    visit(isObject(oldObj) ? oldObj : {}, isObject(newObj) ? newObj : {}, [], []);
    return { added, modified, removed };
  }

  const serverMetadata = STRIPPED_FIELDS.union(
    FieldSet.of([
      ['metadata', 'deletionTimestamp'].map(fieldElement),
      ['metadata', 'deletionGracePeriodSeconds'].map(fieldElement),
    ]),
  );

  const deployment = createdDeployment();
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'default',
      labels: { app: 'web' },
      managedFields: [{ manager: 'a', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: {} }],
      ownerReferences: [{ uid: 'u1', name: 'rs', kind: 'ReplicaSet', apiVersion: 'apps/v1' }],
      finalizers: ['x/y'],
    },
    spec: {
      containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }],
      tolerations: [{ key: 'k', operator: 'Exists' }],
    },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'Ready', status: 'True', lastProbeTime: null },
        { type: 'PodScheduled', status: 'True' },
      ],
      containerStatuses: [{ name: 'web', ready: true, state: { running: { startedAt: 't' } } }],
      podIPs: [{ ip: '10.42.0.1' }],
    },
  };
  const change = (o: Record<string, any>, f: (c: Record<string, any>) => void) => {
    const c = JSON.parse(JSON.stringify(o));
    f(c);
    return c;
  };
  const pairs: Array<[string, string, string, unknown, unknown]> = [
    ['deployment create', 'apps/v1', 'Deployment', emptyObject('apps/v1', 'Deployment'), deployment],
    ['deployment unchanged', 'apps/v1', 'Deployment', deployment, change(deployment, () => {})],
    [
      'deployment replicas',
      'apps/v1',
      'Deployment',
      deployment,
      change(deployment, (d) => (d.spec.replicas = 3)),
    ],
    [
      'deployment image, new container, label gone',
      'apps/v1',
      'Deployment',
      deployment,
      change(deployment, (d) => {
        d.spec.template.spec.containers[0].image = 'nginx:2';
        d.spec.template.spec.containers.push({ name: 'side', image: 'busybox' });
        delete d.metadata.labels.app;
      }),
    ],
    [
      'deployment status and spec',
      'apps/v1',
      'Deployment',
      deployment,
      change(deployment, (d) => {
        d.status = { replicas: 1, conditions: [{ type: 'Available', status: 'True' }] };
        d.spec.paused = true;
      }),
    ],
    ['pod create', 'v1', 'Pod', emptyObject('v1', 'Pod'), pod],
    [
      'pod status',
      'v1',
      'Pod',
      pod,
      change(pod, (p) => {
        p.status.conditions[0].status = 'False';
        p.status.conditions.push({ type: 'Initialized', status: 'True' });
        p.status.containerStatuses[0].ready = false;
        p.status.podIPs = null;
        delete p.status.phase;
      }),
    ],
    [
      'pod status sharing old metadata and spec',
      'v1',
      'Pod',
      pod,
      { ...pod, status: { ...pod.status, phase: 'Succeeded' } },
    ],
    [
      'pod metadata: managedFields, finalizers, owners, deletion',
      'v1',
      'Pod',
      pod,
      change(pod, (p) => {
        p.metadata.managedFields = [];
        p.metadata.finalizers = ['x/z'];
        p.metadata.ownerReferences[0].controller = true;
        p.metadata.deletionTimestamp = '2024-01-01T00:00:00Z';
        p.metadata.resourceVersion = '5';
      }),
    ],
    [
      'values changing kind',
      'v1',
      'Pod',
      pod,
      change(pod, (p) => {
        p.spec.containers = 'none';
        p.status.conditions = { a: 1 };
        p.metadata.labels = null;
        p.spec.tolerations = [];
      }),
    ],
    [
      'keys named like Object.prototype members',
      'v1',
      'ConfigMap',
      JSON.parse('{"metadata":{"labels":{"constructor":"a","toString":"b"}},"data":{"__proto__":"x"}}'),
      JSON.parse(
        '{"metadata":{"labels":{"toString":"c","hasOwnProperty":"d"}},"data":{"__proto__":"y","valueOf":"z"}}',
      ),
    ],
    [
      'custom resource, whole objects replaced',
      'example.com/v1',
      'Widget',
      { metadata: { name: 'w' }, spec: { a: [1, 2], b: { c: { d: 1 } } }, status: { ok: true } },
      { metadata: { name: 'w' }, spec: { a: [2], e: null }, status: { ok: false } },
    ],
    ['from nothing', 'v1', 'ConfigMap', undefined, { metadata: { name: 'c' }, data: { a: '1' } }],
    ['to nothing', 'v1', 'ConfigMap', { metadata: { name: 'c' }, data: { a: '1' } }, 'not an object'],
  ];
  const subresources: Array<string | undefined> = [undefined, 'status', 'scale'];
  for (const [name, apiVersion, kind, oldObj, newObj] of pairs) {
    const schema = schemaFor(apiVersion, kind);
    it(`${name}: whole`, () => {
      const want = reference(oldObj, newObj, schema);
      const got = compareObjects(oldObj, newObj, schema);
      for (const k of ['added', 'modified', 'removed'] as const)
        expect([k, got[k].paths()]).toEqual([k, want[k].paths()]);
    });
    for (const sub of subresources) {
      it(`${name}: filtered for ${sub ?? 'the main resource'}`, () => {
        const ignore = resetFieldsFilter(apiVersion, kind, sub);
        const want = reference(oldObj, newObj, schema);
        const got = compareForOwnership(oldObj, newObj, { schema, ignore });
        for (const k of ['added', 'modified', 'removed'] as const)
          expect([k, got[k].paths()]).toEqual([k, ignore(want[k]).difference(serverMetadata).paths()]);
      });
    }
  }
});
