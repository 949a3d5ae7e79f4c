/**
 * Assemble a running service proxy from a REST client: informers, the backend(s) for the mode,
 * the health/metrics server and the health check node port servers. Used by the standalone
 * `k8ts service-proxy` command and by `k8ts server`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Node } from 'kubernetes-types/core/v1.js';
import { InformerFactory } from '../core/client/informer-factory.js';
import type { RestClient } from '../core/client/rest-client.js';
import type { ProxyBackend } from './backend.js';
import { parseIp } from './cidr.js';
import { ProxyConfigError } from './errors.js';
import { type HealthServer, startHealthServer } from './health.js';
import { cleanupIptablesRules, IptablesProxier } from './iptables-proxier.js';
import { cleanupNftablesRules, NftablesProxier } from './nftables-proxier.js';
import { type CommandRunner, ExecRunner } from './runner.js';
import { ServiceHealthServer } from './service-health.js';
import { ServiceProxy } from './service-proxy.js';
import { UserspaceProxier } from './userspace-proxier.js';

export type ProxyMode = 'iptables' | 'nftables' | 'userspace';

/** Every mode, as the CLI accepts it. */
export const PROXY_MODES: readonly ProxyMode[] = ['iptables', 'nftables', 'userspace'];

export interface StartServiceProxyOptions {
  client: RestClient;
  nodeName: string;
  /** Default: defaultMode() (nftables as root when nft exists, else iptables, else userspace). */
  mode?: ProxyMode | undefined;
  /**
   * kube-proxy's --nodeport-addresses: NodePorts only on local addresses inside these CIDRs
   * (iptables and nftables modes). Undefined: every local address.
   */
  nodePortAddresses?: readonly string[] | undefined;
  /** Pod network (IPv4), default 10.42.0.0/16. */
  clusterCidr?: string | undefined;
  /** `host:port` of /healthz, /livez and /metrics (default 0.0.0.0:10256; port 0 picks one). */
  healthzBindAddress?: string | undefined;
  minSyncPeriodMs?: number | undefined;
  syncPeriodMs?: number | undefined;
  /** Command runner for the kernel modes (default: this machine). */
  runner?: CommandRunner | undefined;
  /** Address NodePorts listen on in userspace mode (default 0.0.0.0). */
  nodePortHost?: string | undefined;
  /** How long `--nodeport-addresses primary` waits for the Node's addresses (default 30 s). */
  nodeWaitMs?: number | undefined;
}

export interface RunningServiceProxy {
  proxy: ServiceProxy;
  mode: ProxyMode;
  healthPort: number;
  stop(): Promise<void>;
}

function hasCommand(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Pick the mode: as root nftables when `nft` is installed (same semantics, measured faster at every
 * size: docs/architecture.md, bench/RESULTS.md), else iptables when iptables-restore is, else
 * userspace.
 */
export function defaultMode(): ProxyMode {
  if (process.getuid?.() !== 0) return 'userspace';
  if (hasCommand('nft')) return 'nftables';
  return hasCommand('iptables-restore') ? 'iptables' : 'userspace';
}

/** kube-proxy's --nodeport-addresses keywords, resolved to CIDRs when the proxy starts. */
export const NODEPORT_KEYWORDS = ['primary', 'localhost', 'all'] as const;
type NodePortKeyword = (typeof NODEPORT_KEYWORDS)[number];

/**
 * Validate --nodeport-addresses: CIDRs (a bare address is a host prefix) and upstream's keywords,
 * which may be combined: `primary` (this node's primary IP of each family, from its Node
 * object), `localhost` (the loopback CIDRs), `all` (the zero CIDRs). Keywords are kept as they
 * are; resolveNodePortAddresses turns them into CIDRs.
 */
export function parseNodePortAddresses(list: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of list) {
    const c = raw.trim();
    if (!c) continue;
    if ((NODEPORT_KEYWORDS as readonly string[]).includes(c)) {
      if (!out.includes(c)) out.push(c);
      continue;
    }
    const [ip, len] = c.split('/') as [string, string | undefined];
    const p = parseIp(ip);
    const n = len === undefined ? p?.bits : Number(len);
    if (!p || n === undefined || (len !== undefined && !/^\d+$/.test(len)) || n < 0 || n > p.bits)
      throw new ProxyConfigError(
        `--nodeport-addresses: invalid CIDR "${c}" (CIDRs, or the keywords ${NODEPORT_KEYWORDS.join(', ')})`,
      );
    out.push(`${ip}/${n}`);
  }
  if (out.length === 0) throw new ProxyConfigError('--nodeport-addresses: no CIDR given');
  return out;
}

/**
 * The CIDRs of a parsed --nodeport-addresses list: keywords replaced (`primary` by host prefixes
 * of `primaryIPs`, the node's primary IP per family), duplicates dropped.
 */
