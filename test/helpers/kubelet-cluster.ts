/**
 * A one-node cluster (`k8ts server` with its kubelet) for the kubelet tests, in one of two modes:
 * - rootless: the server runs here with `--rootless`; pods get loopback IPs;
 * - netns: the WHOLE node (API server + kubelet, its bridge, veths, pod namespaces and NAT rules)
 *   runs inside a private network namespace made for the test (`nsenter --net`), with no route
 *   out; kubectl and curl run in that namespace too.
 * Cleanup kills the server by PID, runs `k8ts kubelet --cleanup` (kills the pod processes, removes
 * the pod namespaces the kubelet made) and deletes the test namespace, also after a failure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Run, run } from './run.js';
import { CLI, KUBECTL } from './server.js';

export interface KubeletCluster {
  mode: 'rootless' | 'netns';
  nodeName: string;
  dataDir: string;
  /** The kubelet's data dir (`<data-dir>/agent`). */
  agentDir: string;
  kubectl(args: string[], stdin?: string): Promise<Run>;
  kubectlOk(args: string[], stdin?: string): Promise<string>;
  /** curl from where the pods are reachable (here, or inside the test namespace). */
  curl(url: string): Promise<Run>;
  /** Run a command where the node runs (inside the namespace in netns mode). */
  exec(argv: string[]): Promise<Run>;
  /** SIGTERM the server (kubelet included) and start it again on the same data dir. */
  restart(): Promise<void>;
  output(): string;
  close(): Promise<void>;
}

export interface ClusterOptions {
  mode: 'rootless' | 'netns';
  /** Node components to run besides the kubelet (e.g. ingress, cloud-controller). */
  enable?: string[];
  /** Extra `k8ts server` flags. */
  args?: string[];
}

const random = () => Math.random().toString(36).slice(2, 8);

/** Start the node; in netns mode the caller must be root. */
export async function startKubeletCluster(opts: ClusterOptions): Promise<KubeletCluster> {
  const id = random();
  const nodeName = `kt-${id}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'k8ts-kubelet-test-'));
  const agentDir = join(dataDir, 'agent');
  // A cluster CIDR of our own: rootless pod IPs (127.<b>.0.x) must not collide with another test's.
  const b = 100 + Math.floor(Math.random() * 150);
  const clusterCidr = `10.${b}.0.0/16`;
  const ns = opts.mode === 'netns' ? `k8ts-kt-${id}` : undefined;
  // nsenter --net (not `ip netns exec`): the same network namespace, but the host's mount
  // namespace, so the pod namespaces the kubelet mounts under /run/netns are visible to every
  // process (ip netns exec gives each command a private mount namespace whose mounts stay there).
  const inNs = (argv: string[]) => (ns ? ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv] : argv);
  if (ns) {
    const r = await run(['ip', 'netns', 'add', ns]);
    if (r.code !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr}`);
    await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
  let out = '';
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let url = '';
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  const start = async () => {
    const argv = inNs([
      process.execPath,
      CLI,
      'server',
      '--data-dir',
      dataDir,
      '--https-port',
      '0',
      '--bind-address',
      '127.0.0.1',
      '--disable',
      // In a namespace of its own the node also runs the cluster DNS on 10.43.0.10 (pods resolve
      // through it); rootless, DNS would take a host port and is tested on its own (dns.test.ts).
      (opts.mode === 'netns'
        ? ['service-proxy', 'ingress', 'cloud-controller']
        : ['service-proxy', 'dns', 'ingress', 'cloud-controller']
      )
        .filter((c) => !opts.enable?.includes(c))
        .join(','),
      '--cluster-cidr',
      clusterCidr,
      '--node-name',
      nodeName,
      '--kubelet-port',
      '0',
      ...(opts.mode === 'rootless' ? ['--rootless'] : []),
      ...(opts.args ?? []),
    ]);
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (out += d));
    exited = new Promise<void>((res) => p.once('exit', () => res()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start in 30s:\n${out}`)), 30_000);
      const check = () => {
        const m = /listening on (https:\/\/\S+)/.exec(out);
        if (m) url = m[1]!;
        if (url && out.includes('kubelet registered node')) {
          clearTimeout(timer);
          resolve();
        }
      };
      p.stdout!.on('data', check);
      p.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${out}`));
      });
    });
  };
  const stop = async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  };
  const cluster: KubeletCluster = {
    mode: opts.mode,
    nodeName,
    dataDir,
    agentDir,
    kubectl: (args, stdin) =>
      run(inNs([KUBECTL, ...args]), {
        env: { KUBECONFIG: kubeconfig },
        ...(stdin !== undefined ? { stdin } : {}),
      }),
    async kubectlOk(args, stdin) {
      const r = await cluster.kubectl(args, stdin);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    },
    curl: (u) => run(inNs(['curl', '-s', '-m', '3', u]), { timeoutMs: 10_000 }),
    exec: (argv) => run(inNs(argv)),
    async restart() {
      await stop();
      await start();
    },
    output: () => out,
    async close() {
      await stop();
      await run(
        inNs([
          process.execPath,
          CLI,
          'kubelet',
          '--cleanup',
          '--data-dir',
          agentDir,
          '--node-name',
          nodeName,
          ...(opts.mode === 'rootless' ? ['--rootless'] : []),
        ]),
      );
      if (ns) await run(['ip', 'netns', 'del', ns]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await start();
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}

export { waitFor } from './wait.js';
