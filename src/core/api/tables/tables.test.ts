import { describe, expect, it } from 'vitest';
import { RESOURCES, type ResourceInfo, resourceForKind } from '../resources.js';
import { type TableOptions, tableFor } from './tables.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

function info(apiVersion: string, kind: string): ResourceInfo {
  const r = resourceForKind(apiVersion, kind);
  if (r === undefined) throw new Error(`no resource ${apiVersion} ${kind}`);
  return r;
}

/** The row of one object as a column-name -> cell map (all columns, as the server prints them). */
function row(
  apiVersion: string,
  kind: string,
  obj: object,
  opts: Partial<TableOptions> = {},
): Record<string, unknown> {
  const t = tableFor(info(apiVersion, kind), [obj], { wide: true, includeObject: 'None', now: NOW, ...opts });
  const cells = t.rows[0]?.cells ?? [];
  expect(cells).toHaveLength(t.columnDefinitions.length);
  return Object.fromEntries(t.columnDefinitions.map((c, i) => [c.name, cells[i]]));
}

function columns(apiVersion: string, kind: string): string[] {
  const t = tableFor(info(apiVersion, kind), [], { wide: true, includeObject: 'None', now: NOW });
  return t.columnDefinitions.map((c) => (c.priority === 1 ? `${c.name}*` : c.name));
}

const meta = (name: string, extra: object = {}) => ({
  name,
  namespace: 'default',
  creationTimestamp: ago(5 * M),
  ...extra,
});

