/**
 * The multi-node harness (root): N node network namespaces on one LAN and a real k8ts cluster in
 * them. Every cross-node test uses it.
 *
 *   lan namespace:  bridge br0 = 172.31.255.254, the nodes' default gateway, which forwards
 *                   nothing (no route anywhere else, ip_forward=0)
 *      |  veth per node
 *   node i (1..N):  eth0 = 172.31.255.i/24, default via .254: nothing leaves the LAN
 *      node 1 runs `k8ts server` (API on 172.31.255.1:6443, its own kubelet, proxy and DNS)
 *      node 2..N run `k8ts agent --server https://172.31.255.1:6443 --token <server's join token>`
 *   clients (addClient): more namespaces on the LAN, 172.31.255.200+k, for outside traffic
 *
 * Processes run under `nsenter --net=/run/netns/<ns>` (not `ip netns exec`): same network
 * namespace, but the host's mount namespace, so the pod namespaces each kubelet mounts under
 * /run/netns are visible to every other process. Node names carry a random id, so the pod
 * namespaces (`k8ts-<node>-<uid>`) of concurrent runs never collide.
 *
 * cleanup() (call it in afterAll: it also runs after a failed start) kills every process by PID,
 * runs `k8ts kubelet --cleanup` for each node inside its namespace (pod processes, pod namespaces,
 * bridge, vxlan device, routes, NAT chain), removes whatever pod namespace is still left with one
 * of our node names, and deletes the namespaces (their links go with them).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Run, run } from './run.js';
import { CLI as DEFAULT_CLI, KUBECTL } from './server.js';
import { waitFor } from './wait.js';

export { type Run, run, waitFor };

export type Backend = 'host-gw' | 'vxlan';

export interface ClusterNode {
  /** 1-based: node 1 runs the server. */
  index: number;
  name: string;
  /** Its network namespace (under /run/netns). */
  ns: string;
  ip: string;
  dataDir: string;
  /** The kubelet's data dir (what `k8ts kubelet --cleanup` takes). */
  kubeletDir: string;
}

export interface StartClusterOptions {
  nodes: number;
  backend: Backend;
  /** Extra `k8ts server` flags (e.g. `--node-monitor-grace-period 6`). */
  serverArgs?: string[];
  /** Node components the server does not run (default ingress, cloud-controller). */
  disable?: string[];
  /** Tool presence / root is the caller's business (canUseNetns); this only builds and starts. */
  log?: (line: string) => void;
  /** The built CLI (default dist/src/cli/main.js of this checkout; benches compiled to dist/ pass theirs). */
  cli?: string;
}

export interface MultiNodeCluster {
  nodes: ClusterNode[];
  backend: Backend;
  /** The admin kubeconfig (server https://172.31.255.1:6443). */
  kubeconfig: string;
  /** The real kubectl, run inside node 1. */
  kubectl(args: string[], stdin?: string): Promise<Run>;
  kubectlOk(args: string[], stdin?: string): Promise<string>;
  /** Run a command inside node `i`'s network namespace. */
  exec(i: number, argv: string[], opts?: { timeoutMs?: number }): Promise<Run>;
  /** `kubectl exec <pod> -- argv` (the pod's kubelet must serve its API). */
  podExec(pod: string, argv: string[], namespace?: string): Promise<Run>;
  /** Run argv in the pod's network namespace directly (nsenter), whichever node it is on. */
  inPodNetns(pod: string, argv: string[], namespace?: string): Promise<Run>;
  /** curl -s -m 3 from inside a pod (kubectl exec); stdout is the body. */
  curlFromPod(pod: string, url: string, namespace?: string): Promise<Run>;
  /** A namespace on the LAN (172.31.255.200+k) for traffic from outside the cluster. */
  addClient(): { ns: string; ip: string; exec(argv: string[]): Promise<Run> };
  /** Kill node i's agent processes (SIGKILL by default) by PID; its pods keep running. */
  stopAgent(i: number, signal?: NodeJS.Signals): Promise<void>;
  startAgent(i: number): Promise<void>;
  /** SIGTERM the server, then start it again on the same data dir. */
  restartServer(): Promise<void>;
  /** Everything the processes of node i printed. */
  output(i: number): string;
  cleanup(): Promise<void>;
}

const SUBNET = '172.31.255';
const GATEWAY = `${SUBNET}.254`;
const CLUSTER_CIDR = '10.42.0.0/16';

function must(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
}

