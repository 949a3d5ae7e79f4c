/**
 * The ingress controller against a real API server (the compiled `k8ts server`, every node
 * component off), running in this process with a recording DataPlane: the class, Service and
 * EndpointSlice it installs, tables built from Ingresses + Services + EndpointSlices, events on
 * conflicts, status.loadBalancer written from the Service's status, other classes left alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import { IngressController } from '../src/ingress/controller.js';
import type { DataPlane, RouteTable } from '../src/ingress/route-table.js';
import { ingress, service, slice } from '../src/ingress/testing/fixtures.js';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

class RecordingDataPlane implements DataPlane {
  tables: RouteTable[] = [];
  update(table: RouteTable): void {
    this.tables.push(table);
  }
  async close(): Promise<void> {}
  get last(): RouteTable | undefined {
    return this.tables[this.tables.length - 1];
  }
}

const ING = '/apis/networking.k8s.io/v1/namespaces/default/ingresses';

describe('ingress controller (recording data plane, real API server)', () => {
  let server: RunningServer;
  let client: RestClient;
  let dp: RecordingDataPlane;
  let ctl: IngressController;

  beforeAll(async () => {
    server = await startServer();
    client = new RestClient(loadKubeconfig(server.kubeconfig));
    dp = new RecordingDataPlane();
    ctl = new IngressController({
      client,
      dataPlane: dp,
      nodeName: 'node-a',
      nodeAddress: '192.0.2.1',
      httpPort: 18080,
      httpsPort: 18443,
      events: new (await import('../src/core/client/events.js')).EventRecorder(client, 'k8ts-ingress'),
      minStatusSyncMs: 100,
      log: () => {},
    });
    await ctl.start();
  }, 60_000);

  afterAll(async () => {
    await ctl?.stop();
    client?.close();
    await server?.kill();
    if (server) cleanup(server.dataDir);
  });

  it('installs the default class, the LoadBalancer Service and this node’s EndpointSlice', async () => {
    const cls = await waitFor('IngressClass k8ts', () =>
      client.request('GET', '/apis/networking.k8s.io/v1/ingressclasses/k8ts').catch(() => undefined),
    );
    expect(cls.spec.controller).toBe('k8ts.io/ingress');
    expect(cls.metadata.annotations['ingressclass.kubernetes.io/is-default-class']).toBe('true');
    const svc = await waitFor('Service k8ts-ingress', () =>
      client.request('GET', '/api/v1/namespaces/kube-system/services/k8ts-ingress').catch(() => undefined),
    );
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.selector).toBeUndefined();
    expect(svc.spec.ports.map((p: { name: string; port: number }) => `${p.name}:${p.port}`)).toEqual([
      'http:80',
      'https:443',
    ]);
    const es = await waitFor('EndpointSlice', () =>
      client
        .request('GET', '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/k8ts-ingress-node-a')
        .catch(() => undefined),
    );
    expect(es.metadata.labels).toMatchObject({
      'kubernetes.io/service-name': 'k8ts-ingress',
      'endpointslice.kubernetes.io/managed-by': 'ingress.k8ts.io',
    });
    expect(es.endpoints[0].addresses).toEqual(['192.0.2.1']);
    expect(es.ports.map((p: { name: string; port: number }) => `${p.name}:${p.port}`)).toEqual([
      'http:18080',
      'https:18443',
    ]);
  });

  it('routes an Ingress to the endpoints of its Service and follows endpoint changes', async () => {
    await client.request('POST', '/api/v1/namespaces/default/services', {
      body: service('web', [{ name: 'http', port: 80, targetPort: 8080 }]),
    });
    const es = slice('web', [{ name: 'http', port: 8080 }], [{ ip: '10.9.0.1' }], { name: 'web-manual' });
    await client.request('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', { body: es });
    await client.request('POST', ING, {
      body: ingress('web', {
        className: null,
        rules: { 'web.example.com': [{ path: '/', service: 'web' }] },
      }),
    });
    await waitFor('route to 10.9.0.1', async () =>
      dp.last?.match('web.example.com', '/x')?.route.backend.endpoints[0]?.ip === '10.9.0.1'
        ? true
        : undefined,
    );
    const cur = await client.request(
      'GET',
      '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-manual',
    );
    cur.endpoints = [{ addresses: ['10.9.0.2'], conditions: { ready: true } }];
    await client.request('PUT', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-manual', {
      body: cur,
    });
    await waitFor('route to 10.9.0.2', async () => {
      const eps = dp.last
        ?.match('web.example.com', '/')
        ?.route.backend.endpoints.map((e) => `${e.ip}:${e.port}`);
      return eps?.join() === '10.9.0.2:8080' ? true : undefined;
    });
  });

  it('writes the Service’s load balancer address into Ingresses it serves, not into others', async () => {
    await client.request('POST', ING, {
      body: ingress('foreign', {
        className: 'nginx',
        rules: { 'x.example.com': [{ path: '/', service: 'web' }] },
      }),
    });
    await client.request('PATCH', '/api/v1/namespaces/kube-system/services/k8ts-ingress/status', {
      body: { status: { loadBalancer: { ingress: [{ ip: '192.0.2.50' }] } } },
      contentType: 'application/merge-patch+json',
    });
    const ing = await waitFor('status of web', async () => {
      const o = await client.request('GET', `${ING}/web`);
      return o.status?.loadBalancer?.ingress?.length ? o : undefined;
    });
    expect(ing.status.loadBalancer.ingress).toEqual([{ ip: '192.0.2.50' }]);
    await ctl.idle();
    const foreign = await client.request('GET', `${ING}/foreign`);
    expect(foreign.status?.loadBalancer?.ingress).toBeUndefined();
    expect(dp.last?.match('x.example.com', '/')?.route.ingress).not.toBe('default/foreign');
  });

  it('records a Warning on the newer of two conflicting Ingresses', async () => {
    await client.request('POST', ING, {
      body: ingress('web-dup', { rules: { 'web.example.com': [{ path: '/', service: 'other' }] } }),
    });
    const ev = await waitFor('RouteConflict event', async () => {
      const list = await client.request('GET', '/api/v1/namespaces/default/events');
      return list.items.find(
        (e: { reason: string; involvedObject: { name: string } }) =>
          e.reason === 'RouteConflict' && e.involvedObject.name === 'web-dup',
      );
    });
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain('default/web');
    expect(dp.last?.match('web.example.com', '/')?.route.ingress).toBe('default/web');
  });

  it('an Ingress that moves to another class gets its status cleared', async () => {
    await client.request('POST', ING, {
      body: ingress('mover', { rules: { 'mover.example.com': [{ path: '/', service: 'web' }] } }),
    });
    await waitFor('status of mover', async () => {
      const o = await client.request('GET', `${ING}/mover`);
      return o.status?.loadBalancer?.ingress?.length ? true : undefined;
    });
    await client.request('PATCH', `${ING}/mover`, {
      body: { spec: { ingressClassName: 'nginx' } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('status of mover cleared', async () => {
      const o = await client.request('GET', `${ING}/mover`);
      return o.status?.loadBalancer?.ingress === undefined ? true : undefined;
    });
    expect(dp.last?.match('mover.example.com', '/')?.route.ingress).not.toBe('default/mover');
  });

  it('resolves an ExternalName Service through DNS (localhost) on its target port', async () => {
    await client.request('POST', '/api/v1/namespaces/default/services', {
      body: service('ext', [{ name: 'http', port: 80, targetPort: 9999 }], {
        type: 'ExternalName',
        externalName: 'localhost',
      }),
    });
    await client.request('POST', ING, {
      body: ingress('ext', { rules: { 'ext.example.com': [{ path: '/', service: 'ext' }] } }),
    });
    const eps = await waitFor('ExternalName endpoints', async () => {
      const e = dp.last?.match('ext.example.com', '/')?.route.backend.endpoints;
      return e?.length ? e.map((x) => `${x.ip}:${x.port}`) : undefined;
    });
    expect(eps.every((e) => e === '127.0.0.1:9999' || e === '::1:9999')).toBe(true);
  });
});
