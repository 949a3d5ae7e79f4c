import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import {
  daemonPodTolerations,
  daemonSetCounts,
  newDaemonPod,
  nodeShouldRunDaemonPod,
  planManage,
  planRollingUpdate,
  targetNodeName,
  withDaemonTolerations,
} from './daemonset-plan.js';

const NOW = new Date('2024-01-01T01:00:00Z');
const NEW = 'newhash';
const OLD = 'oldhash';

function node(name: string, opts: { labels?: KObj; taints?: KObj[] } = {}): KObj {
  return { metadata: { name, labels: opts.labels ?? {} }, spec: { taints: opts.taints ?? [] } };
}

interface DsOpts {
  type?: string;
  maxUnavailable?: number | string;
  maxSurge?: number | string;
  nodeSelector?: KObj;
  tolerations?: KObj[];
  hostNetwork?: boolean;
  minReadySeconds?: number;
}

function ds(o: DsOpts = {}): KObj {
  const spec: KObj = { containers: [{ name: 'c', image: 'i' }] };
  if (o.nodeSelector) spec.nodeSelector = o.nodeSelector;
  if (o.tolerations) spec.tolerations = o.tolerations;
  if (o.hostNetwork) spec.hostNetwork = true;
  return {
    metadata: { name: 'agent', namespace: 'ns', uid: 'ds-uid', generation: 4 },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec },
      minReadySeconds: o.minReadySeconds ?? 0,
      updateStrategy:
        (o.type ?? 'RollingUpdate') === 'RollingUpdate'
          ? {
              type: 'RollingUpdate',
              rollingUpdate: { maxUnavailable: o.maxUnavailable ?? 1, maxSurge: o.maxSurge ?? 0 },
            }
          : { type: 'OnDelete' },
    },
  };
}

interface PodOpts {
  hash?: string;
  ready?: boolean;
  phase?: string;
  terminating?: boolean;
  unbound?: boolean;
  created?: string;
}

function pod(name: string, nodeName: string, o: PodOpts = {}): KObj {
  const spec: KObj = {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] },
          ],
        },
      },
    },
  };
  if (!o.unbound) spec.nodeName = nodeName;
  const ready = o.ready ?? true;
  const metadata: KObj = {
    name,
    namespace: 'ns',
    creationTimestamp: o.created ?? '2024-01-01T00:00:00Z',
    labels: { app: 'agent', 'controller-revision-hash': o.hash ?? NEW },
  };
  if (o.terminating) metadata.deletionTimestamp = '2024-01-01T00:59:00Z';
  return {
    metadata,
    spec,
    status: {
      phase: o.phase ?? (ready ? 'Running' : 'Pending'),
      conditions: [
        { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2024-01-01T00:30:00Z' },
      ],
    },
  };
}

const three = [node('n1'), node('n2'), node('n3')];