describe('column sets', () => {
  it.each([
    ['v1', 'Namespace', ['Name', 'Status', 'Age']],
    [
      'v1',
      'Pod',
      ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP*', 'Node*', 'Nominated Node*', 'Readiness Gates*'],
    ],
    ['v1', 'Service', ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector*']],
    ['v1', 'Endpoints', ['Name', 'Endpoints', 'Age']],
    [
      'v1',
      'Node',
      [
        'Name',
        'Status',
        'Roles',
        'Age',
        'Version',
        'Internal-IP*',
        'External-IP*',
        'OS-Image*',
        'Kernel-Version*',
        'Container-Runtime*',
      ],
    ],
    ['v1', 'ConfigMap', ['Name', 'Data', 'Age']],
    ['v1', 'Secret', ['Name', 'Type', 'Data', 'Age']],
    ['v1', 'ServiceAccount', ['Name', 'Secrets', 'Age']],
    [
      'v1',
      'Event',
      [
        'Last Seen',
        'Type',
        'Reason',
        'Object',
        'Subobject*',
        'Source*',
        'Message',
        'First Seen*',
        'Count*',
        'Name*',
      ],
    ],
    [
      'apps/v1',
      'Deployment',
      ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers*', 'Images*', 'Selector*'],
    ],
    [
      'apps/v1',
      'ReplicaSet',
      ['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers*', 'Images*', 'Selector*'],
    ],
    [
      'apps/v1',
      'DaemonSet',
      [
        'Name',
        'Desired',
        'Current',
        'Ready',
        'Up-to-date',
        'Available',
        'Node Selector',
        'Age',
        'Containers*',
        'Images*',
        'Selector*',
      ],
    ],
    ['apps/v1', 'StatefulSet', ['Name', 'Ready', 'Age', 'Containers*', 'Images*']],
    [
      'batch/v1',
      'Job',
      ['Name', 'Status', 'Completions', 'Duration', 'Age', 'Containers*', 'Images*', 'Selector*'],
    ],
    [
      'batch/v1',
      'CronJob',
      [
        'Name',
        'Schedule',
        'Timezone',
        'Suspend',
        'Active',
        'Last Schedule',
        'Age',
        'Containers*',
        'Images*',
        'Selector*',
      ],
    ],
    ['networking.k8s.io/v1', 'Ingress', ['Name', 'Class', 'Hosts', 'Address', 'Ports', 'Age']],
    ['networking.k8s.io/v1', 'IngressClass', ['Name', 'Controller', 'Parameters', 'Age']],
    ['discovery.k8s.io/v1', 'EndpointSlice', ['Name', 'AddressType', 'Ports', 'Endpoints', 'Age']],
    ['coordination.k8s.io/v1', 'Lease', ['Name', 'Holder', 'Age']],
  ])('%s %s', (apiVersion, kind, want) => {
    expect(columns(apiVersion, kind)).toEqual(want);
  });

  it('every served kind has a printer of its own', () => {
    for (const r of RESOURCES) {
      const names = tableFor(r, [], { wide: true, includeObject: 'None', now: NOW }).columnDefinitions.map(
        (c) => c.name,
      );
      expect(names, r.kind).not.toContain('Created At');
    }
  });
});

const container = (name: string, state: object, extra: object = {}) => ({
  name,
  image: `${name}:1`,
  imageID: '',
  ready: false,
  restartCount: 0,
  state,
  ...extra,
});
const running = { running: { startedAt: ago(M) } };

describe('Pod', () => {
  const base = {
    metadata: meta('web-1'),
    spec: { containers: [{ name: 'app' }, { name: 'side' }], nodeName: 'node-a' },
  };
  it.each([
    {
      title: 'running and ready',
      status: {
        phase: 'Running',
        podIP: '10.42.0.5',
        podIPs: [{ ip: '10.42.0.5' }],
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [
          container('app', running, { ready: true }),
          container('side', running, { ready: true }),
        ],
      },
      want: { Ready: '2/2', Status: 'Running', Restarts: '0', IP: '10.42.0.5', Node: 'node-a' },
    },
    {
      title: 'crash looping with restarts',
      status: {
        phase: 'Running',
        containerStatuses: [
          container('app', running, { ready: true }),
          container(
            'side',
            { waiting: { reason: 'CrashLoopBackOff' } },
            { restartCount: 3, lastState: { terminated: { exitCode: 1, finishedAt: ago(5 * M) } } },
          ),
        ],
      },
      want: { Ready: '1/2', Status: 'CrashLoopBackOff', Restarts: '3 (5m ago)', IP: '<none>' },
    },
    {
      title: 'pending image pull',
      status: {
        phase: 'Pending',
        containerStatuses: [
          container('app', { waiting: { reason: 'ContainerCreating' } }),
          container('side', { waiting: { reason: 'ImagePullBackOff' } }),
        ],
      },
      want: { Ready: '0/2', Status: 'ContainerCreating' },
    },
    {
      title: 'completed',
      status: {
        phase: 'Succeeded',
        containerStatuses: [
          container('app', { terminated: { exitCode: 0, reason: 'Completed' } }),
          container('side', { terminated: { exitCode: 0, reason: 'Completed' } }),
        ],
      },
      want: { Ready: '0/2', Status: 'Completed' },
    },
    {
      title: 'terminated without reason',
      status: {
        phase: 'Failed',
        containerStatuses: [
          container('app', { terminated: { exitCode: 137 } }),
          container('side', { terminated: { exitCode: 0, signal: 9 } }),
        ],
      },
      want: { Status: 'ExitCode:137' },
    },
    {
      title: 'completed container while another runs, pod not ready',
      status: {
        phase: 'Running',
        containerStatuses: [
          container('app', { terminated: { exitCode: 0, reason: 'Completed' } }),
          container('side', running, { ready: true }),
        ],
      },
      want: { Ready: '1/2', Status: 'NotReady' },
    },
    {
      title: 'evicted (pod reason)',
      status: { phase: 'Failed', reason: 'Evicted' },
      want: { Status: 'Evicted', Ready: '0/2' },
    },
    {
      title: 'unschedulable gated',
      status: {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }],
      },
      want: { Status: 'SchedulingGated' },
    },
  ])('$title', ({ status, want }) => {
    expect(row('v1', 'Pod', { ...base, status })).toMatchObject(want);
  });

  const withInit = (initStatuses: object[], phase = 'Pending') => ({
    metadata: meta('init'),
    spec: { initContainers: [{ name: 'i1' }, { name: 'i2' }], containers: [{ name: 'app' }] },
    status: {
      phase,
      initContainerStatuses: initStatuses,
      containerStatuses: [container('app', { waiting: { reason: 'PodInitializing' } })],
    },
  });

  it.each([
    {
      title: 'first init running',
      pod: withInit([container('i1', running), container('i2', { waiting: { reason: 'PodInitializing' } })]),
      want: 'Init:0/2',
    },
    {
      title: 'second init running',
      pod: withInit([container('i1', { terminated: { exitCode: 0 } }), container('i2', running)]),
      want: 'Init:1/2',
    },
    {
      title: 'init crash looping',
      pod: withInit([container('i1', { waiting: { reason: 'CrashLoopBackOff' } })]),
      want: 'Init:CrashLoopBackOff',
    },
    {
      title: 'init failed with reason',
      pod: withInit([container('i1', { terminated: { exitCode: 1, reason: 'Error' } })], 'Failed'),
      want: 'Init:Error',
    },
    {
      title: 'init killed by signal',
      pod: withInit([container('i1', { terminated: { exitCode: 2, signal: 9 } })]),
      want: 'Init:Signal:9',
    },
    {
      title: 'init failed with exit code',
      pod: withInit([container('i1', { terminated: { exitCode: 2 } })]),
      want: 'Init:ExitCode:2',
    },
  ])('$title', ({ pod, want }) => {
    expect(row('v1', 'Pod', pod).Status).toBe(want);
  });

  it('counts started sidecar init containers as containers', () => {
    const pod = {
      metadata: meta('sidecar'),
      spec: {
        initContainers: [{ name: 'proxy', restartPolicy: 'Always' }],
        containers: [{ name: 'app' }],
      },
      status: {
        phase: 'Running',
        conditions: [
          { type: 'Initialized', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
        initContainerStatuses: [
          container('proxy', running, {
            ready: true,
            started: true,
            restartCount: 2,
            lastState: { terminated: { exitCode: 1, finishedAt: ago(4 * H) } },
          }),
        ],
        containerStatuses: [container('app', running, { ready: true })],
      },
    };
    expect(row('v1', 'Pod', pod)).toMatchObject({ Ready: '2/2', Status: 'Running', Restarts: '2 (4h ago)' });
  });

  it('says Terminating for a deleted pod that has not finished, not for a finished one', () => {
    const deleting = {
      metadata: meta('x', { deletionTimestamp: ago(S) }),
      spec: base.spec,
      status: { phase: 'Running' },
    };
    expect(row('v1', 'Pod', deleting).Status).toBe('Terminating');
    const done = { ...deleting, status: { phase: 'Succeeded' } };
    expect(row('v1', 'Pod', done).Status).toBe('Succeeded');
    const lost = { ...deleting, status: { phase: 'Running', reason: 'NodeLost' } };
    expect(row('v1', 'Pod', lost).Status).toBe('Unknown');
  });

  it('counts true readiness gates and shows the nominated node', () => {
    const pod = {
      metadata: meta('g'),
      spec: {
        containers: [{ name: 'a' }],
        readinessGates: [{ conditionType: 'x/ok' }, { conditionType: 'y/ok' }],
      },
      status: {
        phase: 'Pending',
        nominatedNodeName: 'node-b',
        conditions: [{ type: 'x/ok', status: 'True' }],
      },
    };
    expect(row('v1', 'Pod', pod)).toMatchObject({
      'Readiness Gates': '1/2',
      'Nominated Node': 'node-b',
      Node: '<none>',
    });
  });

  it('marks finished pods with a Completed row condition', () => {
    const t = tableFor(
      info('v1', 'Pod'),
      [
        { ...base, status: { phase: 'Succeeded' } },
        { ...base, status: { phase: 'Running' } },
      ],
      {
        wide: true,
        includeObject: 'None',
        now: NOW,
      },
    );
    expect(t.rows[0]?.conditions).toEqual([
      {
        type: 'Completed',
        status: 'True',
        reason: 'Succeeded',
        message: 'The pod has completed successfully.',
      },
    ]);
    expect(t.rows[1]?.conditions).toBeUndefined();
  });
});

describe('Service', () => {
  const svc = (spec: object, status: object = {}) => ({ metadata: meta('web'), spec, status });
  it.each([
    {
      title: 'cluster IP',
      obj: svc({
        type: 'ClusterIP',
        clusterIP: '10.43.0.10',
        clusterIPs: ['10.43.0.10'],
        ports: [
          { port: 80, protocol: 'TCP' },
          { port: 53, protocol: 'UDP' },
        ],
        selector: { app: 'web', tier: 'fe' },
      }),
      want: {
        Type: 'ClusterIP',
        'Cluster-IP': '10.43.0.10',
        'External-IP': '<none>',
        'Port(s)': '80/TCP,53/UDP',
        Age: '5m',
        Selector: 'app=web,tier=fe',
      },
    },
    {
      title: 'node port',
      obj: svc({
        type: 'NodePort',
        clusterIPs: ['10.43.1.2'],
        ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }],
      }),
      want: { 'Port(s)': '80:30080/TCP', 'External-IP': '<none>', Selector: '<none>' },
    },
    {
      title: 'load balancer pending',
      obj: svc({
        type: 'LoadBalancer',
        clusterIPs: ['10.43.1.3'],
        ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }],
      }),
      want: { 'External-IP': '<pending>' },
    },
    {
      title: 'load balancer provisioned',
      obj: svc(
        { type: 'LoadBalancer', clusterIPs: ['10.43.1.3'], externalIPs: ['192.0.2.9'], ports: [] },
        {
          loadBalancer: {
            ingress: [{ ip: '203.0.113.7' }, { hostname: 'lb.example.com' }, { ip: '203.0.113.7' }],
          },
        },
      ),
      want: { 'External-IP': '203.0.113.7,lb.example.com,192.0.2.9', 'Port(s)': '<none>' },
    },
    {
      title: 'headless',
      obj: svc({
        type: 'ClusterIP',
        clusterIP: 'None',
        clusterIPs: ['None'],
        ports: [{ port: 5432, protocol: 'TCP' }],
      }),
      want: { 'Cluster-IP': 'None' },
    },
    {
      title: 'external name',
      obj: svc({ type: 'ExternalName', externalName: 'db.example.com' }),
      want: { 'Cluster-IP': '<none>', 'External-IP': 'db.example.com' },
    },
  ])('$title', ({ obj, want }) => {
    expect(row('v1', 'Service', obj)).toMatchObject(want);
  });

  it('clips long load balancer addresses when not wide', () => {
    const obj = svc(
      { type: 'LoadBalancer' },
      { loadBalancer: { ingress: [{ hostname: 'a-very-long-hostname.example.com' }] } },
    );
    const t = tableFor(info('v1', 'Service'), [obj], { wide: false, includeObject: 'None', now: NOW });
    expect(t.columnDefinitions.map((c) => c.name)).not.toContain('Selector');
    expect(t.rows[0]?.cells).toEqual(['web', 'LoadBalancer', '<none>', 'a-very-long-h...', '<none>', '5m']);
  });
});

