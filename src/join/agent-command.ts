/**
 * `k8ts agent`: join this machine to a cluster and run its node components.
 *
 *   k8ts agent --server https://HOST:6443 --token K10...::id.secret [--node-name N] [--data-dir D]
 *              [--rootless] [--kubelet-port P] [--node-ip IP]
 *   k8ts agent --kubeconfig F ...          (credentials provisioned by hand, tests)
 *
 * K8TS_URL and K8TS_TOKEN (or K8TS_TOKEN_FILE) stand for --server and --token, as the systemd
 * unit's EnvironmentFile sets them.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ApiStatusError, type ClientConfig, loadKubeconfig, RestClient } from '../core/client/rest-client.js';
import {
  type PodNetworkBackend,
  podNetworkBackend,
} from '../core/kubelet/network/pod-network-backend-option.js';
import { defaultNodeIp, defaultNodeName, kubeletServingHosts } from '../core/kubelet/start.js';
import { AGENT_COMPONENTS, type AgentComponent, startAgent } from './agent.js';
import { ensureNodeCredentials, requestCertificate } from './agent-bootstrap.js';
import { JoinError } from './errors.js';
import { parseJoinToken } from './join-token.js';

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Root: /var/lib/k8ts/agent; otherwise ~/.local/share/k8ts-agent (apart from a rootless server's dir). */
export function defaultAgentDataDir(): string {
  if (isRoot()) return '/var/lib/k8ts/agent';
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'k8ts-agent');
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port number: ${v}`);
  return n;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`not a positive number of seconds: ${v}`);
  return n;
}

function componentList(v: string, prev: Set<AgentComponent>): Set<AgentComponent> {
  for (const name of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(AGENT_COMPONENTS as readonly string[]).includes(name))
      throw new InvalidArgumentError(`unknown component "${name}" (known: ${AGENT_COMPONENTS.join(', ')})`);
    prev.add(name as AgentComponent);
  }
  return prev;
}

interface AgentCommandOptions {
  server?: string;
  token?: string;
  tokenFile?: string;
  kubeconfig?: string;
  nodeName: string;
  dataDir: string;
  rootless: boolean;
  kubeletPort?: number;
  nodeIp?: string;
  clusterCidr: string;
  clusterDns: string;
  clusterDomain: string;
  clusterDnsPort?: number;
  proxyHealthzBindAddress?: string;
  disable: Set<AgentComponent>;
  approvalTimeout: number;
  podNetworkBackend: PodNetworkBackend;
  serverWait: number;
}

/** Register `k8ts agent`. */
export function addAgentCommand(program: Command): void {
  program
    .command('agent')
    .description(
      'join this machine to a cluster: bootstrap its credentials, run kubelet, service proxy and DNS',
    )
    .option('--server <url>', 'API server URL, https://HOST:6443 (env K8TS_URL)', process.env.K8TS_URL)
    .option(
      '--token <token>',
      'join token K10<ca sha256>::<id>.<secret> (env K8TS_TOKEN)',
      process.env.K8TS_TOKEN,
    )
    .option(
      '--token-file <file>',
      'read the join token from a file (env K8TS_TOKEN_FILE)',
      process.env.K8TS_TOKEN_FILE,
    )
    .option('--kubeconfig <file>', 'use these credentials instead of joining with a token')
    .option('--node-name <name>', 'name of this node', defaultNodeName())
    .option(
      '--data-dir <dir>',
      'credentials, pods, logs and runtime state of this node',
      defaultAgentDataDir(),
    )
    .option(
      '--rootless',
      'host-network pods with loopback IPs, userspace proxy, DNS on a loopback port',
      !isRoot(),
    )
    .option('--kubelet-port <port>', 'kubelet API port (default 10250; rootless: any free port)', port)
    .option('--node-ip <ip>', 'InternalIP of the node (default: the first non-loopback IPv4)')
    .option('--cluster-cidr <cidr>', 'pod network of the cluster', '10.42.0.0/16')
    .option('--cluster-dns <ip>', 'nameserver of ClusterFirst pods', '10.43.0.10')
    .option('--cluster-domain <domain>', 'cluster DNS domain', 'cluster.local')
    .option(
      '--cluster-dns-port <port>',
      'rootless: loopback port of the node DNS (default: any free port)',
      port,
    )
    .option(
      '--proxy-healthz-bind-address <host:port>',
      'service proxy /healthz and /metrics (default 0.0.0.0:10256; rootless 127.0.0.1 on any free port)',
    )
    .addOption(
      new Option(
        '--disable <components>',
        `node components not to run, comma separated (${AGENT_COMPONENTS.join(', ')})`,
      )
        .argParser(componentList)
        .default(new Set<AgentComponent>(), 'none'),
    )
    .option(
      '--pod-network-backend <backend>',
      'how pods reach pods on other nodes: vxlan (works on any network), host-gw (nodes on one L2 segment), none',
      podNetworkBackend,
      isRoot() ? 'vxlan' : 'none',
    )
    .option('--approval-timeout <seconds>', 'how long to wait for certificate approval', seconds, 900)
    .option('--server-wait <seconds>', 'how long to wait for an unreachable server when joining', seconds, 60)
    .action(async (o: AgentCommandOptions) => {
      try {
        await runAgent(o);
      } catch (e) {
        const msg = agentErrorMessage(e, o.server);
        if (msg === undefined) throw e;
        console.error(`k8ts agent: ${msg}`);
        process.exit(1);
      }
    });
}

/** The one line a known failure prints (no stack), or undefined for a bug. */
export function agentErrorMessage(e: unknown, server: string | undefined): string | undefined {
  if (e instanceof JoinError || e instanceof ApiStatusError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const host = server ? new URL(server).hostname : 'that address';
    return `the server's certificate does not name ${host}: ${err.message}; start the server with --tls-san ${host}, or join through an address it names`;
  }
  if (typeof err?.code === 'string' && /^(E[A-Z]+|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO)/.test(err.code))
    return `cannot talk to the server ${server ?? ''}: ${err.message}`;
  return undefined;
}

