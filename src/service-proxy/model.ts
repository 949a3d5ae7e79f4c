/**
 * Slim, immutable copies of what the proxy needs from Services and EndpointSlices (as upstream's
 * ServicePort / Endpoint interfaces): every backend renders from these, never from API objects.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type IpFamily = 'IPv4' | 'IPv6';

/** One port of one Service, everything a backend needs to program it. */
export interface ServicePortInfo {
  /** `namespace/name:portName` (`namespace/name` when the port has no name): upstream's ServicePortName string. */
  readonly name: string;
  /** `namespace/name` of the Service. */
  readonly service: string;
  readonly portName: string;
  readonly protocol: Protocol;
  readonly port: number;
  /** ClusterIPs of every family (none for headless services). */
  readonly clusterIPs: readonly string[];
  /** 0 when the service has none. */
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  /** `status.loadBalancer.ingress[].ip`. */
  readonly loadBalancerIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly string[];
  /** Seconds of ClientIP affinity; 0 means no affinity. */
  readonly affinitySeconds: number;
  /** externalTrafficPolicy Local on an externally reachable service (NodePort, LoadBalancer, externalIPs). */
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  /** 0 when none (only LoadBalancer services with externalTrafficPolicy Local have one). */
  readonly healthCheckNodePort: number;
}

/** One endpoint of one service port (deduplicated by ip:port across the service's slices). */
export interface EndpointInfo {
  readonly ip: string;
  readonly port: number;
  /** `conditions.ready` (unset means ready). */
  readonly ready: boolean;
  /** `conditions.serving` (unset means the value of ready). */
  readonly serving: boolean;
  /** `conditions.terminating` (unset means false). */
  readonly terminating: boolean;
  readonly nodeName: string;
}

/** `ip:port` of an endpoint (`[ip]:port` for IPv6), the string its chain name is hashed from. */
export function endpointString(ep: { ip: string; port: number }): string {
  return ep.ip.includes(':') ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
}

/** The family of an IP address literal. */
export function ipFamilyOf(ip: string): IpFamily {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}

/** Key of a service port within the proxy's maps: its name and protocol. */
export function servicePortKey(name: string, protocol: Protocol): string {
  return `${name}/${protocol}`;
}

/** Service ports of every service, keyed by servicePortKey. */
export type ServicePortMap = Map<string, ServicePortInfo>;
/** Endpoints of every service port, keyed by servicePortKey. */
export type EndpointsMap = Map<string, readonly EndpointInfo[]>;
