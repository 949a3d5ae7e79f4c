/**
 * A joined node (`k8ts agent`): the kubelet, the service proxy and the cluster DNS of this machine,
 * all with the node's identity (system:node:<name>). Until RBAC exists (TODO(#10)) the node
 * components share that one credential instead of kube-proxy's and CoreDNS's own; the API server
 * allows every authenticated user, so nothing changes for them but the name in audit logs.
 */

import type { ClientConfig } from '../core/client/rest-client.js';
import { RestClient } from '../core/client/rest-client.js';
import { KUBELET_API_CONNECTIONS, type Kubelet } from '../core/kubelet/kubelet.js';
import type { PodNetworkBackend } from '../core/kubelet/network/pod-routes-plan.js';
import { startNodeKubelet } from '../core/kubelet/start.js';
import { startDns } from '../dns/dns.js';
import { printStarted, serverDnsOptions } from '../dns/dns-command.js';
import { startServiceProxy } from '../service-proxy/start.js';

/** Node components `k8ts agent` runs (kubelet always). */
export const AGENT_COMPONENTS = ['service-proxy', 'dns'] as const;
export type AgentComponent = (typeof AGENT_COMPONENTS)[number];

export interface AgentOptions {
  config: ClientConfig;
  serving: { certPem: string; keyPem: string };
  nodeName: string;
  nodeIp: string;
  dataDir: string;
  rootless: boolean;
  kubeletPort: number;
  clusterCidr: string;
  clusterDns: string;
  clusterDomain: string;
  /** Rootless: loopback port of this node's DNS (0: any free port). */
  clusterDnsPort: number;
  /** host:port of the service proxy's /healthz and /metrics. */
  proxyHealthzBindAddress: string;
  disable: ReadonlySet<AgentComponent>;
  /** How other nodes' podCIDRs are routed here (kubelet/network/pod-routes.ts). */
  podNetworkBackend?: PodNetworkBackend | undefined;
  log?: ((line: string) => void) | undefined;
}

export interface RunningAgent {
  kubelet: Kubelet;
  stop(): Promise<void>;
}

/** Start the kubelet, then the proxy and DNS; resolves once the node is registered. */
export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const client = new RestClient({
    ...opts.config,
    userAgent: `kubelet/${opts.nodeName}`,
    maxSockets: KUBELET_API_CONNECTIONS,
  });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    client.close();
  };
  try {
    const kubelet = await startNodeKubelet(client, {
      nodeName: opts.nodeName,
      nodeIp: opts.nodeIp,
      dataDir: opts.dataDir,
      rootless: opts.rootless,
      port: opts.kubeletPort,
      clusterCidr: opts.clusterCidr,
      clusterDns: [opts.clusterDns],
      clusterDomain: opts.clusterDomain,
      serving: opts.serving,
      caPem: opts.config.caPem,
      podNetworkBackend: opts.podNetworkBackend,
      log,
    });
    stops.push(() => kubelet.stop());
    log(
      `k8ts agent: node ${opts.nodeName} registered (${opts.rootless ? 'rootless' : 'bridge'} pod network)`,
    );
    if (!opts.disable.has('service-proxy')) {
      const spClient = client.derive({ userAgent: `k8ts-service-proxy/${opts.nodeName}` });
      stops.push(async () => spClient.close());
      const sp = await startServiceProxy({
        client: spClient,
        nodeName: opts.nodeName,
        mode: opts.rootless ? 'userspace' : undefined,
        clusterCidr: opts.clusterCidr,
        healthzBindAddress: opts.proxyHealthzBindAddress,
      });
      stops.push(() => sp.stop());
      log(`k8ts agent: service proxy running (${sp.mode} mode, health on port ${sp.healthPort})`);
    }
    if (!opts.disable.has('dns')) {
      const dnsClient = client.derive({ userAgent: `k8ts-dns/${opts.nodeName}` });
      stops.push(async () => dnsClient.close());
      const dnsOpts = serverDnsOptions(dnsClient, {
        rootless: opts.rootless,
        port: opts.clusterDnsPort,
        clusterDomain: opts.clusterDomain,
      });
      const dns = await startDns({ ...dnsOpts, log });
      stops.push(() => dns.stop());
      printStarted(dns, dnsOpts.host, dnsOpts.http!.host);
    }
    return { kubelet, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
