/**
 * Service -> ServicePortInfo, upstream's rules: ExternalName and headless services get nothing;
 * externalTrafficPolicy only matters for services reachable from outside (NodePort, LoadBalancer,
 * externalIPs); a health check node port only for LoadBalancer + Local.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import { NODE_LOCAL_ANNOTATION } from '../dns/kube-dns-service.js';
import { type Protocol, type ServicePortInfo, servicePortKey } from './model.js';

/** Default ClientIP affinity timeout (3 hours), as upstream. */
export const DEFAULT_AFFINITY_SECONDS = 10800;

/** True when the proxy programs nothing for this service. */
export function shouldSkipService(svc: Service): boolean {
  const spec = svc.spec;
  if (!spec) return true;
  if (spec.type === 'ExternalName') return true;
  // Node-local DNS holds this ClusterIP on every node itself: a DNAT or REJECT would shadow it.
  if (svc.metadata?.annotations?.[NODE_LOCAL_ANNOTATION] === 'true') return true;
  const ip = spec.clusterIP;
  return !ip || ip === 'None';
}

/** `namespace/name:port` as upstream prints a ServicePortName. */
export function servicePortName(service: string, portName: string): string {
  return portName ? `${service}:${portName}` : service;
}

/** The service ports of one Service keyed by servicePortKey (empty when skipped). */
export function servicePortsOf(svc: Service): Map<string, ServicePortInfo> {
  const out = new Map<string, ServicePortInfo>();
  if (shouldSkipService(svc)) return out;
  const spec = svc.spec!;
  const service = `${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name ?? ''}`;
  const type = spec.type ?? 'ClusterIP';
  const clusterIPs = spec.clusterIPs?.length ? [...spec.clusterIPs] : [spec.clusterIP!];
  const externalIPs = (spec.externalIPs ?? []).filter(Boolean);
  const isLb = type === 'LoadBalancer';
  const externallyAccessible = type === 'NodePort' || isLb || externalIPs.length > 0;
  const externalPolicyLocal = externallyAccessible && spec.externalTrafficPolicy === 'Local';
  const loadBalancerIPs = isLb
    ? (svc.status?.loadBalancer?.ingress ?? [])
        .filter((i) => i.ip && (i as { ipMode?: string }).ipMode !== 'Proxy')
        .map((i) => i.ip!)
    : [];
  const affinitySeconds =
    spec.sessionAffinity === 'ClientIP'
      ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS)
      : 0;
  for (const p of spec.ports ?? []) {
    const protocol = (p.protocol ?? 'TCP') as Protocol;
    const portName = p.name ?? '';
    const name = servicePortName(service, portName);
    out.set(servicePortKey(name, protocol), {
      name,
      service,
      portName,
      protocol,
      port: p.port,
      clusterIPs,
      nodePort: type === 'NodePort' || isLb ? (p.nodePort ?? 0) : 0,
      externalIPs,
      loadBalancerIPs,
      loadBalancerSourceRanges: isLb
        ? (spec.loadBalancerSourceRanges ?? []).map((r) => r.trim()).filter(Boolean)
        : [],
      affinitySeconds,
      externalPolicyLocal,
      internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
      healthCheckNodePort: isLb && externalPolicyLocal ? (spec.healthCheckNodePort ?? 0) : 0,
    });
  }
  return out;
}
