/**
 * Kubelet streaming benchmark (exec and port-forward through the API server), with anchors in the
 * same run:
 *   npm run build && node dist/bench/kubelet-streams/run.js [--execs 200] [--mib 256] [--kubectl-runs 10] [--write]
 *
 * A real `k8ts server` child process; the kubelet streaming server runs in this process with the
 * test runtime (exec = a real process). Measured:
 *   - exec round trip over WebSocket v5 through the API server (`true`): p50/p99,
 *     anchor: spawning `true` directly in this process (the process cost every exec pays);
 *   - `kubectl exec -- true` wall time (kubectl 1.32), anchor: `kubectl version --client`
 *     (Go binary start-up that every kubectl call pays);
 *   - port-forward throughput over SPDY through the API server (one stream, server -> client),
 *     anchor: the same TCP server read directly over loopback.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import YAML from 'yaml';
import { issueKubeletServingCert } from '../../src/core/kubelet/server/kubelet-certs.js';
import { startKubeletServer } from '../../src/core/kubelet/server/kubelet-server.js';
import { SpdySession } from '../../src/core/kubelet/server/spdy-session.js';
import { TestRuntime } from '../../src/core/kubelet/server/test-runtime.js';

const { values } = parseArgs({
  options: {
    execs: { type: 'string', default: '200' },
    mib: { type: 'string', default: '256' },
    'kubectl-runs': { type: 'string', default: '10' },
    write: { type: 'boolean', default: false },
  },
});
const EXECS = Number(values.execs);
const MIB = Number(values.mib);
const KUBECTL_RUNS = Number(values['kubectl-runs']);
const REPO = resolve(import.meta.dirname, '..', '..', '..');
const CLI = join(REPO, 'dist', 'src', 'cli', 'main.js');
const KUBECTL = '/usr/bin/kubectl';

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (n: number) => `${n.toFixed(1)} ms`;
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function startK8ts(dataDir: string): Promise<{ url: string; stop(): void }> {
  const proc = spawn(
    process.execPath,
    [
      CLI,
      'server',
      '--data-dir',
      dataDir,
      '--https-port',
      '0',
      '--bind-address',
      '127.0.0.1',
      '--disable',
      'kubelet,service-proxy,dns,ingress,cloud-controller',
      '--disable-controllers',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const url = await new Promise<string>((res, rej) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m) res(m[1]!);
    });
    proc.once('exit', (c) => rej(new Error(`k8ts server exited ${c}`)));
  });
  return { url, stop: () => proc.kill('SIGKILL') };
}

function sample(times: number[]): string {
  const s = [...times].sort((a, b) => a - b);
  return `${ms(pct(s, 50))} / ${ms(pct(s, 99))}`;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'k8ts-bench-streams-'));
  const k8ts = await startK8ts(dataDir);
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  const kc = YAML.parse(readFileSync(kubeconfig, 'utf8'));
  const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
  const cert = Buffer.from(kc.users[0].user['client-certificate-data'], 'base64').toString();
  const key = Buffer.from(kc.users[0].user['client-key-data'], 'base64').toString();
  const api = new URL(k8ts.url);
  const caKeyPem = readFileSync(join(dataDir, 'pki', 'ca.key'), 'utf8');
  const serving = await issueKubeletServingCert(
    { caCertPem: ca, caKeyPem },
    { nodeName: 'bench', hosts: ['127.0.0.1'] },
  );
  const runtime = new TestRuntime({ dir: join(dataDir, 'pods') });
  runtime.addPod({ namespace: 'default', name: 'web', containers: [{ name: 'main' }] });
  const kubelet = await startKubeletServer({
    runtime,
    port: 0,
    host: '127.0.0.1',
    tls: { cert: serving.certPem, key: serving.keyPem, ca },
  });
  const payload = Buffer.alloc(1024 * 1024, 'x');
  const source = net.createServer((s) => {
    let left = MIB;
    const pump = () => {
      while (left > 0) {
        left--;
        if (!s.write(payload)) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  });
  await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
  const sourcePort = (source.address() as AddressInfo).port;

  const request = (method: string, path: string, body?: unknown, type = 'application/json') =>
    new Promise<number>((res, rej) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const r = https.request(
        {
          host: api.hostname,
          port: api.port,
          method,
          path,
          ca,
          cert,
          key,
          agent: false,
          headers: data ? { 'content-type': type, 'content-length': Buffer.byteLength(data) } : {},
        },
        (resp) => {
          resp.resume();
          resp.on('end', () => res(resp.statusCode ?? 0));
        },
      );
      r.on('error', rej);
      r.end(data);
    });
  await request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'bench' } });
  await request(
    'PATCH',
    '/api/v1/nodes/bench/status',
    {
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } },
      },
    },
    'application/merge-patch+json',
  );
  await request('POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web' },
    spec: { nodeName: 'bench', containers: [{ name: 'main', image: 'x' }] },
  });
  await request(
    'PATCH',
    '/api/v1/namespaces/default/pods/web/status',
    { status: { phase: 'Running' } },
    'application/merge-patch+json',
  );

  // Anchor 1: spawn `true` in this process.
  const spawnTimes: number[] = [];
  for (let i = 0; i < EXECS; i++) {
    const t0 = now();
    await new Promise<void>((r) => spawn('true').once('close', () => r()));
    spawnTimes.push(now() - t0);
  }
  // Exec over WebSocket v5 through the API server.
  const execTimes: number[] = [];
  for (let i = 0; i < EXECS; i++) {
    const t0 = now();
    await new Promise<void>((r, rej) => {
      const ws = new WebSocket(
        `wss://${api.host}/api/v1/namespaces/default/pods/web/exec?command=true&stdout=true&stderr=true`,
        ['v5.channel.k8s.io'],
        { ca, cert, key },
      );
      ws.on('close', () => r());
      ws.on('error', rej);
    });
    execTimes.push(now() - t0);
  }
  // kubectl exec vs kubectl start-up.
  const run = (args: string[]) =>
    new Promise<number>((r) => {
      const t0 = now();
      execFile(KUBECTL, args, { env: { ...process.env, KUBECONFIG: kubeconfig } }, () => r(now() - t0));
    });
  const kubectlVersion: number[] = [];
  const kubectlExec: number[] = [];
  for (let i = 0; i < KUBECTL_RUNS; i++) {
    kubectlVersion.push(await run(['version', '--client']));
    kubectlExec.push(await run(['exec', 'web', '--', 'true']));
  }
  // Anchor 3: read the source directly.
  const t0 = now();
  await new Promise<void>((r) => {
    const s = net.connect(sourcePort, '127.0.0.1');
    s.resume();
    s.once('end', () => r());
  });
  const directMs = now() - t0;
  // Port-forward over SPDY through the API server.
  const sock = tls.connect({ host: api.hostname, port: Number(api.port), ca, cert, key });
  await new Promise<void>((r) => sock.once('secureConnect', () => r()));
  sock.write(
    'POST /api/v1/namespaces/default/pods/web/portforward HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n' +
      'Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n',
  );
  await new Promise<void>((r) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      if (buf.length > end + 4) sock.unshift(buf.subarray(end + 4));
      r();
    };
    sock.on('data', onData);
  });
  const session = new SpdySession(sock, { server: false });
  const hdrs = { port: [String(sourcePort)], requestid: ['0'] };
  const t1 = now();
  const errStream = session.createStream({ ...hdrs, streamtype: ['error'] });
  errStream.end();
  errStream.resume();
  const data = session.createStream({ ...hdrs, streamtype: ['data'] });
  let bytes = 0;
  await new Promise<void>((r) => {
    data.on('data', (c: Buffer) => (bytes += c.length));
    data.once('end', () => r());
  });
  const pfMs = now() - t1;
  session.close();
  if (bytes !== MIB * 1024 * 1024)
    throw new Error(`port-forward carried ${bytes} bytes, expected ${MIB} MiB`);

  const mibps = (t: number) => `${(MIB / (t / 1000)).toFixed(0)} MiB/s`;
  const table = [
    '| measurement | k8ts | anchor (same run) |',
    '|---|---|---|',
    `| exec \`true\` over WebSocket v5 through the API server, p50 / p99 (${EXECS} runs) | ${sample(execTimes)} | spawn \`true\` in-process: ${sample(spawnTimes)} |`,
    `| \`kubectl exec web -- true\` wall time, p50 / p99 (${KUBECTL_RUNS} runs, kubectl 1.32) | ${sample(kubectlExec)} | \`kubectl version --client\`: ${sample(kubectlVersion)} |`,
    `| port-forward over SPDY through the API server, one stream, ${MIB} MiB | ${mibps(pfMs)} | same TCP source read directly: ${mibps(directMs)} |`,
  ].join('\n');
  console.log(table);
  if (values.write) {
    const path = join(REPO, 'bench', 'RESULTS.md');
    let text = readFileSync(path, 'utf8');
    const section = `<!-- kubelet-streams:start -->\n## Kubelet streaming: exec and port-forward (issue 4)\n\nCommand: \`npm run build && node dist/bench/kubelet-streams/run.js --write\` (execs=${EXECS}, mib=${MIB}, kubectl-runs=${KUBECTL_RUNS}), run ${new Date().toISOString().slice(0, 16)}Z on this machine (2 vCPU shared VM; k8ts server, kubelet and clients on the same cores). The kubelet runs the test runtime (exec = a real process).\n\n${table}\n<!-- kubelet-streams:end -->`;
    if (text.includes('<!-- kubelet-streams:start -->'))
      text = text.replace(/<!-- kubelet-streams:start -->[\s\S]*<!-- kubelet-streams:end -->/, section);
    else text = `${text.trimEnd()}\n\n${section}\n`;
    writeFileSync(path, text);
  }
  runtime.close();
  await kubelet.close();
  source.close();
  k8ts.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
