/**
 * How the controller is exposed and what it writes into Ingress status (pure parts): the
 * LoadBalancer Service `kube-system/k8ts-ingress` (no selector: the controller runs on the host
 * network, not in a pod), the EndpointSlice each controller instance keeps for its node (its
 * address and the ports it really listens on), and the Ingress status.loadBalancer taken from the
 * Service's.
 */
import { isIP } from 'node:net';
import type { LoadBalancerIngress, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { IngressLoadBalancerIngress } from 'kubernetes-types/networking/v1.js';

export const INGRESS_SERVICE_NAMESPACE = 'kube-system';
export const INGRESS_SERVICE_NAME = 'k8ts-ingress';
/** endpointslice.kubernetes.io/managed-by of the slices the ingress controllers keep. */
export const SLICE_MANAGER = 'ingress.k8ts.io';

/** The Service the controller creates when it is missing (ports http 80, https 443). */
export function ingressService(): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: INGRESS_SERVICE_NAME,
      namespace: INGRESS_SERVICE_NAMESPACE,
      labels: { 'app.kubernetes.io/name': 'k8ts-ingress', 'app.kubernetes.io/component': 'controller' },
    },
    spec: {
      type: 'LoadBalancer',
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' },
        { name: 'https', port: 443, protocol: 'TCP', targetPort: 'https' },
      ],
    },
  };
}

/** The name of one node's slice (a DNS subdomain: the node name lower-cased, bad characters dashed). */
export function sliceName(nodeName: string): string {
  const n = nodeName.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  return `${INGRESS_SERVICE_NAME}-${n}`.slice(0, 253).replace(/[-.]+$/, '');
}

export interface SliceOptions {
  nodeName: string;
  address: string;
  httpPort: number;
  httpsPort: number;
}

/** This node's EndpointSlice of the Service: its address, the real listening ports, always ready. */
export function ingressEndpointSlice(o: SliceOptions): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: sliceName(o.nodeName),
      namespace: INGRESS_SERVICE_NAMESPACE,
      labels: {
        'kubernetes.io/service-name': INGRESS_SERVICE_NAME,
        'endpointslice.kubernetes.io/managed-by': SLICE_MANAGER,
      },
    },
    addressType: isIP(o.address) === 6 ? 'IPv6' : 'IPv4',
    endpoints: [
      {
        addresses: [o.address],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: o.nodeName,
      },
    ],
    ports: [
      { name: 'http', port: o.httpPort, protocol: 'TCP' },
      { name: 'https', port: o.httpsPort, protocol: 'TCP' },
    ],
  };
}

/** True when the slice in the cluster already says what `want` says (labels, endpoints, ports). */
export function sliceUpToDate(have: EndpointSlice, want: EndpointSlice): boolean {
  const labels = want.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(labels)) if (have.metadata?.labels?.[k] !== v) return false;
  return (
    have.addressType === want.addressType &&
    JSON.stringify(have.endpoints ?? []) === JSON.stringify(want.endpoints) &&
    JSON.stringify(have.ports ?? []) === JSON.stringify(want.ports)
  );
}

/** The addresses to publish on Ingresses: the Service's load balancer status, then its externalIPs. */
export function statusFromService(svc: Service | undefined): IngressLoadBalancerIngress[] {
  if (!svc) return [];
  const out: IngressLoadBalancerIngress[] = [];
  const seen = new Set<string>();
  for (const i of (svc.status?.loadBalancer?.ingress ?? []) as LoadBalancerIngress[]) {
    const id = i.ip ?? i.hostname;
    if (!id || seen.has(id)) continue;
    seen.add(id);
    const e: IngressLoadBalancerIngress = i.ip ? { ip: i.ip } : { hostname: i.hostname! };
    if (i.ports?.length)
      e.ports = i.ports.map((p) => ({
        port: p.port,
        protocol: p.protocol,
        ...(p.error ? { error: p.error } : {}),
      }));
    out.push(e);
  }
  for (const ip of svc.spec?.externalIPs ?? []) {
    if (seen.has(ip)) continue;
    seen.add(ip);
    out.push({ ip });
  }
  return out;
}

/** Equality of two status.loadBalancer.ingress lists (order matters, as a write would change it). */
export function sameLoadBalancerIngress(
  a: readonly IngressLoadBalancerIngress[] | undefined,
  b: readonly IngressLoadBalancerIngress[] | undefined,
): boolean {
  const norm = (l: readonly IngressLoadBalancerIngress[] | undefined) =>
    JSON.stringify(
      (l ?? []).map((i) => ({ ip: i.ip ?? '', hostname: i.hostname ?? '', ports: i.ports ?? [] })),
    );
  return norm(a) === norm(b);
}
