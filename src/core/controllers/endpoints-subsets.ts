/**
 * The legacy core/v1 Endpoints of a Service, computed as upstream's endpoints controller does:
 * one address per selected pod (of the service's first IP family), ready ones in `addresses` and
 * the others in `notReadyAddresses` (terminating pods only when the service publishes not-ready
 * addresses), repacked into the canonical subsets (addresses grouped by the port sets they serve),
 * capped at 1000 addresses with the over-capacity annotation. Pure functions.
 */
import type {
  EndpointAddress,
  EndpointPort,
  EndpointSubset,
  Endpoints,
  Pod,
  Service,
} from 'kubernetes-types/core/v1.js';
import {
  ANNOTATION_OVER_CAPACITY,
  ANNOTATION_TRIGGER_TIME,
  findPort,
  formatTriggerTime,
  isPodReady,
  isServiceIPSet,
  LABEL_HEADLESS,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from './endpoints-common.js';

/** Addresses an Endpoints object may hold before it is truncated. */
export const MAX_ENDPOINTS_CAPACITY = 1000;

function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

/** The pod's address for the service (its first IP family), or undefined when it has none of it. */
export function podEndpointAddress(svc: Service, pod: Pod): EndpointAddress | undefined {
  let v6: boolean;
  const fam = svc.spec?.ipFamilies?.[0];
  if (fam) v6 = fam === 'IPv6';
  else if (isServiceIPSet(svc)) v6 = isIPv6(svc.spec!.clusterIP!);
  else v6 = isIPv6(pod.status?.podIP ?? '');
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip ?? '').filter((ip) => ip !== '');
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  const ip = ips.find((i) => isIPv6(i) === v6);
  if (ip === undefined) return undefined;
  const addr: EndpointAddress = { ip };
  if (shouldSetHostname(pod, svc)) addr.hostname = pod.spec!.hostname!;
  if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
  const targetRef: EndpointAddress['targetRef'] = { kind: 'Pod', name: pod.metadata?.name ?? '' };
  if (pod.metadata?.namespace) targetRef.namespace = pod.metadata.namespace;
  if (pod.metadata?.uid) targetRef.uid = pod.metadata.uid;
  addr.targetRef = targetRef;
  return addr;
}

/** Upstream's address order: IP compared as a byte string, then target uid. */
function lessAddress(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  const ua = a.targetRef?.uid;
  const ub = b.targetRef?.uid;
  if (ua === ub) return 0;
  if (ub === undefined) return 1;
  if (ua === undefined) return -1;
  return ua < ub ? -1 : 1;
}

function portId(p: EndpointPort): string {
  return JSON.stringify([p.name ?? '', p.port, p.protocol ?? 'TCP', p.appProtocol ?? null]);
}

function addressId(a: EndpointAddress): string {
  return `${a.ip}|${a.targetRef?.uid ?? ''}`;
}

/** Sentinel for the port-less subsets of headless services without ports. */
const NO_PORT = '<none>';

/**
 * Expand subsets to (address, port, ready) facts and pack them back into the canonical form: one
 * subset per distinct set of addresses, carrying every port those addresses all serve. An address
 * not ready for a port stays not ready. Duplicates (same IP and pod) collapse.
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const addrs = new Map<string, EndpointAddress>();
  const ports = new Map<string, { port: EndpointPort | undefined; ready: Map<string, boolean> }>();
  const note = (a: EndpointAddress, pid: string, port: EndpointPort | undefined, ready: boolean) => {
    const aid = addressId(a);
    if (!addrs.has(aid)) addrs.set(aid, a);
    let e = ports.get(pid);
    if (!e) ports.set(pid, (e = { port, ready: new Map() }));
    const was = e.ready.get(aid);
    if (was === undefined || was) e.ready.set(aid, ready);
  };
  for (const ss of subsets) {
    const list = (ss.ports ?? []).length > 0 ? ss.ports! : [undefined];
    for (const port of list) {
      const pid = port ? portId(port) : NO_PORT;
      for (const a of ss.addresses ?? []) note(a, pid, port, true);
      for (const a of ss.notReadyAddresses ?? []) note(a, pid, port, false);
    }
  }
  // Group ports by the exact (address, ready) set that serves them.
  const groups = new Map<string, { ready: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, ready } of ports.values()) {
    const key = [...ready.entries()]
      .map(([aid, r]) => `${aid}=${r}`)
      .sort()
      .join(',');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ready, ports: [] }));
    if (port) g.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [aid, r] of g.ready) (r ? ready : notReady).push(addrs.get(aid)!);
    ready.sort(lessAddress);
    notReady.sort(lessAddress);
    const ss: EndpointSubset = {};
    if (ready.length > 0) ss.addresses = ready;
    if (notReady.length > 0) ss.notReadyAddresses = notReady;
    if (g.ports.length > 0) ss.ports = [...g.ports].sort((a, b) => (portId(a) < portId(b) ? -1 : 1));
    out.push(ss);
  }
  const sortKey = (ss: EndpointSubset) =>
    JSON.stringify([ss.ports ?? [], ss.addresses ?? [], ss.notReadyAddresses ?? []]);
  return out.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
}

/** The repacked subsets a service's Endpoints should have. */
export function desiredSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publishNotReady = !!svc.spec?.publishNotReadyAddresses;
  const raw: EndpointSubset[] = [];
  const svcPorts = svc.spec?.ports ?? [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const addr = podEndpointAddress(svc, pod);
    if (!addr) continue;
    const ready = publishNotReady || isPodReady(pod);
    const subset = (ports: EndpointPort[]): EndpointSubset =>
      ready ? { addresses: [addr], ports } : { notReadyAddresses: [addr], ports };
    if (svcPorts.length === 0) {
      if (svc.spec?.clusterIP === 'None') raw.push(subset([]));
      continue;
    }
    for (const sp of svcPorts) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      const ep: EndpointPort = sp.name
        ? { name: sp.name, port, protocol: sp.protocol ?? 'TCP' }
        : { port, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
      raw.push(subset([ep]));
    }
  }
  return repackSubsets(raw);
}

