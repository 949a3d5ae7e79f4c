/**
 * The desired endpoints of one Service, from its selected pods and their nodes: per address type
 * (IPv4 / IPv6, from the service's ipFamilies), grouped by the ports they resolve to (a named
 * targetPort resolves per pod, so pods whose containers name different numbers land in different
 * groups, hence different slices). Pure: the caller passes the pods and a node lookup.
 */
import type { Node, ObjectReference, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import {
  findPort,
  isPodReady,
  LABEL_ZONE,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from './endpoints-common.js';

export type AddressType = 'IPv4' | 'IPv6';

/** An EndpointSlice port as this controller writes it: name always set (maybe ''). */
export interface SlicePort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface SliceEndpointHints {
  forZones?: { name: string }[];
  forNodes?: { name: string }[];
}

/** One endpoint of a slice (discovery.k8s.io/v1 Endpoint, with the hints newer clusters write). */
export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  targetRef?: ObjectReference;
  nodeName?: string;
  zone?: string;
  hints?: SliceEndpointHints;
}

/** A slice as read from the cache or planned for writing. */
export type Slice = Omit<EndpointSlice, 'endpoints' | 'ports'> & {
  endpoints?: SliceEndpoint[] | null;
  ports?: Partial<SlicePort>[] | null;
};

/** The endpoints of one (address type, port set) group, keyed by endpointKey. */
export interface EndpointGroup {
  addressType: AddressType;
  ports: SlicePort[];
  endpoints: Map<string, SliceEndpoint>;
}

export interface DesiredEndpoints {
  /** Address types the service supports; slices of any other type are deleted. */
  addressTypes: AddressType[];
  /** `addressType|portKey` -> group, in pod order. */
  groups: Map<string, EndpointGroup>;
  /** Nodes named by selected pods but not found: those pods were left out and the sync should retry. */
  missingNodes: string[];
}

function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

/** Address types of a service: its ipFamilies; else the family of its cluster IP; headless: both. */
export function addressTypesForService(svc: Service): AddressType[] {
  const out: AddressType[] = [];
  for (const f of svc.spec?.ipFamilies ?? []) {
    if (f === 'IPv4' && !out.includes('IPv4')) out.push('IPv4');
    if (f === 'IPv6' && !out.includes('IPv6')) out.push('IPv6');
  }
  if (out.length > 0) return out;
  const ip = svc.spec?.clusterIP;
  if (ip && ip !== 'None') return [isIPv6(ip) ? 'IPv6' : 'IPv4'];
  return ['IPv4', 'IPv6'];
}

/** The pod's IPs of one family (podIPs, or podIP when podIPs is empty). */
export function podAddresses(pod: Pod, addressType: AddressType): string[] {
  const all = (pod.status?.podIPs ?? []).map((p) => p.ip ?? '').filter((ip) => ip !== '');
  if (all.length === 0 && pod.status?.podIP) all.push(pod.status.podIP);
  return all.filter((ip) => isIPv6(ip) === (addressType === 'IPv6'));
}

/** The slice ports of one pod: every service port that resolves on it, in service order. */
export function endpointPortsForPod(svc: Service, pod: Pod): SlicePort[] {
  const out: SlicePort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const p: SlicePort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol !== undefined) p.appProtocol = sp.appProtocol;
    out.push(p);
  }
  return out;
}

function normalizePort(p: Partial<SlicePort>): string {
  // Names are DNS labels and protocols fixed words: '/' and '|' cannot occur in them.
  return `${p.name ?? ''}/${p.port ?? ''}/${p.protocol ?? 'TCP'}/${p.appProtocol ?? ''}`;
}

/** A key equal for equal port sets whatever their order (upstream's PortMapKey). */
export function portKey(ports: readonly Partial<SlicePort>[] | null | undefined): string {
  if (!ports || ports.length === 0) return '';
  if (ports.length === 1) return normalizePort(ports[0]!);
  return ports.map(normalizePort).sort().join('|');
}