async function runAgent(o: AgentCommandOptions): Promise<void> {
  const nodeIp = o.nodeIp ?? defaultNodeIp();
  const log = (l: string) => console.log(l);
  const servingHosts = kubeletServingHosts(nodeIp);
  let config: ClientConfig;
  let serving: { certPem: string; keyPem: string };
  if (o.kubeconfig) {
    try {
      config = loadKubeconfig(o.kubeconfig);
    } catch (e) {
      throw new JoinError('OPTIONS', `cannot read kubeconfig ${o.kubeconfig}: ${(e as Error).message}`);
    }
    // The serving certificate still comes through a CSR (approved for the node itself or an admin).
    const client = new RestClient({ ...config, userAgent: `k8ts-agent/${o.nodeName}` });
    try {
      serving = await requestCertificate(client, {
        commonName: `system:node:${o.nodeName}`,
        organizations: ['system:nodes'],
        hosts: servingHosts,
        signerName: 'kubernetes.io/kubelet-serving',
        usages: ['digital signature', 'server auth'],
        timeoutMs: o.approvalTimeout * 1000,
        log,
      });
    } finally {
      client.close();
    }
  } else {
    let raw = o.token;
    if (!raw && o.tokenFile) {
      try {
        raw = readFileSync(o.tokenFile, 'utf8').trim();
      } catch (e) {
        throw new JoinError('OPTIONS', `cannot read --token-file ${o.tokenFile}: ${(e as Error).message}`);
      }
    }
    if (o.server && !/^https:\/\//.test(o.server))
      throw new JoinError('OPTIONS', `--server must be an https:// URL, got "${o.server}"`);
    const creds = await ensureNodeCredentials({
      server: o.server,
      token: raw ? parseJoinToken(raw) : undefined,
      nodeName: o.nodeName,
      dataDir: o.dataDir,
      servingHosts,
      approvalTimeoutMs: o.approvalTimeout * 1000,
      serverWaitMs: o.serverWait * 1000,
      log,
    });
    if (!creds.bootstrapped) log(`k8ts agent: using the credentials in ${creds.kubeconfigPath}`);
    config = creds.config;
    serving = creds.serving;
  }
  const agent = await startAgent({
    config,
    serving,
    nodeName: o.nodeName,
    nodeIp,
    dataDir: o.dataDir,
    rootless: o.rootless,
    kubeletPort: o.kubeletPort ?? (o.rootless ? 0 : 10250),
    clusterCidr: o.clusterCidr,
    clusterDns: o.clusterDns,
    clusterDomain: o.clusterDomain,
    clusterDnsPort: o.clusterDnsPort ?? 0,
    proxyHealthzBindAddress: o.proxyHealthzBindAddress ?? (o.rootless ? '127.0.0.1:0' : '0.0.0.0:10256'),
    disable: o.disable,
    podNetworkBackend: o.podNetworkBackend,
    log,
  });
  log(`k8ts agent: node ${o.nodeName} joined ${config.server}`);
  let stopping = false;
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log(`k8ts agent: ${sig}, stopping (pods keep running)`);
    await agent.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
