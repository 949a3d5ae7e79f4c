/**
 * API server benchmark, with its anchor in the same run:
 *   npm run bench:apiserver -- [--seconds 5] [--concurrency 100] [--objects 10000] [--watchers 10,100,1000]
 *
 * Anchor: the raw SQLite durable write rate on the same disk (WAL, synchronous=FULL, one
 * transaction per write; and with group commit), no k8ts code.
 * Measured against a real `k8ts server` child process over HTTPS (keep-alive, client cert):
 *   - time to ready (spawn -> /readyz 200) and idle RSS,
 *   - creates/s and create latency (p50/p99) at N concurrent clients,
 *   - list latency of 10,000 objects,
 *   - watch fan-out: create -> event delivered to all N watchers latency, and events/s delivered.
 * Prints a Markdown table; `--write` also replaces the apiserver section of bench/RESULTS.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { groupCommitRate, rawDurableWriteRate } from '../storage/raw-sqlite.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '100' },
    objects: { type: 'string', default: '10000' },
    watchers: { type: 'string', default: '10,100,1000' },
    write: { type: 'boolean', default: false },
    /** Only the HTTP floor rows (echo servers), for a quick look. */
    'floor-only': { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const OBJECTS = Number(values.objects);
const WATCHERS = values.watchers.split(',').map(Number);
const REPO = resolve(import.meta.dirname, '..', '..', '..');
const CLI = join(REPO, 'dist', 'src', 'cli', 'main.js');
const ECHO = join(REPO, 'dist', 'bench', 'apiserver', 'echo-server.js');

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const ms = (n: number) => `${n.toFixed(1)} ms`;

interface Client {
  req(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  watch(path: string, onLine: (line: string) => void): { close(): void; ready: Promise<void> };
  close(): void;
}

function client(kubeconfig: string, maxSockets: number): Client {
  const kc = YAML.parse(readFileSync(kubeconfig, 'utf8'));
  const url = new URL(kc.clusters[0].cluster.server);
  const u = kc.users[0].user;
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets,
    ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64'),
    cert: Buffer.from(u['client-certificate-data'], 'base64'),
    key: Buffer.from(u['client-key-data'], 'base64'),
  });
  const base = { agent, hostname: url.hostname, port: url.port };
  return {
    req(method, path, body) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((res, rej) => {
        const r = https.request(
          {
            ...base,
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
      let resolveReady!: () => void;
      const ready = new Promise<void>((r) => (resolveReady = r));
      const watchAgent = new https.Agent({ ...agent.options, keepAlive: false });
      const r = https.request({ ...base, agent: watchAgent, method: 'GET', path }, (resp) => {
        resolveReady();
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
      });
      r.on('error', () => {});
      r.end();
      return { close: () => r.destroy(), ready };
    },
    close: () => agent.destroy(),
  };
}

async function startServer(dataDir: string) {
  const t0 = performance.now();
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
      // No node components: a benchmark must not touch the host's network (cluster DNS as root
      // would put 10.43.0.10 on this host and bind port 53).
      '--disable',
      'kubelet,service-proxy,dns,ingress,cloud-controller',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  const url = await new Promise<string>((res, rej) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m) res(m[1]!);
    });
    proc.once('exit', (c) => rej(new Error(`server exited ${c}: ${out}`)));
  });
  const c = client(join(dataDir, 'kubeconfig.yaml'), 4);
  for (;;) {
    const r = await c.req('GET', '/readyz').catch(() => ({ status: 0, body: '' }));
    if (r.status === 200) break;
    await new Promise((r2) => setTimeout(r2, 20));
  }
  const readyMs = performance.now() - t0;
  c.close();
  return { proc, url, readyMs };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function createLoad(c: Client, ns: string, seconds: number, concurrency: number) {
  const lat: number[] = [];
  let errors = 0;
  let n = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        const t = performance.now();
        const r = await c.req('POST', `/api/v1/namespaces/${ns}/configmaps`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `load-${w}-${i}` },
          data: { k: 'v'.repeat(64) },
        });
        if (r.status === 201) {
          lat.push(performance.now() - t);
          n++;
        } else errors++;
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { perSec: n / seconds, p50: pct(lat, 50), p99: pct(lat, 99), errors };
}