describe('Endpoints', () => {
  it.each([
    { subsets: undefined, want: '<none>' },
    {
      subsets: [
        { addresses: [{ ip: '10.42.0.1' }, { ip: '10.42.0.2' }], ports: [{ port: 80 }, { port: 443 }] },
      ],
      want: '10.42.0.1:80,10.42.0.2:80,10.42.0.1:443 + 1 more...',
    },
    {
      subsets: [
        { addresses: [{ ip: '10.42.0.1' }], ports: [{ port: 8080 }] },
        {
          addresses: [{ ip: '10.42.1.1' }, { ip: '10.42.1.2' }, { ip: '10.42.1.3' }, { ip: '10.42.1.4' }],
          ports: [{ port: 9090 }],
        },
      ],
      want: '10.42.0.1:8080,10.42.1.1:9090,10.42.1.2:9090 + 2 more...',
    },
    { subsets: [{ addresses: [{ ip: '10.42.0.9' }] }], want: '10.42.0.9' },
    { subsets: [{ addresses: [{ ip: 'fd00::9' }], ports: [{ port: 80 }] }], want: '[fd00::9]:80' },
  ])('$want', ({ subsets, want }) => {
    expect(row('v1', 'Endpoints', { metadata: meta('web'), subsets }).Endpoints).toBe(want);
  });
});

