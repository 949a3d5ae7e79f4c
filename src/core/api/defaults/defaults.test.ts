import { describe, expect, it } from 'vitest';
import { RESOURCES, type ResourceInfo } from '../resources.js';
import { applyDefaults, applyJobSelector, applyUpdateDefaults } from './defaults.js';
import { defaultPullPolicy, podQOSClass } from './pod-defaults.js';

type Obj = Record<string, any>;

function info(kind: string): ResourceInfo {
  const r = RESOURCES.find((x) => x.kind === kind);
  if (r === undefined) throw new Error(`no kind ${kind}`);
  return r;
}

function defaulted(kind: string, obj: Obj): Obj {
  const o = structuredClone(obj);
  applyDefaults(info(kind), o);
  return o;
}

/** Reads a dotted path (`spec.containers.0.image`). */
function at(o: unknown, path: string): unknown {
  let cur: any = o;
  for (const k of path.split('.')) cur = cur?.[k];
  return cur;
}

const container = { name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }] };
const pod = { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [container] } };
const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } };
const workload = {
  metadata: { name: 'w', namespace: 'default' },
  spec: { selector: { matchLabels: { app: 'web' } }, template },
};
const cronJob = {
  metadata: { name: 'c', namespace: 'default' },
  spec: { schedule: '@hourly', jobTemplate: { spec: { template } } },
};