describe('nodeShouldRunDaemonPod', () => {
  const t = (key: string, effect: string, value?: string) =>
    value ? { key, value, effect } : { key, effect };
  const cases: [string, KObj, KObj, boolean, boolean][] = [
    ['plain node', node('n'), ds(), true, true],
    [
      'nodeSelector matches',
      node('n', { labels: { role: 'edge' } }),
      ds({ nodeSelector: { role: 'edge' } }),
      true,
      true,
    ],
    ['nodeSelector does not match', node('n'), ds({ nodeSelector: { role: 'edge' } }), false, false],
    [
      'untolerated NoSchedule: keep what runs',
      node('n', { taints: [t('gpu', 'NoSchedule')] }),
      ds(),
      false,
      true,
    ],
    ['untolerated NoExecute: evict', node('n', { taints: [t('gpu', 'NoExecute')] }), ds(), false, false],
    [
      'PreferNoSchedule does not matter',
      node('n', { taints: [t('gpu', 'PreferNoSchedule')] }),
      ds(),
      true,
      true,
    ],
    [
      'tolerated by the template',
      node('n', { taints: [t('gpu', 'NoSchedule', 'yes')] }),
      ds({ tolerations: [{ key: 'gpu', operator: 'Equal', value: 'yes', effect: 'NoSchedule' }] }),
      true,
      true,
    ],
    [
      'not-ready NoExecute tolerated by default',
      node('n', { taints: [t('node.kubernetes.io/not-ready', 'NoExecute')] }),
      ds(),
      true,
      true,
    ],
    [
      'unreachable NoExecute tolerated by default',
      node('n', { taints: [t('node.kubernetes.io/unreachable', 'NoExecute')] }),
      ds(),
      true,
      true,
    ],
    [
      'not-ready NoSchedule is not',
      node('n', { taints: [t('node.kubernetes.io/not-ready', 'NoSchedule')] }),
      ds(),
      false,
      true,
    ],
    [
      'unschedulable tolerated by default',
      node('n', { taints: [t('node.kubernetes.io/unschedulable', 'NoSchedule')] }),
      ds(),
      true,
      true,
    ],
    [
      'memory-pressure tolerated by default',
      node('n', { taints: [t('node.kubernetes.io/memory-pressure', 'NoSchedule')] }),
      ds(),
      true,
      true,
    ],
    [
      'network-unavailable: not without hostNetwork',
      node('n', { taints: [t('node.kubernetes.io/network-unavailable', 'NoSchedule')] }),
      ds(),
      false,
      true,
    ],
    [
      'network-unavailable: tolerated with hostNetwork',
      node('n', { taints: [t('node.kubernetes.io/network-unavailable', 'NoSchedule')] }),
      ds({ hostNetwork: true }),
      true,
      true,
    ],
  ];
  for (const [name, n, d, run, cont] of cases) {
    it(name, () =>
      expect(nodeShouldRunDaemonPod(n, d)).toEqual({ shouldRun: run, shouldContinueRunning: cont }),
    );
  }
  it('a template nodeName restricts the set to that node', () => {
    const d = ds();
    d.spec.template.spec.nodeName = 'n2';
    expect(three.map((n) => nodeShouldRunDaemonPod(n, d).shouldRun)).toEqual([false, true, false]);
  });
});

describe('tolerations', () => {
  it('adds the defaults (network-unavailable only for hostNetwork)', () => {
    expect(daemonPodTolerations(false).map((t) => t.key)).not.toContain(
      'node.kubernetes.io/network-unavailable',
    );
    expect(daemonPodTolerations(true)).toContainEqual({
      key: 'node.kubernetes.io/network-unavailable',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
    for (const t of daemonPodTolerations(true)) expect(t.tolerationSeconds).toBeUndefined();
  });
  it('replaces a matching toleration with other tolerationSeconds, keeps others', () => {
    const mine = [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
      { key: 'mine', operator: 'Exists' },
      { key: 'node.kubernetes.io/unreachable', operator: 'Equal', effect: 'NoExecute' },
    ];
    const out = withDaemonTolerations({ tolerations: mine });
    // 3 of the user's + 5 defaults added (unreachable Equal does not match the Exists default).
    expect(out).toHaveLength(8);
    expect(out[2]).toEqual(mine[2]);
    expect(out[0]).toEqual({ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' });
    expect(out[1]).toEqual({ key: 'mine', operator: 'Exists' });
  });
});

describe('newDaemonPod', () => {
  it('pins the pod to its node by affinity, not nodeName', () => {
    const d = ds();
    d.spec.template.spec.affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'x', operator: 'Exists' }] }],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: {} }],
      },
    };
    const p = newDaemonPod(d, 'n2', 'h1');
    expect(p.spec.nodeName).toBeUndefined();
    expect(p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual({
      nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }],
    });
    expect(p.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    expect(targetNodeName(p)).toBe('n2');
    expect(p.metadata.generateName).toBe('agent-');
    expect(p.metadata.labels).toEqual({
      app: 'agent',
      'controller-revision-hash': 'h1',
      'pod-template-generation': '4',
    });
    expect(p.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        name: 'agent',
        uid: 'ds-uid',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(p.spec.tolerations).toHaveLength(6);
    // The DaemonSet's own template is untouched.
    expect(d.spec.template.spec.tolerations).toBeUndefined();
    expect(
      d.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
        .nodeSelectorTerms[0].matchExpressions,
    ).toHaveLength(1);
  });
});

