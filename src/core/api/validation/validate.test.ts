import { describe, expect, it } from 'vitest';
import { applyDefaults, applyJobSelector, applyUpdateDefaults } from '../defaults/defaults.js';
import { fieldErrorMessage, invalidStatusMessage } from '../field-error.js';
import { RESOURCES, type ResourceInfo } from '../resources.js';
import { validateCreate, validateStatusUpdate, validateUpdate } from './validate.js';

type Obj = Record<string, any>;

function info(kind: string): ResourceInfo {
  const r = RESOURCES.find((x) => x.kind === kind);
  if (r === undefined) throw new Error(`no kind ${kind}`);
  return r;
}

/** Defaults then validates a create, as the API server does; returns the messages. */
function create(kind: string, obj: Obj): string[] {
  const o = structuredClone(obj);
  applyDefaults(info(kind), o);
  if (kind === 'Job' && o.metadata?.uid) applyJobSelector(o as any, o.metadata.uid);
  return validateCreate(info(kind), o).map(fieldErrorMessage);
}

function update(kind: string, obj: Obj, old: Obj): string[] {
  const n = structuredClone(obj);
  const o = structuredClone(old);
  applyDefaults(info(kind), o);
  if (kind === 'Job' && o.metadata?.uid) applyJobSelector(o as any, o.metadata.uid);
  applyDefaults(info(kind), n);
  applyUpdateDefaults(info(kind), n, o);
  return validateUpdate(info(kind), n, o).map(fieldErrorMessage);
}

/** Returns a deep copy of `base` with `edit` applied. */
function mod(base: Obj, edit: (o: Obj) => void): Obj {
  const c = structuredClone(base);
  edit(c);
  return c;
}

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const PORT_RANGE = 'must be between 1 and 65535, inclusive';

const meta = (name: string) => ({ name, namespace: 'default' });
const podSpec = () => ({
  containers: [{ name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }],
});
const pod: Obj = { apiVersion: 'v1', kind: 'Pod', metadata: meta('web'), spec: podSpec() };
const template = (labels: Record<string, string>) => ({ metadata: { labels }, spec: podSpec() });
const svc: Obj = {
  metadata: meta('web'),
  spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
};
const deploy: Obj = {
  metadata: meta('web'),
  spec: { selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) },
};
const sts: Obj = {
  metadata: meta('db'),
  spec: { serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: template({ app: 'db' }) },
};
const job: Obj = {
  metadata: { ...meta('pi'), uid: 'u-1' },
  spec: { template: { spec: { ...podSpec(), restartPolicy: 'Never' } } },
};
const cronJob: Obj = {
  metadata: meta('nightly'),
  spec: {
    schedule: '*/5 * * * *',
    jobTemplate: { spec: { template: { spec: { ...podSpec(), restartPolicy: 'OnFailure' } } } },
  },
};
const cj = (edit: (spec: Obj) => void) => mod(cronJob, (o) => edit(o.spec));

interface Case {
  name: string;
  kind: string;
  obj: Obj;
  old?: Obj;
  /** Messages that must all appear; `[]` means the object must be valid. */
  want: string[];
}