describe('Node', () => {
  const node = (extra: {
    labels?: Record<string, string>;
    unschedulable?: boolean;
    conditions?: object[];
  }) => ({
    metadata: { name: 'node-a', creationTimestamp: ago(10 * D), labels: extra.labels ?? {} },
    spec: { unschedulable: extra.unschedulable },
    status: {
      conditions: extra.conditions ?? [
        { type: 'MemoryPressure', status: 'False' },
        { type: 'Ready', status: 'True' },
      ],
      addresses: [
        { type: 'Hostname', address: 'node-a' },
        { type: 'InternalIP', address: '192.168.1.10' },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.30.0-k8ts',
        osImage: 'Ubuntu 24.04',
        kernelVersion: '6.8.0',
        containerRuntimeVersion: 'k8ts://0.1.0',
      },
    },
  });
  it.each([
    {
      title: 'ready control plane',
      obj: node({
        labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/master': 'true' },
      }),
      want: {
        Status: 'Ready',
        Roles: 'control-plane,master',
        Age: '10d',
        Version: 'v1.30.0-k8ts',
        'Internal-IP': '192.168.1.10',
        'External-IP': '<none>',
        'OS-Image': 'Ubuntu 24.04',
        'Kernel-Version': '6.8.0',
        'Container-Runtime': 'k8ts://0.1.0',
      },
    },
    {
      title: 'cordoned worker',
      obj: node({ labels: { 'kubernetes.io/role': 'worker' }, unschedulable: true }),
      want: { Status: 'Ready,SchedulingDisabled', Roles: 'worker' },
    },
    {
      title: 'not ready',
      obj: node({ conditions: [{ type: 'Ready', status: 'Unknown' }] }),
      want: { Status: 'NotReady', Roles: '<none>' },
    },
    { title: 'no conditions', obj: node({ conditions: [] }), want: { Status: 'Unknown' } },
  ])('$title', ({ obj, want }) => {
    expect(row('v1', 'Node', obj)).toMatchObject(want);
  });
});

