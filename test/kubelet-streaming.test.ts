/**
 * The process runtime's StreamingRuntime (the contract of src/core/kubelet/streams.ts) with a real
 * kubelet, in this process, rootless, against a real `k8ts server`: logs (tail, timestamps,
 * previous, follow), exec (output, exit code, stdin), attach to a container's stdin/stdout, and
 * port-forward to the pod's port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import type { Kubelet } from '../src/core/kubelet/kubelet.js';
import { cleanupKubelet, startKubelet } from '../src/core/kubelet/start.js';
import type { KubeletStreamingRuntime } from '../src/core/kubelet/streaming-runtime.js';
import { StreamError } from '../src/core/kubelet/streams.js';
import { waitFor } from './helpers/kubelet-cluster.js';
import { adminClient, type TestClient } from './helpers/rest.js';
import { type RunningServer, startServer } from './helpers/server.js';

type KObj = Record<string, any>;

function collect(r: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    r.on('data', (d) => (s += d));
    r.on('end', () => resolve(s));
    r.on('error', reject);
  });
}

describe('kubelet streaming runtime (rootless)', () => {
  let server: RunningServer;
  let api: TestClient;
  let kubelet: Kubelet;
  let streams: KubeletStreamingRuntime;
  const dataDir = mkdtempSync(join(tmpdir(), 'k8ts-kubelet-stream-'));
  const nodeName = `ks-${Math.random().toString(36).slice(2, 8)}`;
  const ref = (pod: string, container = 'c') => ({ namespace: 'default', pod, container });

  async function pod(name: string, spec: KObj): Promise<KObj> {
    await api.json('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { nodeName, ...spec },
    });
    return waitFor(`${name} running`, async () => {
      const p = await api.json('GET', `/api/v1/namespaces/default/pods/${name}`);
      return p.status?.containerStatuses?.[0]?.state?.running ? p : undefined;
    });
  }

  beforeAll(async () => {
    server = await startServer({
      args: ['--cluster-cidr', `10.${100 + Math.floor(Math.random() * 150)}.0.0/16`],
    });
    api = adminClient(server);
    kubelet = await startKubelet(new RestClient(loadKubeconfig(server.kubeconfig)), {
      nodeName,
      dataDir,
      rootless: true,
      log: () => {},
    });
    streams = kubelet.streaming();
  }, 60_000);
  afterAll(async () => {
    await kubelet?.stop();
    await cleanupKubelet({ dataDir, nodeName, rootless: true });
    api?.close();
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(server?.dataDir ?? '/nonexistent', { recursive: true, force: true });
  }, 60_000);

  it('logs: all, tail, timestamps, follow until the instance ends, previous after a restart', async () => {
    await pod('talker', {
      containers: [
        {
          name: 'c',
          image: 'x',
          command: [
            'sh',
            '-c',
            'for i in 1 2 3; do echo line$i; done; echo err >&2; sleep 1; echo late; exit 1',
          ],
        },
      ],
    });
    const follow = await streams.logs(
      ref('talker'),
      { follow: true, previous: false, timestamps: false },
      new AbortController().signal,
    );
    expect(await collect(follow)).toBe('line1\nline2\nline3\nerr\nlate\n');
    await waitFor('restart', async () => {
      const p = await api.json('GET', '/api/v1/namespaces/default/pods/talker');
      return p.status?.containerStatuses?.[0]?.restartCount >= 1 ? true : undefined;
    });
    const prev = await streams.logs(
      ref('talker'),
      { follow: false, previous: true, timestamps: false, limitBytes: 6 },
      new AbortController().signal,
    );
    expect(await collect(prev)).toBe('line1\n');
    const tail = await streams.logs(
      ref('talker'),
      { follow: false, previous: true, timestamps: true, tailLines: 1 },
      new AbortController().signal,
    );
    expect(await collect(tail)).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z late\n$/);
  }, 60_000);

  it('exec: output, exit code, stdin; errors for unknown pods and containers', async () => {
    await pod('box', {
      containers: [
        { name: 'c', image: 'x', command: ['sleep', '3600'], env: [{ name: 'WHO', value: 'box' }] },
      ],
    });
    const s1 = await streams.exec(ref('box'), {
      command: ['sh', '-c', 'echo hi $WHO; echo oops >&2; exit 3'],
      stdin: false,
      stdout: true,
      stderr: true,
      tty: false,
    });
    const [out, err, exit] = await Promise.all([collect(s1.stdout!), collect(s1.stderr!), s1.exited]);
    expect(out).toBe('hi box\n');
    expect(err).toBe('oops\n');
    expect(exit.exitCode).toBe(3);
    const s2 = await streams.exec(ref('box'), {
      command: ['cat'],
      stdin: true,
      stdout: true,
      stderr: false,
      tty: false,
    });
    s2.stdin!.end('ping\n');
    expect(await collect(s2.stdout!)).toBe('ping\n');
    expect((await s2.exited).exitCode).toBe(0);
    await expect(
      streams.exec(ref('nope'), { command: ['true'], stdin: false, stdout: true, stderr: true, tty: false }),
    ).rejects.toBeInstanceOf(StreamError);
    await expect(
      streams.exec(ref('box', 'other'), {
        command: ['true'],
        stdin: false,
        stdout: true,
        stderr: true,
        tty: false,
      }),
    ).rejects.toMatchObject({ code: 'NotFound' });
  }, 60_000);

  it('attach: write to the container stdin, read its stdout', async () => {
    await pod('echoer', {
      containers: [
        { name: 'c', image: 'x', stdin: true, command: ['sh', '-c', 'while read l; do echo got $l; done'] },
      ],
    });
    const s = await streams.attach(ref('echoer'), { stdin: true, stdout: true, stderr: true, tty: false });
    let seen = '';
    s.stdout!.on('data', (d) => (seen += d));
    s.stdin!.write('hello\n');
    await waitFor('echo', async () => (seen.includes('got hello') ? true : undefined), 10_000);
    s.close();
  }, 60_000);

  it('port-forward: a TCP connection to the pod port', async () => {
    const js = "require('http').createServer((q,s)=>s.end('pf-ok')).listen(8080, process.env.POD_IP)";
    const p = await pod('pf', {
      containers: [
        {
          name: 'c',
          image: 'x',
          command: [process.execPath, '-e', js],
          env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        },
      ],
    });
    expect(p.status.podIP).toMatch(/^127\./);
    await waitFor('ready', async () => {
      const x = await api.json('GET', '/api/v1/namespaces/default/pods/pf');
      return x.status?.containerStatuses?.[0]?.ready ? true : undefined;
    });
    const sock = await streams.portForward({ namespace: 'default', pod: 'pf' }, 8080);
    sock.end('GET / HTTP/1.0\r\n\r\n');
    expect(await collect(sock)).toContain('pf-ok');
  }, 60_000);
});
