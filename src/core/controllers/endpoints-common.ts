/**
 * Pod and Service predicates shared by the Endpoints and EndpointSlice controllers, as upstream's
 * endpointslice util package defines them: which pods are published, how a service port resolves
 * to a container port of one pod, which services select a pod, and which pod changes matter.
 * Pure functions over API objects (no I/O).
 */
import type { Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { isPodReady } from './pod-state.js';

export { isPodReady };

/** Label every controller-managed EndpointSlice carries with its Service's name. */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** Label naming the controller that manages an EndpointSlice. */
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
/** The value of LABEL_MANAGED_BY for slices this project's EndpointSlice controller owns. */
export const ENDPOINTSLICE_CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
/** Label set on Endpoints / EndpointSlices of headless services. */
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
/** Annotation: when the change that caused this write happened (network programming latency). */
export const ANNOTATION_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
/** Annotation on Endpoints whose addresses were cut to the 1000-address cap. */
export const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
/** Node label with the node's zone. */
export const LABEL_ZONE = 'topology.kubernetes.io/zone';

/** True when the pod has finished for good (Succeeded or Failed). */
export function isPodTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * Whether a pod belongs in Endpoints / EndpointSlices at all: not terminal, has an IP, and (unless
 * `includeTerminating`) is not being deleted.
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && (pod.status?.podIPs ?? []).length === 0) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/** A pod gets a hostname in its service's endpoints when its subdomain names that service. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return (
    !!pod.spec?.hostname &&
    pod.spec.subdomain === svc.metadata?.name &&
    pod.metadata?.namespace === svc.metadata?.namespace
  );
}

/** A service has a cluster IP (is not headless). */
export function isServiceIPSet(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

/**
 * The container port a service port reaches on one pod: a numeric targetPort as is, a named one
 * looked up in that pod's containers (and restartable init containers) with the same protocol.
 * Undefined when the pod has no such named port.
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const proto = sp.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? [])
      if (p.name === target && (p.protocol ?? 'TCP') === proto) return p.containerPort;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    if (c.restartPolicy !== 'Always') continue;
    for (const p of c.ports ?? [])
      if (p.name === target && (p.protocol ?? 'TCP') === proto) return p.containerPort;
  }
  return undefined;
}

/**
 * The service's selector, or undefined when the service gets no endpoints from the controllers:
 * no (or an empty) selector means endpoints are managed by the user; ExternalName services have none.
 */
export function serviceSelector(svc: Service): Record<string, string> | undefined {
  if (svc.spec?.type === 'ExternalName') return undefined;
  const sel = svc.spec?.selector;
  if (!sel || Object.keys(sel).length === 0) return undefined;
  return sel;
}

/** Whether a (non-empty) service selector matches a label set. */
export function selectorMatches(
  sel: Record<string, string>,
  labels: Record<string, string> | undefined,
): boolean {
  for (const [k, v] of Object.entries(sel)) if (labels?.[k] !== v) return false;
  return true;
}

/** The API server manages `default/kubernetes` itself: the controllers never touch it. */
export function isApiServerService(namespace: string | undefined, name: string | undefined): boolean {
  return namespace === 'default' && name === 'kubernetes';
}

/** `namespace/name` of an object. */
export function keyOf(o: { metadata?: { namespace?: string; name?: string } | undefined }): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

function podIPs(pod: Pod): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip ?? '');
  return ips.length > 0 ? ips : pod.status?.podIP ? [pod.status.podIP] : [];
}

export interface PodChange {
  /** Something that shapes the pod's endpoint changed (readiness, IPs, deletion, ...). */
  podChanged: boolean;
  /** Labels (or hostname/subdomain) changed: the set of services selecting it may differ. */
  labelsChanged: boolean;
}

/** What changed between two versions of a pod, for the purpose of endpoints. */
export function podEndpointsChanged(oldPod: Pod, newPod: Pod): PodChange {
  const labelsChanged =
    !sameLabels(oldPod.metadata?.labels, newPod.metadata?.labels) ||
    oldPod.spec?.hostname !== newPod.spec?.hostname ||
    oldPod.spec?.subdomain !== newPod.spec?.subdomain;
  const a = podIPs(oldPod);
  const b = podIPs(newPod);
  const podChanged =
    oldPod.metadata?.deletionTimestamp !== newPod.metadata?.deletionTimestamp ||
    isPodReady(oldPod) !== isPodReady(newPod) ||
    isPodTerminal(oldPod) !== isPodTerminal(newPod) ||
    oldPod.spec?.nodeName !== newPod.spec?.nodeName ||
    a.length !== b.length ||
    a.some((ip, i) => ip !== b[i]);
  return { podChanged, labelsChanged };
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ak = Object.keys(a ?? {});
  if (ak.length !== Object.keys(b ?? {}).length) return false;
  return ak.every((k) => a?.[k] === b?.[k]);
}

/**
 * Keys (`ns/name`) of the services to resync after a pod event: those selecting the pod now and,
 * when its labels changed, those that selected it before (all of them if the pod itself changed,
 * else only the ones that gained or lost it).
 */
export function servicesToSync(
  services: readonly Service[],
  change: { old?: Pod | undefined; cur?: Pod | undefined },
): Set<string> {
  const selecting = (pod: Pod | undefined): Set<string> => {
    const out = new Set<string>();
    if (!pod) return out;
    for (const svc of services) {
      if (svc.metadata?.namespace !== pod.metadata?.namespace) continue;
      const sel = serviceSelector(svc);
      if (sel && selectorMatches(sel, pod.metadata?.labels)) out.add(keyOf(svc));
    }
    return out;
  };
  const { old, cur } = change;
  if (!old || !cur) return selecting(cur ?? old);
  if (old.metadata?.resourceVersion && old.metadata.resourceVersion === cur.metadata?.resourceVersion)
    return new Set();
  const { podChanged, labelsChanged } = podEndpointsChanged(old, cur);
  if (!podChanged && !labelsChanged) return new Set();
  const now = selecting(cur);
  if (!labelsChanged) return now;
  const before = selecting(old);
  if (podChanged) return new Set([...now, ...before]);
  const out = new Set<string>();
  for (const k of now) if (!before.has(k)) out.add(k);
  for (const k of before) if (!now.has(k)) out.add(k);
  return out;
}

/**
 * Compare two resourceVersions as the SQLite / etcd revisions they are (decimal integers).
 * Returns undefined when either is not a plain integer (then no order is known).
 */
export function compareResourceVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Format a timestamp as Go's RFC3339Nano in UTC does (no trailing zero fraction). */
export function formatTriggerTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : 'Z'));
}