const cases: [string, string, Obj, string, unknown][] = [
  ['Pod', 'restartPolicy', pod, 'spec.restartPolicy', 'Always'],
  ['Pod', 'dnsPolicy', pod, 'spec.dnsPolicy', 'ClusterFirst'],
  ['Pod', 'schedulerName', pod, 'spec.schedulerName', 'default-scheduler'],
  ['Pod', 'grace period', pod, 'spec.terminationGracePeriodSeconds', 30],
  ['Pod', 'securityContext', pod, 'spec.securityContext', {}],
  ['Pod', 'enableServiceLinks', pod, 'spec.enableServiceLinks', true],
  ['Pod', 'priority', pod, 'spec.priority', 0],
  ['Pod', 'preemptionPolicy', pod, 'spec.preemptionPolicy', 'PreemptLowerPriority'],
  ['Pod', 'serviceAccountName', pod, 'spec.serviceAccountName', 'default'],
  ['Pod', 'serviceAccount mirrors', pod, 'spec.serviceAccount', 'default'],
  ['Pod', 'terminationMessagePath', pod, 'spec.containers.0.terminationMessagePath', '/dev/termination-log'],
  ['Pod', 'terminationMessagePolicy', pod, 'spec.containers.0.terminationMessagePolicy', 'File'],
  ['Pod', 'imagePullPolicy tagged', pod, 'spec.containers.0.imagePullPolicy', 'IfNotPresent'],
  ['Pod', 'port protocol', pod, 'spec.containers.0.ports.0.protocol', 'TCP'],
  ['Pod', 'phase', pod, 'status.phase', 'Pending'],
  ['Pod', 'qos', pod, 'status.qosClass', 'BestEffort'],
  [
    'Pod',
    'tolerations',
    pod,
    'spec.tolerations',
    [
      {
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
      {
        key: 'node.kubernetes.io/unreachable',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
    ],
  ],
  [
    'Pod',
    'existing toleration kept, not duplicated',
    { ...pod, spec: { ...pod.spec, tolerations: [{ operator: 'Exists' }] } },
    'spec.tolerations',
    [{ operator: 'Exists' }],
  ],
  [
    'Pod',
    'probe defaults',
    { ...pod, spec: { containers: [{ ...container, readinessProbe: { httpGet: { port: 80 } } }] } },
    'spec.containers.0.readinessProbe',
    {
      httpGet: { port: 80, path: '/', scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    },
  ],
  [
    'Pod',
    'requests from limits',
    { ...pod, spec: { containers: [{ ...container, resources: { limits: { cpu: '1', memory: '1Gi' } } }] } },
    'spec.containers.0.resources.requests',
    { cpu: '1', memory: '1Gi' },
  ],
  [
    'Pod',
    'volume without source is emptyDir',
    { ...pod, spec: { ...pod.spec, volumes: [{ name: 'v' }] } },
    'spec.volumes.0',
    { name: 'v', emptyDir: {} },
  ],
  [
    'Pod',
    'secret volume mode',
    { ...pod, spec: { ...pod.spec, volumes: [{ name: 'v', secret: { secretName: 's' } }] } },
    'spec.volumes.0.secret.defaultMode',
    420,
  ],
  [
    'Pod',
    'hostNetwork host ports',
    { ...pod, spec: { ...pod.spec, hostNetwork: true } },
    'spec.containers.0.ports.0.hostPort',
    80,
  ],

  ['Service', 'type', { spec: { ports: [{ port: 80 }] } }, 'spec.type', 'ClusterIP'],
  ['Service', 'sessionAffinity', { spec: { ports: [{ port: 80 }] } }, 'spec.sessionAffinity', 'None'],
  ['Service', 'port protocol', { spec: { ports: [{ port: 80 }] } }, 'spec.ports.0.protocol', 'TCP'],
  ['Service', 'targetPort = port', { spec: { ports: [{ port: 80 }] } }, 'spec.ports.0.targetPort', 80],
  ['Service', 'ipFamilyPolicy', { spec: { ports: [{ port: 80 }] } }, 'spec.ipFamilyPolicy', 'SingleStack'],
  // Without addresses the families come from the ClusterIP allocation (the service CIDR's family).
  [
    'Service',
    'no ipFamilies before allocation',
    { spec: { ports: [{ port: 80 }] } },
    'spec.ipFamilies',
    undefined,
  ],
  [
    'Service',
    'ipFamilies of an explicit IPv6 clusterIP',
    { spec: { clusterIP: 'fd00:43::5', ports: [{ port: 80 }] } },
    'spec.ipFamilies',
    ['IPv6'],
  ],
  [
    'Service',
    'internalTrafficPolicy',
    { spec: { ports: [{ port: 80 }] } },
    'spec.internalTrafficPolicy',
    'Cluster',
  ],
  [
    'Service',
    'no externalTrafficPolicy for ClusterIP',
    { spec: { ports: [{ port: 80 }] } },
    'spec.externalTrafficPolicy',
    undefined,
  ],
  [
    'Service',
    'externalTrafficPolicy NodePort',
    { spec: { type: 'NodePort', ports: [{ port: 80 }] } },
    'spec.externalTrafficPolicy',
    'Cluster',
  ],
  [
    'Service',
    'allocateLoadBalancerNodePorts',
    { spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
    'spec.allocateLoadBalancerNodePorts',
    true,
  ],
  [
    'Service',
    'ClientIP timeout',
    { spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80 }] } },
    'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
    10800,
  ],
  [
    'Service',
    'clusterIPs from clusterIP',
    { spec: { clusterIP: '10.43.0.5', ports: [{ port: 80 }] } },
    'spec.clusterIPs',
    ['10.43.0.5'],
  ],
  [
    'Service',
    'ExternalName has no families',
    { spec: { type: 'ExternalName', externalName: 'x.com' } },
    'spec.ipFamilies',
    undefined,
  ],

  ['Deployment', 'replicas', workload, 'spec.replicas', 1],
  [
    'Deployment',
    'strategy',
    workload,
    'spec.strategy',
    { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
  ],
  ['Deployment', 'revisionHistoryLimit', workload, 'spec.revisionHistoryLimit', 10],
  ['Deployment', 'progressDeadlineSeconds', workload, 'spec.progressDeadlineSeconds', 600],
  ['Deployment', 'template pod defaults', workload, 'spec.template.spec.restartPolicy', 'Always'],
  [
    'Deployment',
    'template has no pod-only defaults',
    workload,
    'spec.template.spec.enableServiceLinks',
    undefined,
  ],
  ['ReplicaSet', 'replicas', workload, 'spec.replicas', 1],
  [
    'DaemonSet',
    'updateStrategy',
    workload,
    'spec.updateStrategy',
    { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
  ],
  ['DaemonSet', 'revisionHistoryLimit', workload, 'spec.revisionHistoryLimit', 10],
  ['StatefulSet', 'replicas', workload, 'spec.replicas', 1],
  ['StatefulSet', 'podManagementPolicy', workload, 'spec.podManagementPolicy', 'OrderedReady'],
  [
    'StatefulSet',
    'updateStrategy',
    workload,
    'spec.updateStrategy',
    { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
  ],
  [
    'StatefulSet',
    'pvc retention',
    workload,
    'spec.persistentVolumeClaimRetentionPolicy',
    { whenDeleted: 'Retain', whenScaled: 'Retain' },
  ],
  ['StatefulSet', 'revisionHistoryLimit', workload, 'spec.revisionHistoryLimit', 10],
  ['Job', 'completions', workload, 'spec.completions', 1],
  ['Job', 'parallelism', workload, 'spec.parallelism', 1],
  [
    'Job',
    'only parallelism set',
    { ...workload, spec: { ...workload.spec, parallelism: 3 } },
    'spec.completions',
    undefined,
  ],
  ['Job', 'backoffLimit', workload, 'spec.backoffLimit', 6],
  ['Job', 'completionMode', workload, 'spec.completionMode', 'NonIndexed'],
  ['Job', 'suspend', workload, 'spec.suspend', false],
  ['Job', 'manualSelector', workload, 'spec.manualSelector', false],
  ['Job', 'labels from template', workload, 'metadata.labels', { app: 'web' }],
  ['CronJob', 'concurrencyPolicy', cronJob, 'spec.concurrencyPolicy', 'Allow'],
  ['CronJob', 'suspend', cronJob, 'spec.suspend', false],
  ['CronJob', 'successfulJobsHistoryLimit', cronJob, 'spec.successfulJobsHistoryLimit', 3],
  ['CronJob', 'failedJobsHistoryLimit', cronJob, 'spec.failedJobsHistoryLimit', 1],
  [
    'CronJob',
    'template pod defaults',
    cronJob,
    'spec.jobTemplate.spec.template.spec.terminationGracePeriodSeconds',
    30,
  ],
  ['CronJob', 'job fields left to the Job', cronJob, 'spec.jobTemplate.spec.backoffLimit', undefined],
  ['Secret', 'type', { metadata: { name: 's' } }, 'type', 'Opaque'],
  [
    'Secret',
    'stringData merged',
    { stringData: { a: 'hi' }, data: { b: 'eA==' } },
    'data',
    { a: 'aGk=', b: 'eA==' },
  ],
  ['Secret', 'stringData dropped', { stringData: { a: 'hi' } }, 'stringData', undefined],
  ['Namespace', 'finalizers', { metadata: { name: 'a' } }, 'spec.finalizers', ['kubernetes']],
  ['Namespace', 'phase', { metadata: { name: 'a' } }, 'status.phase', 'Active'],
  [
    'Namespace',
    'name label',
    { metadata: { name: 'a' } },
    'metadata.labels',
    { 'kubernetes.io/metadata.name': 'a' },
  ],
  [
    'Node',
    'allocatable from capacity',
    { status: { capacity: { cpu: '4' } } },
    'status.allocatable',
    { cpu: '4' },
  ],
  [
    'Endpoints',
    'port protocol',
    { subsets: [{ ports: [{ port: 80 }] }] },
    'subsets.0.ports.0.protocol',
    'TCP',
  ],
  ['EndpointSlice', 'port protocol', { ports: [{ port: 80 }] }, 'ports.0.protocol', 'TCP'],
  [
    'Ingress',
    'pathType not defaulted',
    { spec: { rules: [{ http: { paths: [{ path: '/' }] } }] } },
    'spec.rules.0.http.paths.0.pathType',
    undefined,
  ],
  [
    'IngressClass',
    'parameters scope',
    { spec: { controller: 'a.io/b', parameters: { kind: 'K', name: 'n' } } },
    'spec.parameters.scope',
    'Cluster',
  ],
];

describe('applyDefaults', () => {
  it.each(cases)('%s: %s', (kind, _name, obj, path, want) => {
    expect(at(defaulted(kind, obj), path)).toEqual(want);
  });

  it('does not overwrite values that are set', () => {
    const o = defaulted('Pod', {
      spec: { restartPolicy: 'Never', containers: [{ name: 'a', image: 'x', imagePullPolicy: 'Never' }] },
    });
    expect(o.spec.restartPolicy).toBe('Never');
    expect(o.spec.containers[0].imagePullPolicy).toBe('Never');
  });
});

describe('defaultPullPolicy', () => {
  it.each([
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1.25', 'IfNotPresent'],
    ['registry:5000/nginx', 'Always'],
    ['registry:5000/nginx:1.0', 'IfNotPresent'],
    ['nginx@sha256:abc', 'IfNotPresent'],
  ])('%s -> %s', (image, want) => {
    expect(defaultPullPolicy(image)).toBe(want);
  });
});

describe('podQOSClass', () => {
  const c = (resources: Obj) => ({ containers: [{ name: 'a', resources }] }) as any;
  it.each([
    [{}, 'BestEffort'],
    [{ requests: { cpu: '1' } }, 'Burstable'],
    [{ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }, 'Guaranteed'],
    [{ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }, 'Burstable'],
  ])('%j -> %s', (res, want) => {
    expect(podQOSClass(c(res))).toBe(want);
  });
});

describe('applyJobSelector', () => {
  it('adds the controller-uid selector and template labels', () => {
    const job: any = { metadata: { name: 'pi' }, spec: { template: { spec: { containers: [] } } } };
    applyJobSelector(job, 'u-1');
    expect(job.spec.selector).toEqual({ matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
    expect(job.spec.template.metadata.labels).toEqual({
      'batch.kubernetes.io/controller-uid': 'u-1',
      'controller-uid': 'u-1',
      'batch.kubernetes.io/job-name': 'pi',
      'job-name': 'pi',
    });
  });

  it('leaves a manual selector alone', () => {
    const job: any = {
      metadata: { name: 'pi' },
      spec: { manualSelector: true, selector: { matchLabels: { a: 'b' } }, template: {} },
    };
    applyJobSelector(job, 'u-1');
    expect(job.spec.selector).toEqual({ matchLabels: { a: 'b' } });
    expect(job.spec.template.metadata).toBeUndefined();
  });
});

describe('applyUpdateDefaults', () => {
  it('carries a Service clusterIP, families and nodePorts the update left out', () => {
    const old: any = defaulted('Service', {
      spec: {
        type: 'NodePort',
        clusterIP: 'fd00::5',
        clusterIPs: ['fd00::5'],
        ipFamilies: ['IPv6'],
        ports: [{ port: 80, nodePort: 30080 }],
      },
    });
    const next: any = defaulted('Service', { spec: { type: 'NodePort', ports: [{ port: 80 }] } });
    applyUpdateDefaults(info('Service'), next, old);
    expect(next.spec.clusterIP).toBe('fd00::5');
    expect(next.spec.clusterIPs).toEqual(['fd00::5']);
    expect(next.spec.ipFamilies).toEqual(['IPv6']);
    expect(next.spec.ports[0].nodePort).toBe(30080);
  });

  it('drops NodePort-only fields when the type becomes ClusterIP', () => {
    const old: any = defaulted('Service', {
      spec: { type: 'NodePort', clusterIP: '10.43.0.5', ports: [{ port: 80, nodePort: 30080 }] },
    });
    const next: any = structuredClone(old);
    next.spec.type = 'ClusterIP';
    applyUpdateDefaults(info('Service'), next, old);
    expect(next.spec.ports[0].nodePort).toBeUndefined();
    expect(next.spec.externalTrafficPolicy).toBeUndefined();
    expect(next.spec.clusterIP).toBe('10.43.0.5');
  });

  it('keeps a Job generated selector on replace', () => {
    const old: any = { metadata: { name: 'pi' }, spec: { template: { spec: { containers: [] } } } };
    applyJobSelector(old, 'u-1');
    const next: any = { metadata: { name: 'pi' }, spec: { template: { spec: { containers: [] } } } };
    applyUpdateDefaults(info('Job'), next, old);
    expect(next.spec.selector).toEqual(old.spec.selector);
    expect(next.spec.template.metadata.labels['batch.kubernetes.io/controller-uid']).toBe('u-1');
  });
});
