/**
 * `k8ts ingress` as its own process against a `k8ts server` (every node component off): flags,
 * the started line, a request routed to an endpoint of a selectorless Service (an HTTP server in
 * this test on loopback), and a clean SIGTERM that removes its node's EndpointSlice.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import {
  CLI,
  cleanup,
  KUBECTL,
  kubectl,
  type RunningServer,
  requireTool,
  startServer,
} from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

const have = requireTool(KUBECTL, 'install kubectl');

describe.runIf(have)('k8ts ingress (standalone)', () => {
  let server: RunningServer;
  let client: RestClient;
  let upstream: http.Server;
  let proc: ChildProcess | undefined;
  let out = '';

  beforeAll(async () => {
    server = await startServer();
    client = new RestClient(loadKubeconfig(server.kubeconfig));
    upstream = http.createServer((q, s) => s.end(`upstream saw ${q.headers.host} ${q.url}`));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  }, 60_000);

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    upstream?.close();
    client?.close();
    await server?.kill();
    if (server) cleanup(server.dataDir);
  });

  it('refuses to start without a kubeconfig, with a clear message', async () => {
    const p = spawn(process.execPath, [CLI, 'ingress'], { env: { ...process.env, KUBECONFIG: '' } });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    const code = await new Promise((r) => p.once('exit', r));
    expect(code).toBe(1);
    expect(err).toContain('--kubeconfig (or KUBECONFIG) is required');
  });

  it('routes to a selectorless Service’s endpoints and cleans up on SIGTERM', async () => {
    const port = (upstream.address() as AddressInfo).port;
    const manifest = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'up' },
          spec: { ports: [{ name: 'web', port: 80, targetPort: port }] },
        },
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: 'up-1', labels: { 'kubernetes.io/service-name': 'up' } },
          addressType: 'IPv4',
          ports: [{ name: 'web', port, protocol: 'TCP' }],
          endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
        },
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: { name: 'up' },
          spec: {
            rules: [
              {
                host: 'up.example.com',
                http: {
                  paths: [
                    {
                      path: '/api',
                      pathType: 'Prefix',
                      backend: { service: { name: 'up', port: { name: 'web' } } },
                    },
                  ],
                },
              },
            ],
          },
        },
      ],
    };
    const applied = await kubectl(server, ['apply', '-f', '-'], { stdin: JSON.stringify(manifest) });
    expect(applied.stderr).toBe('');

    proc = spawn(
      process.execPath,
      [
        CLI,
        'ingress',
        '--kubeconfig',
        server.kubeconfig,
        '--http-port',
        '0',
        '--https-port',
        '0',
        '--bind-address',
        '127.0.0.1',
        '--node-name',
        'cli-node',
        '--node-address',
        '127.0.0.1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const m = await waitFor(
      'ingress started',
      async () =>
        /ingress listening on http port (\d+) and https port (\d+) \(node cli-node\)/.exec(out) ?? undefined,
    );
    const httpPort = Number(m[1]);
    const body = await waitFor('routed', async () => {
      const r = await request(`http://127.0.0.1:${httpPort}/api/v1?q=1`, {
        headers: { host: 'up.example.com' },
      });
      const t = await r.body.text();
      return r.statusCode === 200 ? t : undefined;
    });
    expect(body).toBe('upstream saw up.example.com /api/v1?q=1');
    const miss = await request(`http://127.0.0.1:${httpPort}/other`, { headers: { host: 'up.example.com' } });
    await miss.body.text();
    expect(miss.statusCode).toBe(404);

    const slicePath = '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/k8ts-ingress-cli-node';
    const es = await waitFor('node slice', () => client.request('GET', slicePath).catch(() => undefined));
    expect(es.ports.map((p: { port: number }) => p.port)).toEqual([httpPort, Number(m[2])]);

    const exited = new Promise<number | null>((r) => proc!.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(client.request('GET', slicePath)).rejects.toMatchObject({ httpStatus: 404 });
  });
});
