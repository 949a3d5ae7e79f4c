/**
 * Scheduler benchmark against a real `k8ts server` child process:
 *   npx tsc -p tsconfig.json && node dist/bench/scheduler/run.js [--nodes 1000] [--pods 30000]
 *       [--concurrency 100] [--timeout 900]
 *
 * Creates N Node objects directly (Ready, allocatable 32 cpu / 128Gi / 110 pods, three zones; no
 * heartbeats: the server runs with a one-hour node monitor grace so none turns NotReady), then
 * creates M pods (requests 100m / 500Mi, as scheduler_perf's default pod) from `concurrency`
 * concurrent clients, and watches the namespace to time every binding. Reports pods scheduled per
 * second from the first create to the last binding, and the steady rate (10% -> 90% bound), beside
 * kube-scheduler's published scheduler_perf threshold. Prints a Markdown table.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import type { KObj } from '../../src/core/client/informer.js';
import { loadKubeconfig, RestClient } from '../../src/core/client/rest-client.js';
import { startHollowNodes } from '../../src/core/hollow/hollow-nodes.js';
import { Scheduler } from '../../src/core/scheduler/scheduler.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    pods: { type: 'string', default: '30000' },
    concurrency: { type: 'string', default: '100' },
    timeout: { type: 'string', default: '900' },
    'deployment-replicas': { type: 'string', default: '1000' },
    'hollow-nodes': { type: 'string', default: '1000' },
  },
});
const NODES = Number(values.nodes);
const PODS = Number(values.pods);
const CONCURRENCY = Number(values.concurrency);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const REPO = resolve(import.meta.dirname, '..', '..', '..');
const CLI = join(REPO, 'dist', 'src', 'cli', 'main.js');
const NS = 'sched-bench';
const REPLICAS = Number(values['deployment-replicas']);
const HOLLOW = Number(values['hollow-nodes']);

/** kube-scheduler's anchor: the scheduler_perf CI threshold (minimum average pods/s) of the closest workload. */
const UPSTREAM = {
  figure: 680,
  workload: 'SchedulingBasic/5000Nodes_10000Pods',
  source:
    'https://github.com/kubernetes/kubernetes/blob/master/test/integration/scheduler_perf/misc/performance-config.yaml',
  note: 'CI fails below this average; 5000Nodes_50000Pods: 810 pods/s. Go, in-process API server + etcd, dedicated CI machine',
};

interface Client {
  req(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  watch(path: string, onLine: (line: string) => void): { close(): void };
  close(): void;
}

function client(kubeconfig: string, maxSockets: number): Client {
  const kc = YAML.parse(readFileSync(kubeconfig, 'utf8'));
  const url = new URL(kc.clusters[0].cluster.server);
  const u = kc.users[0].user;
  const tls = {
    ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64'),
    cert: Buffer.from(u['client-certificate-data'], 'base64'),
    key: Buffer.from(u['client-key-data'], 'base64'),
  };
  const agent = new https.Agent({ keepAlive: true, maxSockets, ...tls });
  const base = { hostname: url.hostname, port: url.port };
  return {
    req(method, path, body) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((res, rej) => {
        const r = https.request(
          {
            ...base,
            agent,
            method,
            path,
            headers: { accept: 'application/json', 'content-type': 'application/json' },
          },
          (resp) => {
            let data = '';
            resp.setEncoding('utf8');
            resp.on('data', (c) => (data += c));
            resp.on('end', () => res({ status: resp.statusCode ?? 0, body: data }));
          },
        );
        r.on('error', rej);
        r.end(payload);
      });
    },
    watch(path, onLine) {
      const r = https.request(
        { ...base, ...tls, agent: false, method: 'GET', path, headers: { accept: 'application/json' } },
        (resp) => {
          let buf = '';
          resp.setEncoding('utf8');
          resp.on('data', (c: string) => {
            buf += c;
            let nl = buf.indexOf('\n');
            while (nl >= 0) {
              onLine(buf.slice(0, nl));
              buf = buf.slice(nl + 1);
              nl = buf.indexOf('\n');
            }
          });
        },
      );
      r.on('error', () => {});
      r.end();
      return { close: () => r.destroy() };
    },
    close: () => agent.destroy(),
  };
}

