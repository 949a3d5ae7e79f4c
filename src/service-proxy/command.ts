/**
 * `k8ts service-proxy`: run the service proxy of one node against a cluster until interrupted.
 */
import { hostname } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import { loadKubeconfig, RestClient } from '../core/client/rest-client.js';
import { PROXY_MODES, type ProxyMode, parseNodePortAddresses, startServiceProxy } from './start.js';

interface CommandOptions {
  kubeconfig?: string;
  nodeName: string;
  mode?: ProxyMode;
  nodeportAddresses?: string[];
  clusterCidr: string;
  healthzBindAddress: string;
  minSyncPeriod?: number;
  syncPeriod: number;
}

/** Parse a proxy mode argument (`--mode`, `k8ts server --proxy-mode`). */
export function parseProxyMode(v: string): ProxyMode {
  if (!(PROXY_MODES as readonly string[]).includes(v))
    throw new InvalidArgumentError(`unknown mode "${v}" (${PROXY_MODES.join(', ')})`);
  return v as ProxyMode;
}

function cidrList(v: string): string[] {
  try {
    return parseNodePortAddresses(v.split(','));
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** `k8ts server --proxy-mode`: the mode of the server's own service proxy. */
export function addProxyModeOption(server: Command): void {
  server.option(
    '--proxy-mode <mode>',
    'service proxy mode: nftables (default as root), iptables, or userspace (default with --rootless)',
    parseProxyMode,
  );
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`not a number of seconds: ${v}`);
  return n;
}

/** Add the `service-proxy` command to the CLI. */
export function addServiceProxyCommand(program: Command): void {
  program
    .command('service-proxy')
    .description('run the service proxy (ClusterIP, NodePort, LoadBalancer, externalIPs) of this node')
    .option('--kubeconfig <path>', 'kubeconfig of the cluster', process.env.KUBECONFIG)
    .option('--node-name <name>', 'this node (endpoints on it are local)', hostname())
    .option(
      '--mode <mode>',
      'nftables (default as root; iptables when nft is missing), iptables, or userspace (default otherwise)',
      parseProxyMode,
    )
    .option(
      '--nodeport-addresses <cidrs>',
      'NodePorts only on local addresses in these CIDRs (comma separated; iptables and nftables modes); ' +
        "keywords: primary (this node's InternalIP, else ExternalIP, per family), localhost, all",
      cidrList,
    )
    .option(
      '--cluster-cidr <cidr>',
      'pod network (off-cluster traffic to ClusterIPs is masqueraded)',
      '10.42.0.0/16',
    )
    .option('--healthz-bind-address <host:port>', '/healthz, /livez and /metrics', '0.0.0.0:10256')
    .option(
      '--min-sync-period <seconds>',
      'changes are batched this long at most (default 1 in iptables mode, 0.1 in nftables mode)',
      seconds,
    )
    .option('--sync-period <seconds>', 'full resync period', seconds, 30)
    .action(async (o: CommandOptions) => {
      if (!o.kubeconfig) {
        console.error('k8ts service-proxy: --kubeconfig (or KUBECONFIG) is required');
        process.exit(1);
      }
      let client: RestClient;
      try {
        client = new RestClient({ ...loadKubeconfig(o.kubeconfig), userAgent: 'k8ts-service-proxy' });
      } catch (e) {
        console.error(`k8ts service-proxy: cannot read kubeconfig ${o.kubeconfig}: ${(e as Error).message}`);
        process.exit(1);
      }
      try {
        const running = await startServiceProxy({
          client,
          nodeName: o.nodeName,
          mode: o.mode,
          nodePortAddresses: o.nodeportAddresses,
          clusterCidr: o.clusterCidr,
          healthzBindAddress: o.healthzBindAddress,
          minSyncPeriodMs: o.minSyncPeriod === undefined ? undefined : o.minSyncPeriod * 1000,
          syncPeriodMs: o.syncPeriod * 1000,
        });
        console.log(
          `k8ts: service proxy (${running.mode} mode) for node ${o.nodeName}, health on port ${running.healthPort}`,
        );
        let stopping = false;
        const shutdown = async (sig: string) => {
          if (stopping) return;
          stopping = true;
          console.log(`k8ts: ${sig}, stopping the service proxy`);
          await running.stop();
          client.close();
          process.exit(0);
        };
        process.on('SIGINT', () => void shutdown('SIGINT'));
        process.on('SIGTERM', () => void shutdown('SIGTERM'));
      } catch (e) {
        console.error(`k8ts service-proxy: ${(e as Error).message}`);
        process.exit(1);
      }
    });
}
