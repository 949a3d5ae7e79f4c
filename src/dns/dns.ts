/**
 * The cluster DNS component (the one public entry of src/dns): Services, EndpointSlices and
 * Namespaces through shared informers -> RecordSource (index swapped on every change) -> DnsServer
 * (UDP + TCP) with a Forwarder (cache, stub domains) for everything else, plus /health, /ready and
 * /metrics. `k8ts dns` and `k8ts server` both start it through `startDns`.
 */
import type http from 'node:http';
import net from 'node:net';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { resourceForPlural } from '../core/api/resources.js';
import type { KObj } from '../core/client/informer.js';
import { InformerFactory } from '../core/client/informer-factory.js';
import type { RestClient } from '../core/client/rest-client.js';
import { DnsCache } from './cache.js';
import { DnsConfigError } from './errors.js';
import { Forwarder, type Upstream } from './forwarder.js';
import { startHttpEndpoints } from './http-endpoints.js';
import { ensureKubeDnsService } from './kube-dns-service.js';
import { DnsMetrics } from './metrics.js';
import { ensureDummyAddress, removeDummy } from './node-local.js';
import { RecordSource } from './record-source.js';
import { slimPod } from './records.js';
import { readResolvConf } from './resolv-conf.js';
import { DnsServer } from './server.js';

export const DEFAULT_CLUSTER_DNS_IP = '10.43.0.10';
export const DEFAULT_ZONE = 'cluster.local';
export const DEFAULT_TTL = 5;

export interface DnsOptions {
  client: RestClient;
  /** Where to answer (UDP + TCP). */
  host: string;
  port: number;
  zone?: string | undefined;
  ttl?: number | undefined;
  /** Upstream resolvers (default: the nameservers of `resolvConf`). */
  upstreams?: readonly Upstream[] | undefined;
  resolvConf?: string | undefined;
  /** Name suffix -> servers. */
  stubDomains?: Readonly<Record<string, readonly Upstream[]>> | undefined;
  /** /health, /ready, /metrics listener (omit to run without). */
  http?: { host: string; port: number } | undefined;
  /** Put `host` on a dummy interface first (root mode, node-local). */
  dummyInterface?: { ifname?: string | undefined } | undefined;
  /** Create kube-system/kube-dns with this ClusterIP if it is missing. */
  ensureService?: { clusterIP: string } | undefined;
  /** Entries of the forwarding cache (0 turns caching off; default 10000). */
  cacheEntries?: number | undefined;
  /**
   * Pod names (CoreDNS's `pods`): `insecure` (default) answers any IP in an existing namespace,
   * `verified` only IPs of existing pods (adds a pod informer that caches only names and IPs),
   * `disabled` none.
   */
  pods?: 'insecure' | 'verified' | 'disabled' | undefined;
  /** UDP I/O (see DnsServerOptions.udpMode; default auto: the batch addon when built). */
  udpMode?: 'auto' | 'batch' | 'dgram' | undefined;
  log?: ((msg: string) => void) | undefined;
}

export interface RunningDns {
  port: number;
  httpPort: number | undefined;
  source: RecordSource;
  server: DnsServer;
  forwarder: Forwarder;
  metrics: DnsMetrics;
  upstreams: readonly Upstream[];
  stop(): Promise<void>;
}

/** Start the cluster DNS; resolves once it listens and the zone is synced from the API. */
export async function startDns(opts: DnsOptions): Promise<RunningDns> {
  const zone = (opts.zone ?? DEFAULT_ZONE).replace(/\.$/, '').toLowerCase();
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(zone))
    throw new DnsConfigError(`not a DNS domain: ${opts.zone}`);
  const ttl = opts.ttl ?? DEFAULT_TTL;
  if (!Number.isInteger(ttl) || ttl < 0)
    throw new DnsConfigError(`TTL must be a whole number of seconds: ${ttl}`);
  if (net.isIP(opts.host) === 0) throw new DnsConfigError(`listen address must be an IP: ${opts.host}`);
  const log = opts.log ?? ((m: string) => console.log(`k8ts dns: ${m}`));

  const local = opts.dummyInterface
    ? await ensureDummyAddress({ ifname: opts.dummyInterface.ifname, ip: opts.host })
    : undefined;
  if (local && !local.dummy) log(`no dummy interface driver in this kernel: ${opts.host} put on lo`);

  const factory = new InformerFactory(opts.client);
  const source = new RecordSource(
    {
      services: factory.informer(resourceForPlural('', 'v1', 'services')!),
      slices: factory.informer(resourceForPlural('discovery.k8s.io', 'v1', 'endpointslices')!),
      namespaces: factory.informer(resourceForPlural('', 'v1', 'namespaces')!),
      pods:
        opts.pods === 'verified'
          ? factory.informer(resourceForPlural('', 'v1', 'pods')!, {
              transform: { name: 'dns-slim-pod', fn: (o) => slimPod(o as Pod) as KObj },
            })
          : undefined,
    },
    {
      zone,
      ttl,
      pods: opts.pods,
      dnsIps: isLoopback(opts.host) || opts.host === '0.0.0.0' || opts.host === '::' ? [] : [opts.host],
    },
  );
  // Never forward to ourselves (a node whose resolv.conf already names the cluster DNS).
  const upstreams = (opts.upstreams ?? readResolvConf(opts.resolvConf)).filter(
    (u) => !(u.host === opts.host && u.port === opts.port),
  );
  const cache = opts.cacheEntries === 0 ? undefined : new DnsCache({ maxEntries: opts.cacheEntries });
  const forwarder = new Forwarder({ upstreams, stubDomains: opts.stubDomains, cache });
  const metrics = new DnsMetrics({ server: `dns://${opts.host}:${opts.port}`, zone });
  const server = new DnsServer({
    host: opts.host,
    port: opts.port,
    source,
    forwarder,
    metrics,
    udpMode: opts.udpMode,
  });
  let httpServer: http.Server | undefined;
  let httpPort: number | undefined;
  const abort = new AbortController();
  try {
    await server.start();
    if (opts.http) {
      const h = await startHttpEndpoints({
        host: opts.http.host,
        port: opts.http.port,
        registry: metrics.registry,
        ready: () => source.synced(),
      });
      httpServer = h.server;
      httpPort = h.port;
    }
    if (opts.ensureService)
      void ensureKubeDnsService(opts.client, {
        clusterIP: opts.ensureService.clusterIP,
        signal: abort.signal,
        log,
      }).then((r) => {
        if (r === 'created') log(`created Service kube-system/kube-dns (${opts.ensureService!.clusterIP})`);
      });
    await factory.startAndWait(abort.signal);
    source.rebuild();
  } catch (e) {
    abort.abort();
    factory.stop();
    await server.stop();
    httpServer?.close();
    if (local) await removeDummy(local);
    throw e;
  }
  return {
    port: server.port,
    httpPort,
    source,
    server,
    forwarder,
    metrics,
    upstreams,
    stop: async () => {
      abort.abort();
      source.stop();
      factory.stop();
      forwarder.close();
      await server.stop();
      await new Promise<void>((r) => (httpServer ? httpServer.close(() => r()) : r()));
      if (local) await removeDummy(local);
    },
  };
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}