/** Identity of an endpoint across syncs: its addresses, hostname and target pod (upstream's hash). */
export function endpointKey(ep: SliceEndpoint): string {
  const addrs = ep.addresses.length > 1 ? [...ep.addresses].sort().join(',') : (ep.addresses[0] ?? '');
  return `${addrs}|${ep.hostname ?? ''}|${ep.targetRef?.namespace ?? ''}/${ep.targetRef?.name ?? ''}`;
}

/** Whether two endpoints with the same key also agree on everything else that is published. */
export function endpointsEqualBeyondKey(a: SliceEndpoint, b: SliceEndpoint): boolean {
  return (
    a.nodeName === b.nodeName &&
    a.zone === b.zone &&
    a.conditions?.ready === b.conditions?.ready &&
    a.conditions?.serving === b.conditions?.serving &&
    a.conditions?.terminating === b.conditions?.terminating &&
    (a.targetRef?.kind ?? '') === (b.targetRef?.kind ?? '') &&
    (a.targetRef?.uid ?? '') === (b.targetRef?.uid ?? '')
  );
}

/** The endpoint of one pod for one address type (conditions as upstream since terminating endpoints). */
export function podToEndpoint(
  pod: Pod,
  node: Node | undefined,
  svc: Service,
  addressType: AddressType,
): SliceEndpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata?.deletionTimestamp;
  // Ready is never true for a terminating pod, unless the service publishes not-ready addresses.
  const ready = !!svc.spec?.publishNotReadyAddresses || (serving && !terminating);
  const targetRef: ObjectReference = { kind: 'Pod', name: pod.metadata?.name ?? '' };
  if (pod.metadata?.namespace) targetRef.namespace = pod.metadata.namespace;
  if (pod.metadata?.uid) targetRef.uid = pod.metadata.uid;
  const ep: SliceEndpoint = {
    addresses: podAddresses(pod, addressType),
    conditions: { ready, serving, terminating },
  };
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname!;
  ep.targetRef = targetRef;
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata?.labels?.[LABEL_ZONE];
  if (zone) ep.zone = zone;
  return ep;
}

/**
 * Desired endpoints of a service. Pods are taken in the order given (the caller sorts them).
 * A pod whose node is missing is skipped (and reported) unless the service publishes not-ready
 * addresses, as upstream does so that a stale pod cannot wedge the slice.
 */
export function desiredEndpoints(
  svc: Service,
  pods: readonly Pod[],
  getNode: (name: string) => Node | undefined,
): DesiredEndpoints {
  const addressTypes = addressTypesForService(svc);
  const groups = new Map<string, EndpointGroup>();
  const missing = new Set<string>();
  const svcPorts = svc.spec?.ports ?? [];
  const headlessNoPorts = svcPorts.length === 0 && svc.spec?.clusterIP === 'None';
  // Numeric target ports resolve the same on every pod: compute them (and their key) once.
  const numeric = svcPorts.every((p) => /^\d+$/.test(String(p.targetPort ?? p.port)));
  let shared: { ports: SlicePort[]; key: string } | undefined = headlessNoPorts
    ? { ports: [], key: '' }
    : undefined;
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    let ports: SlicePort[];
    let pk: string;
    if (shared) ({ ports, key: pk } = shared);
    else {
      ports = endpointPortsForPod(svc, pod);
      pk = portKey(ports);
      if (numeric) shared = { ports, key: pk };
    }
    const nodeName = pod.spec?.nodeName ?? '';
    const node = nodeName ? getNode(nodeName) : undefined;
    if (!node && !svc.spec?.publishNotReadyAddresses) {
      missing.add(nodeName);
      continue;
    }
    for (const addressType of addressTypes) {
      const ep = podToEndpoint(pod, node, svc, addressType);
      if (ep.addresses.length === 0) continue;
      const gk = `${addressType}|${pk}`;
      let g = groups.get(gk);
      if (!g) groups.set(gk, (g = { addressType, ports, endpoints: new Map() }));
      g.endpoints.set(endpointKey(ep), ep);
    }
  }
  return { addressTypes, groups, missingNodes: [...missing] };
}