describe('planManage', () => {
  const cases: {
    name: string;
    ds?: KObj;
    nodes?: KObj[];
    pods: KObj[];
    createOn: string[];
    deletePods: string[];
  }[] = [
    { name: 'no pods: one per node', pods: [], createOn: ['n1', 'n2', 'n3'], deletePods: [] },
    {
      name: 'a node without its pod',
      pods: [pod('a', 'n1'), pod('b', 'n2')],
      createOn: ['n3'],
      deletePods: [],
    },
    {
      name: 'unbound pods count for their node',
      pods: [pod('a', 'n1', { unbound: true }), pod('b', 'n2'), pod('c', 'n3')],
      createOn: [],
      deletePods: [],
    },
    {
      name: 'a second pod on a node: the younger goes',
      pods: [
        pod('b', 'n1', { created: '2024-01-01T00:00:05Z' }),
        pod('a', 'n1'),
        pod('c', 'n2'),
        pod('d', 'n3'),
      ],
      createOn: [],
      deletePods: ['b'],
    },
    {
      name: 'a failed pod goes (replaced next round)',
      pods: [pod('a', 'n1', { phase: 'Failed', ready: false }), pod('c', 'n2'), pod('d', 'n3')],
      createOn: [],
      deletePods: ['a'],
    },
    {
      name: 'a terminating pod is waited for',
      pods: [pod('a', 'n1', { terminating: true }), pod('c', 'n2'), pod('d', 'n3')],
      createOn: [],
      deletePods: [],
    },
    {
      name: 'NoSchedule taint: nothing new, the running pod stays',
      nodes: [node('n1', { taints: [{ key: 'k', effect: 'NoSchedule' }] }), node('n2')],
      pods: [pod('a', 'n1')],
      createOn: ['n2'],
      deletePods: [],
    },
    {
      name: 'NoExecute taint: the pod goes',
      nodes: [node('n1', { taints: [{ key: 'k', effect: 'NoExecute' }] }), node('n2')],
      pods: [pod('a', 'n1'), pod('b', 'n2')],
      createOn: [],
      deletePods: ['a'],
    },
    {
      name: 'node no longer selected: its pod goes',
      ds: ds({ nodeSelector: { role: 'edge' } }),
      nodes: [node('n1'), node('n2', { labels: { role: 'edge' } })],
      pods: [pod('a', 'n1'), pod('b', 'n2')],
      createOn: [],
      deletePods: ['a'],
    },
    {
      name: 'an unbound pod for a vanished node goes; a bound one is left to pod GC',
      nodes: [node('n1')],
      pods: [pod('a', 'n1'), pod('b', 'gone', { unbound: true }), pod('c', 'gone2')],
      createOn: [],
      deletePods: ['b'],
    },
    {
      name: 'surge: old and unready new pod both stay',
      ds: ds({ maxSurge: 1, maxUnavailable: 0 }),
      nodes: [node('n1')],
      pods: [
        pod('a', 'n1', { hash: OLD }),
        pod('b', 'n1', { ready: false, created: '2024-01-01T00:10:00Z' }),
      ],
      createOn: [],
      deletePods: [],
    },
    {
      name: 'surge: the old pod goes once the new one is available',
      ds: ds({ maxSurge: 1, maxUnavailable: 0 }),
      nodes: [node('n1')],
      pods: [pod('a', 'n1', { hash: OLD }), pod('b', 'n1', { created: '2024-01-01T00:10:00Z' })],
      createOn: [],
      deletePods: ['a'],
    },
    {
      name: 'surge: an unready old pod goes at once',
      ds: ds({ maxSurge: 1, maxUnavailable: 0 }),
      nodes: [node('n1')],
      pods: [pod('a', 'n1', { hash: OLD, ready: false }), pod('b', 'n1', { ready: false })],
      createOn: [],
      deletePods: ['a'],
    },
    {
      name: 'surge: a node whose only pod is terminating gets a new one',
      ds: ds({ maxSurge: 1, maxUnavailable: 0 }),
      nodes: [node('n1')],
      pods: [pod('a', 'n1', { terminating: true })],
      createOn: ['n1'],
      deletePods: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = planManage({
        ds: c.ds ?? ds(),
        nodes: c.nodes ?? three,
        pods: c.pods,
        hash: NEW,
        now: NOW,
      });
      expect(got).toEqual({ createOn: c.createOn, deletePods: c.deletePods });
    });
  }
});