/**
 * Open loop: `clients` clients together offer `rate` creates/s on a fixed schedule (each client one
 * request every clients/rate seconds). Latency is measured from the scheduled send time, so time
 * spent waiting behind a slow request counts (no coordinated omission).
 */
async function createOpenLoop(c: Client, ns: string, seconds: number, clients: number, rate: number) {
  const lat: number[] = [];
  let errors = 0;
  const interval = (clients / rate) * 1000;
  const start = performance.now() + 50;
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      const offset = (w / clients) * interval;
      for (let i = 0; ; i++) {
        const due = start + offset + i * interval;
        if (due >= end) break;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const r = await c.req('POST', `/api/v1/namespaces/${ns}/configmaps`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `open-${rate}-${w}-${i}` },
          data: { k: 'v'.repeat(64) },
        });
        if (r.status === 201) lat.push(performance.now() - due);
        else errors++;
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { done: lat.length, p50: pct(lat, 50), p99: pct(lat, 99), errors };
}

/** Parse wrk's `--latency` output: a time like `51.90ms`, `1.20s`, `850.00us` in ms. */
function wrkMs(text: string, label: string): number {
  const m = new RegExp(`${label}\\s+([0-9.]+)(us|ms|s)`).exec(text);
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/**
 * Creates driven by wrk (C, one thread) with the bearer token: the load generator costs the shared
 * 2 cores far less than a Node client, so this measures the server.
 */
function wrkCreates(dataDir: string, url: string, ns: string, seconds: number, concurrency: number) {
  const token = readFileSync(join(dataDir, 'pki', 'admin.token'), 'utf8').trim();
  return wrkPosts({ dir: dataDir, url, ns, seconds, concurrency, token });
}

/** wrk POSTing ConfigMap creates (unique names) to `url`; one thread, `concurrency` connections. */
function wrkPosts(o: {
  dir: string;
  url: string;
  ns: string;
  seconds: number;
  concurrency: number;
  token: string;
}) {
  const { url, ns, seconds, concurrency, token } = o;
  const script = join(o.dir, 'create.lua');
  writeFileSync(
    script,
    `local n = 0
request = function()
  n = n + 1
  local body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"wrk-' .. n .. '-' .. math.random(1, 1000000000) .. '"},"data":{"k":"${'v'.repeat(64)}"}}'
  return wrk.format("POST", "/api/v1/namespaces/${ns}/configmaps", {["Content-Type"]="application/json", ["Authorization"]="Bearer ${token}"}, body)
end
`,
  );
  const r = spawnSync('wrk', ['-t1', `-c${concurrency}`, `-d${seconds}s`, '--latency', '-s', script, url], {
    encoding: 'utf8',
  });
  const out = r.stdout;
  const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(out)?.[1] ?? Number.NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { perSec: rps, p50: wrkMs(out, '50%'), p99: wrkMs(out, '99%'), errors: non2xx };
}

/**
 * The HTTP framework floor, same run: a create-shaped echo (no storage) on node:https and on hapi,
 * driven by wrk like the creates above. The API server left hapi for node:https on these figures.
 */
const FLOOR_LABEL: Record<string, string> = {
  node: 'node:https (what the API server uses)',
  'node-cluster': `node:https in ${availableParallelism()} node:cluster workers (every core)`,
  hapi: 'hapi 21 (what it used before)',
};

async function httpFloor(dir: string, dataDir: string): Promise<string[][]> {
  const rows: string[][] = [];
  const key = join(dataDir, 'pki', 'server.key');
  const cert = join(dataDir, 'pki', 'server.crt');
  for (const framework of ['node', 'node-cluster', 'hapi']) {
    const proc = spawn(process.execPath, [ECHO, '--framework', framework, '--key', key, '--cert', cert], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const url = await new Promise<string>((res, rej) => {
        let out = '';
        proc.stdout!.on('data', (d) => {
          out += d;
          const m = /listening on (https:\/\/\S+)/.exec(out);
          if (m) res(m[1]!);
        });
        proc.once('exit', (code) => rej(new Error(`echo server (${framework}) exited with ${code}`)));
      });
      const o = { dir, url, ns: 'floor', concurrency: CONCURRENCY, token: 'none' };
      wrkPosts({ ...o, seconds: 1 }); // warm-up
      const w = wrkPosts({ ...o, seconds: SECONDS });
      rows.push([
        `HTTP floor: create-shaped echo on ${FLOOR_LABEL[framework]}, ${CONCURRENCY} connections, wrk`,
        `${w.perSec.toFixed(0)} requests/s; p50 ${ms(w.p50)}, p99 ${ms(w.p99)}`,
        'no storage, no validation: the framework alone',
      ]);
    } finally {
      proc.kill('SIGKILL');
    }
  }
  return rows;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-api-'));
  const rows: string[][] = [];
  try {
    // Anchor, same disk, same run.
    const raw = await rawDurableWriteRate({ dir, seconds: SECONDS });
    const group = await groupCommitRate({ dir, seconds: SECONDS, concurrency: CONCURRENCY });
    rows.push([
      'raw SQLite durable writes, 1 txn/write (anchor)',
      `${raw.writesPerSec.toFixed(0)} writes/s`,
      '',
    ]);
    rows.push([
      `raw SQLite durable writes, group commit, ${CONCURRENCY} writers (anchor)`,
      `${group.writesPerSec.toFixed(0)} writes/s`,
      '',
    ]);

    const dataDir = join(dir, 'server');
    const { proc, readyMs, url } = await startServer(dataDir);
    await new Promise((r) => setTimeout(r, 2000));
    const idleRss = rssMb(proc.pid!);
    rows.push(['`k8ts server` spawn -> /readyz 200', ms(readyMs), 'target < 2000 ms']);
    rows.push(['`k8ts server` idle RSS', `${idleRss.toFixed(0)} MB`, 'target < 150 MB']);

    if (values['floor-only']) {
      rows.push(...(await httpFloor(dir, dataDir)));
      proc.kill('SIGTERM');
      console.log(rows.map((r) => `| ${r.join(' | ')} |`).join('\n'));
      return;
    }
    const c = client(join(dataDir, 'kubeconfig.yaml'), CONCURRENCY);
    await c.req('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'load' },
    });
    await createLoad(c, 'load', 1, CONCURRENCY); // warm-up
    const load = await createLoad(c, 'load', SECONDS, CONCURRENCY);
    rows.push([
      `creates/s, ${CONCURRENCY} concurrent clients (ConfigMap, HTTPS, Node client on the same 2 cores)`,
      `${load.perSec.toFixed(0)} creates/s (${((load.perSec / raw.writesPerSec) * 100).toFixed(0)}% of 1 txn/write anchor)`,
      'target >= 50% of anchor',
    ]);
    rows.push([
      `create latency, ${CONCURRENCY} concurrent clients (Node client)`,
      `p50 ${ms(load.p50)}, p99 ${ms(load.p99)}`,
      'target p99 < 20 ms',
    ]);
    for (const rate of [500, 1000]) {
      const ol = await createOpenLoop(c, 'load', SECONDS, CONCURRENCY, rate);
      rows.push([
        `create latency, ${CONCURRENCY} clients offering ${rate} creates/s together (open loop, Node client)`,
        `p50 ${ms(ol.p50)}, p99 ${ms(ol.p99)} (${ol.done} creates, ${ol.errors} errors)`,
        'target p99 < 20 ms',
      ]);
    }
    if (spawnSync('wrk', ['--version']).error === undefined) {
      const w = wrkCreates(dataDir, url, 'load', SECONDS, CONCURRENCY);
      rows.push([
        `creates/s, ${CONCURRENCY} connections, wrk (C client, bearer token)`,
        `${w.perSec.toFixed(0)} creates/s (${((w.perSec / raw.writesPerSec) * 100).toFixed(0)}% of 1 txn/write anchor), ${w.errors} non-2xx`,
        'target >= 50% of anchor',
      ]);
      rows.push([
        `create latency, ${CONCURRENCY} connections, wrk`,
        `p50 ${ms(w.p50)}, p99 ${ms(w.p99)}`,
        'target p99 < 20 ms',
      ]);
      for (const conc of [1, 10]) {
        const lw = wrkCreates(dataDir, url, 'load', SECONDS, conc);
        rows.push([
          `create latency, ${conc} connection(s), wrk`,
          `${lw.perSec.toFixed(0)} creates/s; p50 ${ms(lw.p50)}, p99 ${ms(lw.p99)}`,
          '',
        ]);
      }
      rows.push(...(await httpFloor(dir, dataDir)));
    } else {
      rows.push(['creates with wrk', 'skipped: wrk not installed (apt-get install wrk)', '']);
    }

    // List of 10,000 objects in one namespace.
    await c.req('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'list' },
    });
    let created = 0;
    await Promise.all(
      Array.from({ length: 50 }, async (_, w) => {
        for (let i = w; i < OBJECTS; i += 50) {
          const r = await c.req('POST', '/api/v1/namespaces/list/configmaps', {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `obj-${i}`, labels: { app: 'bench', shard: String(i % 10) } },
            data: { k: 'v'.repeat(64) },
          });
          if (r.status === 201) created++;
        }
      }),
    );
    const listLat: number[] = [];
    let items = 0;
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const r = await c.req('GET', '/api/v1/namespaces/list/configmaps');
      listLat.push(performance.now() - t);
      items = JSON.parse(r.body).items.length;
    }
    listLat.sort((a, b) => a - b);
    rows.push([
      `list ${items} ConfigMaps (JSON, ${created} created)`,
      `p50 ${ms(pct(listLat, 50))}, p99 ${ms(pct(listLat, 99))}`,
      '',
    ]);
    const selLat: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await c.req('GET', '/api/v1/namespaces/list/configmaps?labelSelector=shard%3D3');
      selLat.push(performance.now() - t);
    }
    selLat.sort((a, b) => a - b);
    rows.push([
      `list with labelSelector over ${items} (1/10 match)`,
      `p50 ${ms(pct(selLat, 50))}, p99 ${ms(pct(selLat, 99))}`,
      '',
    ]);

    // Watch fan-out.
    for (const n of WATCHERS) {
      const ns = `watch-${n}`;
      await c.req('POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns },
      });
      const list = JSON.parse((await c.req('GET', `/api/v1/namespaces/${ns}/configmaps`)).body);
      const rv = list.metadata.resourceVersion;
      const sentAt = new Map<string, number>();
      const deliveries: number[] = [];
      const events = 50;
      let received = 0;
      let done!: () => void;
      const all = new Promise<void>((r) => (done = r));
      const watchers = Array.from({ length: n }, () =>
        c.watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${rv}`, (line) => {
          const ev = JSON.parse(line);
          const t0 = sentAt.get(ev.object.metadata.name);
          if (t0 !== undefined) deliveries.push(performance.now() - t0);
          if (++received === n * events) done();
        }),
      );
      await Promise.all(watchers.map((w) => w.ready));
      const start = performance.now();
      for (let i = 0; i < events; i++) {
        const name = `ev-${i}`;
        sentAt.set(name, performance.now());
        await c.req('POST', `/api/v1/namespaces/${ns}/configmaps`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name },
        });
      }
      await Promise.race([all, new Promise((r) => setTimeout(r, 60_000))]);
      const elapsed = (performance.now() - start) / 1000;
      for (const w of watchers) w.close();
      deliveries.sort((a, b) => a - b);
      rows.push([
        `watch fan-out: ${n} watchers x ${events} creates`,
        `delivered ${received}/${n * events}; create->event p50 ${ms(pct(deliveries, 50))}, p99 ${ms(pct(deliveries, 99))}; ${(received / elapsed).toFixed(0)} events/s`,
        '',
      ]);
    }
    c.close();
    proc.kill('SIGTERM');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const header = `| measure | result | note |\n|---|---|---|\n`;
  const table = header + rows.map((r) => `| ${r.join(' | ')} |`).join('\n');
  console.log(table);
  if (values.write) {
    const path = join(REPO, 'bench', 'RESULTS.md');
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {}
    const section = `<!-- apiserver:start -->\n## API server (issue 2)\n\nCommand: \`npm run bench:apiserver -- --write\` (seconds=${SECONDS}, concurrency=${CONCURRENCY}, objects=${OBJECTS}, watchers=${WATCHERS.join(',')}), run ${new Date().toISOString().slice(0, 16)}Z on this machine (2 vCPU, shared VM; the client load generator runs on the same 2 cores).\n\n${table}\n<!-- apiserver:end -->`;
    if (text.includes('<!-- apiserver:start -->'))
      text = text.replace(/<!-- apiserver:start -->[\s\S]*<!-- apiserver:end -->/, section);
    else text = `${text || '# Benchmark results\n'}\n${section}\n`;
    writeFileSync(path, text);
  }
}

await main();
