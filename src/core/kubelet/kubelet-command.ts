/** `k8ts kubelet`: run the kubelet standalone against an API server (or clean up after one). */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadKubeconfig, RestClient } from '../client/rest-client.js';
import { KUBELET_API_CONNECTIONS } from './kubelet.js';
import { type PodNetworkBackend, podNetworkBackend } from './network/pod-network-backend-option.js';
import { cleanupKubelet, defaultNodeName, startKubelet } from './start.js';

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Register the `kubelet` subcommand. */
export function addKubeletCommand(program: Command): void {
  program
    .command('kubelet')
    .description('run the node agent: register the node, run the pods bound to it')
    .option('--kubeconfig <file>', 'credentials of the API server')
    .option('--node-name <name>', 'name of this node', defaultNodeName())
    .option(
      '--data-dir <dir>',
      'pods, logs and runtime state',
      isRoot()
        ? '/var/lib/k8ts'
        : join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'k8ts'),
    )
    .option('--rootless', 'host-network pods with loopback IPs (no root needed)', !isRoot())
    .option('--port <port>', 'kubelet API port advertised in the Node', (v) => Number(v), 10250)
    .option('--node-ip <ip>', 'InternalIP of the node')
    .option('--cluster-cidr <cidr>', 'pod network of the cluster (masquerade outside it)', '10.42.0.0/16')
    .option('--cluster-dns <ip>', 'nameserver of ClusterFirst pods', '10.43.0.10')
    .option('--cluster-domain <domain>', 'cluster DNS domain', 'cluster.local')
    .option(
      '--pod-network-backend <backend>',
      "route other nodes' podCIDRs here: vxlan, host-gw or none (another agent routes them)",
      podNetworkBackend,
      'none',
    )
    .option(
      '--cleanup',
      'kill every pod process this data dir records, remove pod namespaces and the bridge, exit',
    )
    .action(
      async (o: {
        kubeconfig?: string;
        nodeName: string;
        dataDir: string;
        rootless: boolean;
        port: number;
        nodeIp?: string;
        clusterCidr: string;
        clusterDns: string;
        clusterDomain: string;
        cleanup?: boolean;
        podNetworkBackend: PodNetworkBackend;
      }) => {
        if (o.cleanup) {
          const n = await cleanupKubelet({ dataDir: o.dataDir, nodeName: o.nodeName, rootless: o.rootless });
          console.log(`k8ts kubelet: cleanup done (${n} containers killed)`);
          return;
        }
        if (!o.kubeconfig) {
          console.error('k8ts kubelet: --kubeconfig is required');
          process.exit(2);
        }
        const client = new RestClient({
          ...loadKubeconfig(o.kubeconfig),
          userAgent: `kubelet/${o.nodeName}`,
          maxSockets: KUBELET_API_CONNECTIONS,
        });
        const k = await startKubelet(client, {
          nodeName: o.nodeName,
          dataDir: o.dataDir,
          rootless: o.rootless,
          port: o.port,
          nodeIp: o.nodeIp,
          clusterCidr: o.clusterCidr,
          clusterDns: [o.clusterDns],
          clusterDomain: o.clusterDomain,
          podNetworkBackend: o.podNetworkBackend,
        });
        console.log(
          `k8ts kubelet: node ${o.nodeName} registered (${o.rootless ? 'rootless' : 'bridge'} pod network)`,
        );
        let stopping = false;
        const shutdown = async (sig: string) => {
          if (stopping) return;
          stopping = true;
          console.log(`k8ts kubelet: ${sig}, stopping (pods keep running)`);
          await k.stop();
          process.exit(0);
        };
        process.on('SIGINT', () => void shutdown('SIGINT'));
        process.on('SIGTERM', () => void shutdown('SIGTERM'));
      },
    );
}
