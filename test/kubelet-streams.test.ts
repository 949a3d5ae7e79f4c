/**
 * kubectl logs / exec / attach / port-forward end to end: the real kubectl (1.27 over SPDY, 1.32 and
 * 1.33 over WebSocket) against a real `k8ts server`, which proxies to a kubelet streaming server
 * running in this process with a small real runtime (processes for exec, log files, a TCP server
 * on loopback for port-forward). The Node and Pod are registered through the API as a kubelet
 * would: the Node's InternalIP is 127.0.0.1 and its kubeletEndpoint port is the test kubelet's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientCert } from '../src/core/apiserver/pki/ensure-pki.js';
import { issueKubeletServingCert } from '../src/core/kubelet/server/kubelet-certs.js';
import {
  type KubeletServer,
  type StreamStartEvent,
  startKubeletServer,
} from '../src/core/kubelet/server/kubelet-server.js';
import { TestRuntime } from '../src/core/kubelet/server/test-runtime.js';
import { adminClient, type TestClient } from './helpers/rest.js';
import {
  cleanup,
  KUBECTL,
  kubectl,
  kubectlOk,
  type RunningServer,
  requireTool,
  startServer,
} from './helpers/server.js';

const SDK = '/usr/lib/google-cloud-sdk/bin';
/** kubectl binaries and the exec protocol each speaks first. */
const WS = { transport: 'websocket', protocol: 'v5.channel.k8s.io' };
const SPDY = { transport: 'spdy', protocol: 'v4.channel.k8s.io' };
const PF_TUNNEL = { transport: 'websocket-tunnel', protocol: 'SPDY/3.1+portforward.k8s.io' };
const PF_SPDY = { transport: 'spdy', protocol: 'portforward.k8s.io' };
/** kubectl binaries and how each carries exec and port-forward (no fallback expected). */
const VERSIONS = [
  { name: '1.32', bin: KUBECTL, exec: WS, portForward: PF_TUNNEL },
  { name: '1.27', bin: `${SDK}/kubectl.1.27`, exec: SPDY, portForward: PF_SPDY },
  { name: '1.30', bin: `${SDK}/kubectl.1.30`, exec: WS, portForward: PF_SPDY },
  { name: '1.33', bin: `${SDK}/kubectl.1.33`, exec: WS, portForward: PF_TUNNEL },
];
const NODE = 'stream-node';
const SHELL_SCRIPT = 'while read l; do [ "$l" = quit ] && exit 0; echo "got $l"; done';

const have = requireTool(KUBECTL, 'install kubectl (see .ci/run)');

