/**
 * Names and ownership markers of the GCE provider, after the GCE cloud provider's conventions:
 * the load balancer's resources are named `a` + the service UID (32 characters), firewalls
 * `k8s-fw-<lb>` and `k8s-<lb>-http-hc` (or the shared `k8s-<cluster>-node-http-hc`), the shared
 * node health check `k8s-<cluster>-node`, instance groups `k8s-ig--<cluster>`. Most Compute
 * resources have no labels, so ownership is a JSON description, as upstream writes
 * `{"kubernetes.io/service-name": "ns/name"}`, plus `kubernetes.io/cluster/<name>: owned`.
 */
import type { Service } from 'kubernetes-types/core/v1.js';

/** Prefix of Compute resource URLs (selfLinks). */
export const GCE_API_BASE = 'https://www.googleapis.com/compute/v1/';

/** Google's health checkers send from these ranges (firewalls must allow them). */
export const GCE_HEALTH_CHECK_RANGES = [
  '35.191.0.0/16',
  '130.211.0.0/22',
  '209.85.152.0/22',
  '209.85.204.0/22',
];
/** The service proxy's health endpoint on every node. */
export const NODE_HEALTH_PORT = 10256;

export function lbName(svc: Service): string {
  return `a${(svc.metadata?.uid ?? '').replace(/-/g, '')}`.slice(0, 32);
}
export function trafficFirewallName(lb: string): string {
  return `k8s-fw-${lb}`;
}
export function sharedHealthCheckName(cluster: string): string {
  return `k8s-${cluster}-node`;
}
export function healthCheckFirewallName(cluster: string, lb: string | undefined): string {
  return lb ? `k8s-${lb}-http-hc` : `k8s-${cluster}-node-http-hc`;
}
export function instanceGroupName(cluster: string): string {
  return `k8s-ig--${cluster}`;
}
/** Per-protocol resources: the first protocol (TCP) keeps the LB name, others get a suffix. */
export function perProtocolName(lb: string, protocol: string, first: boolean): string {
  return first ? lb : `${lb}-${protocol.toLowerCase()}`;
}
export function routeName(cluster: string, hint: string): string {
  return `k8s-${cluster}-${hint}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63);
}

/** The description JSON that marks a resource as this cluster's (and, if given, the service's). */
export function ownerDescription(cluster: string, svc?: Service): string {
  const d: Record<string, string> = {};
  if (svc) d['kubernetes.io/service-name'] = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
  d[`kubernetes.io/cluster/${cluster}`] = 'owned';
  return JSON.stringify(d);
}

/** Does this description mark the resource as owned by `cluster`? */
export function ownedBy(description: string | null | undefined, cluster: string): boolean {
  try {
    const d = JSON.parse(description ?? '');
    return d?.[`kubernetes.io/cluster/${cluster}`] === 'owned';
  } catch {
    return false;
  }
}

/** `gce://project/zone/name` parts, or undefined. */
export function parseGceProviderId(
  id: string | undefined,
): { project: string; zone: string; name: string } | undefined {
  const m = /^gce:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(id ?? '');
  return m ? { project: m[1]!, zone: m[2]!, name: m[3]! } : undefined;
}

/** `zones/<z>/instances/<name>`: how instance links are compared (full URLs differ by host). */
export function instancePath(link: string): string {
  const m = /zones\/[^/]+\/instances\/[^/]+$/.exec(link);
  return m ? m[0] : link;
}

/** Last path segment of a URL (zone, machine type). */
export function lastSegment(s: string | null | undefined): string {
  return (s ?? '').slice((s ?? '').lastIndexOf('/') + 1);
}
