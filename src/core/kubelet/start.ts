/**
 * Starting a kubelet: standalone (`k8ts kubelet --kubeconfig ...`) or as the `kubelet` component
 * of `k8ts server` (its own client certificate `system:node:<name>`, the server's own machine,
 * labelled as the control plane). Also `cleanup`: kill every container the data dir records and
 * remove the pod namespaces, bridge and rules (what tests and uninstall use; a plain kubelet stop
 * keeps pods running).
 */
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { issueClientCert, type Pki } from '../apiserver/pki/ensure-pki.js';
import { RestClient } from '../client/rest-client.js';
import { KUBELET_API_CONNECTIONS, Kubelet, type KubeletOptions } from './kubelet.js';
import { BridgeNetwork } from './network/bridge-network.js';
import { runCommand } from './network/exec-command.js';
import { cleanupPodRoutes } from './network/pod-routes.js';
import { CgroupManager } from './runtime/cgroups.js';
import { procStartTime } from './runtime/process-runtime.js';
import { issueKubeletServingCert } from './server/kubelet-certs.js';
import { KUBELET_PORT, startKubeletServer } from './server/kubelet-server.js';
import { StreamError, type StreamingRuntime } from './streams.js';

/** The first non-internal IPv4 address of this machine, else 127.0.0.1. */
export function defaultNodeIp(): string {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    // Our own bridge, veths, vxlan device and DNS dummy are not the node's address.
    if (name === 'k8ts0' || name.startsWith('kv') || name === 'k8ts.1' || name === 'k8ts-dns0') continue;
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** Lowercased host name, as a node name. */
export function defaultNodeName(): string {
  return hostname().toLowerCase();
}

/** Start a kubelet with this client; resolves once the node is registered and pods are watched. */
export async function startKubelet(client: RestClient, opts: KubeletOptions): Promise<Kubelet> {
  const k = new Kubelet(client, opts, opts.nodeIp ?? defaultNodeIp());
  await k.start();
  return k;
}

/** The kubelet of `k8ts server`: a node credential from the server's CA, same machine. */
export async function startServerKubelet(
  cp: { url: string; pki: Pki },
  opts: Omit<KubeletOptions, 'nodeName'> & { nodeName?: string | undefined },
): Promise<Kubelet> {
  const nodeName = opts.nodeName ?? defaultNodeName();
  const cert = await issueClientCert(cp.pki, {
    commonName: `system:node:${nodeName}`,
    organizations: ['system:nodes'],
  });
  const client = new RestClient({
    server: cp.url,
    caPem: cp.pki.caCertPem,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    userAgent: `kubelet/${nodeName}`,
    maxSockets: KUBELET_API_CONNECTIONS,
  });
  const nodeIp = opts.nodeIp ?? defaultNodeIp();
  const serving = await issueKubeletServingCert(cp.pki, { nodeName, hosts: kubeletServingHosts(nodeIp) });
  return startNodeKubelet(client, {
    ...opts,
    nodeName,
    nodeIp,
    serving,
    caPem: cp.pki.caCertPem,
    controlPlane: opts.controlPlane ?? true,
  });
}

/** The names the kubelet's serving certificate carries: the node IP, the host name, loopback. */
export function kubeletServingHosts(nodeIp: string): string[] {
  return [...new Set([nodeIp, hostname(), '127.0.0.1', 'localhost'])];
}

/**
 * A kubelet with its API on `opts.port` (logs, exec, attach, port-forward) served with the given
 * certificate; clients (the API server) are verified against `caPem`. The API starts first so the
 * Node advertises the port it really listens on (0 = any). `k8ts server` and `k8ts agent` both
 * start their kubelet this way.
 */
export async function startNodeKubelet(
  client: RestClient,
  opts: KubeletOptions & { serving: { certPem: string; keyPem: string }; caPem: string },
): Promise<Kubelet> {
  const { serving, caPem, ...kopts } = opts;
  const nodeIp = opts.nodeIp ?? defaultNodeIp();
  let kubelet: Kubelet | undefined;
  const streaming = (): StreamingRuntime => {
    if (!kubelet) throw new StreamError('NotRunning', 'the kubelet is starting');
    return kubelet.streaming();
  };
  const api = await startKubeletServer({
    runtime: {
      logs: (ref, o, signal) => streaming().logs(ref, o, signal),
      exec: (ref, o) => streaming().exec(ref, o),
      attach: (ref, o) => streaming().attach(ref, o),
      portForward: (pod, port) => streaming().portForward(pod, port),
    },
    port: opts.port ?? KUBELET_PORT,
    tls: { cert: serving.certPem, key: serving.keyPem, ca: caPem },
  });
  try {
    kubelet = await startKubelet(client, { ...kopts, nodeIp, port: api.port });
  } catch (e) {
    await api.close();
    throw e;
  }
  kubelet.onStop(() => api.close());
  return kubelet;
}

/**
 * Kill every container recorded under `<dataDir>/runtime` (SIGKILL to each process group, after
 * checking the PID still is ours) and remove the node's pod namespaces, bridge and NAT chain.
 */
export async function cleanupKubelet(opts: {
  dataDir: string;
  nodeName: string;
  rootless: boolean;
}): Promise<number> {
  const stateDir = join(opts.dataDir, 'runtime');
  let killed = 0;
  let ids: string[] = [];
  try {
    ids = readdirSync(stateDir);
  } catch {
    ids = [];
  }
  for (const id of ids) {
    try {
      const saved = JSON.parse(readFileSync(join(stateDir, id, 'state.json'), 'utf8'));
      if (procStartTime(saved.info.pid) === saved.procStart) {
        process.kill(-saved.info.pid, 'SIGKILL');
        killed++;
      }
    } catch {
      // unreadable or already gone
    }
  }
  // <data-dir>/runtime may be a symlink into a tmpfs (runtime/state-dir.ts): remove both.
  let real: string | undefined;
  try {
    real = realpathSync(stateDir);
  } catch {
    real = undefined;
  }
  if (real && real !== stateDir) rmSync(real, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
  if (!opts.rootless) {
    // The killed processes leave their cgroups a moment later.
    const cg = CgroupManager.detect({ nodeName: opts.nodeName });
    for (let i = 0; cg && i < 20; i++) {
      cg.removeAll();
      if (!cg.parentDirs().some((d) => existsSync(d))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const net = new BridgeNetwork({
      nodeName: opts.nodeName,
      ipamPath: join(opts.dataDir, 'network', 'ipam.json'),
      clusterCidr: '10.42.0.0/16',
      run: runCommand,
    });
    await net.cleanupAll();
    await cleanupPodRoutes(runCommand);
  }
  rmSync(join(opts.dataDir, 'network'), { recursive: true, force: true });
  return killed;
}