describe('small core kinds', () => {
  it.each([
    [
      'v1',
      'Namespace',
      { metadata: meta('team-a'), status: { phase: 'Active' } },
      ['team-a', 'Active', '5m'],
    ],
    [
      'v1',
      'ConfigMap',
      { metadata: meta('cfg'), data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } },
      ['cfg', 3, '5m'],
    ],
    [
      'v1',
      'Secret',
      { metadata: meta('tls'), type: 'kubernetes.io/tls', data: { 'tls.crt': 'x', 'tls.key': 'y' } },
      ['tls', 'kubernetes.io/tls', 2, '5m'],
    ],
    ['v1', 'ServiceAccount', { metadata: meta('default'), secrets: [{ name: 's1' }] }, ['default', 1, '5m']],
    ['v1', 'ServiceAccount', { metadata: meta('builder') }, ['builder', 0, '5m']],
    [
      'coordination.k8s.io/v1',
      'Lease',
      { metadata: meta('kube-scheduler'), spec: { holderIdentity: 'node-a_1234' } },
      ['kube-scheduler', 'node-a_1234', '5m'],
    ],
  ])('%s %s', (apiVersion, kind, obj, want) => {
    const t = tableFor(info(apiVersion, kind), [obj], { wide: true, includeObject: 'None', now: NOW });
    expect(t.rows[0]?.cells).toEqual(want);
  });
});