const inNs = (ns: string, argv: string[]) => ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv];

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Build the LAN and nodes, start the server and agents, wait for every node Ready. */
export async function startCluster(opts: StartClusterOptions): Promise<MultiNodeCluster> {
  if (opts.nodes < 1 || opts.nodes > 100) throw new Error(`nodes must be 1..100, got ${opts.nodes}`);
  const CLI = opts.cli ?? DEFAULT_CLI;
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const id = randomBytes(3).toString('hex');
  const log = opts.log ?? (() => {});
  const lan = `k8ts-mn${id}-lan`;
  const namespaces: string[] = [];
  const dirs: string[] = [];
  const procs = new Map<number, Proc[]>();
  const outputs = new Map<number, string>();
  const nodes: ClusterNode[] = [];
  let clients = 0;

  const addNs = (name: string) => {
    must(['ip', 'netns', 'add', name]);
    namespaces.push(name);
    must(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  };

  const spawnIn = (i: number, ns: string, argv: string[]): Proc => {
    const full = inNs(ns, argv);
    const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (d: Buffer) => outputs.set(i, (outputs.get(i) ?? '') + d.toString());
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const p = { child, exited };
    procs.set(i, [...(procs.get(i) ?? []), p]);
    return p;
  };

  const killNode = async (i: number, signal: NodeJS.Signals) => {
    const list = procs.get(i) ?? [];
    procs.set(i, []);
    for (const p of list) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      p.child.kill(signal);
      const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
      await p.exited;
      clearTimeout(t);
    }
  };

  const kubeconfig = () => join(nodes[0]!.dataDir, 'kubeconfig.yaml');

  const startServer = async () => {
    const n = nodes[0]!;
    const before = (outputs.get(1) ?? '').length;
    const p = spawnIn(1, n.ns, [
      process.execPath,
      CLI,
      'server',
      '--data-dir',
      n.dataDir,
      '--https-port',
      '6443',
      '--bind-address',
      n.ip,
      '--node-name',
      n.name,
      '--node-ip',
      n.ip,
      '--cluster-cidr',
      CLUSTER_CIDR,
      '--pod-network-backend',
      opts.backend,
      '--disable',
      (opts.disable ?? ['ingress', 'cloud-controller']).join(','),
      ...(opts.serverArgs ?? []),
    ]);
    await waitFor(
      'the server to register its node',
      async () => {
        if (p.child.exitCode !== null) throw new Error(`server exited:\n${outputs.get(1)}`);
        return (outputs.get(1) ?? '').slice(before).includes('kubelet registered node') ? true : undefined;
      },
      60_000,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${(outputs.get(1) ?? '').slice(before)}`);
    });
  };

  const agentArgv = (n: ClusterNode): string[] => {
    const token = readFileSync(join(nodes[0]!.dataDir, 'token'), 'utf8').trim();
    return [
      process.execPath,
      CLI,
      'agent',
      '--server',
      `https://${nodes[0]!.ip}:6443`,
      '--token',
      token,
      '--node-name',
      n.name,
      '--data-dir',
      n.dataDir,
      '--node-ip',
      n.ip,
      '--pod-network-backend',
      opts.backend,
    ];
  };

  const startAgent = async (i: number) => {
    const n = nodes[i - 1]!;
    spawnIn(i, n.ns, agentArgv(n));
  };

  const kubectl = (args: string[], stdin?: string) =>
    run(inNs(nodes[0]!.ns, [KUBECTL, ...args]), {
      env: { KUBECONFIG: kubeconfig() },
      ...(stdin !== undefined ? { stdin } : {}),
    });
  const kubectlOk = async (args: string[], stdin?: string) => {
    const r = await kubectl(args, stdin);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };

  const podNetns = async (pod: string, namespace: string) => {
    const p = JSON.parse(await kubectlOk(['get', 'pod', pod, '-n', namespace, '-o', 'json']));
    return `k8ts-${p.spec.nodeName}-${String(p.metadata.uid).replace(/-/g, '').slice(0, 12)}`;
  };

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const n of [...nodes].reverse()) await killNode(n.index, n.index === 1 ? 'SIGTERM' : 'SIGKILL');
    for (const n of nodes) {
      await run(
        inNs(n.ns, [
          process.execPath,
          CLI,
          'kubelet',
          '--cleanup',
          '--data-dir',
          n.kubeletDir,
          '--node-name',
          n.name,
        ]),
        { timeoutMs: 60_000 },
      );
    }
    // Pod namespaces a failed cleanup left behind (only ours: names carry our node names).
    let left: string[] = [];
    try {
      left = readdirSync('/run/netns').filter((f) => nodes.some((n) => f.startsWith(`k8ts-${n.name}-`)));
    } catch {
      left = [];
    }
    for (const f of left) spawnSync('ip', ['netns', 'del', f]);
    for (const ns of [...namespaces].reverse()) spawnSync('ip', ['netns', 'del', ns]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };

  try {
    addNs(lan);
    must(['ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge']);
    must(['ip', '-n', lan, 'link', 'set', 'br0', 'up']);
    // The LAN's "router": br0 holds the nodes' default gateway, but this namespace forwards
    // nothing and has no other route, so packets for unknown destinations die here. Nodes need
    // a default route as real ones have: without one, a ClusterIP with no endpoints is not
    // rejected (the REJECT sits in FORWARD, which a packet without a route never reaches).
    must(['ip', 'netns', 'exec', lan, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
    must(['ip', '-n', lan, 'addr', 'add', `${GATEWAY}/24`, 'dev', 'br0']);
    const plug = (ns: string, port: string, ip: string) => {
      // Created directly inside the two namespaces (temporary unique names, then renamed).
      const a = `mn${id}a`;
      const b = `mn${id}b`;
      must(['ip', 'link', 'add', a, 'netns', ns, 'type', 'veth', 'peer', 'name', b, 'netns', lan]);
      must(['ip', '-n', ns, 'link', 'set', a, 'name', 'eth0']);
      must(['ip', '-n', lan, 'link', 'set', b, 'name', port]);
      must(['ip', '-n', lan, 'link', 'set', port, 'master', 'br0', 'up']);
      must(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      must(['ip', '-n', ns, 'route', 'add', 'default', 'via', GATEWAY]);
    };
    for (let i = 1; i <= opts.nodes; i++) {
      const ns = `k8ts-mn${id}-n${i}`;
      addNs(ns);
      plug(ns, `p${i}`, `${SUBNET}.${i}`);
      const dataDir = mkdtempSync(join(tmpdir(), `k8ts-mn-n${i}-`));
      dirs.push(dataDir);
      nodes.push({
        index: i,
        name: `mn${id}-n${i}`,
        ns,
        ip: `${SUBNET}.${i}`,
        dataDir,
        // The server keeps its kubelet under <data-dir>/agent, `k8ts agent` in its data dir.
        kubeletDir: i === 1 ? join(dataDir, 'agent') : dataDir,
      });
    }
    log(`multinode: ${opts.nodes} nodes, ${opts.backend}, k8ts server + ${opts.nodes - 1} k8ts agent(s)`);
    await startServer();
    for (let i = 2; i <= opts.nodes; i++) await startAgent(i);
    await waitFor(
      `${opts.nodes} nodes Ready`,
      async () => {
        const r = await kubectl(['get', 'nodes', '-o', 'json']);
        if (r.code !== 0) return undefined;
        const items: any[] = JSON.parse(r.stdout).items;
        const ready = items.filter((n) =>
          n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready.length === opts.nodes ? true : undefined;
      },
      90_000,
    ).catch((e) => {
      throw new Error(
        `${(e as Error).message}\n${nodes.map((n) => `--- ${n.name}\n${outputs.get(n.index) ?? ''}`).join('\n')}`,
      );
    });
  } catch (e) {
    await cleanup();
    throw e;
  }

  const cluster: MultiNodeCluster = {
    nodes,
    backend: opts.backend,
    kubeconfig: kubeconfig(),
    kubectl,
    kubectlOk,
    exec: (i, argv, o = {}) =>
      run(inNs(nodes[i - 1]!.ns, argv), o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
    podExec: (pod, argv, namespace = 'default') => kubectl(['exec', '-n', namespace, pod, '--', ...argv]),
    async inPodNetns(pod, argv, namespace = 'default') {
      return run(inNs(await podNetns(pod, namespace), argv));
    },
    curlFromPod: (pod, url, namespace = 'default') =>
      kubectl(['exec', '-n', namespace, pod, '--', 'curl', '-s', '-m', '3', url]),
    addClient() {
      clients++;
      const ns = `k8ts-mn${id}-c${clients}`;
      const ip = `${SUBNET}.${199 + clients}`;
      addNs(ns);
      const a = `mn${id}a`;
      const b = `mn${id}b`;
      must(['ip', 'link', 'add', a, 'netns', ns, 'type', 'veth', 'peer', 'name', b, 'netns', lan]);
      must(['ip', '-n', ns, 'link', 'set', a, 'name', 'eth0']);
      must(['ip', '-n', lan, 'link', 'set', b, 'name', `c${clients}`]);
      must(['ip', '-n', lan, 'link', 'set', `c${clients}`, 'master', 'br0', 'up']);
      must(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      // A client stands for a router or a host upstream, which ignores ICMP redirects. Accepting
      // them, a SYN that reaches a node before its proxy knows a LoadBalancer address (forwarded
      // back out to the LAN gateway, so the node sends a redirect) would pin the address to the
      // gateway for minutes.
      must(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.accept_redirects=0']);
      must(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.conf.eth0.accept_redirects=0']);
      return { ns, ip, exec: (argv: string[]) => run(inNs(ns, argv)) };
    },
    stopAgent: (i, signal = 'SIGKILL') => {
      if (i === 1) throw new Error('node 1 runs the server: use restartServer');
      return killNode(i, signal);
    },
    startAgent,
    async restartServer() {
      await killNode(1, 'SIGTERM');
      await startServer();
    },
    output: (i) => outputs.get(i) ?? '',
    cleanup,
  };
  return cluster;
}
