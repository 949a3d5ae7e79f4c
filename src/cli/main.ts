#!/usr/bin/env node
/**
 * The k8ts command line: `k8ts server` starts the control plane (later issues add the node
 * components to the same command).
 */
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { startControlPlane } from '../core/apiserver/control-plane.js';
import { StartupError } from '../core/apiserver/startup-error.js';
import {
  type PodNetworkBackend,
  podNetworkBackend,
} from '../core/kubelet/network/pod-network-backend-option.js';
import { defaultDataDir } from '../join/data-dir.js';

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The node components `k8ts server` runs beside the control plane (each can be disabled). */
export const NODE_COMPONENTS = ['kubelet', 'service-proxy', 'dns', 'ingress', 'cloud-controller'] as const;
export type NodeComponent = (typeof NODE_COMPONENTS)[number];

function componentList(v: string, prev: Set<NodeComponent>): Set<NodeComponent> {
  for (const name of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(NODE_COMPONENTS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(`unknown component "${name}" (known: ${NODE_COMPONENTS.join(', ')})`);
    }
    prev.add(name as NodeComponent);
  }
  return prev;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`not a positive number of seconds: ${v}`);
  return n;
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port number: ${v}`);
  return n;
}

const program = new Command();
program.name('k8ts').description('A lightweight, networking-first Kubernetes').version('0.1.0');

program
  .command('server')
  .description('run the control plane (API server on embedded SQLite storage)')
  .option('--data-dir <dir>', 'where state, certificates and the kubeconfig live', defaultDataDir())
  .option('--https-port <port>', 'API server HTTPS port', port, 6443)
  .option('--bind-address <addr>', 'address the API server listens on', '0.0.0.0')
  .option('--service-cidr <cidr>', 'ClusterIP range', '10.43.0.0/16')
  .option('--service-node-port-range <range>', 'NodePort range', '30000-32767')
  .option('--disable-controllers', 'do not run the built-in controllers')
  .option('--cluster-cidr <cidr>', 'pod network; each node gets a /24 from it', '10.42.0.0/16')
  .option(
    '--node-monitor-grace-period <seconds>',
    'a node missing heartbeats this long turns NotReady',
    seconds,
    40,
  )
  .option(
    '--disable <components>',
    `node components not to run, comma separated (${NODE_COMPONENTS.join(', ')})`,
    componentList,
    new Set<NodeComponent>(),
  )
  .option('--rootless', 'run without root: host-network pods, userspace proxy, DNS on a high port', !isRoot())
  .option('--node-name <name>', "name of this machine's node (kubelet)")
  .option(
    '--kubelet-port <port>',
    'kubelet API port (logs, exec, port-forward); 0 picks a free one',
    port,
    10250,
  )
  .option(
    '--cluster-dns-port <port>',
    'rootless: loopback port of the cluster DNS (0: any free port)',
    port,
    10053,
  )
  .option('--cluster-domain <domain>', 'cluster DNS zone', 'cluster.local')
  .option(
    '--tls-san <names>',
    'more host names or IPs for the serving certificate (agents joining by another address), comma separated',
    (v: string, prev: string[]) => [
      ...prev,
      ...v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ],
    [] as string[],
  )
  .option('--node-ip <ip>', "InternalIP of this machine's node (default: its first non-loopback IPv4)")
  .option(
    '--pod-network-backend <backend>',
    'how pods reach pods on other nodes: vxlan (works on any network), host-gw (nodes on one L2 segment), none',
    podNetworkBackend,
    isRoot() ? 'vxlan' : 'none',
  )
  .action(
    async (o: {
      dataDir: string;
      httpsPort: number;
      bindAddress: string;
      serviceCidr: string;
      serviceNodePortRange: string;
      disableControllers?: boolean;
      clusterCidr: string;
      nodeMonitorGracePeriod: number;
      disable: Set<NodeComponent>;
      rootless: boolean;
      nodeName?: string;
      kubeletPort: number;
      clusterDnsPort: number;
      clusterDomain: string;
      proxyMode?: import('../service-proxy/start.js').ProxyMode;
      ingressHttpPort?: number;
      ingressHttpsPort?: number;
      tlsSan: string[];
      nodeIp?: string;
      podNetworkBackend: PodNetworkBackend;
    }) => {
      const started = Date.now();
      try {
        const cp = await startControlPlane({
          dataDir: o.dataDir,
          httpsPort: o.httpsPort,
          bindAddress: o.bindAddress,
          serviceCidr: o.serviceCidr,
          nodePortRange: o.serviceNodePortRange,
          clusterCidr: o.clusterCidr,
          nodeMonitorGracePeriodSeconds: o.nodeMonitorGracePeriod,
          disableControllers: o.disableControllers === true,
          tlsSans: o.tlsSan,
        });
        console.log(`k8ts: API server listening on ${cp.url} (ready in ${Date.now() - started} ms)`);
        console.log(`k8ts: kubeconfig written to ${cp.kubeconfigPath}`);
        console.log(`k8ts: try: KUBECONFIG=${cp.kubeconfigPath} kubectl get namespaces`);
        console.log(`k8ts: join token (also in ${join(o.dataDir, 'token')}): ${cp.joinToken}`);
        console.log(
          `k8ts: join a node: k8ts agent --server https://${cp.advertiseAddress}:${new URL(cp.url).port} --token <that token>`,
        );
        // The kubelet for this machine (issue 4): pods run here unless --disable kubelet.
        const kubelet = o.disable.has('kubelet')
          ? undefined
          : await (await import('../core/kubelet/start.js')).startServerKubelet(cp, {
              dataDir: join(o.dataDir, 'agent'),
              rootless: o.rootless,
              clusterCidr: o.clusterCidr,
              nodeName: o.nodeName,
              nodeIp: o.nodeIp,
              port: o.kubeletPort,
              podNetworkBackend: o.podNetworkBackend,
            });
        if (kubelet) console.log(`k8ts: kubelet registered node ${kubelet.nodeName}`);
        const stops: (() => Promise<void>)[] = [];
        if (!o.disable.has('dns'))
          stops.push(await (await import('../dns/dns-component.js')).startDnsComponent(cp, o));
        if (!o.disable.has('ingress'))
          stops.push(await (await import('../ingress/ingress-command.js')).startIngressComponent(cp, o));
        const cloud = o.disable.has('cloud-controller')
          ? undefined
          : await (await import('../cloud/server-cloud.js')).startServerCloud(cp, o as never);
        let serviceProxy: { stop(): Promise<void> } | undefined;
        if (!o.disable.has('service-proxy')) {
          const { startServiceProxyComponent } = await import('../service-proxy/server-component.js');
          const sp = await startServiceProxyComponent(cp, {
            rootless: o.rootless,
            clusterCidr: o.clusterCidr,
            mode: o.proxyMode,
          });
          serviceProxy = sp;
          console.log(`k8ts: service proxy running (${sp.mode} mode, health on port ${sp.healthPort})`);
        }
        let stopping = false;
        const shutdown = async (sig: string) => {
          if (stopping) return;
          stopping = true;
          console.log(`k8ts: ${sig}, shutting down`);
          await kubelet?.stop();
          for (const stop of stops) await stop().catch(() => {});
          cloud?.stop();
          await serviceProxy?.stop();
          await cp.stop();
          process.exit(0);
        };
        process.on('SIGINT', () => void shutdown('SIGINT'));
        process.on('SIGTERM', () => void shutdown('SIGTERM'));
      } catch (e) {
        if (e instanceof StartupError) {
          console.error(`k8ts: ${e.message}`);
          process.exit(1);
        }
        throw e;
      }
    },
  );

(await import('../cloud/cloud-command.js')).addCloudOptions(
  program.commands.find((c) => c.name() === 'server')!,
);
(await import('../service-proxy/command.js')).addProxyModeOption(
  program.commands.find((c) => c.name() === 'server')!,
);
(await import('../ingress/ingress-command.js')).addIngressServerOptions(
  program.commands.find((c) => c.name() === 'server')!,
);
(await import('../ingress/ingress-command.js')).addIngressCommand(program);
(await import('../core/hollow/hollow-nodes-command.js')).addHollowNodesCommand(program);
(await import('../core/controllers/controller-manager-command.js')).addControllerManagerCommand(program);
(await import('../core/kubelet/kubelet-command.js')).addKubeletCommand(program);
(await import('../dns/dns-command.js')).addDnsCommand(program);
(await import('../cloud/cloud-command.js')).addCloudControllerManagerCommand(program);
(await import('../service-proxy/command.js')).addServiceProxyCommand(program);
(await import('../join/agent-command.js')).addAgentCommand(program);
(await import('../join/token-command.js')).addTokenCommand(program);

await program.parseAsync(process.argv);
