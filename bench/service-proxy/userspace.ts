/**
 * Service proxy, userspace mode (rootless): HTTP requests/s through the userspace proxier beside
 * HAProxy (Debian) in TCP mode doing the same job (one listener -> the same backend), in the same
 * run, on loopback. The proxy under test gets CPU 1 to itself (this process is pinned there while
 * the proxier runs; HAProxy is started pinned there, one thread); the backend (a Node HTTP
 * server) and wrk (one thread, 50 keep-alive connections) share CPU 0. Rounds alternate,
 * 3 each, medians reported. `--write` replaces the service-proxy-userspace section of RESULTS.md.
 *
 *   npm run bench:service-proxy-userspace [-- --seconds 5] [-- --write]
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EndpointsChangeTracker, ServiceChangeTracker } from '../../src/service-proxy/change-tracker.js';
import { ProxyState } from '../../src/service-proxy/proxy-state.js';
import { slice, svc } from '../../src/service-proxy/testing/fixtures.js';
import { UserspaceProxier } from '../../src/service-proxy/userspace-proxier.js';
import { median, parseWrk, type WrkResult, wrkRow } from './wrk.js';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const { values } = parseArgs({ options: { write: { type: 'boolean' }, seconds: { type: 'string' } } });
const SECONDS = Number(values.seconds ?? 5);
const ROUNDS = 3;
const BACKEND_IP = '127.0.0.11';
const SERVER_JS =
  "const s=require('http').createServer((q,r)=>r.end('ok'));s.listen(0,process.argv[1],()=>console.log('port '+s.address().port))";

const procs: ChildProcess[] = [];

function freePort(host: string): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, host, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

function started(p: ChildProcess, re: RegExp): Promise<string> {
  return new Promise((res, rej) => {
    let out = '';
    const on = (d: Buffer) => {
      out += d;
      const m = re.exec(out);
      if (m) res(m[1] ?? m[0]);
    };
    p.stdout?.on('data', on);
    p.stderr?.on('data', on);
    p.once('exit', (c) => rej(new Error(`${p.spawnfile} exited with ${c}: ${out}`)));
  });
}

/** wrk on CPU 0 as a child, so the in-process proxier keeps serving meanwhile. */
function wrk(url: string, seconds = SECONDS): Promise<WrkResult> {
  return new Promise((resolveWrk) => {
    const child = spawn('taskset', ['-c', '0', 'wrk', '-t1', '-c50', `-d${seconds}s`, '--latency', url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.once('exit', () => resolveWrk(parseWrk(out)));
  });
}

async function main(): Promise<void> {
  for (const tool of ['wrk', 'haproxy', 'taskset'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} is missing (apt-get install wrk haproxy util-linux)`);
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-us-'));
  let proxier: UserspaceProxier | undefined;
  try {
    // This process (and so the proxier) on CPU 1; backend and wrk on CPU 0.
    spawnSync('taskset', ['-cp', '1', String(process.pid)]);
    const backend = spawn('taskset', ['-c', '0', process.execPath, '-e', SERVER_JS, BACKEND_IP], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    procs.push(backend);
    const backendPort = Number(await started(backend, /port (\d+)/));

    // The userspace proxier: one Service whose only endpoint is the backend.
    const listen = { host: '127.0.0.1', port: await freePort('127.0.0.1') };
    proxier = new UserspaceProxier({ nodeName: 'node-a', addressFor: () => listen, log: () => {} });
    const state = new ProxyState();
    const st = new ServiceChangeTracker();
    const et = new EndpointsChangeTracker();
    st.update(
      undefined,
      svc({
        name: 'web',
        clusterIP: '10.43.0.10',
        ports: [{ name: 'http', port: 80, targetPort: backendPort }],
      }),
    );
    et.update(
      slice([BACKEND_IP], { service: 'web', name: 'web-1', ports: [{ name: 'http', port: backendPort }] }),
    );
    const changed = new Set([...st.checkout(state).changed, ...et.checkout(state).changed]);
    await proxier.sync({
      state,
      changedServices: changed,
      full: true,
      staleEndpoints: [],
      newlyActiveUdp: [],
      removedServicePorts: [],
    });

    // HAProxy, TCP mode, one thread, pinned to CPU 1.
    const hport = await freePort('127.0.0.1');
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(
      cfg,
      [
        'global',
        '  nbthread 1',
        '  maxconn 4000',
        'defaults',
        '  mode tcp',
        '  timeout connect 5s',
        '  timeout client 60s',
        '  timeout server 60s',
        'frontend f',
        `  bind 127.0.0.1:${hport}`,
        '  default_backend b',
        'backend b',
        `  server s1 ${BACKEND_IP}:${backendPort}`,
        '',
      ].join('\n'),
    );
    const haproxy = spawn('taskset', ['-c', '1', 'haproxy', '-db', '-f', cfg], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    procs.push(haproxy);
    for (let i = 0; i < 50; i++) {
      if (spawnSync('curl', ['-s', '-m', '1', `http://127.0.0.1:${hport}/`]).stdout.toString() === 'ok')
        break;
      await new Promise((r) => setTimeout(r, 100));
    }

    const urls = {
      direct: `http://${BACKEND_IP}:${backendPort}/`,
      userspace: `http://${listen.host}:${listen.port}/`,
      haproxy: `http://127.0.0.1:${hport}/`,
    };
    for (const u of Object.values(urls)) await wrk(u, 1); // warm-up, not measured
    const res: Record<keyof typeof urls, WrkResult[]> = { direct: [], userspace: [], haproxy: [] };
    for (let i = 0; i < ROUNDS; i++) {
      res.direct.push(await wrk(urls.direct));
      res.userspace.push(await wrk(urls.userspace));
      res.haproxy.push(await wrk(urls.haproxy));
    }
    const row = wrkRow;
    const ratio = median(res.userspace.map((r) => r.rps)) / median(res.haproxy.map((r) => r.rps));
    const table = [
      '| path | requests/s (median of 3) | latency (median of 3) | errors | note |',
      '|---|---|---|---|---|',
      row('backend directly', res.direct, 'no proxy (the backend is the ceiling)'),
      row('HAProxy, TCP mode, 1 thread (anchor)', res.haproxy, 'Debian haproxy on CPU 1'),
      row('k8ts userspace proxier', res.userspace, `${(ratio * 100).toFixed(1)}% of HAProxy; target >= 70%`),
    ].join('\n');
    console.log(table);
    if (values.write) {
      const path = join(REPO, 'bench', 'RESULTS.md');
      let text = readFileSync(path, 'utf8');
      const section = `<!-- service-proxy-userspace:start -->\n## Service proxy, userspace mode (issue 5)\n\nCommand: \`npm run bench:service-proxy-userspace -- --write\` (wrk -t1 -c50 -d${SECONDS}s and the Node HTTP backend on CPU 0; the proxy under test alone on CPU 1; loopback; rounds alternate), run ${new Date().toISOString().slice(0, 16)}Z on this 2-vCPU VM.\n\n${table}\n<!-- service-proxy-userspace:end -->`;
      if (text.includes('<!-- service-proxy-userspace:start -->'))
        text = text.replace(
          /<!-- service-proxy-userspace:start -->[\s\S]*<!-- service-proxy-userspace:end -->/,
          section,
        );
      else text = `${text.trimEnd()}\n\n${section}\n`;
      writeFileSync(path, text);
      console.log(`wrote ${path}`);
    }
  } finally {
    await proxier?.stop();
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