describe('Event', () => {
  it('prints a core/v1 event with source and count', () => {
    const ev = {
      metadata: meta('web-1.17c'),
      involvedObject: { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{app}' },
      reason: 'BackOff',
      message: 'Back-off restarting failed container\n',
      type: 'Warning',
      source: { component: 'kubelet', host: 'node-a' },
      firstTimestamp: ago(H),
      lastTimestamp: ago(2 * M),
      count: 7,
    };
    expect(
      tableFor(info('v1', 'Event'), [ev], { wide: true, includeObject: 'None', now: NOW }).rows[0]?.cells,
    ).toEqual([
      '2m',
      'Warning',
      'BackOff',
      'pod/web-1',
      'spec.containers{app}',
      'kubelet, node-a',
      'Back-off restarting failed container',
      '60m',
      7,
      'web-1.17c',
    ]);
  });

  it('prints an events.k8s.io style event: eventTime, series, reporting controller', () => {
    const ev = {
      metadata: meta('n.1'),
      involvedObject: { kind: 'Node' },
      reason: 'Starting',
      type: 'Normal',
      eventTime: ago(3 * H),
      reportingComponent: 'k8ts-proxy',
      reportingInstance: '',
      series: { count: 4, lastObservedTime: ago(30 * S) },
    };
    expect(row('v1', 'Event', ev)).toMatchObject({
      'Last Seen': '30s',
      'First Seen': '3h',
      Object: 'node',
      Source: 'k8ts-proxy',
      Count: 4,
    });
    const single = { ...ev, series: undefined };
    expect(row('v1', 'Event', single)).toMatchObject({ 'Last Seen': '3h', Count: 1 });
  });
});

const template = {
  spec: {
    containers: [
      { name: 'app', image: 'nginx:1.27' },
      { name: 'log', image: 'busybox' },
    ],
  },
};

describe('workloads', () => {
  it.each([
    {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      obj: {
        metadata: meta('web'),
        spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template },
        status: { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
      },
      want: ['web', '2/3', 3, 2, '5m', 'app,log', 'nginx:1.27,busybox', 'app=web'],
    },
    {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      obj: { metadata: meta('new'), spec: { replicas: 0, selector: {}, template } },
      want: ['new', '0/0', 0, 0, '5m', 'app,log', 'nginx:1.27,busybox', ''],
    },
    {
      kind: 'ReplicaSet',
      apiVersion: 'apps/v1',
      obj: {
        metadata: meta('web-6d4f'),
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web', 'pod-template-hash': '6d4f' } },
          template,
        },
        status: { replicas: 3, readyReplicas: 1 },
      },
      want: ['web-6d4f', 3, 3, 1, '5m', 'app,log', 'nginx:1.27,busybox', 'app=web,pod-template-hash=6d4f'],
    },
    {
      kind: 'DaemonSet',
      apiVersion: 'apps/v1',
      obj: {
        metadata: meta('proxy'),
        spec: {
          selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['proxy'] }] },
          template: { spec: { ...template.spec, nodeSelector: { 'kubernetes.io/os': 'linux' } } },
        },
        status: {
          desiredNumberScheduled: 4,
          currentNumberScheduled: 4,
          numberReady: 3,
          updatedNumberScheduled: 4,
          numberAvailable: 3,
          numberMisscheduled: 0,
        },
      },
      want: [
        'proxy',
        4,
        4,
        3,
        4,
        3,
        'kubernetes.io/os=linux',
        '5m',
        'app,log',
        'nginx:1.27,busybox',
        'app in (proxy)',
      ],
    },
    {
      kind: 'StatefulSet',
      apiVersion: 'apps/v1',
      obj: {
        metadata: meta('db'),
        spec: { replicas: 3, serviceName: 'db', selector: {}, template },
        status: { replicas: 2, readyReplicas: 2 },
      },
      want: ['db', '2/3', '5m', 'app,log', 'nginx:1.27,busybox'],
    },
  ])('$kind $obj.metadata.name', ({ apiVersion, kind, obj, want }) => {
    expect(
      tableFor(info(apiVersion, kind), [obj], { wide: true, includeObject: 'None', now: NOW }).rows[0]?.cells,
    ).toEqual(want);
  });
});

describe('Job', () => {
  const job = (spec: object, status: object, extra: object = {}) => ({
    metadata: meta('backup', extra),
    spec: { selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } }, template, ...spec },
    status,
  });
  it.each([
    {
      title: 'running with completions',
      obj: job({ completions: 3 }, { succeeded: 1, startTime: ago(4 * M) }),
      want: { Status: 'Running', Completions: '1/3', Duration: '4m' },
    },
    {
      title: 'complete',
      obj: job(
        {},
        {
          succeeded: 1,
          startTime: ago(10 * M),
          completionTime: ago(7 * M),
          conditions: [
            { type: 'SuccessCriteriaMet', status: 'True' },
            { type: 'Complete', status: 'True' },
          ],
        },
      ),
      want: { Status: 'Complete', Completions: '1/1', Duration: '3m' },
    },
    {
      title: 'parallel without completions',
      obj: job({ parallelism: 4 }, { succeeded: 2, startTime: ago(30 * S) }),
      want: { Completions: '2/1 of 4', Duration: '30s' },
    },
    {
      title: 'failed',
      obj: job(
        {},
        {
          failed: 6,
          startTime: ago(H),
          conditions: [
            { type: 'FailureTarget', status: 'True' },
            { type: 'Failed', status: 'True' },
          ],
        },
      ),
      want: { Status: 'Failed' },
    },
    {
      title: 'suspended',
      obj: job({ suspend: true }, { conditions: [{ type: 'Suspended', status: 'True' }] }),
      want: { Status: 'Suspended', Duration: '' },
    },
    {
      title: 'terminating',
      obj: job({}, {}, { deletionTimestamp: ago(S) }),
      want: { Status: 'Terminating' },
    },
    {
      title: 'failure target only',
      obj: job(
        {},
        {
          conditions: [
            { type: 'FailureTarget', status: 'True' },
            { type: 'Suspended', status: 'False' },
          ],
        },
      ),
      want: { Status: 'FailureTarget' },
    },
  ])('$title', ({ obj, want }) => {
    expect(row('batch/v1', 'Job', obj)).toMatchObject({
      ...want,
      Selector: 'batch.kubernetes.io/controller-uid=u1',
    });
  });
});

