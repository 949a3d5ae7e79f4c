/**
 * `k8ts service-proxy` as its own process against a real `k8ts server`: userspace mode (no root
 * needed, loopback only), a ClusterIP reached on its rootless address, /healthz, /livez, /metrics.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootlessAddress } from '../src/service-proxy/rootless-address.js';
import { adminClient, type TestClient } from './helpers/rest.js';
import { CLI, cleanup, type RunningServer, startServer } from './helpers/server.js';

describe('k8ts service-proxy (userspace mode, standalone process)', () => {
  let server: RunningServer;
  let api: TestClient;
  let proxy: ChildProcess | undefined;
  let healthPort = 0;
  let backend: net.Server;
  let out = '';
  const svcPort = 20000 + Math.floor(Math.random() * 20000);

  beforeAll(async () => {
    server = await startServer({ args: ['--disable-controllers'] });
    api = adminClient(server);
    backend = net.createServer((c) => c.end('hello from 127.0.0.21\n'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.21', () => r()));
    proxy = spawn(
      process.execPath,
      [
        CLI,
        'service-proxy',
        '--kubeconfig',
        server.kubeconfig,
        '--node-name',
        'n1',
        '--mode',
        'userspace',
        '--healthz-bind-address',
        '127.0.0.1:0',
        '--min-sync-period',
        '0.05',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proxy.stdout!.on('data', (d) => (out += d));
    proxy.stderr!.on('data', (d) => (out += d));
    healthPort = await new Promise<number>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`proxy did not start:\n${out}`)), 20_000);
      proxy!.stdout!.on('data', () => {
        const m = /health on port (\d+)/.exec(out);
        if (m) {
          clearTimeout(t);
          res(Number(m[1]));
        }
      });
    });
  }, 60_000);

  afterAll(async () => {
    if (proxy?.pid && proxy.exitCode === null) proxy.kill('SIGTERM');
    backend?.close();
    api?.close();
    await server?.kill();
    if (server) cleanup(server.dataDir);
  });

  it('reports userspace mode and serves a ClusterIP on its rootless loopback address', async () => {
    expect(out).toContain('userspace mode');
    await api.json('POST', '/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { clusterIP: '10.43.9.9', ports: [{ name: 'http', port: svcPort, targetPort: 8080 }] },
    });
    await api.json('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: (backend.address() as net.AddressInfo).port, protocol: 'TCP' }],
      endpoints: [{ addresses: ['127.0.0.21'], conditions: { ready: true }, nodeName: 'n1' }],
    });
    const addr = rootlessAddress('10.43.9.9', svcPort);
    const read = () =>
      new Promise<string>((resolve) => {
        const c = net.connect(addr.port, addr.host);
        let d = '';
        c.on('data', (x) => (d += x));
        c.on('close', () => resolve(d));
        c.on('error', (e) => resolve(String((e as NodeJS.ErrnoException).code)));
      });
    let got = '';
    for (let i = 0; i < 100 && !got.startsWith('hello'); i++) {
      got = await read();
      if (!got.startsWith('hello')) await new Promise((r) => setTimeout(r, 50));
    }
    expect(got).toBe('hello from 127.0.0.21\n');
  });

  it('/healthz and /livez answer JSON as upstream; /metrics has the upstream names', async () => {
    const h = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    expect(h.status).toBe(200);
    const body = await h.json();
    expect(Object.keys(body).sort()).toEqual(['currentTime', 'lastUpdated', 'nodeEligible']);
    expect(Date.parse(body.lastUpdated)).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${healthPort}/livez`)).status).toBe(200);
    const m = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    for (const name of [
      'kubeproxy_sync_proxy_rules_duration_seconds_bucket',
      'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      'kubeproxy_network_programming_duration_seconds_bucket',
      'kubeproxy_sync_proxy_rules_endpoint_changes_total',
    ])
      expect(m).toContain(name);
  });
});
