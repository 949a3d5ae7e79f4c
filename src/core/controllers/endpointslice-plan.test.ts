import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { node, nodeLookup, pod, service } from './endpoints-fixtures.js';
import { desiredEndpoints, type Slice } from './endpointslice-desired.js';
import { planSlices, type SlicePlan, sliceLabels } from './endpointslice-plan.js';

const nodes = nodeLookup(node('node-a', 'zone-1'), node('node-b', 'zone-2'), node('node-c'));

function pods(n: number, o: Parameters<typeof pod>[1] = {}, from = 0): Pod[] {
  return Array.from({ length: n }, (_, i) => {
    const k = from + i;
    return pod(`p${String(k).padStart(4, '0')}`, {
      ip: `10.42.${Math.floor(k / 250)}.${(k % 250) + 1}`,
      ...o,
    });
  });
}

function plan(
  svc: Service,
  ps: Pod[],
  existing: Slice[],
  opts: Parameters<typeof planSlices>[3] = {},
): SlicePlan {
  return planSlices(svc, desiredEndpoints(svc, ps, nodes), existing, opts);
}

let seq = 0;
/** What the server would hold after the plan: names for creates, new resourceVersions. */
function apply(existing: Slice[], p: SlicePlan): Slice[] {
  const byName = new Map(existing.map((s) => [s.metadata!.name!, s]));
  for (const s of p.delete) byName.delete(s.metadata!.name!);
  for (const s of p.update)
    byName.set(s.metadata!.name!, { ...s, metadata: { ...s.metadata, resourceVersion: String(++seq) } });
  for (const s of p.create) {
    const name = `${s.metadata!.generateName}${++seq}`;
    byName.set(name, { ...s, metadata: { ...s.metadata, name, resourceVersion: String(seq) } });
  }
  return [...byName.values()];
}

/** Converge: plan and apply until the plan is empty (at most a few rounds). */
function converge(svc: Service, ps: Pod[], existing: Slice[] = []): Slice[] {
  let state = existing;
  for (let i = 0; i < 5; i++) {
    const p = plan(svc, ps, state);
    if (p.create.length + p.update.length + p.delete.length === 0) return state;
    state = apply(state, p);
  }
  throw new Error('did not converge');
}

const counts = (p: SlicePlan) => ({
  create: p.create.length,
  update: p.update.length,
  delete: p.delete.length,
});
const sizes = (slices: Slice[]) => slices.map((s) => (s.endpoints ?? []).length).sort((a, b) => b - a);
const ips = (slices: Slice[]) => slices.flatMap((s) => (s.endpoints ?? []).map((e) => e.addresses[0])).sort();

describe('planSlices: table', () => {
  const svc = service('web');
  interface Case {
    name: string;
    svc?: Service;
    /** pods before (existing slices are converged from these), and after */
    before?: Pod[];
    after: Pod[];
    opts?: Parameters<typeof planSlices>[3];
    want: { create: number; update: number; delete: number };
    /** endpoint counts per slice after applying the plan */
    sizes?: number[];
  }
  const cases: Case[] = [
    {
      name: 'new service, 3 pods: one slice',
      after: pods(3),
      want: { create: 1, update: 0, delete: 0 },
      sizes: [3],
    },
    {
      name: '250 pods: 3 slices of 100/100/50',
      after: pods(250),
      want: { create: 3, update: 0, delete: 0 },
      sizes: [100, 100, 50],
    },
    {
      name: '100 pods fit exactly one slice',
      after: pods(100),
      want: { create: 1, update: 0, delete: 0 },
      sizes: [100],
    },
    {
      name: 'no pods: one empty placeholder',
      after: [],
      want: { create: 1, update: 0, delete: 0 },
      sizes: [0],
    },
    {
      name: 'placeholder already there: nothing to do',
      before: [],
      after: [],
      want: { create: 0, update: 0, delete: 0 },
      sizes: [0],
    },
    {
      name: 'first pods reuse the placeholder (update, not create+delete)',
      before: [],
      after: pods(2),
      want: { create: 0, update: 1, delete: 0 },
      sizes: [2],
    },
    {
      name: 'all pods gone: last slice becomes the placeholder',
      before: pods(3),
      after: [],
      want: { create: 0, update: 1, delete: 0 },
      sizes: [0],
    },
    {
      name: 'unchanged pods: no writes',
      before: pods(120),
      after: pods(120),
      want: { create: 0, update: 0, delete: 0 },
      sizes: [100, 20],
    },
    {
      name: 'one pod turns not ready: one slice updated',
      before: pods(150),
      after: [...pods(149), ...pods(1, { ready: false }, 149)],
      want: { create: 0, update: 1, delete: 0 },
      sizes: [100, 50],
    },
    {
      name: 'a pod replaced by another: the slice losing one takes the new one',
      before: pods(150),
      after: [...pods(149), ...pods(1, {}, 500)],
      want: { create: 0, update: 1, delete: 0 },
      sizes: [100, 50],
    },
    {
      name: 'one new pod: best-fitting unchanged slice takes it, no new slice',
      before: pods(150),
      after: pods(151),
      want: { create: 0, update: 1, delete: 0 },
      sizes: [100, 51],
    },
    {
      name: 'new pods beyond full slices: a new slice',
      before: pods(200),
      after: pods(230),
      want: { create: 1, update: 0, delete: 0 },
      sizes: [100, 100, 30],
    },
    {
      name: 'scale 250 -> 50: emptied slices deleted, the one keeping pods updated',
      before: pods(250),
      after: pods(50),
      want: { create: 0, update: 1, delete: 2 },
      sizes: [50],
    },
    {
      name: 'maxEndpointsPerSlice option',
      after: pods(25),
      opts: { maxEndpointsPerSlice: 10 },
      want: { create: 3, update: 0, delete: 0 },
      sizes: [10, 10, 5],
    },
    {
      name: 'terminating pod stays (terminating), no churn elsewhere',
      before: pods(3),
      after: [...pods(2), ...pods(1, { deleting: true }, 2)],
      want: { create: 0, update: 1, delete: 0 },
      sizes: [3],
    },
    {
      name: 'pod loses its IP: dropped from its slice',
      before: pods(3),
      after: [...pods(2), ...pods(1, { ip: '' }, 2)],
      want: { create: 0, update: 1, delete: 0 },
      sizes: [2],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = c.svc ?? svc;
      const existing = c.before ? converge(s, c.before) : [];
      const p = plan(s, c.after, existing, c.opts);
      expect(counts(p)).toEqual(c.want);
      const next = apply(existing, p);
      if (c.sizes) expect(sizes(next)).toEqual(c.sizes);
      // Every desired endpoint is in exactly one slice.
      const want = desiredEndpoints(s, c.after, nodes);
      const n = [...want.groups.values()].reduce((a, g) => a + g.endpoints.size, 0);
      expect(ips(next).length).toBe(n);
      expect(new Set(ips(next)).size).toBe(n);
      // And once applied, the plan is a fixed point.
      expect(counts(plan(s, c.after, next, c.opts))).toEqual({ create: 0, update: 0, delete: 0 });
    });
  }
});

