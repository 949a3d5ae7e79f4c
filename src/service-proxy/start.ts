/**
 * Assemble a running service proxy from a REST client: informers, the backend(s) for the mode,
 * the health/metrics server and the health check node port servers. Used by the standalone
 * `k8ts service-proxy` command and by `k8ts server`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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

/**
 * Validate --nodeport-addresses: CIDRs (a bare address is a host prefix). Upstream's `primary`
 * keyword needs the node's primary IPs, which this proxy does not track: refused with a clear error.
 */
export function parseNodePortAddresses(list: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of list) {
    const c = raw.trim();
    if (!c) continue;
    if (c === 'primary')
      throw new ProxyConfigError('--nodeport-addresses: the "primary" keyword is not supported; give CIDRs');
    const [ip, len] = c.split('/') as [string, string | undefined];
    const p = parseIp(ip);
    const n = len === undefined ? p?.bits : Number(len);
    if (!p || n === undefined || (len !== undefined && !/^\d+$/.test(len)) || n < 0 || n > p.bits)
      throw new ProxyConfigError(`--nodeport-addresses: invalid CIDR "${c}"`);
    out.push(`${ip}/${n}`);
  }
  if (out.length === 0) throw new ProxyConfigError('--nodeport-addresses: no CIDR given');
  return out;
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
  const nodePortAddresses = opts.nodePortAddresses && parseNodePortAddresses(opts.nodePortAddresses);
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