/** Spawns kubectl, collecting output; `until` resolves when stdout matches. */
function spawnKubectl(
  server: { kubeconfig: string },
  bin: string,
  args: string[],
): {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  until(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  exit: Promise<number>;
} {
  const proc = spawn(bin, args, {
    env: { ...process.env, KUBECONFIG: server.kubeconfig },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number>((res) => proc.once('exit', (code, sig) => res(code ?? (sig ? 128 : 1))));
  return {
    proc,
    out: () => out,
    err: () => err,
    exit,
    until: (re, ms = 15_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          const m = re.exec(out);
          if (m) return resolve(m);
          if (proc.exitCode !== null || Date.now() - started > ms)
            return reject(new Error(`no ${re} in kubectl output:\nstdout: ${out}\nstderr: ${err}`));
          setTimeout(check, 25);
        };
        check();
      }),
  };
}

/** Registers a Node (InternalIP 127.0.0.1, kubelet on `port`) and a Running pod bound to it. */
async function registerNodeAndPod(
  client: TestClient,
  o: { node: string; port: number; pod: string },
): Promise<void> {
  const merge = { 'content-type': 'application/merge-patch+json' };
  await client.json('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: o.node } });
  const st = await client.request(
    'PATCH',
    `/api/v1/nodes/${o.node}/status`,
    {
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: o.port } },
      },
    },
    merge,
  );
  expect(st.status, st.body).toBe(200);
  const pod = await client.request('POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.pod },
    spec: { nodeName: o.node, containers: [{ name: 'main', image: 'busybox' }] },
  });
  expect(pod.status, pod.body).toBe(201);
  const ps = await client.request(
    'PATCH',
    `/api/v1/namespaces/default/pods/${o.pod}/status`,
    { status: { phase: 'Running' } },
    merge,
  );
  expect(ps.status, ps.body).toBe(200);
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe.skipIf(!have)('kubelet streaming through the API server', () => {
  let server: RunningServer;
  let client: TestClient;
  let kubelet: KubeletServer;
  /** A second kubelet that only speaks SPDY, for kubectl's fallback. */
  let spdyOnly: KubeletServer;
  let runtime: TestRuntime;
  let target: http.Server;
  let targetPort: number;
  let caPem: string;
  let caKeyPem: string;
  const started: StreamStartEvent[] = [];
  const lastStart = (kind: StreamStartEvent['kind']) => {
    const e = started.filter((x) => x.kind === kind).at(-1);
    return e && { transport: e.transport, protocol: e.protocol };
  };

  beforeAll(async () => {
    server = await startServer({ args: ['--disable-controllers'] });
    client = adminClient(server);
    caPem = readFileSync(join(server.dataDir, 'pki', 'ca.crt'), 'utf8');
    caKeyPem = readFileSync(join(server.dataDir, 'pki', 'ca.key'), 'utf8');
    const serving = await issueKubeletServingCert(
      { caCertPem: caPem, caKeyPem },
      { nodeName: NODE, hosts: ['127.0.0.1', 'localhost'] },
    );
    runtime = new TestRuntime({ dir: mkdtempSync(join(tmpdir(), 'k8ts-streams-')) });
    runtime.addPod({
      namespace: 'default',
      name: 'web',
      containers: [
        {
          name: 'main',
          log: ['line 1', 'line 2', 'line 3', 'line 4', 'line 5'],
          previousLog: ['old 1', 'old 2'],
        },
        { name: 'shell', script: SHELL_SCRIPT },
      ],
    });
    kubelet = await startKubeletServer({
      runtime,
      port: 0,
      host: '127.0.0.1',
      tls: { cert: serving.certPem, key: serving.keyPem, ca: caPem },
      onStreamStart: (e) => started.push(e),
    });
    spdyOnly = await startKubeletServer({
      runtime,
      port: 0,
      host: '127.0.0.1',
      tls: { cert: serving.certPem, key: serving.keyPem, ca: caPem },
      disableWebSockets: true,
      onStreamStart: (e) => started.push(e),
    });
    runtime.addPod({ namespace: 'default', name: 'old', containers: [{ name: 'main' }] });
    target = http.createServer((req, res) => res.end(`hello from the pod ${req.url}`));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetPort = (target.address() as AddressInfo).port;

    const node = await client.json('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: NODE },
    });
    expect(node.metadata?.name).toBe(NODE);
    const st = await client.request(
      'PATCH',
      `/api/v1/nodes/${NODE}/status`,
      {
        status: {
          addresses: [
            { type: 'InternalIP', address: '127.0.0.1' },
            { type: 'Hostname', address: NODE },
          ],
          daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } },
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready' }],
        },
      },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(st.status, st.body).toBe(200);
    const pod = await client.request('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web' },
      spec: {
        nodeName: NODE,
        containers: [
          { name: 'main', image: 'busybox', command: ['sleep', 'infinity'] },
          { name: 'shell', image: 'busybox', command: ['sh'], stdin: true },
        ],
      },
    });
    expect(pod.status, pod.body).toBe(201);
    const now = new Date().toISOString();
    const ps = await client.request(
      'PATCH',
      '/api/v1/namespaces/default/pods/web/status',
      {
        status: {
          phase: 'Running',
          podIP: '127.0.0.1',
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: ['main', 'shell'].map((name) => ({
            name,
            ready: true,
            restartCount: 0,
            image: 'busybox',
            imageID: '',
            state: { running: { startedAt: now } },
          })),
        },
      },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(ps.status, ps.body).toBe(200);
    await registerNodeAndPod(client, { node: 'spdy-node', port: spdyOnly.port, pod: 'old' });
    // A pod without a node, and one on a node whose kubelet does not answer.
    await client.json('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pending' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
  }, 60_000);

  afterAll(async () => {
    runtime?.close();
    await kubelet?.close();
    await spdyOnly?.close();
    await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
    client?.close();
    await server?.kill();
    if (server) cleanup(server.dataDir);
  });

  describe('logs', () => {
    it('prints the log, --tail, --previous, --timestamps and --since', async () => {
      expect(await kubectlOk(server, ['logs', 'web', '-c', 'main'])).toBe(
        'line 1\nline 2\nline 3\nline 4\nline 5\n',
      );
      expect(await kubectlOk(server, ['logs', 'web', '-c', 'main', '--tail=2'])).toBe('line 4\nline 5\n');
      expect(await kubectlOk(server, ['logs', 'web', '-c', 'main', '--previous'])).toBe('old 1\nold 2\n');
      const ts = await kubectlOk(server, ['logs', 'web', '-c', 'main', '--timestamps', '--tail=1']);
      expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 5\n$/);
      expect(await kubectlOk(server, ['logs', 'web', '-c', 'main', '--since=1h'])).toContain('line 5');
      expect(await kubectlOk(server, ['logs', 'web', '-c', 'main', '--limit-bytes=8'])).toBe('line 1\nl');
    });

    it('picks the default container and reports a wrong one as upstream', async () => {
      const r = await kubectl(server, ['logs', 'web']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('line 1');
      const bad = await kubectl(server, ['logs', 'web', '-c', 'nope']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('container nope is not valid for pod web');
    });

    it('answers pods/log over plain HTTP: 404 for a missing pod, empty for an unscheduled one', async () => {
      const missing = await client.request('GET', '/api/v1/namespaces/default/pods/nope/log');
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.body).message).toBe('pods "nope" not found');
      const pending = await client.request('GET', '/api/v1/namespaces/default/pods/pending/log');
      expect(pending.status).toBe(200);
      expect(pending.body).toBe('');
      const prev = await client.request(
        'GET',
        '/api/v1/namespaces/default/pods/web/log?container=shell&previous=true',
      );
      expect(prev.status).toBe(400);
      expect(JSON.parse(prev.body).message).toContain('previous terminated container "shell"');
    });

    it('follows with -f until kubectl is stopped', async () => {
      const k = spawnKubectl(server, KUBECTL, ['logs', '-f', 'web', '-c', 'main', '--tail=1']);
      try {
        await k.until(/line 5\n/);
        runtime.appendLog({ namespace: 'default', pod: 'web', container: 'main' }, 'followed line');
        await k.until(/followed line\n/);
        expect(k.out()).toBe('line 5\nfollowed line\n');
      } finally {
        k.proc.kill('SIGTERM');
        await k.exit;
      }
    });
  });

  for (const v of VERSIONS) {
    describe.skipIf(!requireTool(v.bin, 'install the google-cloud-sdk kubectl versions'))(
      `kubectl ${v.name}`,
      () => {
        it('exec propagates the exit code and separates stdout from stderr', async () => {
          const r = await kubectl(
            server,
            ['exec', 'web', '-c', 'main', '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 3'],
            {
              bin: v.bin,
            },
          );
          expect(r.stdout).toBe('hi\n');
          expect(r.stderr).toContain('oops');
          expect(r.code).toBe(3);
          const ok = await kubectl(server, ['exec', 'web', '-c', 'main', '--', 'echo', 'fine'], {
            bin: v.bin,
          });
          expect(ok).toMatchObject({ code: 0, stdout: 'fine\n' });
        });

        it('exec -i passes stdin through and ends it', async () => {
          const input = `${'x'.repeat(100_000)}\nlast line\n`;
          const r = await kubectl(
            server,
            ['exec', '-i', 'web', '-c', 'main', '--', 'sh', '-c', 'cat; echo done'],
            {
              bin: v.bin,
              stdin: input,
            },
          );
          expect(r.code, r.stderr).toBe(0);
          expect(r.stdout).toBe(`${input}done\n`);
        });

        it('port-forward carries real HTTP requests to the pod', async () => {
          const k = spawnKubectl(server, v.bin, ['port-forward', 'pod/web', `:${targetPort}`]);
          try {
            const m = await k.until(/Forwarding from 127\.0\.0\.1:(\d+) ->/);
            const local = Number(m[1]);
            for (const path of ['/a', '/b', '/c']) {
              const res = await httpGet(local, path);
              expect(res).toEqual({ status: 200, body: `hello from the pod ${path}` });
            }
          } finally {
            k.proc.kill('SIGTERM');
            await k.exit;
          }
        });

        it.skipIf(!existsSync('/usr/bin/script'))(
          'exec -it runs with a TTY and sends the terminal size',
          async () => {
            const before = runtime.resizes.length;
            const want = {
              ref: { namespace: 'default', pod: 'web', container: 'main' },
              width: 101,
              height: 33,
            };
            // The process waits for a line on its terminal, sent once the resize has reached the
            // runtime: kubectl sends the size on its own stream, so a short-lived process could end first.
            const cmd = `stty cols 101 rows 33; ${v.bin} exec -it web -c main -- sh -c 'echo in-tty; read x; echo got-$x'`;
            const r = await new Promise<{ code: number; out: string }>((resolve) => {
              const p = spawn('script', ['-qec', cmd, '/dev/null'], {
                env: { ...process.env, KUBECONFIG: server.kubeconfig },
                stdio: ['pipe', 'pipe', 'pipe'],
              });
              let out = '';
              p.stdout!.on('data', (d) => (out += d));
              p.stderr!.on('data', (d) => (out += d));
              p.once('exit', (code) => resolve({ code: code ?? 1, out }));
              const poll = setInterval(() => {
                if (p.exitCode !== null) clearInterval(poll);
                else if (
                  runtime.resizes
                    .slice(before)
                    .some((e) => e.width === 101 && e.height === 33 && e.ref.pod === 'web')
                ) {
                  clearInterval(poll);
                  p.stdin!.write('go\n');
                }
              }, 20);
            });
            expect(r.out).toContain('got-go');
            expect(r.out).toContain('in-tty');
            expect(r.code, r.out).toBe(0);
            expect(runtime.resizes.slice(before)).toContainEqual(want);
          },
        );

        it('attach -i talks to the running container until it exits', async () => {
          const k = spawnKubectl(server, v.bin, ['attach', '-i', 'web', '-c', 'shell']);
          try {
            // The attach is ready once a line typed comes back.
            const deadline = Date.now() + 15_000;
            while (!k.out().includes('got ping') && Date.now() < deadline) {
              k.proc.stdin!.write('ping\n');
              await new Promise((r) => setTimeout(r, 200));
            }
            expect(k.out()).toContain('got ping');
            expect(lastStart('attach')).toEqual(v.exec);
            k.proc.stdin!.write('quit\n');
            expect(await k.exit).toBe(0);
          } finally {
            k.proc.kill('SIGKILL');
          }
        });
      },
    );
  }

  describe('kubectl cp (tar over exec: binary stdin and stdout)', () => {
    for (const v of VERSIONS.filter((x) => x.name === '1.32' || x.name === '1.27')) {
      it(`copies a file in and out with kubectl ${v.name}`, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'k8ts-cp-'));
        try {
          const data = randomBytes(512 * 1024);
          writeFileSync(join(dir, 'src.bin'), data);
          // The test runtime runs commands on this machine, so the "container" path is `dir` too.
          const up = await kubectl(server, ['cp', join(dir, 'src.bin'), `web:${dir}/in.bin`, '-c', 'main'], {
            bin: v.bin,
          });
          expect(up.code, up.stderr).toBe(0);
          expect(readFileSync(join(dir, 'in.bin')).equals(data)).toBe(true);
          const down = await kubectl(
            server,
            ['cp', `web:${dir}/src.bin`, join(dir, 'out.bin'), '-c', 'main'],
            {
              bin: v.bin,
            },
          );
          expect(down.code, down.stderr).toBe(0);
          expect(readFileSync(join(dir, 'out.bin')).equals(data)).toBe(true);
        } finally {
          cleanup(dir);
        }
      });
    }
  });

  describe('a kubelet without WebSocket support', () => {
    it('kubectl 1.32 falls back to SPDY for exec and port-forward', async () => {
      const r = await kubectl(server, ['exec', 'old', '--', 'sh', '-c', 'echo fallback; exit 4']);
      expect(r).toMatchObject({ code: 4, stdout: 'fallback\n' });
      expect(lastStart('exec')).toEqual(SPDY);
      const k = spawnKubectl(server, KUBECTL, ['port-forward', 'pod/old', `:${targetPort}`]);
      try {
        const m = await k.until(/Forwarding from 127\.0\.0\.1:(\d+) ->/);
        expect(await httpGet(Number(m[1]), '/old')).toEqual({ status: 200, body: 'hello from the pod /old' });
        expect(lastStart('portForward')).toEqual(PF_SPDY);
      } finally {
        k.proc.kill('SIGTERM');
        await k.exit;
      }
    });
  });

  describe('errors and access', () => {
    it('exec on a missing pod is a 404, on an unscheduled pod a 400 with upstream words', async () => {
      const r = await kubectl(server, ['exec', 'nope', '--', 'true']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('pods "nope" not found');
      const up = await client.request(
        'POST',
        '/api/v1/namespaces/default/pods/pending/exec?command=true&stdout=true',
      );
      expect(up.status).toBe(400);
      expect(JSON.parse(up.body).message).toBe('Upgrade request required');
    });

    it('counts streaming requests as CONNECT in apiserver_request_total', async () => {
      const m = await client.request('GET', '/metrics');
      const line = m.body
        .split('\n')
        .find(
          (l) =>
            l.startsWith('apiserver_request_total{') &&
            l.includes('verb="CONNECT"') &&
            l.includes('subresource="exec"') &&
            l.includes('code="101"'),
        );
      expect(line, m.body.slice(0, 500)).toBeDefined();
    });

    it('nodes/proxy reaches the kubelet', async () => {
      expect(await kubectlOk(server, ['get', '--raw', `/api/v1/nodes/${NODE}/proxy/healthz`])).toBe('ok');
    });

    it('the kubelet refuses clients without a CA certificate (401) and non-admin users (403)', async () => {
      const get = (opts: https.RequestOptions) =>
        new Promise<number>((resolve, reject) => {
          https
            .get(
              { host: '127.0.0.1', port: kubelet.port, path: '/healthz', ca: caPem, agent: false, ...opts },
              (res) => {
                res.resume();
                resolve(res.statusCode ?? 0);
              },
            )
            .on('error', reject);
        });
      expect(await get({})).toBe(401);
      const user = await issueClientCert({ caCertPem: caPem, caKeyPem }, { commonName: 'alice' });
      expect(await get({ cert: user.certPem, key: user.keyPem })).toBe(403);
      const admin = await issueClientCert(
        { caCertPem: caPem, caKeyPem },
        { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] },
      );
      expect(await get({ cert: admin.certPem, key: admin.keyPem })).toBe(200);
    });

    it('a node whose kubelet does not answer gives 503', async () => {
      await client.json('POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'dead' },
      });
      await client.request(
        'PATCH',
        '/api/v1/nodes/dead/status',
        {
          status: {
            addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
            daemonEndpoints: { kubeletEndpoint: { Port: 1 } },
          },
        },
        { 'content-type': 'application/merge-patch+json' },
      );
      const r = await client.request('GET', '/api/v1/nodes/dead/proxy/healthz');
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body).message).toContain('error dialing backend');
    });
  });
});