/**
 * Cut subsets to `max` addresses, ready ones first, each subset keeping its proportional share
 * (rounded up, the last ones get what is left). Returns whether anything was cut.
 */
export function truncateSubsets(
  subsets: EndpointSubset[],
  max = MAX_ENDPOINTS_CAPACITY,
): { subsets: EndpointSubset[]; truncated: boolean } {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const ss of subsets) {
    totalReady += (ss.addresses ?? []).length;
    totalNotReady += (ss.notReadyAddresses ?? []).length;
  }
  if (totalReady + totalNotReady <= max) return { subsets, truncated: false };
  const truncateReady = totalReady > max;
  const budget = truncateReady ? max : max - totalReady;
  const total = truncateReady ? totalReady : totalNotReady;
  let left = budget;
  const out = subsets.map((ss) => {
    const n = truncateReady ? (ss.addresses ?? []).length : (ss.notReadyAddresses ?? []).length;
    const share = Math.min(Math.ceil((n / total) * budget), left);
    const next: EndpointSubset = { ...ss };
    if (truncateReady) {
      const kept = (ss.addresses ?? []).slice(0, share);
      if (kept.length > 0) next.addresses = kept;
      else delete next.addresses;
      delete next.notReadyAddresses;
      left -= kept.length;
    } else {
      const kept = (ss.notReadyAddresses ?? []).slice(0, share);
      if (kept.length > 0) next.notReadyAddresses = kept;
      else delete next.notReadyAddresses;
      left -= kept.length;
    }
    return next;
  });
  return { subsets: out, truncated: true };
}

/** JSON with sorted keys, empty arrays / objects and undefined dropped, targetRef RV ignored. */
function canonical(v: unknown, parentKey = ''): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonical(x)).join(',')}]`;
  if (v && typeof v === 'object') {
    const parts: string[] = [];
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined || x === null) continue;
      if (Array.isArray(x) && x.length === 0) continue;
      if (parentKey === 'targetRef' && k === 'resourceVersion') continue;
      parts.push(`${JSON.stringify(k)}:${canonical(x, k)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Whether two subset lists publish the same thing (ignoring pod resourceVersions and empty fields). */
export function subsetsEqual(
  a: readonly EndpointSubset[] | undefined,
  b: readonly EndpointSubset[] | undefined,
): boolean {
  return canonical(a ?? []) === canonical(b ?? []);
}

function labelsEqual(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ak = Object.keys(a ?? {});
  return ak.length === Object.keys(b ?? {}).length && ak.every((k) => a?.[k] === b?.[k]);
}

export interface EndpointsOptions {
  /** Trigger time (ms since epoch) to stamp; undefined clears the annotation. */
  triggerTime?: number | undefined;
  /** Address cap (default 1000). */
  maxCapacity?: number | undefined;
}

/**
 * The Endpoints object to write for a service, or undefined when `current` already says it all.
 * A new object when `current` is undefined; otherwise a copy of it with subsets, labels and
 * annotations replaced (its resourceVersion kept for the update).
 */
export function endpointsFor(
  svc: Service,
  pods: readonly Pod[],
  current: Endpoints | undefined,
  opts: EndpointsOptions = {},
): Endpoints | undefined {
  const { subsets, truncated } = truncateSubsets(desiredSubsets(svc, pods), opts.maxCapacity);
  const svcLabels = svc.metadata?.labels ?? {};
  if (current) {
    const { [LABEL_HEADLESS]: _h, ...compare } = current.metadata?.labels ?? {};
    const capacityOk =
      truncated === (current.metadata?.annotations?.[ANNOTATION_OVER_CAPACITY] !== undefined);
    if (subsetsEqual(current.subsets, subsets) && labelsEqual(compare, svcLabels) && capacityOk)
      return undefined;
  }
  const labels: Record<string, string> = { ...svcLabels };
  if (!isServiceIPSet(svc)) labels[LABEL_HEADLESS] = '';
  else delete labels[LABEL_HEADLESS];
  const annotations: Record<string, string> = { ...(current?.metadata?.annotations ?? {}) };
  if (opts.triggerTime !== undefined)
    annotations[ANNOTATION_TRIGGER_TIME] = formatTriggerTime(opts.triggerTime);
  else delete annotations[ANNOTATION_TRIGGER_TIME];
  if (truncated) annotations[ANNOTATION_OVER_CAPACITY] = 'truncated';
  else delete annotations[ANNOTATION_OVER_CAPACITY];
  const metadata: NonNullable<Endpoints['metadata']> = current
    ? { ...current.metadata, labels }
    : { name: svc.metadata?.name ?? '', namespace: svc.metadata?.namespace ?? '', labels };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  return { apiVersion: 'v1', kind: 'Endpoints', metadata, subsets };
}
