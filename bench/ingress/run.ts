/**
 * Ingress data path: wrk through k8ts's data plane and, in the same run, through nginx (Debian)
 * configured as the reverse proxy ingress-nginx is (keep-alive upstream pool, HTTP/1.1 upstream,
 * X-Forwarded-* and X-Request-ID headers), plain HTTP and TLS, to the same upstream. Both proxies get
 * CPU 1 alone (nginx: master + 1 worker started under taskset; k8ts: this process pinned there);
 * the upstream (a second nginx returning a fixed body, 1 worker) and wrk (1 thread, 50
 * keep-alive connections) share CPU 0. Rounds alternate, medians reported. `--candidates` adds
 * the other data paths behind the same engine interface (node:http + undici Pool, http-proxy-3,
 * http-proxy). `--write` replaces the ingress section of bench/RESULTS.md.
 *
 *   npm run bench:ingress [-- --seconds 5] [-- --candidates] [-- --write]
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createCa } from '../../src/core/apiserver/pki/certs.js';
import { type IngressDataPlane, startIngressDataPlane } from '../../src/ingress/data-plane.js';
import type { EngineContext, ProxyEngine } from '../../src/ingress/proxy/engine.js';
import { backend, route, StaticRouteTable } from '../../src/ingress/testing/static-route-table.js';
import { median, parseWrk, type WrkResult, wrkRow } from '../service-proxy/wrk.js';
import { httpProxy3Engine, httpProxyEngine, undiciEngine } from './candidates.js';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const { values } = parseArgs({
  options: {
    write: { type: 'boolean' },
    candidates: { type: 'boolean' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds ?? 5);
const ROUNDS = Number(values.rounds ?? 3);
const CONNECTIONS = 50;
const BODY = 'hello from the upstream\n';

const procs: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

interface Run extends WrkResult {
  /** Requests per CPU-second the proxy under test spent: throughput per core, robust to a busy machine. */
  perCpuSecond: number;
}

/** wrk on CPU 0 as a child (so the in-process proxy keeps serving); `cpu` reads the proxy's CPU seconds. */
function wrk(url: string, cpu: () => number, seconds = SECONDS): Promise<Run> {
  return new Promise((resolveWrk) => {
    const before = cpu();
    const child = spawn(
      'taskset',
      ['-c', '0', 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.once('exit', () => {
      const used = cpu() - before;
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      resolveWrk({ ...parseWrk(out), perCpuSecond: used > 0 ? requests / used : Number.NaN });
    });
  });
}

/** CPU seconds (user + system) of a process and its children threads/processes from /proc. */
function procCpu(pid: number): number {
  const pids = [pid];
  try {
    pids.push(
      ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number),
    );
  } catch {}
  let ticks = 0;
  for (const p of pids) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch {}
  }
  return ticks / 100; // USER_HZ
}