describe('planRollingUpdate', () => {
  const old = (n: string, o: PodOpts = {}) => pod(`old-${n}`, n, { hash: OLD, ...o });
  const cur = (n: string, o: PodOpts = {}) => pod(`new-${n}`, n, { hash: NEW, ...o });
  const cases: { name: string; ds: KObj; pods: KObj[]; createOn: string[]; deletePods: string[] }[] = [
    {
      name: 'maxUnavailable 1: one old pod at a time',
      ds: ds(),
      pods: [old('n1'), old('n2'), old('n3')],
      createOn: [],
      deletePods: ['old-n1'],
    },
    {
      name: 'maxUnavailable 2',
      ds: ds({ maxUnavailable: 2 }),
      pods: [old('n1'), old('n2'), old('n3')],
      createOn: [],
      deletePods: ['old-n1', 'old-n2'],
    },
    {
      name: 'maxUnavailable 50% of 3 rounds up to 2',
      ds: ds({ maxUnavailable: '50%' }),
      pods: [old('n1'), old('n2'), old('n3')],
      createOn: [],
      deletePods: ['old-n1', 'old-n2'],
    },
    {
      name: 'a new pod not yet ready uses the budget',
      ds: ds(),
      pods: [cur('n1', { ready: false }), old('n2'), old('n3')],
      createOn: [],
      deletePods: [],
    },
    {
      name: 'a node with no pod is left to the core loop',
      ds: ds(),
      pods: [old('n2'), old('n3')],
      createOn: [],
      deletePods: ['old-n2'],
    },
    {
      name: 'next step after the first node is done',
      ds: ds(),
      pods: [cur('n1'), old('n2'), old('n3')],
      createOn: [],
      deletePods: ['old-n2'],
    },
    {
      name: 'an unavailable old pod is replaced whatever the budget',
      ds: ds(),
      pods: [cur('n1', { ready: false }), old('n2', { ready: false }), old('n3')],
      createOn: [],
      deletePods: ['old-n2'],
    },
    { name: 'done', ds: ds(), pods: [cur('n1'), cur('n2'), cur('n3')], createOn: [], deletePods: [] },
    {
      name: 'minReadySeconds: ready but not yet available',
      ds: ds({ minReadySeconds: 3600 }),
      pods: [cur('n1'), old('n2', { ready: false }), old('n3', { ready: false })],
      createOn: [],
      deletePods: ['old-n2', 'old-n3'],
    },
    {
      name: 'surge 1: a new pod beside one old one',
      ds: ds({ maxSurge: 1, maxUnavailable: 0 }),
      pods: [old('n1'), old('n2'), old('n3')],
      createOn: ['n1'],
      deletePods: [],
    },
    {
      name: 'surge 1: wait while the surged pod is not available',
      ds: ds({ maxSurge: 1, maxUnavailable: 0 }),
      pods: [old('n1'), cur('n1', { ready: false }), old('n2'), old('n3')],
      createOn: [],
      deletePods: [],
    },
    {
      name: 'surge 1: available new pod: old goes, next node surges',
      ds: ds({ maxSurge: 1, maxUnavailable: 0 }),
      pods: [old('n1'), cur('n1'), old('n2'), old('n3')],
      createOn: ['n2'],
      deletePods: ['old-n1'],
    },
    {
      name: 'surge: an unavailable old pod gets a new pod beyond the budget',
      ds: ds({ maxSurge: 1, maxUnavailable: 0 }),
      pods: [old('n1', { ready: false }), old('n2'), old('n3')],
      createOn: ['n1', 'n2'],
      deletePods: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = planRollingUpdate({ ds: c.ds, nodes: three, pods: c.pods, hash: NEW, now: NOW });
      expect(got).toEqual({ createOn: c.createOn, deletePods: c.deletePods });
    });
  }
});

describe('daemonSetCounts', () => {
  it('counts per node, reading the oldest pod of each', () => {
    const nodes = [...three, node('n4', { taints: [{ key: 'k', effect: 'NoSchedule' }] })];
    const pods = [
      pod('a', 'n1'),
      pod('a2', 'n1', { hash: OLD, ready: false, created: '2024-01-01T00:20:00Z' }),
      pod('b', 'n2', { hash: OLD }),
      pod('d', 'n4'),
    ];
    expect(daemonSetCounts({ ds: ds(), nodes, pods, hash: NEW, now: NOW })).toEqual({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 2,
      numberMisscheduled: 1,
      numberReady: 2,
      numberAvailable: 2,
      numberUnavailable: 1,
      updatedNumberScheduled: 1,
    });
  });
  it('availability waits for minReadySeconds', () => {
    const c = daemonSetCounts({
      ds: ds({ minReadySeconds: 3600 }),
      nodes: three,
      pods: [pod('a', 'n1')],
      hash: NEW,
      now: NOW,
    });
    expect([c.numberReady, c.numberAvailable, c.numberUnavailable]).toEqual([1, 0, 3]);
  });
});