describe('CronJob', () => {
  const cj = (spec: object, status: object) => ({
    metadata: meta('nightly'),
    spec: { jobTemplate: { spec: { template } }, ...spec },
    status,
  });
  it.each([
    {
      title: 'never scheduled, suspend unset',
      obj: cj({ schedule: '*/5 * * * *' }, {}),
      want: { Schedule: '*/5 * * * *', Timezone: '<none>', Suspend: '<unset>', Active: 0 },
      last: '<none>',
    },
    {
      title: 'scheduled with active jobs and a time zone',
      obj: cj(
        { schedule: '@hourly', timeZone: 'Europe/Paris', suspend: false },
        { active: [{ name: 'nightly-1' }, { name: 'nightly-2' }], lastScheduleTime: ago(90 * S) },
      ),
      want: { Schedule: '@hourly', Timezone: 'Europe/Paris', Suspend: 'False', Active: 2 },
      last: '90s',
    },
    {
      title: 'suspended',
      obj: cj({ schedule: '0 0 * * *', suspend: true }, { lastScheduleTime: ago(2 * D) }),
      want: { Suspend: 'True', Active: 0 },
      last: '2d',
    },
  ])('$title', ({ obj, want, last }) => {
    expect(row('batch/v1', 'CronJob', obj)).toMatchObject({
      ...want,
      'Last Schedule': last,
      Selector: '<none>',
    });
  });
});

describe('networking kinds', () => {
  it.each([
    {
      title: 'ingress with tls and address',
      obj: {
        metadata: meta('web'),
        spec: {
          ingressClassName: 'k8ts',
          rules: [{ host: 'a.example.com' }, { host: 'b.example.com' }],
          tls: [{ hosts: ['a.example.com'] }],
        },
        status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
      },
      want: ['web', 'k8ts', 'a.example.com,b.example.com', '192.0.2.1', '80, 443', '5m'],
    },
    {
      title: 'ingress without class or hosts',
      obj: {
        metadata: meta('catch-all'),
        spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
      },
      want: ['catch-all', '<none>', '*', '', '80', '5m'],
    },
    {
      title: 'ingress with many hosts',
      obj: {
        metadata: meta('many'),
        spec: { rules: [{ host: 'a' }, { host: 'b' }, { host: 'c' }, { host: 'd' }, { host: 'e' }] },
      },
      want: ['many', '<none>', 'a,b,c + 2 more...', '', '80', '5m'],
    },
  ])('$title', ({ obj, want }) => {
    expect(
      tableFor(info('networking.k8s.io/v1', 'Ingress'), [obj], {
        wide: true,
        includeObject: 'None',
        now: NOW,
      }).rows[0]?.cells,
    ).toEqual(want);
  });

  it.each([
    [{ controller: 'k8ts.io/ingress' }, '<none>'],
    [
      {
        controller: 'k8ts.io/ingress',
        parameters: { kind: 'IngressParameters', apiGroup: 'k8ts.io', name: 'ext' },
      },
      'IngressParameters.k8ts.io/ext',
    ],
    [{ controller: 'x', parameters: { kind: 'ConfigMap', name: 'params' } }, 'ConfigMap/params'],
  ])('ingress class %j', (spec, params) => {
    expect(row('networking.k8s.io/v1', 'IngressClass', { metadata: meta('k8ts'), spec })).toMatchObject({
      Controller: spec.controller,
      Parameters: params,
    });
  });

  it.each([
    {
      slice: {
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
        endpoints: [{ addresses: ['10.42.0.5'] }, { addresses: ['10.42.1.7'] }],
      },
      want: { AddressType: 'IPv4', Ports: '80', Endpoints: '10.42.0.5,10.42.1.7' },
    },
    {
      slice: {
        addressType: 'IPv4',
        ports: [{ port: 1 }, { name: 'named' }, {}, { port: 4 }],
        endpoints: [
          { addresses: ['10.0.0.1', '10.0.0.2'] },
          { addresses: ['10.0.0.3'] },
          { addresses: ['10.0.0.4'] },
          { addresses: ['10.0.0.5'] },
        ],
      },
      want: { Ports: '1,named,* + 1 more...', Endpoints: '10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...' },
    },
    {
      slice: { addressType: 'IPv6', ports: [], endpoints: [] },
      want: { Ports: '<unset>', Endpoints: '<unset>' },
    },
  ])('endpoint slice $want.Ports', ({ slice, want }) => {
    expect(
      row('discovery.k8s.io/v1', 'EndpointSlice', { metadata: meta('web-abc'), ...slice }),
    ).toMatchObject(want);
  });
});

