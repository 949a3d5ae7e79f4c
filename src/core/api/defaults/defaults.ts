/**
 * Defaulting of every served kind, as upstream's `SetDefaults_*` functions (and the few admission and
 * strategy steps that fill fields users see) would. Called on create and update before validation.
 */
import type { DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type {
  Endpoints,
  Namespace,
  Node,
  PodTemplateSpec,
  Secret,
  Service,
} from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { IngressClass } from 'kubernetes-types/networking/v1.js';
import { cloneJson } from '../json-clone.js';
import type { ResourceInfo } from '../resources.js';
import { applyPodDefaults, applyPodSpecDefaults } from './pod-defaults.js';

// Each entry narrows `any` to its own kubernetes-types type.
type AnyObj = any;

export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const LEGACY_JOB_NAME_LABEL = 'job-name';

function defaultTemplate(t: PodTemplateSpec | undefined): void {
  if (t?.spec) applyPodSpecDefaults(t.spec);
}

function defaultService(svc: Service): void {
  const spec = (svc.spec ??= {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = (spec.sessionAffinityConfig ??= {});
    const cip = (cfg.clientIP ??= {});
    cip.timeoutSeconds ??= 10800;
  }
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  const externallyAccessible =
    spec.type === 'NodePort' || spec.type === 'LoadBalancer' || (spec.externalIPs ?? []).length > 0;
  if (externallyAccessible) spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.type !== 'ExternalName') {
    spec.internalTrafficPolicy ??= 'Cluster';
    if (spec.clusterIP && (spec.clusterIPs ?? []).length === 0) spec.clusterIPs = [spec.clusterIP];
    if (!spec.clusterIP && (spec.clusterIPs ?? []).length > 0) spec.clusterIP = spec.clusterIPs![0]!;
    // Families follow explicit addresses; otherwise the ClusterIP allocation sets them from the
    // service CIDR (service-allocation.ts), as upstream does from --service-cluster-ip-range.
    const first = spec.clusterIPs?.[0];
    if ((spec.ipFamilies ?? []).length === 0 && first && first !== 'None') {
      spec.ipFamilies = [first.includes(':') ? 'IPv6' : 'IPv4'];
      if (spec.clusterIPs?.[1]) spec.ipFamilies.push(spec.clusterIPs[1].includes(':') ? 'IPv6' : 'IPv4');
    }
    if (!spec.ipFamilyPolicy && (spec.ipFamilies ?? []).length <= 1 && (spec.clusterIPs ?? []).length <= 1) {
      spec.ipFamilyPolicy = 'SingleStack';
    }
  }
}

function defaultDeployment(d: Deployment): void {
  const spec = d.spec;
  if (spec === undefined) return;
  spec.replicas ??= 1;
  const st = (spec.strategy ??= {});
  st.type ??= 'RollingUpdate';
  if (st.type === 'RollingUpdate') {
    const ru = (st.rollingUpdate ??= {});
    ru.maxUnavailable ??= '25%';
    ru.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultTemplate(spec.template);
}

function defaultReplicaSet(rs: ReplicaSet): void {
  if (rs.spec === undefined) return;
  rs.spec.replicas ??= 1;
  defaultTemplate(rs.spec.template);
}

function defaultDaemonSet(ds: DaemonSet): void {
  const spec = ds.spec;
  if (spec === undefined) return;
  const us = (spec.updateStrategy ??= {});
  us.type ??= 'RollingUpdate';
  if (us.type === 'RollingUpdate') {
    const ru = (us.rollingUpdate ??= {});
    ru.maxUnavailable ??= 1;
    ru.maxSurge ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  defaultTemplate(spec.template);
}

function defaultStatefulSet(ss: StatefulSet): void {
  const spec = ss.spec;
  if (spec === undefined) return;
  spec.replicas ??= 1;
  spec.podManagementPolicy ??= 'OrderedReady';
  const us = (spec.updateStrategy ??= {});
  us.type ??= 'RollingUpdate';
  if (us.type === 'RollingUpdate') {
    const ru = (us.rollingUpdate ??= {});
    ru.partition ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  const pvc = (spec.persistentVolumeClaimRetentionPolicy ??= {});
  pvc.whenDeleted ??= 'Retain';
  pvc.whenScaled ??= 'Retain';
  for (const c of spec.volumeClaimTemplates ?? []) {
    const cs = (c.spec ??= {});
    cs.volumeMode ??= 'Filesystem';
  }
  defaultTemplate(spec.template);
}

function defaultJob(job: Job): void {
  const spec = job.spec;
  if (spec === undefined) return;
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.manualSelector ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  const tl = spec.template?.metadata?.labels;
  if (tl !== undefined && Object.keys(job.metadata?.labels ?? {}).length === 0) {
    job.metadata ??= {};
    job.metadata.labels = { ...tl };
  }
  defaultTemplate(spec.template);
}

/**
 * Upstream defaults the CronJob's own fields and the pod template inside its job template; the
 * JobSpec fields (completions, backoffLimit, ...) are defaulted on each Job the controller creates.
 */
function defaultCronJob(cj: CronJob): void {
  const spec = cj.spec;
  if (spec === undefined) return;
  spec.concurrencyPolicy ??= 'Allow';
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  defaultTemplate(spec.jobTemplate?.spec?.template);
}

function defaultSecret(s: Secret): void {
  s.type ??= 'Opaque';
  // stringData is write-only: merged into data (base64) and dropped, as upstream's conversion does.
  if (s.stringData !== undefined) {
    const data = (s.data ??= {});
    for (const [k, v] of Object.entries(s.stringData))
      data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    delete s.stringData;
  }
}

function defaultNamespace(ns: Namespace): void {
  const spec = (ns.spec ??= {});
  if ((spec.finalizers ?? []).length === 0) spec.finalizers = ['kubernetes'];
  const st = (ns.status ??= {});
  st.phase ??= 'Active';
  const name = ns.metadata?.name;
  if (name) {
    const labels = (ns.metadata!.labels ??= {});
    labels['kubernetes.io/metadata.name'] = name;
  }
}

function defaultNode(node: Node): void {
  const st = node.status;
  if (st?.capacity !== undefined && st.allocatable === undefined) st.allocatable = { ...st.capacity };
}

function defaultEndpoints(ep: Endpoints): void {
  for (const ss of ep.subsets ?? []) for (const p of ss.ports ?? []) p.protocol ??= 'TCP';
}

function defaultEndpointSlice(es: EndpointSlice): void {
  for (const p of es.ports ?? []) {
    p.protocol ??= 'TCP';
    p.name ??= '';
  }
}

function defaultIngressClass(ic: IngressClass): void {
  const params = ic.spec?.parameters;
  if (params) params.scope ??= 'Cluster';
}

const DEFAULTERS: Record<string, (obj: AnyObj) => void> = {
  '/Pod': applyPodDefaults,
  '/Service': defaultService,
  '/Secret': defaultSecret,
  '/Namespace': defaultNamespace,
  '/Node': defaultNode,
  '/Endpoints': defaultEndpoints,
  'apps/Deployment': defaultDeployment,
  'apps/ReplicaSet': defaultReplicaSet,
  'apps/DaemonSet': defaultDaemonSet,
  'apps/StatefulSet': defaultStatefulSet,
  'batch/Job': defaultJob,
  'batch/CronJob': defaultCronJob,
  'discovery.k8s.io/EndpointSlice': defaultEndpointSlice,
  'networking.k8s.io/IngressClass': defaultIngressClass,
};

/** Fill upstream's defaults into `obj` (mutated in place) for `info`'s kind. */
export function applyDefaults(info: ResourceInfo, obj: unknown): void {
  if (typeof obj !== 'object' || obj === null) return;
  DEFAULTERS[`${info.group}/${info.kind}`]?.(obj);
}

/**
 * Give a Job its generated selector (`batch.kubernetes.io/controller-uid=<uid>`) and template labels,
 * unless `spec.manualSelector` is true. Call on create once the uid is assigned, before validation.
 */
export function applyJobSelector(job: Job, uid: string): void {
  const spec = job.spec;
  if (spec === undefined || spec.manualSelector === true) return;
  const tmeta = (spec.template.metadata ??= {});
  const labels = (tmeta.labels ??= {});
  const name = job.metadata?.name ?? '';
  // User-set values are kept; a conflicting one fails validation (`selector` not auto-generated).
  labels[CONTROLLER_UID_LABEL] ??= uid;
  labels[LEGACY_CONTROLLER_UID_LABEL] ??= uid;
  labels[JOB_NAME_LABEL] ??= name;
  labels[LEGACY_JOB_NAME_LABEL] ??= name;
  const sel = (spec.selector ??= {});
  const ml = (sel.matchLabels ??= {});
  ml[CONTROLLER_UID_LABEL] ??= uid;
}

/**
 * Carry server-assigned values from the stored object into an update that left them out, as
 * upstream's update strategies do: a Service's clusterIP(s), ipFamilies and nodePorts, a Job's
 * generated selector and labels. Call after `applyDefaults` and before `validateUpdate`.
 */
export function applyUpdateDefaults(info: ResourceInfo, obj: unknown, old: unknown): void {
  if (typeof obj !== 'object' || obj === null || typeof old !== 'object' || old === null) return;
  const key = `${info.group}/${info.kind}`;
  if (key === '/Service') carryServiceAllocations(obj as Service, old as Service);
  if (key === 'batch/Job') carryJobSelector(obj as Job, old as Job);
}

function carryServiceAllocations(svc: Service, old: Service): void {
  const ns = svc.spec;
  const os = old.spec;
  if (ns === undefined || os === undefined) return;
  dropTypeDependentFields(ns, os);
  if (ns.type === 'ExternalName' || os.type === 'ExternalName') return;
  const newSetIPs = !!ns.clusterIP || (ns.clusterIPs ?? []).length > 0;
  if (!newSetIPs && os.clusterIP) {
    ns.clusterIP = os.clusterIP;
    if (os.clusterIPs !== undefined) ns.clusterIPs = [...os.clusterIPs];
    // Families defaulted before the IPs were carried over follow the stored ones.
    if (os.ipFamilies !== undefined) ns.ipFamilies = [...os.ipFamilies];
    if (os.ipFamilyPolicy !== undefined) ns.ipFamilyPolicy = os.ipFamilyPolicy;
  } else if (ns.clusterIP && (ns.clusterIPs ?? []).length === 0) {
    ns.clusterIPs = [ns.clusterIP];
  }
  // Node ports the user left out keep their allocation when the port entry is otherwise the same.
  if (ns.type === 'NodePort' || ns.type === 'LoadBalancer') {
    for (const p of ns.ports ?? []) {
      if (p.nodePort !== undefined && p.nodePort !== 0) continue;
      const match = (os.ports ?? []).find(
        (o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'),
      );
      if (match?.nodePort) p.nodePort = match.nodePort;
    }
    if (ns.externalTrafficPolicy === 'Local' && !ns.healthCheckNodePort && os.healthCheckNodePort) {
      ns.healthCheckNodePort = os.healthCheckNodePort;
    }
  }
}

function carryJobSelector(job: Job, old: Job): void {
  const ns = job.spec;
  const os = old.spec;
  if (ns === undefined || os === undefined || os.manualSelector === true) return;
  if (ns.selector === undefined && os.selector !== undefined) ns.selector = cloneJson(os.selector);
  const oldLabels = os.template.metadata?.labels ?? {};
  const labels = ((ns.template.metadata ??= {}).labels ??= {});
  for (const k of [
    CONTROLLER_UID_LABEL,
    LEGACY_CONTROLLER_UID_LABEL,
    JOB_NAME_LABEL,
    LEGACY_JOB_NAME_LABEL,
  ]) {
    const v = oldLabels[k];
    if (v !== undefined) labels[k] ??= v;
  }
}

type ServiceSpec = NonNullable<Service['spec']>;

/**
 * When the type changes, fields the old type needed and the user did not touch are dropped (upstream
 * `dropTypeDependentFields`), so e.g. `kubectl apply` from NodePort to ClusterIP does not trip over
 * the merged-in nodePorts.
 */
function dropTypeDependentFields(ns: ServiceSpec, os: ServiceSpec): void {
  if (ns.type === os.type) return;
  const needsNodePorts = ns.type === 'NodePort' || ns.type === 'LoadBalancer';
  if (!needsNodePorts) {
    for (const p of ns.ports ?? []) {
      const o = (os.ports ?? []).find(
        (x) => x.port === p.port && (x.protocol ?? 'TCP') === (p.protocol ?? 'TCP'),
      );
      if (p.nodePort !== undefined && o?.nodePort === p.nodePort) delete p.nodePort;
    }
  }
  if (ns.type === 'ExternalName' && ns.clusterIP === os.clusterIP) {
    delete ns.clusterIP;
    delete ns.clusterIPs;
    delete ns.ipFamilies;
    delete ns.ipFamilyPolicy;
    delete ns.internalTrafficPolicy;
  }
  if (ns.type !== 'LoadBalancer') {
    if (ns.allocateLoadBalancerNodePorts === os.allocateLoadBalancerNodePorts)
      delete ns.allocateLoadBalancerNodePorts;
    if (ns.healthCheckNodePort === os.healthCheckNodePort) delete ns.healthCheckNodePort;
  }
  const externallyAccessible = needsNodePorts || (ns.externalIPs ?? []).length > 0;
  if (!externallyAccessible && ns.externalTrafficPolicy === os.externalTrafficPolicy)
    delete ns.externalTrafficPolicy;
}