describe('planSlices: slice contents', () => {
  it('new slice: labels, owner, generateName, ports, endpoints, trigger time', () => {
    const svc = service('web', { labels: { tier: 'front' } });
    const p = plan(svc, [pod('a', { ip: '10.42.0.9' })], [], {
      triggerTime: Date.parse('2024-05-01T10:00:00Z'),
    });
    expect(p.create).toHaveLength(1);
    const s = p.create[0]!;
    expect(s.metadata).toEqual({
      generateName: 'web-',
      namespace: 'ns',
      labels: {
        tier: 'front',
        'kubernetes.io/service-name': 'web',
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name: 'web',
          uid: 'uid-svc-web',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-05-01T10:00:00Z' },
    });
    expect(s.addressType).toBe('IPv4');
    expect(s.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(s.endpoints).toEqual([
      {
        addresses: ['10.42.0.9'],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod', name: 'a', namespace: 'ns', uid: 'uid-a' },
        nodeName: 'node-a',
        zone: 'zone-1',
      },
    ]);
  });

  it('headless services get the headless label', () => {
    expect(sliceLabels(service('db', { clusterIP: 'None' }))).toEqual({
      'service.kubernetes.io/headless': '',
      'kubernetes.io/service-name': 'db',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
  });

  it('mixed resolved ports: one slice per port set, both kept in sync', () => {
    const svc = service('web', { ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }] });
    const ps = [
      pod('a', { ip: '10.42.0.1', ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('b', { ip: '10.42.0.2', ports: [{ name: 'web', containerPort: 9090 }] }),
    ];
    const state = converge(svc, ps);
    expect(state.map((s) => [s.ports?.[0]?.port, s.endpoints?.map((e) => e.addresses[0])]).sort()).toEqual([
      [8080, ['10.42.0.1']],
      [9090, ['10.42.0.2']],
    ]);
    // Pod b moves to 8080 too: the 9090 slice is no longer needed and gets deleted; no creates.
    const moved = [ps[0]!, pod('b', { ip: '10.42.0.2', ports: [{ name: 'web', containerPort: 8080 }] })];
    const p = plan(svc, moved, state);
    expect(counts(p)).toEqual({ create: 0, update: 1, delete: 1 });
    expect(p.delete[0]!.ports?.[0]?.port).toBe(9090);
  });

  it('a port change rewrites slices in place (delete + create become updates)', () => {
    const svc = service('web');
    const state = converge(svc, pods(150));
    const svc2 = service('web', { ports: [{ name: 'http', port: 80, targetPort: 9000, protocol: 'TCP' }] });
    const p = plan(svc2, pods(150), state);
    expect(counts(p)).toEqual({ create: 0, update: 2, delete: 0 });
    const names = new Set(state.map((s) => s.metadata!.name));
    for (const s of p.update) {
      expect(names.has(s.metadata!.name)).toBe(true);
      expect(s.metadata!.resourceVersion).toBeDefined();
      expect(s.ports).toEqual([{ name: 'http', port: 9000, protocol: 'TCP' }]);
    }
  });

  it('slices of an older service with the same name are deleted, not reused', () => {
    const old = service('web', { uid: 'old' });
    const state = converge(old, pods(3));
    const p = plan(service('web', { uid: 'new' }), pods(3), state);
    expect(counts(p)).toEqual({ create: 1, update: 0, delete: 1 });
    expect(p.create[0]!.metadata!.ownerReferences![0]!.uid).toBe('new');
  });

  it('service label change: slices updated with the new labels only', () => {
    const state = converge(service('web'), pods(3));
    const p = plan(service('web', { labels: { team: 'x' } }), pods(3), state);
    expect(counts(p)).toEqual({ create: 0, update: 1, delete: 0 });
    expect(p.update[0]!.metadata!.labels!.team).toBe('x');
    expect(p.update[0]!.endpoints).toEqual(state[0]!.endpoints);
  });

  it('slices of an address type the service no longer has are deleted', () => {
    const dual = service('web', { ipFamilies: ['IPv4', 'IPv6'] });
    const ps = [pod('a', { ips: ['10.42.0.1', 'fd00::1'] })];
    const state = converge(dual, ps);
    expect(state.map((s) => s.addressType).sort()).toEqual(['IPv4', 'IPv6']);
    const p = plan(service('web'), ps, state);
    expect(counts(p)).toEqual({ create: 0, update: 0, delete: 1 });
    expect(p.delete[0]!.addressType).toBe('IPv6');
  });

  it('update without a trigger time clears the annotation', () => {
    const state = converge(service('web'), pods(2));
    const withAnn = state.map((s) => ({
      ...s,
      metadata: {
        ...s.metadata,
        annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': 'x', keep: 'y' },
      },
    }));
    const p = plan(service('web'), pods(3), withAnn);
    expect(p.update[0]!.metadata!.annotations).toEqual({ keep: 'y' });
  });

  it('does not mutate existing slices', () => {
    const state = converge(service('web'), pods(5));
    const snapshot = structuredClone(state);
    plan(
      service('web', { trafficDistribution: 'PreferClose' }),
      [...pods(4), ...pods(1, { ready: false }, 4)],
      state,
    );
    expect(state).toEqual(snapshot);
  });
});

describe('planSlices: traffic distribution hints', () => {
  const ps = [
    pod('a', { ip: '10.42.0.1', node: 'node-a' }),
    pod('b', { ip: '10.42.0.2', node: 'node-b' }),
    pod('c', { ip: '10.42.0.3', node: 'node-c' }),
    pod('d', { ip: '10.42.0.4', node: 'node-a', ready: false }),
  ];
  const hints = (slices: Slice[]) =>
    slices.flatMap((s) => (s.endpoints ?? []).map((e) => [e.addresses[0], e.hints ?? null])).sort();

  const cases: [string, string | undefined, unknown[]][] = [
    [
      'none: no hints',
      undefined,
      [
        ['10.42.0.1', null],
        ['10.42.0.2', null],
        ['10.42.0.3', null],
        ['10.42.0.4', null],
      ],
    ],
    [
      'PreferClose: zone hints on ready endpoints with a zone',
      'PreferClose',
      [
        ['10.42.0.1', { forZones: [{ name: 'zone-1' }] }],
        ['10.42.0.2', { forZones: [{ name: 'zone-2' }] }],
        ['10.42.0.3', null],
        ['10.42.0.4', null],
      ],
    ],
    [
      'PreferSameNode: zone and node hints',
      'PreferSameNode',
      [
        ['10.42.0.1', { forZones: [{ name: 'zone-1' }], forNodes: [{ name: 'node-a' }] }],
        ['10.42.0.2', { forZones: [{ name: 'zone-2' }], forNodes: [{ name: 'node-b' }] }],
        ['10.42.0.3', { forNodes: [{ name: 'node-c' }] }],
        ['10.42.0.4', null],
      ],
    ],
  ];
  for (const [name, td, want] of cases) {
    it(name, () => {
      const svc = service('web', td ? { trafficDistribution: td } : {});
      expect(hints(converge(svc, ps))).toEqual(want);
    });
  }

  it('turning PreferClose on updates unchanged slices; turning it off removes hints', () => {
    const plain = converge(service('web'), ps);
    const on = plan(service('web', { trafficDistribution: 'PreferClose' }), ps, plain);
    expect(counts(on)).toEqual({ create: 0, update: 1, delete: 0 });
    const withHints = apply(plain, on);
    const off = plan(service('web'), ps, withHints);
    expect(counts(off)).toEqual({ create: 0, update: 1, delete: 0 });
    expect(hints(apply(withHints, off)).every(([, h]) => h === null)).toBe(true);
  });
});