async function startServer(dataDir: string): Promise<{ proc: ChildProcess; log: () => string }> {
  const proc = spawn(
    process.execPath,
    [
      // e.g. K8TS_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the server.
      ...(process.env.K8TS_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      CLI,
      'server',
      '--data-dir',
      dataDir,
      '--https-port',
      '0',
      '--bind-address',
      '127.0.0.1',
      // No node components: a benchmark must not touch the host's network.
      '--disable',
      'kubelet,service-proxy,dns,ingress,cloud-controller',
      '--node-monitor-grace-period',
      '3600',
      // Room for a /24 per node (the default /16 holds 256 nodes).
      '--cluster-cidr',
      '10.32.0.0/12',
      '--disable',
      'kubelet,service-proxy,dns,ingress,cloud-controller',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => {
    err = (err + d).slice(-8000);
  });
  await new Promise<void>((res, rej) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      if (/listening on https:\/\//.test(out)) res();
    });
    proc.once('exit', (c) => rej(new Error(`server exited ${c}: ${out}${err}`)));
  });
  return { proc, log: () => err };
}

/** Run `count` jobs with at most `concurrency` in flight. */
async function pool(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** The q-quantile of an ascending array. */
function pct(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const rfc3339 = () => `${new Date().toISOString().slice(0, 19)}Z`;

function node(i: number) {
  const name = `node-${String(i).padStart(5, '0')}`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `zone-${i % 3}` },
    },
    spec: {},
    status: {
      capacity: { cpu: '32', memory: '128Gi', pods: '110' },
      allocatable: { cpu: '32', memory: '128Gi', pods: '110' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          lastHeartbeatTime: rfc3339(),
          lastTransitionTime: rfc3339(),
        },
      ],
    },
  };
}

function pod(i: number) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace: NS, labels: { app: 'bench' } },
    spec: {
      containers: [
        {
          name: 'pause',
          image: 'registry.k8s.io/pause:3.10',
          resources: { requests: { cpu: '100m', memory: '500Mi' } },
        },
      ],
    },
  };
}

async function mustCreate(c: Client, path: string, body: unknown): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const r = await c.req('POST', path, body);
    if (r.status === 201 || r.status === 409) return;
    if (attempt >= 5) throw new Error(`POST ${path}: ${r.status} ${r.body.slice(0, 300)}`);
    await new Promise((res) => setTimeout(res, 100 * 2 ** attempt));
  }
}

/**
 * The scheduler alone, in this process: the same Scheduler fed the same nodes and pods directly,
 * with a binding API that answers at once and confirms the binding as the watch would. This is the
 * ceiling the scheduler itself puts on the end-to-end figure (scheduler_perf measures the same loop).
 */
async function inProcess(): Promise<number> {
  let bound = 0;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const s: Scheduler = new Scheduler({
    api: {
      async bind(p: KObj, nodeName: string) {
        const b = { ...p, spec: { ...p.spec, nodeName } };
        queueMicrotask(() => {
          s.onPodUpdate(b, p);
          if (++bound === PODS) finish();
        });
      },
      async markUnschedulable() {},
      event() {},
    },
  });
  for (let i = 0; i < NODES; i++) s.onNodeAdd(node(i));
  const pods = Array.from({ length: PODS }, (_, i) => {
    const p: KObj = pod(i);
    p.metadata.uid = `uid-${i}`;
    p.metadata.resourceVersion = '1';
    p.spec.schedulerName = 'default-scheduler';
    return p;
  });
  const t0 = performance.now();
  for (const p of pods) s.onPodAdd(p);
  s.start();
  await done;
  s.stop();
  return PODS / ((performance.now() - t0) / 1000);
}

interface DeploymentRun {
  registerSecs: number;
  allRunningSecs: number;
  availableSecs: number;
  /** Per pod: first seen -> seen Running + Ready, ms, sorted. */
  startup: number[];
}

/**
 * A fresh server with `HOLLOW` hollow nodes (Leases, status, pods reported Running + Ready like
 * kwok); one Deployment of `REPLICAS` replicas; time from its create to every pod Running + Ready
 * (watch) and to the Deployment reporting them available.
 */
