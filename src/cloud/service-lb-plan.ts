/**
 * The service controller's pure decisions, as k8s.io/cloud-provider's service controller makes
 * them: which services want a cloud load balancer, which nodes may carry its traffic, when the
 * spec changed enough to ensure the load balancer again, and when only the hosts changed.
 */
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { LoadBalancerStatus } from './provider.js';

/** Upstream's finalizer: the Service object stays until its load balancer is gone. */
export const LB_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';
/** Nodes with this label (any value) never receive load balancer traffic. */
export const LABEL_EXCLUDE_LB = 'node.kubernetes.io/exclude-from-external-load-balancers';
/** Taint the cluster autoscaler puts on nodes it is about to remove. */
export const TAINT_TO_BE_DELETED = 'ToBeDeletedByClusterAutoscaler';

/** A `type: LoadBalancer` service of the default class (no spec.loadBalancerClass), not being deleted. */
export function wantsLoadBalancer(svc: Service): boolean {
  return svc.spec?.type === 'LoadBalancer' && !svc.spec.loadBalancerClass && !svc.metadata?.deletionTimestamp;
}

export function hasLbFinalizer(svc: Service): boolean {
  return (svc.metadata?.finalizers ?? []).includes(LB_FINALIZER);
}

/** The service carries our finalizer but no longer wants a load balancer (deleted or type changed). */
export function needsCleanup(svc: Service): boolean {
  return hasLbFinalizer(svc) && !wantsLoadBalancer(svc);
}

function isReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * May this node carry load balancer traffic? Not if labelled exclude-from-external-load-balancers,
 * being deleted, marked by the cluster autoscaler for removal, or not Ready. (Upstream since 1.27
 * keeps NotReady nodes and lets the health checks decide; k8ts removes them so that a node that
 * stops heartbeating leaves the target list even on providers whose health checks are slow.)
 */
export function nodeEligible(node: Node): boolean {
  if (node.metadata?.deletionTimestamp) return false;
  if (node.metadata?.labels && LABEL_EXCLUDE_LB in node.metadata.labels) return false;
  if ((node.spec?.taints ?? []).some((t) => t.key === TAINT_TO_BE_DELETED)) return false;
  return isReady(node);
}

/** Eligible nodes, sorted by name (providers get a stable order). */
export function eligibleNodes(nodes: Node[]): Node[] {
  return nodes.filter(nodeEligible).sort((a, b) => cmp(a.metadata?.name ?? '', b.metadata?.name ?? ''));
}

/** Identity of a node set (the eligible names, plus what providers target: addresses and providerID). */
export function nodeSetKey(nodes: Node[]): string {
  return nodes
    .map((n) => {
      const addrs = (n.status?.addresses ?? []).map((a) => `${a.type}=${a.address}`).join(',');
      return `${n.metadata?.name}|${n.spec?.providerID ?? ''}|${addrs}`;
    })
    .join(';');
}

/** The parts of a service a load balancer depends on; a change of any means ensure again. */
export function serviceLbKey(svc: Service): string {
  const s = svc.spec ?? {};
  return JSON.stringify({
    ports: (s.ports ?? []).map((p) => [p.name ?? '', p.protocol ?? 'TCP', p.port, p.nodePort ?? 0]),
    etp: s.externalTrafficPolicy ?? 'Cluster',
    hc: s.healthCheckNodePort ?? 0,
    ip: s.loadBalancerIP ?? '',
    ranges: s.loadBalancerSourceRanges ?? [],
    families: s.ipFamilies ?? [],
    annotations: Object.entries(svc.metadata?.annotations ?? {})
      .filter(([k]) => !k.startsWith('kubectl.kubernetes.io/'))
      .sort(([a], [b]) => cmp(a, b)),
  });
}

/** Same ingress entries in the same order. */
export function lbStatusEqual(a: LoadBalancerStatus | undefined, b: LoadBalancerStatus | undefined): boolean {
  const x = a?.ingress ?? [];
  const y = b?.ingress ?? [];
  if (x.length !== y.length) return false;
  return x.every((e, i) => e.ip === y[i]?.ip && e.hostname === y[i]?.hostname && e.ipMode === y[i]?.ipMode);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