const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** nginx (Debian) as our own process: `-p dir -c conf`, daemon off, one worker, pinned to `cpu`. */
function nginx(dir: string, name: string, cpu: number, body: string): ChildProcess {
  const prefix = join(dir, name);
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'daemon off;',
      'worker_processes 1;',
      'user root;',
      `pid ${prefix}/nginx.pid;`,
      `error_log ${prefix}/logs/error.log warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${prefix}/client_body;`,
      `  proxy_temp_path ${prefix}/proxy;`,
      `  fastcgi_temp_path ${prefix}/fastcgi;`,
      `  uwsgi_temp_path ${prefix}/uwsgi;`,
      `  scgi_temp_path ${prefix}/scgi;`,
      '  keepalive_requests 10000;',
      '  keepalive_timeout 75s;',
      body,
      '}',
      '',
    ].join('\n'),
  );
  const p = spawn('taskset', ['-c', String(cpu), 'nginx', '-p', prefix, '-c', conf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(p);
  return p;
}

/** curl as a child (asynchronous: the in-process proxies must keep serving). */
function curl(url: string): Promise<string> {
  return new Promise((res) => {
    const c = spawn('curl', ['-s', '-k', '-m', '1', url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.once('exit', () => res(out));
  });
}

async function ready(url: string): Promise<void> {
  let last = '';
  for (let i = 0; i < 100; i++) {
    last = await curl(url);
    if (last === BODY) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(
    `${url} does not answer the upstream body (last answer: ${JSON.stringify(last.slice(0, 200))})`,
  );
}

async function main(): Promise<void> {
  for (const tool of ['wrk', 'nginx', 'taskset', 'curl'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} is missing (apt-get install wrk nginx util-linux curl)`);
  const loadStart = loadavg()[0]!.toFixed(1);
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-ingress-'));
  const planes: IngressDataPlane[] = [];
  try {
    // This process (and so the k8ts data plane) on CPU 1; upstream and wrk on CPU 0.
    spawnSync('taskset', ['-cp', '1', String(process.pid)]);
    const cert = await createCa({ commonName: 'bench.ingress.local' });
    writeFileSync(join(dir, 'cert.pem'), cert.certPem);
    writeFileSync(join(dir, 'key.pem'), cert.keyPem);

    const upPort = await freePort();
    nginx(
      dir,
      'upstream',
      0,
      `  server { listen 127.0.0.1:${upPort} reuseport; location / { default_type text/plain; return 200 ${JSON.stringify(BODY)}; } }`,
    );
    const nHttp = await freePort();
    const nHttps = await freePort();
    // What ingress-nginx renders for one Ingress, minus Lua: keep-alive upstream pool, HTTP/1.1.
    const proxyNginx = nginx(
      dir,
      'proxy',
      1,
      [
        `  upstream pods { server 127.0.0.1:${upPort}; keepalive 320; keepalive_requests 10000; keepalive_timeout 60s; }`,
        '  server {',
        `    listen 127.0.0.1:${nHttp};`,
        `    listen 127.0.0.1:${nHttps} ssl;`,
        `    ssl_certificate ${dir}/cert.pem;`,
        `    ssl_certificate_key ${dir}/key.pem;`,
        '    ssl_protocols TLSv1.2 TLSv1.3;',
        '    location / {',
        '      proxy_http_version 1.1;',
        '      proxy_set_header Connection "";',
        '      proxy_set_header Host $host;',
        '      proxy_set_header X-Request-ID $request_id;',
        '      proxy_set_header X-Real-IP $remote_addr;',
        '      proxy_set_header X-Forwarded-For $remote_addr;',
        '      proxy_set_header X-Forwarded-Host $host;',
        '      proxy_set_header X-Forwarded-Port $server_port;',
        '      proxy_set_header X-Forwarded-Proto $scheme;',
        '      proxy_set_header X-Scheme $scheme;',
        '      proxy_pass http://pods;',
        '    }',
        '  }',
      ].join('\n'),
    );

    const table = new StaticRouteTable([
      route({ backend: backend('default/web:80', [`127.0.0.1:${upPort}`]) }),
    ]);
    const start = async (engine?: (ctx: EngineContext) => ProxyEngine) => {
      const dp = await startIngressDataPlane({
        host: '127.0.0.1',
        httpPort: 0,
        httpsPort: 0,
        table,
        defaultCertificate: cert,
        ...(engine ? { engine } : {}),
      });
      planes.push(dp);
      return dp;
    };
    const k8ts = await start();
    const urls: Record<string, string> = {
      direct: `http://127.0.0.1:${upPort}/`,
      nginxHttp: `http://127.0.0.1:${nHttp}/`,
      k8tsHttp: `http://127.0.0.1:${k8ts.httpPort}/`,
      nginxTls: `https://127.0.0.1:${nHttps}/`,
      k8tsTls: `https://127.0.0.1:${k8ts.httpsPort}/`,
    };
    if (values.candidates) {
      urls.undici = `http://127.0.0.1:${(await start(undiciEngine)).httpPort}/`;
      urls.httpProxy3 = `http://127.0.0.1:${(await start(httpProxy3Engine)).httpPort}/`;
      urls.httpProxy = `http://127.0.0.1:${(await start(httpProxyEngine)).httpPort}/`;
    }
    for (const [k, u] of Object.entries(urls))
      await ready(u).catch((err) => Promise.reject(new Error(`${k}: ${err.message}`)));
    const cpuOf = (k: string): (() => number) =>
      k === 'direct' ? () => Number.NaN : k.startsWith('nginx') ? () => procCpu(proxyNginx.pid!) : selfCpu;
    for (const [k, u] of Object.entries(urls)) await wrk(u, cpuOf(k), 1); // warm-up (JIT, pools), not measured
    const res: Record<string, Run[]> = Object.fromEntries(Object.keys(urls).map((k) => [k, []]));
    for (let i = 0; i < ROUNDS; i++)
      for (const [k, u] of Object.entries(urls)) {
        const r = await wrk(u, cpuOf(k));
        res[k]!.push(r);
        console.log(
          `round ${i + 1} ${k}: ${r.rps.toFixed(0)} req/s p50 ${r.p50} ms p99 ${r.p99} ms errors ${r.errors}, ${r.perCpuSecond.toFixed(0)} req per CPU-second`,
        );
      }
    const rps = (k: string) => median(res[k]!.map((r) => r.rps));
    const p99 = (k: string) => median(res[k]!.map((r) => r.p99));
    const perCpu = (k: string) => median(res[k]!.map((r) => r.perCpuSecond));
    const vs = (k: string, anchor: string) =>
      `${((rps(k) / rps(anchor)) * 100).toFixed(1)}% of nginx req/s (target >= 60%), p99 ${(p99(k) / p99(anchor)).toFixed(2)}x (target <= 2x); ${perCpu(k).toFixed(0)} req per CPU-second = ${((perCpu(k) / perCpu(anchor)) * 100).toFixed(1)}% of nginx's`;
    const anchorNote = (k: string, what: string) => `${what}; ${perCpu(k).toFixed(0)} req per CPU-second`;
    const rows = [
      '| path | requests/s (median of 3) | latency (median of 3) | errors | note |',
      '|---|---|---|---|---|',
      wrkRow('upstream directly', res.direct!, 'nginx returning a fixed body, CPU 0 (the ceiling)'),
      wrkRow(
        'nginx 1.22 reverse proxy, HTTP (anchor)',
        res.nginxHttp!,
        '1 worker on CPU 1, keepalive 320 upstream',
      ),
      wrkRow('k8ts ingress, HTTP (raw engine)', res.k8tsHttp!, vs('k8tsHttp', 'nginxHttp')),
      wrkRow(
        'nginx 1.22 reverse proxy, TLS (anchor)',
        res.nginxTls!,
        anchorNote('nginxTls', 'same, TLS 1.3, P-256 certificate'),
      ),
      wrkRow('k8ts ingress, TLS (raw engine)', res.k8tsTls!, vs('k8tsTls', 'nginxTls')),
    ];
    if (values.candidates)
      rows.push(
        wrkRow('candidate (a) node:http + undici Pool, HTTP', res.undici!, vs('undici', 'nginxHttp')),
        wrkRow(
          'candidate (b) node:http + http-proxy-3, HTTP',
          res.httpProxy3!,
          vs('httpProxy3', 'nginxHttp'),
        ),
        wrkRow(
          'candidate (b) node:http + http-proxy 1.18, HTTP',
          res.httpProxy!,
          vs('httpProxy', 'nginxHttp'),
        ),
      );
    const tableText = rows.join('\n');
    console.log(tableText);
    if (values.write) {
      const path = join(REPO, 'bench', 'RESULTS.md');
      let text = readFileSync(path, 'utf8');
      const cmd = `npm run bench:ingress -- --write${values.candidates ? ' --candidates' : ''}`;
      const section = `<!-- ingress:start -->\n## Ingress data path (issue 7)\n\nCommand: \`${cmd}\` (wrk -t1 -c${CONNECTIONS} -d${SECONDS}s and the upstream nginx on CPU 0; the proxy under test alone on CPU 1: nginx master + 1 worker, or the k8ts process; loopback; rounds alternate), run ${new Date().toISOString().slice(0, 16)}Z on this 2-vCPU VM, load average ${loadStart} when it started (other work shared the machine: absolute figures are noisy; the ratios come from the same run). "req per CPU-second" = requests / (user + system CPU seconds the proxy process spent during the run): throughput per core, which a busy machine disturbs less than requests/s.\n\n${tableText}\n<!-- ingress:end -->`;
      if (text.includes('<!-- ingress:start -->'))
        text = text.replace(/<!-- ingress:start -->[\s\S]*<!-- ingress:end -->/, section);
      else text = `${text.trimEnd()}\n\n${section}\n`;
      writeFileSync(path, text);
      console.log(`wrote ${path}`);
    }
  } finally {
    for (const dp of planes) await dp.close();
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
