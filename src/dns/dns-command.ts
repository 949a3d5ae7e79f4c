/**
 * `k8ts dns`: run the cluster DNS against a cluster, and the helpers `k8ts server` uses to run
 * it as its `dns` component.
 */
import net from 'node:net';
import { type Command, InvalidArgumentError } from 'commander';
import { loadKubeconfig, RestClient } from '../core/client/rest-client.js';
import {
  DEFAULT_CLUSTER_DNS_IP,
  DEFAULT_TTL,
  DEFAULT_ZONE,
  type DnsOptions,
  type RunningDns,
  startDns,
} from './dns.js';
import { parseUpstream, type Upstream } from './forwarder.js';

/** Parse `ADDR:PORT` / `[v6]:PORT`. */
export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || net.isIP(m[1]!) === 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError(`expected IP:PORT, got ${s}`);
  return { host: m[1]!, port };
}

function upstreamList(v: string, prev: Upstream[] | undefined): Upstream[] {
  try {
    return [...(prev ?? []), ...v.split(',').filter(Boolean).map(parseUpstream)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function stubDomain(v: string, prev: Record<string, Upstream[]>): Record<string, Upstream[]> {
  const [suffix, servers] = v.split('=');
  if (!suffix || !servers) throw new InvalidArgumentError(`expected SUFFIX=IP[:PORT][,IP...], got ${v}`);
  return { ...prev, [suffix.replace(/\.$/, '').toLowerCase()]: upstreamList(servers, undefined) };
}

function ttl(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`not a TTL in seconds: ${v}`);
  return n;
}

function udpMode(v: string): 'auto' | 'batch' | 'dgram' {
  if (v !== 'auto' && v !== 'batch' && v !== 'dgram')
    throw new InvalidArgumentError(`not one of auto, batch, dgram: ${v}`);
  return v;
}

function podsMode(v: string): 'insecure' | 'verified' | 'disabled' {
  if (v !== 'insecure' && v !== 'verified' && v !== 'disabled')
    throw new InvalidArgumentError(`not one of insecure, verified, disabled: ${v}`);
  return v;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

interface CommandOptions {
  kubeconfig?: string;
  listen?: string;
  clusterDomain: string;
  ttl: number;
  upstream?: Upstream[];
  stubDomain: Record<string, Upstream[]>;
  resolvConf: string;
  httpListen: string;
  dummyInterface: boolean;
  kubeDnsServiceIp?: string;
  udpIo: 'auto' | 'batch' | 'dgram';
  pods: 'insecure' | 'verified' | 'disabled';
}

/** Add `k8ts dns` to the CLI. */
export function addDnsCommand(program: Command): void {
  program
    .command('dns')
    .description('serve cluster DNS (Kubernetes DNS specification 1.1.0) and forward other names')
    .option('--kubeconfig <path>', 'kubeconfig of the cluster', process.env.KUBECONFIG)
    .option(
      '--listen <addr:port>',
      `UDP+TCP address (default ${DEFAULT_CLUSTER_DNS_IP}:53 as root, else 127.0.0.1:10053)`,
    )
    .option('--cluster-domain <domain>', 'cluster zone', DEFAULT_ZONE)
    .option('--ttl <seconds>', 'TTL of cluster records', ttl, DEFAULT_TTL)
    .option(
      '--upstream <addr...>',
      'upstream resolvers IP[:PORT] (default: the resolv.conf nameservers)',
      upstreamList,
    )
    .option(
      '--stub-domain <suffix=addrs>',
      'forward names below SUFFIX to these servers (repeatable)',
      stubDomain,
      {},
    )
    .option('--resolv-conf <path>', 'where the default upstreams come from', '/etc/resolv.conf')
    .option('--http-listen <addr:port>', '/health, /ready and /metrics', '127.0.0.1:9153')
    .option('--no-dummy-interface', 'as root, do not put the listen address on the k8ts-dns0 dummy interface')
    .option('--kube-dns-service-ip <ip>', 'create kube-system/kube-dns with this ClusterIP if missing')
    .option(
      '--pods <mode>',
      'pod names a-b-c-d.<ns>.pod: insecure (any IP), verified (only IPs of existing pods), disabled',
      podsMode,
      'insecure',
    )
    .option(
      '--udp-io <mode>',
      'UDP I/O: batch (recvmmsg/sendmmsg addon), dgram (Node), auto (batch when the addon is built)',
      udpMode,
      'auto',
    )
    .action(async (o: CommandOptions) => {
      if (!o.kubeconfig) {
        console.error('k8ts dns: --kubeconfig (or KUBECONFIG) is required');
        process.exit(1);
      }
      let client: RestClient;
      let listen: { host: string; port: number };
      let http: { host: string; port: number };
      try {
        client = new RestClient({ ...loadKubeconfig(o.kubeconfig), userAgent: 'k8ts-dns' });
        listen = parseHostPort(o.listen ?? (isRoot() ? `${DEFAULT_CLUSTER_DNS_IP}:53` : '127.0.0.1:10053'));
        http = parseHostPort(o.httpListen);
      } catch (e) {
        console.error(`k8ts dns: ${(e as Error).message}`);
        process.exit(1);
      }
      const local =
        listen.host.startsWith('127.') ||
        listen.host === '::1' ||
        listen.host === '0.0.0.0' ||
        listen.host === '::';
      let dns: RunningDns;
      try {
        dns = await startDns({
          client,
          host: listen.host,
          port: listen.port,
          zone: o.clusterDomain,
          ttl: o.ttl,
          upstreams: o.upstream,
          resolvConf: o.resolvConf,
          stubDomains: o.stubDomain,
          http,
          dummyInterface: isRoot() && o.dummyInterface && !local ? {} : undefined,
          ensureService: o.kubeDnsServiceIp ? { clusterIP: o.kubeDnsServiceIp } : undefined,
          udpMode: o.udpIo,
          pods: o.pods,
        });
      } catch (e) {
        console.error(`k8ts dns: ${(e as Error).message}`);
        client.close();
        process.exit(1);
      }
      printStarted(dns, listen.host, http.host);
      let stopping = false;
      const shutdown = async (sig: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`k8ts dns: ${sig}, stopping`);
        await dns.stop();
        client.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
    });
}

/** The lines tests and users read: where DNS and its HTTP endpoints listen. */
export function printStarted(dns: RunningDns, host: string, httpHost: string): void {
  const h = host.includes(':') ? `[${host}]` : host;
  console.log(`k8ts: cluster DNS listening on ${h}:${dns.port} (udp+tcp), zone ${dns.source.index.zone}`);
  if (dns.httpPort !== undefined)
    console.log(`k8ts: cluster DNS health and metrics on http://${httpHost}:${dns.httpPort}`);
  console.log(
    `k8ts: cluster DNS forwards to ${dns.upstreams.map((u) => `${u.host}:${u.port}`).join(', ') || '(no upstream)'}`,
  );
}

/** Options of the `dns` component of `k8ts server` (root: node-local 10.43.0.10:53; rootless: loopback). */
export function serverDnsOptions(
  client: RestClient,
  opts: { rootless: boolean; port: number; clusterDomain?: string | undefined },
): DnsOptions {
  return {
    client,
    host: opts.rootless ? '127.0.0.1' : DEFAULT_CLUSTER_DNS_IP,
    port: opts.rootless ? opts.port : 53,
    zone: opts.clusterDomain,
    http: { host: '127.0.0.1', port: opts.rootless ? 0 : 9153 },
    dummyInterface: opts.rootless ? undefined : {},
    ensureService: { clusterIP: DEFAULT_CLUSTER_DNS_IP },
  };
}
