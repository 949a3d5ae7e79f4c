/**
 * The cluster's DNS records as a pure function of Services, EndpointSlices and Namespaces
 * (Kubernetes DNS-based service discovery, schema 1.1.0; CoreDNS fixes what it leaves open).
 * Called from the index updates only; it never mutates its input (objects are shared informer
 * cache entries).
 */

import { isIPv4, isIPv6 } from 'node:net';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { dashedIp } from './names.js';
import { type RecordData, reverseName, TYPE } from './wire.js';

export const DNS_SCHEMA_VERSION = '1.1.0';
const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
const TOLERATE_UNREADY = 'service.alpha.kubernetes.io/tolerate-unready-endpoints';

export interface ZoneInput {
  services: readonly Service[];
  slices: readonly EndpointSlice[];
  /** Existing namespaces (their `<ns>.svc` and `<ns>.pod` names exist as empty non-terminals). */
  namespaces: readonly string[];
}

export interface ZoneOptions {
  /** Cluster domain, e.g. `cluster.local`. */
  zone: string;
  /** TTL of every record (seconds). */
  ttl: number;
  /** Addresses of this DNS server: `ns.dns.<zone>` A/AAAA records (glue of the apex NS). */
  dnsIps?: readonly string[] | undefined;
}

export interface ZoneRecords {
  records: RecordData[];
  /** Names that exist without records of their own (besides every ancestor of a record). */
  emptyNames: string[];
}

/** Every record of the cluster zone and the reverse zones for these objects (the full builder). */
export function buildRecords(input: ZoneInput, opts: ZoneOptions): ZoneRecords {
  const zone = normalZone(opts.zone);
  const base = baseRecords(opts);
  const records = [...base.records];
  const emptyNames = [...base.emptyNames];
  for (const ns of input.namespaces) emptyNames.push(...namespaceNames(ns, zone));
  const slicesBySvc = new Map<string, EndpointSlice[]>();
  for (const s of input.slices) {
    const k = sliceServiceKey(s);
    if (k === undefined) continue;
    const list = slicesBySvc.get(k);
    if (list) list.push(s);
    else slicesBySvc.set(k, [s]);
  }
  for (const svc of input.services) {
    const k = serviceKey(svc);
    if (k === undefined) continue;
    records.push(...serviceRecords(svc, slicesBySvc.get(k) ?? [], opts));
  }
  return { records, emptyNames };
}

/** The zone name as the index uses it: lower case, no trailing dot. */
export function normalZone(zone: string): string {
  return zone.replace(/\.$/, '').toLowerCase();
}

/**
 * The A/AAAA records of a pod's IPs as `<dashed-ip>.<ns>.pod.<zone>` (CoreDNS's `pods verified`:
 * only pods that exist get answers). Reads only what `slimPod` keeps.
 */
export function podRecords(pod: Pod, opts: ZoneOptions): RecordData[] {
  const ns = pod.metadata?.namespace;
  if (!ns) return [];
  const zone = normalZone(opts.zone);
  const ips = pod.status?.podIPs?.length
    ? pod.status.podIPs.map((p) => p.ip)
    : pod.status?.podIP
      ? [pod.status.podIP]
      : [];
  const out: RecordData[] = [];
  for (const ip of new Set(ips)) {
    if (!ip) continue;
    const name = `${dashedIp(ip)}.${ns}.pod.${zone}`.toLowerCase();
    if (isIPv4(ip)) out.push({ name, type: TYPE.A, ttl: opts.ttl, data: ip });
    else if (isIPv6(ip)) out.push({ name, type: TYPE.AAAA, ttl: opts.ttl, data: ip });
  }
  return out;
}

/** What the DNS keeps of a pod (the pod informer's transform): its identity and its IPs. */
export function slimPod(pod: Pod): Pod {
  const m = pod.metadata ?? {};
  const st = pod.status ?? {};
  return {
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion },
    status: { ...(st.podIP ? { podIP: st.podIP } : {}), ...(st.podIPs ? { podIPs: st.podIPs } : {}) },
  } as Pod;
}

/** `<namespace>/<name>` of a Service, or undefined when either is missing. */
export function serviceKey(svc: Service): string | undefined {
  const name = svc.metadata?.name;
  const ns = svc.metadata?.namespace;
  return name && ns ? `${ns}/${name}` : undefined;
}

/** `<namespace>/<service>` an EndpointSlice feeds, or undefined when it feeds no DNS record. */
export function sliceServiceKey(s: EndpointSlice): string | undefined {
  const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
  if (!svc || !s.metadata?.namespace) return undefined;
  if (s.addressType !== 'IPv4' && s.addressType !== 'IPv6') return undefined;
  return `${s.metadata.namespace}/${svc}`;
}

