/**
 * Defaulting of pod specs (upstream core/v1 SetDefaults_PodSpec, _Container, _Probe, _Volume) and of
 * Pods (SetDefaults_Pod plus what upstream's admission plugins add: service account, priority,
 * not-ready/unreachable tolerations).
 */
import type { Container, Pod, PodSpec, Probe, Toleration, Volume } from 'kubernetes-types/core/v1.js';
import { VOLUME_SOURCES } from '../validation/pod.js';
import { parseQuantity } from '../validation/quantity.js';

/** Upstream's `DefaultTolerationSeconds` admission value. */
export const DEFAULT_TOLERATION_SECONDS = 300;

/** `Always` for `:latest` or untagged images, `IfNotPresent` otherwise (digests count as pinned). */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) {
    const beforeDigest = image.slice(0, image.indexOf('@'));
    return tagOf(beforeDigest) === 'latest' ? 'Always' : 'IfNotPresent';
  }
  const tag = tagOf(image);
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function tagOf(image: string): string {
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  return colon < 0 ? '' : image.slice(colon + 1);
}

function defaultProbe(p: Probe | undefined): void {
  if (p === undefined || p === null) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet) {
    if (!p.httpGet.path) p.httpGet.path = '/';
    p.httpGet.scheme ??= 'HTTP';
  }
  if (p.grpc) p.grpc.service ??= '';
}

function defaultContainer(c: Container): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  // An empty image (templates may omit it) parses to no tag upstream: IfNotPresent.
  if (!c.imagePullPolicy) c.imagePullPolicy = c.image ? defaultPullPolicy(c.image) : 'IfNotPresent';
  for (const port of c.ports ?? []) port.protocol ??= 'TCP';
  for (const e of c.env ?? []) {
    if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= 'v1';
    if (e.valueFrom?.resourceFieldRef && e.valueFrom.resourceFieldRef.divisor === undefined) {
      e.valueFrom.resourceFieldRef.divisor = '0';
    }
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  for (const h of [c.lifecycle?.postStart, c.lifecycle?.preStop]) {
    if (h?.httpGet) {
      if (!h.httpGet.path) h.httpGet.path = '/';
      h.httpGet.scheme ??= 'HTTP';
    }
  }
}

function defaultVolume(v: Volume): void {
  const rec = v as unknown as Record<string, unknown>;
  if (!VOLUME_SOURCES.some((k) => rec[k] != null)) v.emptyDir = {};
  if (v.secret) v.secret.defaultMode ??= 0o644;
  if (v.configMap) v.configMap.defaultMode ??= 0o644;
  if (v.projected) v.projected.defaultMode ??= 0o644;
  if (v.downwardAPI) {
    v.downwardAPI.defaultMode ??= 0o644;
    for (const item of v.downwardAPI.items ?? []) if (item.fieldRef) item.fieldRef.apiVersion ??= 'v1';
  }
  if (v.hostPath) v.hostPath.type ??= '';
  if (v.iscsi) v.iscsi.iscsiInterface ??= 'default';
}

/** Defaults of every pod spec, in Pods and in workload templates alike. */
export function applyPodSpecDefaults(spec: PodSpec): void {
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  if (spec.hostNetwork) {
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      for (const p of c.ports ?? [])
        if (p.hostPort === undefined || p.hostPort === 0) p.hostPort = p.containerPort;
    }
  }
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.ephemeralContainers ?? []) defaultContainer(c as Container);
  for (const v of spec.volumes ?? []) defaultVolume(v);
}

function tolerates(tols: Toleration[], key: string): boolean {
  return tols.some(
    (t) =>
      (t.effect === undefined || t.effect === '' || t.effect === 'NoExecute') &&
      ((t.operator === 'Exists' && (t.key === undefined || t.key === '')) || t.key === key),
  );
}

/** Defaults of a Pod: its spec plus SetDefaults_Pod and the admission-time defaults. */
export function applyPodDefaults(pod: Pod): void {
  pod.spec ??= { containers: [] };
  const spec = pod.spec;
  applyPodSpecDefaults(spec);
  spec.enableServiceLinks ??= true;
  // Limits without requests imply equal requests.
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const lim = c.resources?.limits;
    if (lim === undefined || c.resources === undefined) continue;
    const req = (c.resources.requests ??= {});
    for (const [k, v] of Object.entries(lim)) if (req[k] === undefined) req[k] = v;
  }
  // ServiceAccount admission.
  spec.serviceAccountName ||= spec.serviceAccount || 'default';
  spec.serviceAccount = spec.serviceAccountName;
  // Priority admission (no PriorityClass objects are served: every pod gets priority 0).
  if (!spec.priorityClassName) spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  // DefaultTolerationSeconds admission.
  const tols = (spec.tolerations ??= []);
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerates(tols, key)) {
      tols.push({
        key,
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: DEFAULT_TOLERATION_SECONDS,
      });
    }
  }
  // A new pod starts Pending; the kubelet owns the phase afterwards.
  // (kubernetes-types marks status readonly; the API server is the one writer allowed to fill it.)
  const writable = pod as { status?: NonNullable<Pod['status']> };
  const status = (writable.status ??= {});
  status.phase ??= 'Pending';
  status.qosClass ??= podQOSClass(spec);
}

/** Upstream's QoS class: Guaranteed, Burstable or BestEffort, from cpu/memory requests and limits. */
export function podQOSClass(spec: PodSpec): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      const rq = parseQuantity(req[r]);
      const lm = parseQuantity(lim[r]);
      if ((rq ?? 0) !== 0 || (lm ?? 0) !== 0) any = true;
      if (lm === undefined || (rq !== undefined && rq !== lm)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
