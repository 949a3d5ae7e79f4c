/**
 * The cluster's DNS records as a pure function of Services, EndpointSlices and Namespaces
 * (Kubernetes DNS-based service discovery, schema 1.1.0; CoreDNS fixes what it leaves open).
 * Called from the index rebuild only; it never mutates its input (objects are shared informer
 * cache entries).
 */

import { isIPv4, isIPv6 } from 'node:net';
import type { Service } from 'kubernetes-types/core/v1.js';
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

/** Every record of the cluster zone and the reverse zones for these objects. */
export function buildRecords(input: ZoneInput, opts: ZoneOptions): ZoneRecords {
  const zone = opts.zone.replace(/\.$/, '').toLowerCase();
  const ttl = opts.ttl;
  const out: RecordData[] = [];
  const seen = new Set<string>();
  const add = (r: RecordData) => {
    const id = `${r.name}|${r.type}|${r.data ?? ''}|${r.srv ? `${r.srv.port} ${r.srv.target}` : ''}`;
    if (seen.has(id)) return;
    seen.add(id);
    out.push(r);
  };
  const addr = (name: string, ip: string) => {
    if (isIPv4(ip)) add({ name, type: TYPE.A, ttl, data: ip });
    else if (isIPv6(ip)) add({ name, type: TYPE.AAAA, ttl, data: ip });
  };

  add({ name: `dns-version.${zone}`, type: TYPE.TXT, ttl, data: DNS_SCHEMA_VERSION });
  const nsName = `ns.dns.${zone}`;
  add({ name: zone, type: TYPE.NS, ttl, data: nsName });
  for (const ip of opts.dnsIps ?? []) addr(nsName, ip);

  const emptyNames = [`svc.${zone}`, `pod.${zone}`];
  for (const ns of input.namespaces) emptyNames.push(`${ns}.svc.${zone}`, `${ns}.pod.${zone}`);

  const slicesBySvc = new Map<string, EndpointSlice[]>();
  for (const s of input.slices) {
    const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
    if (!svc || !s.metadata?.namespace) continue;
    if (s.addressType !== 'IPv4' && s.addressType !== 'IPv6') continue;
    const k = `${s.metadata.namespace}/${svc}`;
    const list = slicesBySvc.get(k);
    if (list) list.push(s);
    else slicesBySvc.set(k, [s]);
  }

  const srvs: RecordData[] = [];
  for (const svc of input.services) {
    const name = svc.metadata?.name;
    const ns = svc.metadata?.namespace;
    if (!name || !ns) continue;
    const svcName = `${name}.${ns}.svc.${zone}`.toLowerCase();
    const spec = svc.spec ?? {};
    if (spec.type === 'ExternalName') {
      const target = (spec.externalName ?? '').replace(/\.$/, '');
      if (target) add({ name: svcName, type: TYPE.CNAME, ttl, data: target });
      continue;
    }
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
      continue;
    }
    // Headless: the ready endpoints, each also under its hostname (or its dashed IP).
    const tolerate =
      spec.publishNotReadyAddresses === true || svc.metadata?.annotations?.[TOLERATE_UNREADY] === 'true';
    for (const slice of slicesBySvc.get(`${ns}/${name}`) ?? []) {
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
  return { records: out, emptyNames };
}