async function deploymentToRunning(): Promise<DeploymentRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'k8ts-deploy-bench-'));
  const server = await startServer(dataDir);
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  const rc = new RestClient({ ...loadKubeconfig(kubeconfig), userAgent: 'k8ts-hollow-nodes' });
  const c = client(kubeconfig, 16);
  const r0 = performance.now();
  const hollow = await startHollowNodes(rc, {
    count: HOLLOW,
    namePrefix: 'hn-',
    zones: ['a', 'b', 'c'],
    log: () => {},
  });
  const registerSecs = (performance.now() - r0) / 1000;
  console.error(`registered ${HOLLOW} hollow nodes in ${registerSecs.toFixed(1)} s`);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const list = JSON.parse((await c.req('GET', '/api/v1/namespaces/default/pods')).body);
    const firstSeen = new Map<string, number>();
    const startup: number[] = [];
    let allRunning!: () => void;
    const running = new Promise<void>((r) => (allRunning = r));
    let runningAt = 0;
    const w = c.watch(
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
      (line) => {
        if (!line.trim()) return;
        const o = JSON.parse(line).object;
        const name = o?.metadata?.name;
        if (!name) return;
        const now = performance.now();
        if (!firstSeen.has(name)) firstSeen.set(name, now);
        const ready =
          o.status?.phase === 'Running' &&
          o.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True');
        if (ready && firstSeen.get(name)! >= 0) {
          startup.push(now - firstSeen.get(name)!);
          firstSeen.set(name, -1);
          if (startup.length === REPLICAS) {
            runningAt = now;
            allRunning();
          }
        }
      },
    );
    const t0 = performance.now();
    await mustCreate(c, '/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'big' },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: { app: 'big' } },
        template: {
          metadata: { labels: { app: 'big' } },
          spec: {
            containers: [
              {
                name: 'c',
                image: 'registry.k8s.io/pause:3.10',
                resources: { requests: { cpu: '100m', memory: '50Mi' } },
              },
            ],
          },
        },
      },
    });
    const progress = setInterval(
      () =>
        console.error(
          `  t=${((performance.now() - t0) / 1000).toFixed(0)} s: ${startup.length}/${REPLICAS} Running`,
        ),
      5000,
    );
    const timedOut = await Promise.race([
      running.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), TIMEOUT_MS).unref()),
    ]);
    clearInterval(progress);
    w.close();
    if (timedOut)
      throw new Error(
        `deployment: only ${startup.length}/${REPLICAS} pods Running after ${TIMEOUT_MS / 1000} s`,
      );
    let availableAt = 0;
    for (;;) {
      const d = JSON.parse((await c.req('GET', '/apis/apps/v1/namespaces/default/deployments/big')).body);
      if (d.status?.availableReplicas === REPLICAS) {
        availableAt = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    startup.sort((a, b) => a - b);
    return {
      registerSecs,
      allRunningSecs: (runningAt - t0) / 1000,
      availableSecs: (availableAt - t0) / 1000,
      startup,
    };
  } finally {
    await hollow.stop();
    rc.close();
    c.close();
    server.proc.kill('SIGTERM');
    await new Promise((r) => server.proc.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dep = REPLICAS > 0 ? await deploymentToRunning() : undefined;
  const alone = await inProcess();
  console.error(`scheduler alone (in-process, instant bindings): ${alone.toFixed(0)} pods/s`);
  const dataDir = mkdtempSync(join(tmpdir(), 'k8ts-sched-bench-'));
  const server = await startServer(dataDir);
  const c = client(join(dataDir, 'kubeconfig.yaml'), CONCURRENCY);
  try {
    await mustCreate(c, '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS },
    });
    const n0 = performance.now();
    await pool(NODES, 50, (i) => mustCreate(c, '/api/v1/nodes', node(i)));
    const nodeSecs = (performance.now() - n0) / 1000;
    console.error(`created ${NODES} nodes in ${nodeSecs.toFixed(1)} s`);

    // Give the scheduler's node informer a moment to see them all (it lists + watches in the server).
    await new Promise((r) => setTimeout(r, 1000));

    const list = JSON.parse((await c.req('GET', `/api/v1/namespaces/${NS}/pods`)).body);
    const boundAt: number[] = [];
    const perNode = new Map<string, number>();
    const seen = new Set<string>();
    let allBound!: () => void;
    const done = new Promise<void>((r) => (allBound = r));
    const w = c.watch(
      `/api/v1/namespaces/${NS}/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
      (line) => {
        if (!line.trim()) return;
        const ev = JSON.parse(line);
        const o = ev.object;
        const nodeName = o?.spec?.nodeName;
        if (!nodeName || seen.has(o.metadata.name)) return;
        seen.add(o.metadata.name);
        boundAt.push(performance.now());
        perNode.set(nodeName, (perNode.get(nodeName) ?? 0) + 1);
        if (seen.size === PODS) allBound();
      },
    );

    const t0 = performance.now();
    let createdAt = 0;
    const creating = pool(PODS, CONCURRENCY, (i) =>
      mustCreate(c, `/api/v1/namespaces/${NS}/pods`, pod(i)),
    ).then(() => (createdAt = performance.now()));
    const progress = setInterval(() => {
      console.error(`  t=${((performance.now() - t0) / 1000).toFixed(0)} s: bound ${seen.size}/${PODS}`);
    }, 5000);
    const timedOut = await Promise.race([
      done.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), TIMEOUT_MS).unref()),
    ]);
    clearInterval(progress);
    await creating;
    w.close();

    const bound = boundAt.length;
    const tEnd = bound ? boundAt[bound - 1]! : performance.now();
    const total = (tEnd - t0) / 1000;
    const at = (f: number) => boundAt[Math.min(bound - 1, Math.floor(f * PODS))]!;
    const steady = bound >= PODS * 0.9 ? (0.8 * PODS) / ((at(0.9) - at(0.1)) / 1000) : Number.NaN;
    const createSecs = (createdAt - t0) / 1000;
    const counts = [...perNode.values()];
    const min = counts.length < NODES ? 0 : Math.min(...counts);
    const max = Math.max(0, ...counts);

    const rows: [string, string, string][] = [
      ['nodes / pods', `${NODES} / ${PODS}`, `pods created by ${CONCURRENCY} concurrent clients`],
      [
        'pods created per second',
        `${(PODS / createSecs).toFixed(0)} creates/s (${createSecs.toFixed(1)} s)`,
        'same server, same 2 cores',
      ],
      [
        'first create -> all bound',
        timedOut ? `timed out: ${bound}/${PODS} bound` : `${total.toFixed(1)} s`,
        '',
      ],
      [
        '**pods scheduled per second, overall**',
        `**${(bound / total).toFixed(0)} pods/s**`,
        'target >= 500 pods/s',
      ],
      ['pods scheduled per second, steady (10% -> 90% bound)', `${steady.toFixed(0)} pods/s`, ''],
      [
        'scheduler alone, in-process (instant bindings)',
        `${alone.toFixed(0)} pods/s`,
        'the scheduling loop without the API server: its own ceiling',
      ],
      ['spread: pods per node (min / max)', `${min} / ${max}`, `ideal ${(PODS / NODES).toFixed(0)}`],
      ...(dep
        ? ([
            [
              `**${REPLICAS}-replica Deployment: create -> all pods Running + Ready**`,
              `**${dep.allRunningSecs.toFixed(1)} s**`,
              `${HOLLOW} hollow nodes (registered in ${dep.registerSecs.toFixed(1)} s), fresh server; Deployment status shows all available at ${dep.availableSecs.toFixed(1)} s`,
            ],
            [
              'pod startup in that Deployment (first seen -> Running + Ready), p50 / p99',
              `${pct(dep.startup, 0.5).toFixed(0)} / ${pct(dep.startup, 0.99).toFixed(0)} ms`,
              'anchor: Kubernetes pod startup SLO p99 <= 5 s (stateless pods, image pull excluded); hollow kubelets start pods at once',
            ],
          ] as [string, string, string][])
        : []),
      [
        `kube-scheduler (anchor): scheduler_perf ${UPSTREAM.workload}`,
        `${UPSTREAM.figure} pods/s`,
        `${UPSTREAM.note}; [source](${UPSTREAM.source})`,
      ],
    ];
    console.log(
      `\nCommand: \`node dist/bench/scheduler/run.js --nodes ${NODES} --pods ${PODS} --concurrency ${CONCURRENCY} --deployment-replicas ${REPLICAS} --hollow-nodes ${HOLLOW}\`, run ${new Date().toISOString().slice(0, 16)}Z on this machine (${cpus().length} vCPU; server, scheduler and load generator share them).\n`,
    );
    console.log('| measure | result | note |\n|---|---|---|');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    const ev = JSON.parse((await c.req('GET', `/api/v1/namespaces/${NS}/events?limit=1`)).body);
    const evCount = (ev.items?.length ?? 0) + (ev.metadata?.remainingItemCount ?? 0);
    console.log(
      `\n(${evCount} Scheduled events written, the rest dropped by the scheduler's bounded event queue.)`,
    );
    const errLog = server.log().trim();
    if (errLog) console.error(`\nserver stderr (last lines):\n${errLog.split('\n').slice(-10).join('\n')}`);
    if (timedOut) process.exitCode = 1;
  } finally {
    c.close();
    server.proc.kill('SIGTERM');
    await new Promise((r) => server.proc.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