const cases: Case[] = [
  // Pod
  { name: 'valid pod', kind: 'Pod', obj: pod, want: [] },
  {
    name: 'generateName only',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.metadata = { generateName: 'web-', namespace: 'default' };
    }),
    want: [],
  },
  {
    name: 'uppercase name',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.metadata.name = 'Foo';
    }),
    want: [`metadata.name: Invalid value: "Foo": ${SUBDOMAIN_MSG}`],
  },
  {
    name: 'no name',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      delete o.metadata.name;
    }),
    want: ['metadata.name: Required value: name or generateName is required'],
  },
  {
    name: 'no namespace',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      delete o.metadata.namespace;
    }),
    want: ['metadata.namespace: Required value'],
  },
  {
    name: 'no containers',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.containers = [];
    }),
    want: ['spec.containers: Required value'],
  },
  {
    name: 'no image',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      delete o.spec.containers[0].image;
    }),
    want: ['spec.containers[0].image: Required value'],
  },
  {
    name: 'port out of range',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.containers[0].ports[0].containerPort = 70000;
    }),
    want: [`spec.containers[0].ports[0].containerPort: Invalid value: 70000: ${PORT_RANGE}`],
  },
  {
    name: 'bad protocol',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.containers[0].ports[0].protocol = 'HTTP';
    }),
    want: [
      'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
    ],
  },
  {
    name: 'bad pull policy',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.containers[0].imagePullPolicy = 'Foo';
    }),
    want: [
      'spec.containers[0].imagePullPolicy: Unsupported value: "Foo": supported values: "Always", "IfNotPresent", "Never"',
    ],
  },
  {
    name: 'duplicate container',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.containers.push({ name: 'web', image: 'x' });
    }),
    want: ['spec.containers[1].name: Duplicate value: "web"'],
  },
  {
    name: 'duplicate port name',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.containers[0].ports = [
        { name: 'http', containerPort: 80 },
        { name: 'http', containerPort: 81 },
      ];
    }),
    want: ['spec.containers[0].ports[1].name: Duplicate value: "http"'],
  },
  {
    name: 'mount of unknown volume',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.containers[0].volumeMounts = [{ name: 'data', mountPath: '/d' }];
    }),
    want: ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
  },
  {
    name: 'volume with mount',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.volumes = [{ name: 'data' }];
      o.spec.containers[0].volumeMounts = [{ name: 'data', mountPath: '/d' }];
    }),
    want: [],
  },
  {
    name: 'requests above limits',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.containers[0].resources = { requests: { cpu: '2' }, limits: { cpu: '1' } };
    }),
    want: [
      'spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1',
    ],
  },
  {
    name: 'env name with =',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.containers[0].env = [{ name: 'A=B', value: 'x' }];
    }),
    want: [
      'spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than \'=\'',
    ],
  },
  {
    name: 'probe without handler',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.containers[0].livenessProbe = { periodSeconds: 5 };
    }),
    want: ['spec.containers[0].livenessProbe: Required value: must specify a handler type'],
  },
  {
    name: 'bad restartPolicy',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.restartPolicy = 'Sometimes';
    }),
    want: [
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ],
  },
  {
    name: 'bad label key',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.metadata.labels = { '-x': 'y' };
    }),
    want: [
      `metadata.labels: Invalid value: "-x": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    ],
  },
  {
    name: 'owner ref without uid',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs' }];
    }),
    want: ['metadata.ownerReferences.uid: Invalid value: "": uid must not be empty'],
  },
  {
    name: 'pod image update',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.containers[0].image = 'nginx:1.26';
    }),
    old: pod,
    want: [],
  },
  {
    name: 'pod toleration added',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.tolerations = [{ key: 'k', operator: 'Exists' }];
    }),
    old: pod,
    want: [],
  },
  {
    name: 'pod port update',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.spec.containers[0].ports[0].containerPort = 81;
    }),
    old: pod,
    want: [
      'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    ],
  },
  {
    name: 'pod rename',
    kind: 'Pod',
    obj: mod(pod, (o) => {
      o.metadata.name = 'other';
    }),
    old: pod,
    want: ['metadata.name: Invalid value: "other": field is immutable'],
  },

  // Service
  { name: 'valid service', kind: 'Service', obj: svc, want: [] },
  {
    name: 'service name is DNS-1035',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.metadata.name = '1web';
    }),
    want: [
      "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ],
  },
  {
    name: 'no ports',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.spec.ports = [];
    }),
    want: ['spec.ports: Required value'],
  },
  {
    name: 'headless without ports',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.spec.ports = [];
      o.spec.clusterIP = 'None';
    }),
    want: [],
  },
  {
    name: 'service port range',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.spec.ports[0].port = 70000;
    }),
    want: [`spec.ports[0].port: Invalid value: 70000: ${PORT_RANGE}`],
  },
  {
    name: 'unnamed ports',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.spec.ports.push({ port: 443 });
    }),
    want: ['spec.ports[0].name: Required value', 'spec.ports[1].name: Required value'],
  },
  {
    name: 'bad targetPort name',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.spec.ports[0].targetPort = 'HTTP';
    }),
    want: [
      'spec.ports[0].targetPort: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
    ],
  },
  {
    name: 'bad type',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.spec.type = 'Foo';
    }),
    want: [
      'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    ],
  },
  {
    name: 'externalName missing',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.spec.type = 'ExternalName';
    }),
    want: ['spec.externalName: Required value'],
  },
  {
    name: 'externalName set',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.spec.type = 'ExternalName';
      o.spec.externalName = 'example.com';
    }),
    want: [],
  },
  {
    name: 'nodePort on ClusterIP',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.spec.ports[0].nodePort = 30080;
    }),
    want: ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
  },
  {
    name: 'LoadBalancer',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.spec.type = 'LoadBalancer';
    }),
    want: [],
  },
  {
    name: 'bad sessionAffinity',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.spec.sessionAffinity = 'Sticky';
    }),
    want: ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
  },
  {
    name: 'clusterIP change',
    kind: 'Service',
    obj: mod(svc, (o) => {
      o.spec.clusterIP = '10.43.0.99';
    }),
    old: mod(svc, (o) => {
      o.spec.clusterIP = '10.43.0.10';
    }),
    want: ['spec.clusterIP: Invalid value: "10.43.0.99": field is immutable'],
  },
  {
    name: 'clusterIP omitted on update',
    kind: 'Service',
    obj: svc,
    old: mod(svc, (o) => {
      o.spec.clusterIP = '10.43.0.10';
    }),
    want: [],
  },

  // Deployment
  { name: 'valid deployment', kind: 'Deployment', obj: deploy, want: [] },
  {
    name: 'selector mismatch',
    kind: 'Deployment',
    obj: mod(deploy, (o) => {
      o.spec.template.metadata.labels = { app: 'x' };
    }),
    want: [
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
    ],
  },
  {
    name: 'no selector',
    kind: 'Deployment',
    obj: mod(deploy, (o) => {
      delete o.spec.selector;
    }),
    want: ['spec.selector: Required value'],
  },
  {
    name: 'negative replicas',
    kind: 'Deployment',
    obj: mod(deploy, (o) => {
      o.spec.replicas = -1;
    }),
    want: ['spec.replicas: Invalid value: -1: must be greater than or equal to 0'],
  },
  {
    name: 'surge and unavailable zero',
    kind: 'Deployment',
    obj: mod(deploy, (o) => {
      o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } };
    }),
    want: [
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
    ],
  },
  {
    name: 'bad percent',
    kind: 'Deployment',
    obj: mod(deploy, (o) => {
      o.spec.strategy = { rollingUpdate: { maxSurge: '10' } };
    }),
    want: [
      `spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"10"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`,
    ],
  },
  {
    name: 'recreate with rollingUpdate',
    kind: 'Deployment',
    obj: mod(deploy, (o) => {
      o.spec.strategy = { type: 'Recreate', rollingUpdate: {} };
    }),
    want: ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"],
  },
  {
    name: 'template restartPolicy',
    kind: 'Deployment',
    obj: mod(deploy, (o) => {
      o.spec.template.spec.restartPolicy = 'Never';
    }),
    want: ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
  },
  {
    name: 'template without image is allowed',
    kind: 'Deployment',
    obj: mod(deploy, (o) => {
      delete o.spec.template.spec.containers[0].image;
    }),
    want: [],
  },
  {
    name: 'deployment scale update',
    kind: 'Deployment',
    obj: mod(deploy, (o) => {
      o.spec.replicas = 5;
    }),
    old: deploy,
    want: [],
  },
  {
    name: 'deployment selector change',
    kind: 'Deployment',
    obj: mod(deploy, (o) => {
      o.spec.selector.matchLabels.app = 'web2';
      o.spec.template.metadata.labels.app = 'web2';
    }),
    old: deploy,
    want: [
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ],
  },

  // ReplicaSet
  { name: 'valid replicaset', kind: 'ReplicaSet', obj: deploy, want: [] },
  {
    name: 'rs empty selector',
    kind: 'ReplicaSet',
    obj: mod(deploy, (o) => {
      o.spec.selector = { matchLabels: {} };
    }),
    want: [
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
    ],
  },
  {
    name: 'rs bad operator',
    kind: 'ReplicaSet',
    obj: mod(deploy, (o) => {
      o.spec.selector.matchExpressions = [{ key: 'a', operator: 'Is' }];
    }),
    want: ['spec.selector.matchExpressions[0].operator: Invalid value: "Is": not a valid selector operator'],
  },
  {
    name: 'rs selector immutable',
    kind: 'ReplicaSet',
    obj: mod(deploy, (o) => {
      o.spec.selector.matchLabels.tier = 'a';
      o.spec.template.metadata.labels.tier = 'a';
    }),
    old: deploy,
    want: [
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"a"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ],
  },

  // DaemonSet
  { name: 'valid daemonset', kind: 'DaemonSet', obj: deploy, want: [] },
  {
    name: 'ds empty selector',
    kind: 'DaemonSet',
    obj: mod(deploy, (o) => {
      o.spec.selector = {};
    }),
    want: [
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for daemonset',
    ],
  },
  {
    name: 'ds both zero',
    kind: 'DaemonSet',
    obj: mod(deploy, (o) => {
      o.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } };
    }),
    want: [
      'spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0',
    ],
  },
  {
    name: 'ds bad strategy',
    kind: 'DaemonSet',
    obj: mod(deploy, (o) => {
      o.spec.updateStrategy = { type: 'Rolling' };
    }),
    want: [
      'spec.updateStrategy.type: Unsupported value: "Rolling": supported values: "OnDelete", "RollingUpdate"',
    ],
  },

  // StatefulSet
  { name: 'valid statefulset', kind: 'StatefulSet', obj: sts, want: [] },
  {
    name: 'sts podManagementPolicy',
    kind: 'StatefulSet',
    obj: mod(sts, (o) => {
      o.spec.podManagementPolicy = 'Fast';
    }),
    want: ["spec.podManagementPolicy: Invalid value: \"Fast\": must be 'OrderedReady' or 'Parallel'"],
  },
  {
    name: 'sts mismatch',
    kind: 'StatefulSet',
    obj: mod(sts, (o) => {
      o.spec.template.metadata.labels = {};
    }),
    want: [
      'spec.template.metadata.labels: Invalid value: map[string]string{}: `selector` does not match template `labels`',
    ],
  },
  {
    name: 'sts scale',
    kind: 'StatefulSet',
    obj: mod(sts, (o) => {
      o.spec.replicas = 3;
    }),
    old: sts,
    want: [],
  },
  {
    name: 'sts serviceName change',
    kind: 'StatefulSet',
    obj: mod(sts, (o) => {
      o.spec.serviceName = 'db2';
    }),
    old: sts,
    want: [
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ],
  },

  // Job
  { name: 'valid job', kind: 'Job', obj: job, want: [] },
  {
    name: 'job default restartPolicy',
    kind: 'Job',
    obj: mod(job, (o) => {
      delete o.spec.template.spec.restartPolicy;
    }),
    want: [
      'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
    ],
  },
  {
    name: 'job negative parallelism',
    kind: 'Job',
    obj: mod(job, (o) => {
      o.spec.parallelism = -1;
    }),
    want: ['spec.parallelism: Invalid value: -1: must be greater than or equal to 0'],
  },
  {
    name: 'manual selector missing',
    kind: 'Job',
    obj: mod(job, (o) => {
      o.spec.manualSelector = true;
    }),
    want: ['spec.selector: Required value'],
  },
  {
    name: 'user selector without manualSelector',
    kind: 'Job',
    obj: mod(job, (o) => {
      o.spec.selector = { matchLabels: { a: 'b' } };
      o.spec.template.metadata = { labels: { a: 'b' } };
    }),
    want: [
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"a":"b", "batch.kubernetes.io/controller-uid":"u-1"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` not auto-generated',
    ],
  },
  {
    name: 'job completions immutable',
    kind: 'Job',
    obj: mod(job, (o) => {
      o.spec.completions = 3;
    }),
    old: job,
    want: ['spec.completions: Invalid value: 3: field is immutable'],
  },
  {
    name: 'job template immutable',
    kind: 'Job',
    obj: mod(job, (o) => {
      o.spec.template.spec.containers[0].image = 'other';
    }),
    old: job,
    want: ['spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable'],
  },
  {
    name: 'job suspend update',
    kind: 'Job',
    obj: mod(job, (o) => {
      o.spec.suspend = true;
    }),
    old: job,
    want: [],
  },

  // CronJob
  { name: 'valid cronjob', kind: 'CronJob', obj: cronJob, want: [] },
  ...['@hourly', '@every 2h', '0 9 * * MON-FRI', '0,30 */2 1-15 jan,jul ?'].map((schedule) => ({
    name: `cronjob schedule ${schedule}`,
    kind: 'CronJob',
    obj: cj((s) => {
      s.schedule = schedule;
    }),
    want: [],
  })),
  {
    name: 'cronjob time zone',
    kind: 'CronJob',
    obj: cj((s) => {
      s.timeZone = 'Europe/Paris';
    }),
    want: [],
  },
  {
    name: 'cronjob schedule required',
    kind: 'CronJob',
    obj: cj((s) => {
      delete s.schedule;
    }),
    want: ['spec.schedule: Required value'],
  },
  {
    name: 'cronjob schedule fields',
    kind: 'CronJob',
    obj: cj((s) => {
      s.schedule = '* * *';
    }),
    want: ['spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]'],
  },
  {
    name: 'cronjob schedule range',
    kind: 'CronJob',
    obj: cj((s) => {
      s.schedule = '0 25 * * *';
    }),
    want: ['spec.schedule: Invalid value: "0 25 * * *": end of range (25) above maximum (23): 25'],
  },
  {
    name: 'cronjob TZ in schedule on create',
    kind: 'CronJob',
    obj: cj((s) => {
      s.schedule = 'CRON_TZ=UTC 0 * * * *';
    }),
    want: [
      'spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
    ],
  },
  {
    name: 'cronjob TZ kept on update',
    kind: 'CronJob',
    obj: cj((s) => {
      s.schedule = 'TZ=UTC 0 * * * *';
      s.suspend = true;
    }),
    old: cj((s) => {
      s.schedule = 'TZ=UTC 0 * * * *';
    }),
    want: [],
  },
  {
    name: 'cronjob TZ and timeZone',
    kind: 'CronJob',
    obj: cj((s) => {
      s.schedule = 'TZ=UTC 0 * * * *';
      s.timeZone = 'UTC';
    }),
    old: cj((s) => {
      s.schedule = 'TZ=UTC 0 * * * *';
    }),
    want: [
      'spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use both timeZone field and TZ or CRON_TZ in schedule',
    ],
  },
  {
    name: 'cronjob unknown time zone',
    kind: 'CronJob',
    obj: cj((s) => {
      s.timeZone = 'Mars/Olympus';
    }),
    want: ['spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'],
  },
  {
    name: 'cronjob Local time zone',
    kind: 'CronJob',
    obj: cj((s) => {
      s.timeZone = 'Local';
    }),
    want: [
      'spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones',
    ],
  },
  {
    name: 'cronjob concurrencyPolicy',
    kind: 'CronJob',
    obj: cj((s) => {
      s.concurrencyPolicy = 'Sometimes';
    }),
    want: [
      'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
    ],
  },
  {
    name: 'cronjob negative limits',
    kind: 'CronJob',
    obj: cj((s) => {
      s.startingDeadlineSeconds = -1;
      s.failedJobsHistoryLimit = -2;
    }),
    want: [
      'spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0',
      'spec.failedJobsHistoryLimit: Invalid value: -2: must be greater than or equal to 0',
    ],
  },
  {
    name: 'cronjob job template validated like a job',
    kind: 'CronJob',
    obj: cj((s) => {
      s.jobTemplate.spec.template.spec.restartPolicy = 'Always';
      s.jobTemplate.spec.backoffLimit = -1;
    }),
    want: [
      'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
      'spec.jobTemplate.spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0',
    ],
  },
  {
    name: 'cronjob job template selector',
    kind: 'CronJob',
    obj: cj((s) => {
      s.jobTemplate.spec.manualSelector = true;
    }),
    want: ['spec.jobTemplate.spec.manualSelector: Unsupported value: true: supported values: "nil", "false"'],
  },
  {
    name: 'cronjob name too long',
    kind: 'CronJob',
    obj: mod(cronJob, (o) => {
      o.metadata.name = 'a'.repeat(53);
    }),
    want: [`metadata.name: Invalid value: "${'a'.repeat(53)}": must be no more than 52 characters`],
  },
  {
    name: 'cronjob long name editable',
    kind: 'CronJob',
    obj: mod(cronJob, (o) => {
      o.metadata.name = 'a'.repeat(53);
      o.spec.suspend = true;
    }),
    old: mod(cronJob, (o) => {
      o.metadata.name = 'a'.repeat(53);
    }),
    want: [],
  },

  // ConfigMap
  {
    name: 'valid configmap',
    kind: 'ConfigMap',
    obj: { metadata: meta('c'), data: { 'app.properties': 'x' } },
    want: [],
  },
  {
    name: 'bad configmap key',
    kind: 'ConfigMap',
    obj: { metadata: meta('c'), data: { 'a/b': 'x' } },
    want: [
      `data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
    ],
  },
  {
    name: 'duplicate binary key',
    kind: 'ConfigMap',
    obj: { metadata: meta('c'), data: { k: 'x' }, binaryData: { k: 'eA==' } },
    want: ['data[k]: Invalid value: "k": duplicate of key present in binaryData'],
  },
  {
    name: 'immutable configmap',
    kind: 'ConfigMap',
    obj: { metadata: meta('c'), immutable: true, data: { k: 'y' } },
    old: { metadata: meta('c'), immutable: true, data: { k: 'x' } },
    want: ['data: Forbidden: field is immutable when `immutable` is set'],
  },

  // Secret
  {
    name: 'valid secret',
    kind: 'Secret',
    obj: { metadata: meta('s'), stringData: { password: 'p' } },
    want: [],
  },
  {
    name: 'bad secret key',
    kind: 'Secret',
    obj: { metadata: meta('s'), data: { 'a b': 'eA==' } },
    want: [
      `data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
    ],
  },
  {
    name: 'tls secret keys',
    kind: 'Secret',
    obj: { metadata: meta('s'), type: 'kubernetes.io/tls', data: {} },
    want: ['data[tls.crt]: Required value', 'data[tls.key]: Required value'],
  },
  {
    name: 'secret type immutable',
    kind: 'Secret',
    obj: { metadata: meta('s'), type: 'custom/x' },
    old: { metadata: meta('s') },
    want: ['type: Invalid value: "custom/x": field is immutable'],
  },

  // Namespace
  { name: 'valid namespace', kind: 'Namespace', obj: { metadata: { name: 'team-a' } }, want: [] },
  {
    name: 'namespace with dot',
    kind: 'Namespace',
    obj: { metadata: { name: 'team.a' } },
    want: [
      "metadata.name: Invalid value: \"team.a\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ],
  },
  {
    name: 'cluster-scoped with namespace',
    kind: 'Namespace',
    obj: { metadata: { name: 'a', namespace: 'default' } },
    want: ['metadata.namespace: Forbidden: not allowed on this type'],
  },
  {
    name: 'bad namespace finalizer',
    kind: 'Namespace',
    obj: { metadata: { name: 'a' }, spec: { finalizers: ['foo'] } },
    want: [
      'spec.finalizers: Invalid value: "foo": name is neither a standard finalizer name nor is it fully qualified',
    ],
  },

  // Node
  {
    name: 'valid node',
    kind: 'Node',
    obj: { metadata: { name: 'n1' }, spec: { podCIDR: '10.42.0.0/24', podCIDRs: ['10.42.0.0/24'] } },
    want: [],
  },
  {
    name: 'bad podCIDR',
    kind: 'Node',
    obj: { metadata: { name: 'n1' }, spec: { podCIDRs: ['10.42.0.0'] } },
    want: [
      'spec.podCIDRs[0]: Invalid value: "10.42.0.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    ],
  },
  {
    name: 'bad taint effect',
    kind: 'Node',
    obj: { metadata: { name: 'n1' }, spec: { taints: [{ key: 'k', effect: 'Never' }] } },
    want: [
      'spec.taints[0].effect: Unsupported value: "Never": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"',
    ],
  },
  {
    name: 'podCIDR change',
    kind: 'Node',
    obj: { metadata: { name: 'n1' }, spec: { podCIDRs: ['10.42.1.0/24'] } },
    old: { metadata: { name: 'n1' }, spec: { podCIDRs: ['10.42.0.0/24'] } },
    want: ['spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid'],
  },

  // Endpoints
  {
    name: 'valid endpoints',
    kind: 'Endpoints',
    obj: { metadata: meta('web'), subsets: [{ addresses: [{ ip: '10.42.0.5' }], ports: [{ port: 80 }] }] },
    want: [],
  },
  {
    name: 'loopback endpoint (rootless mode)',
    kind: 'Endpoints',
    obj: { metadata: meta('web'), subsets: [{ addresses: [{ ip: '127.0.0.5' }], ports: [{ port: 80 }] }] },
    want: [],
  },
  {
    name: 'bad endpoint ip',
    kind: 'Endpoints',
    obj: { metadata: meta('web'), subsets: [{ addresses: [{ ip: 'x' }], ports: [{ port: 80 }] }] },
    want: [
      'subsets[0].addresses[0].ip: Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    ],
  },
  {
    name: 'endpoint ports unnamed',
    kind: 'Endpoints',
    obj: {
      metadata: meta('web'),
      subsets: [{ addresses: [{ ip: '10.42.0.5' }], ports: [{ port: 80 }, { port: 0, name: 'b' }] }],
    },
    want: [
      'subsets[0].ports[0].name: Required value',
      `subsets[0].ports[1].port: Invalid value: 0: ${PORT_RANGE}`,
    ],
  },

  // EndpointSlice
  {
    name: 'valid slice',
    kind: 'EndpointSlice',
    obj: {
      metadata: meta('web-abc'),
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.42.0.5'] }],
      ports: [{ port: 80, name: 'http' }],
    },
    want: [],
  },
  {
    name: 'slice addressType',
    kind: 'EndpointSlice',
    obj: { metadata: meta('web-abc'), addressType: 'IP' },
    want: ['addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"'],
  },
  {
    name: 'slice v6 in v4',
    kind: 'EndpointSlice',
    obj: { metadata: meta('web-abc'), addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }] },
    want: ['endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address'],
  },
  {
    name: 'slice addressType immutable',
    kind: 'EndpointSlice',
    obj: { metadata: meta('s'), addressType: 'IPv6' },
    old: { metadata: meta('s'), addressType: 'IPv4' },
    want: ['addressType: Invalid value: "IPv6": field is immutable'],
  },

  // Ingress
  {
    name: 'valid ingress',
    kind: 'Ingress',
    obj: {
      metadata: meta('web'),
      spec: {
        rules: [
          {
            host: '*.example.com',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'web', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
        tls: [{ hosts: ['a.example.com'], secretName: 'tls' }],
      },
    },
    want: [],
  },
  {
    name: 'ingress relative path',
    kind: 'Ingress',
    obj: {
      metadata: meta('web'),
      spec: {
        rules: [
          {
            http: {
              paths: [
                {
                  path: 'api',
                  pathType: 'Prefix',
                  backend: { service: { name: 'web', port: { name: 'http' } } },
                },
              ],
            },
          },
        ],
      },
    },
    want: ['spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path'],
  },
  {
    name: 'ingress no pathType',
    kind: 'Ingress',
    obj: {
      metadata: meta('web'),
      spec: {
        rules: [
          { http: { paths: [{ path: '/', backend: { service: { name: 'web', port: { number: 80 } } } }] } },
        ],
      },
    },
    want: ['spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified'],
  },
  {
    name: 'ingress no port',
    kind: 'Ingress',
    obj: { metadata: meta('web'), spec: { defaultBackend: { service: { name: 'web' } } } },
    want: ['spec.defaultBackend.service.port: Required value: port name or number is required'],
  },
  {
    name: 'ingress IP host',
    kind: 'Ingress',
    obj: { metadata: meta('web'), spec: { rules: [{ host: '10.0.0.1' }] } },
    want: ['spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address'],
  },
  {
    name: 'ingress empty',
    kind: 'Ingress',
    obj: { metadata: meta('web'), spec: {} },
    want: ['spec.rules: Invalid value: []string{}: either `defaultBackend` or `rules` must be specified'],
  },

  // IngressClass
  {
    name: 'valid ingressclass',
    kind: 'IngressClass',
    obj: { metadata: { name: 'k8ts' }, spec: { controller: 'k8ts.io/ingress' } },
    want: [],
  },
  {
    name: 'ingressclass no controller',
    kind: 'IngressClass',
    obj: { metadata: { name: 'k8ts' }, spec: {} },
    want: ['spec.controller: Required value'],
  },
  {
    name: 'ingressclass bad controller',
    kind: 'IngressClass',
    obj: { metadata: { name: 'k8ts' }, spec: { controller: 'nginx' } },
    want: ['spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")'],
  },
  {
    name: 'ingressclass controller immutable',
    kind: 'IngressClass',
    obj: { metadata: { name: 'k' }, spec: { controller: 'a.io/b' } },
    old: { metadata: { name: 'k' }, spec: { controller: 'a.io/c' } },
    want: ['spec.controller: Invalid value: "a.io/b": field is immutable'],
  },

  // Lease
  {
    name: 'valid lease',
    kind: 'Lease',
    obj: { metadata: meta('n1'), spec: { holderIdentity: 'n1', leaseDurationSeconds: 40 } },
    want: [],
  },
  {
    name: 'lease zero duration',
    kind: 'Lease',
    obj: { metadata: meta('n1'), spec: { leaseDurationSeconds: 0 } },
    want: ['spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0'],
  },
  {
    name: 'lease negative transitions',
    kind: 'Lease',
    obj: { metadata: meta('n1'), spec: { leaseTransitions: -1 } },
    want: ['spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0'],
  },

  // Event
  {
    name: 'valid event',
    kind: 'Event',
    obj: {
      metadata: meta('web.1'),
      involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' },
      reason: 'Started',
      type: 'Normal',
    },
    want: [],
  },
  {
    name: 'event namespace mismatch',
    kind: 'Event',
    obj: { metadata: meta('web.1'), involvedObject: { kind: 'Pod', name: 'web', namespace: 'other' } },
    want: ['involvedObject.namespace: Invalid value: "other": does not match event.namespace'],
  },
  {
    name: 'new-style event',
    kind: 'Event',
    obj: {
      metadata: meta('e'),
      involvedObject: { namespace: 'default' },
      eventTime: '2024-01-01T00:00:00.000000Z',
      reason: 'x'.repeat(129),
    },
    want: [
      'reportingController: Required value',
      'action: Required value',
      'reason: Too long: may not be more than 128 bytes',
    ],
  },

  // ServiceAccount
  { name: 'valid serviceaccount', kind: 'ServiceAccount', obj: { metadata: meta('default') }, want: [] },
  {
    name: 'serviceaccount bad name',
    kind: 'ServiceAccount',
    obj: { metadata: meta('Bad_Name') },
    want: [`metadata.name: Invalid value: "Bad_Name": ${SUBDOMAIN_MSG}`],
  },
  {
    name: 'serviceaccount pull secret',
    kind: 'ServiceAccount',
    obj: { metadata: meta('sa'), imagePullSecrets: [{}] },
    want: ['imagePullSecrets[0].name: Required value'],
  },
];

describe('validateCreate / validateUpdate', () => {
  it.each(cases)('$kind: $name', (c) => {
    const got = c.old === undefined ? create(c.kind, c.obj) : update(c.kind, c.obj, c.old);
    if (c.want.length === 0) expect(got).toEqual([]);
    for (const w of c.want) expect(got).toContain(w);
  });
});

describe('invalid status message', () => {
  it('words a Deployment selector mismatch as upstream', () => {
    const o = mod(deploy, (d) => {
      d.spec.template.metadata.labels = { app: 'x' };
    });
    applyDefaults(info('Deployment'), o);
    const errs = validateCreate(info('Deployment'), o);
    expect(invalidStatusMessage('Deployment', 'apps', 'web', errs)).toBe(
      'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
    );
  });
});

describe('validateStatusUpdate', () => {
  const withStatus = (kind: string, obj: Obj, status: Obj) => {
    const n = mod(obj, (o) => {
      o.status = status;
    });
    return validateStatusUpdate(info(kind), n, obj).map(fieldErrorMessage);
  };
  it.each([
    ['Pod', pod, { podIP: '10.42.0.5', podIPs: [{ ip: '10.42.0.5' }], phase: 'Running' }, []],
    [
      'Pod',
      pod,
      { podIP: 'nope' },
      ['status.podIP: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    ],
    [
      'Namespace',
      { metadata: { name: 'a' } },
      { phase: 'Terminating' },
      ['status.Phase: Invalid value: "Terminating": may only be \'Active\' if `deletionTimestamp` is empty'],
    ],
    [
      'Deployment',
      deploy,
      { replicas: -1 },
      ['status.replicas: Invalid value: -1: must be greater than or equal to 0'],
    ],
    [
      'Service',
      svc,
      { loadBalancer: { ingress: [{ ip: '1.2.3' }] } },
      [
        'status.loadBalancer.ingress[0].ip: Invalid value: "1.2.3": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
      ],
    ],
  ] as [string, Obj, Obj, string[]][])('%s status', (kind, obj, status, want) => {
    const got = withStatus(kind, obj, status);
    if (want.length === 0) expect(got).toEqual([]);
    for (const w of want) expect(got).toContain(w);
  });

  it('rejects a metadata rename through status', () => {
    const n = mod(pod, (o) => {
      o.metadata.name = 'x';
    });
    expect(validateStatusUpdate(info('Pod'), n, pod).map(fieldErrorMessage)).toContain(
      'metadata.name: Invalid value: "x": field is immutable',
    );
  });
});