export function resolveNodePortAddresses(list: readonly string[], primaryIPs: readonly string[]): string[] {
  const expand: Record<NodePortKeyword, () => string[]> = {
    primary: () => primaryIPs.map((ip) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`)),
    localhost: () => ['127.0.0.0/8', '::1/128'],
    all: () => ['0.0.0.0/0', '::/0'],
  };
  const out: string[] = [];
  for (const c of list) {
    const items = (NODEPORT_KEYWORDS as readonly string[]).includes(c) ? expand[c as NodePortKeyword]() : [c];
    for (const i of items) if (!out.includes(i)) out.push(i);
  }
  return out;
}

/**
 * A node's primary IPs as kube-proxy takes them: per family, the first InternalIP, else the
 * first ExternalIP, of the Node's status.addresses.
 */
export function nodePrimaryIPs(node: Node | undefined): string[] {
  const addrs = node?.status?.addresses ?? [];
  const out: string[] = [];
  for (const v6 of [false, true]) {
    const fam = (a: { address?: string }) =>
      (a.address ?? '').includes(':') === v6 && parseIp(a.address ?? '');
    const pick =
      addrs.find((a) => a.type === 'InternalIP' && fam(a)) ??
      addrs.find((a) => a.type === 'ExternalIP' && fam(a));
    if (pick?.address) out.push(pick.address);
  }
  return out;
}

/**
 * Wait for this node's Node object to carry an address (the kubelet may register it just after
 * the proxy starts), up to `timeoutMs`; its primary IPs, or a ProxyConfigError naming the node.
 */
async function waitForPrimaryIPs(client: RestClient, nodeName: string, timeoutMs: number): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const node = (await client
      .request('GET', `/api/v1/nodes/${encodeURIComponent(nodeName)}`)
      .catch(() => undefined)) as Node | undefined;
    const ips = nodePrimaryIPs(node);
    if (ips.length > 0) return ips;
    if (Date.now() >= end)
      throw new ProxyConfigError(
        `--nodeport-addresses primary: node "${nodeName}" ${node ? 'has no InternalIP or ExternalIP' : 'does not exist'} after ${Math.round(timeoutMs / 1000)} s`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

function parseBind(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(addr.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new ProxyConfigError(`--healthz-bind-address must be host:port, got "${addr}"`);
  return { host, port };
}

/**
 * The batching window when none is given. iptables mode keeps upstream's 1 s: each
 * iptables-restore re-reads the whole ruleset (55-140 ms at 1,000 services here). An nftables
 * partial sync writes only map elements and the changed chains (20-40 ms at 1,000-2,000 services,
 * bench/RESULTS.md), so a 100 ms window costs little CPU and keeps a pod's ready endpoint (which
 * follows its not-ready one by about a probe period) from waiting out a whole second: measured
 * on the 3-node harness, p50 945 ms with 1 s against the figure in bench/RESULTS.md with 100 ms.
 */
export function defaultMinSyncPeriodMs(mode: ProxyMode): number {
  return mode === 'nftables' ? 100 : 1000;
}

/** Start the proxy; resolves after the first sync. */
export async function startServiceProxy(opts: StartServiceProxyOptions): Promise<RunningServiceProxy> {
  const mode = opts.mode ?? defaultMode();
  const bind = parseBind(opts.healthzBindAddress ?? '0.0.0.0:10256');
  const parsed = opts.nodePortAddresses && parseNodePortAddresses(opts.nodePortAddresses);
  const nodePortAddresses =
    parsed &&
    resolveNodePortAddresses(
      parsed,
      parsed.includes('primary')
        ? await waitForPrimaryIPs(opts.client, opts.nodeName, opts.nodeWaitMs ?? 30_000)
        : [],
    );
  const backends: ProxyBackend[] = [];
  if (mode === 'iptables') {
    const runner = opts.runner ?? new ExecRunner();
    const common = { nodeName: opts.nodeName, runner, nodePortAddresses };
    backends.push(
      new IptablesProxier({ ...common, family: 'IPv4', clusterCidr: opts.clusterCidr ?? '10.42.0.0/16' }),
    );
    if (opts.runner || hasCommand('ip6tables-restore'))
      backends.push(new IptablesProxier({ ...common, family: 'IPv6' }));
  } else if (mode === 'nftables') {
    const runner = opts.runner ?? new ExecRunner();
    const common = { nodeName: opts.nodeName, runner, nodePortAddresses };
    backends.push(
      new NftablesProxier({ ...common, family: 'IPv4', clusterCidr: opts.clusterCidr ?? '10.42.0.0/16' }),
    );
    // A kernel booted with ipv6.disable=1 has no ip6 family to program.
    if (opts.runner || existsSync('/proc/sys/net/ipv6'))
      backends.push(new NftablesProxier({ ...common, family: 'IPv6' }));
  } else {
    backends.push(
      new UserspaceProxier({ nodeName: opts.nodeName, nodePortHost: opts.nodePortHost ?? '0.0.0.0' }),
    );
  }
  // The other kernel mode's leftovers would still DNAT (both hook nat at the same priority).
  if (mode === 'nftables') {
    const runner = opts.runner ?? new ExecRunner();
    await cleanupIptablesRules(runner, 'IPv4');
    if (opts.runner || hasCommand('ip6tables-save')) await cleanupIptablesRules(runner, 'IPv6');
  } else if (mode === 'iptables') {
    const runner = opts.runner ?? new ExecRunner();
    for (const fam of ['IPv4', 'IPv6'] as const) await cleanupNftablesRules(runner, fam);
  }
  const factory = new InformerFactory(opts.client);
  let proxy: ServiceProxy | undefined;
  const serviceHealth = new ServiceHealthServer({ proxyHealthy: () => proxy?.health.healthy() ?? true });
  proxy = new ServiceProxy({
    factory,
    nodeName: opts.nodeName,
    backends,
    minSyncPeriodMs: opts.minSyncPeriodMs ?? defaultMinSyncPeriodMs(mode),
    syncPeriodMs: opts.syncPeriodMs,
    serviceHealth,
  });
  let health: HealthServer | undefined;
  try {
    health = await startHealthServer(proxy.health, proxy.metrics, bind);
    void factory.start();
    await proxy.start();
  } catch (e) {
    factory.stop();
    await health?.close();
    await proxy.stop();
    throw e;
  }
  const p = proxy;
  return {
    proxy: p,
    mode,
    healthPort: health.port,
    stop: async () => {
      await p.stop();
      factory.stop();
      await health?.close();
    },
  };
}