/** The records that exist whatever the cluster holds: apex NS and its glue, `dns-version` TXT. */
export function baseRecords(opts: ZoneOptions): ZoneRecords {
  const zone = normalZone(opts.zone);
  const ttl = opts.ttl;
  const nsName = `ns.dns.${zone}`;
  const records: RecordData[] = [
    { name: `dns-version.${zone}`, type: TYPE.TXT, ttl, data: DNS_SCHEMA_VERSION },
    { name: zone, type: TYPE.NS, ttl, data: nsName },
  ];
  const seen = new Set<string>();
  for (const ip of opts.dnsIps ?? []) {
    if (seen.has(ip)) continue;
    seen.add(ip);
    if (isIPv4(ip)) records.push({ name: nsName, type: TYPE.A, ttl, data: ip });
    else if (isIPv6(ip)) records.push({ name: nsName, type: TYPE.AAAA, ttl, data: ip });
  }
  return { records, emptyNames: [`svc.${zone}`, `pod.${zone}`] };
}

/** The names a namespace brings into existence: `<ns>.svc.<zone>` and `<ns>.pod.<zone>`. */
export function namespaceNames(ns: string, zone: string): string[] {
  const z = normalZone(zone);
  return [`${ns}.svc.${z}`, `${ns}.pod.${z}`];
}

/**
 * Every record of one Service, from it and its EndpointSlices. Every name it returns is owned by
 * this service (under `<svc>.<ns>.svc.<zone>`) except the PTR names of its IPs, which other
 * services may share.
 */
export function serviceRecords(
  svc: Service,
  slices: readonly EndpointSlice[],
  opts: ZoneOptions,
): RecordData[] {
  const zone = normalZone(opts.zone);
  const ttl = opts.ttl;
  const out: RecordData[] = [];
  const seen = new Set<string>();
  const add = (r: RecordData) => {
    const id = `${r.name}|${r.type}|${r.data ?? ''}`;
    if (seen.has(id)) return;
    seen.add(id);
    out.push(r);
  };
  const addr = (name: string, ip: string) => {
    if (isIPv4(ip)) add({ name, type: TYPE.A, ttl, data: ip });
    else if (isIPv6(ip)) add({ name, type: TYPE.AAAA, ttl, data: ip });
  };
  const name = svc.metadata?.name;
  const ns = svc.metadata?.namespace;
  if (!name || !ns) return out;
  const svcName = `${name}.${ns}.svc.${zone}`.toLowerCase();
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') {
    const target = (spec.externalName ?? '').replace(/\.$/, '');
    if (target) add({ name: svcName, type: TYPE.CNAME, ttl, data: target });
    return out;
  }
  const srvs: RecordData[] = [];
  const ips = (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter(
    (ip) => ip !== 'None' && ip !== '',
  );
  if (ips.length > 0) {
    for (const ip of ips) {
      addr(svcName, ip);
      add({ name: reverseName(ip), type: TYPE.PTR, ttl, data: svcName });
    }
    for (const p of spec.ports ?? []) {
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      const srv = { priority: 0, weight: 0, port: p.port, target: svcName };
      if (p.name)
        srvs.push({ name: `_${p.name.toLowerCase()}._${proto}.${svcName}`, type: TYPE.SRV, ttl, srv });
      srvs.push({ name: svcName, type: TYPE.SRV, ttl, srv });
    }
  } else {
    // Headless: the ready endpoints, each also under its hostname (or its dashed IP).
    const tolerate =
      spec.publishNotReadyAddresses === true || svc.metadata?.annotations?.[TOLERATE_UNREADY] === 'true';
    for (const slice of slices) {
      for (const ep of slice.endpoints ?? []) {
        if (!tolerate && ep.conditions?.ready === false) continue;
        for (const ip of ep.addresses ?? []) {
          const host = (ep.hostname || dashedIp(ip)).toLowerCase();
          const hostName = `${host}.${svcName}`;
          addr(svcName, ip);
          addr(hostName, ip);
          add({ name: reverseName(ip), type: TYPE.PTR, ttl, data: hostName });
          for (const p of slice.ports ?? []) {
            if (p.port === undefined || p.port === null) continue;
            const proto = (p.protocol ?? 'TCP').toLowerCase();
            const srv = { priority: 0, weight: 0, port: p.port, target: hostName };
            if (p.name)
              srvs.push({ name: `_${p.name.toLowerCase()}._${proto}.${svcName}`, type: TYPE.SRV, ttl, srv });
            srvs.push({ name: svcName, type: TYPE.SRV, ttl, srv });
          }
        }
      }
    }
  }
  // SRV weights as CoreDNS: an equal share of 100 among the records of one name.
  const perName = new Map<string, number>();
  const unique = srvs.filter((r) => {
    const id = `${r.name}|${r.srv!.port}|${r.srv!.target}`;
    if (seen.has(id)) return false;
    seen.add(id);
    perName.set(r.name, (perName.get(r.name) ?? 0) + 1);
    return true;
  });
  for (const r of unique) {
    const n = perName.get(r.name)!;
    out.push({ ...r, srv: { ...r.srv!, weight: Math.max(1, Math.floor(100 / n)) } });
  }
  return out;
}
