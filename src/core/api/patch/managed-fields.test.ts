import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { describe, expect, it } from 'vitest';
import {
  capUpdateManagers,
  decodeManagedFields,
  emptyObject,
  encodeManagedFields,
  formatTime,
  ManagedFieldsError,
  managerFromUserAgent,
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