describe('table shape', () => {
  const obj = { metadata: meta('cfg', { uid: 'u1', resourceVersion: '42' }), data: { a: '1' } };
  it.each([
    ['None', undefined],
    ['Metadata', { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: obj.metadata }],
    ['Object', obj],
  ] as const)('includeObject=%s', (includeObject, want) => {
    const t = tableFor(info('v1', 'ConfigMap'), [obj], {
      wide: true,
      includeObject,
      now: NOW,
      listMeta: { resourceVersion: '42' },
    });
    expect(t.kind).toBe('Table');
    expect(t.apiVersion).toBe('meta.k8s.io/v1');
    expect(t.metadata).toEqual({ resourceVersion: '42' });
    expect(t.rows[0]?.object).toEqual(want);
    if (includeObject === 'None') expect(t.rows[0]).not.toHaveProperty('object');
  });

  it('always writes every column field', () => {
    const t = tableFor(info('v1', 'Pod'), [], { wide: true, includeObject: 'None', now: NOW });
    for (const c of t.columnDefinitions) {
      expect(Object.keys(c).sort()).toEqual(['description', 'format', 'name', 'priority', 'type']);
      expect(c.description).not.toBe('');
    }
    expect(t.columnDefinitions[0]).toMatchObject({ name: 'Name', format: 'name', priority: 0 });
  });

  it('drops wide columns and cells together when not wide', () => {
    const ev = {
      metadata: meta('e'),
      involvedObject: { kind: 'Pod', name: 'p' },
      reason: 'R',
      type: 'Normal',
      message: 'm',
      lastTimestamp: ago(M),
      firstTimestamp: ago(M),
      count: 2,
    };
    const t = tableFor(info('v1', 'Event'), [ev], { wide: false, includeObject: 'None', now: NOW });
    expect(t.columnDefinitions.map((c) => c.name)).toEqual([
      'Last Seen',
      'Type',
      'Reason',
      'Object',
      'Message',
    ]);
    expect(t.rows[0]?.cells).toEqual(['60s', 'Normal', 'R', 'pod/p', 'm']);
  });

  it('uses the default NAME / CREATED AT table for kinds without a printer', () => {
    const custom: ResourceInfo = {
      ...info('v1', 'ConfigMap'),
      group: 'example.com',
      kind: 'Widget',
      plural: 'widgets',
      listKind: 'WidgetList',
    };
    const t = tableFor(
      custom,
      [{ metadata: { name: 'w1', creationTimestamp: '2024-04-30T10:11:12.000Z' } }],
      {
        wide: true,
        includeObject: 'None',
        now: NOW,
      },
    );
    expect(t.columnDefinitions.map((c) => [c.name, c.type])).toEqual([
      ['Name', 'string'],
      ['Created At', 'date'],
    ]);
    expect(t.rows[0]?.cells).toEqual(['w1', '2024-04-30T10:11:12Z']);
  });
});
