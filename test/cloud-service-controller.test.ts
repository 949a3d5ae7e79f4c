/**
 * The service controller against a real API server (the compiled `k8ts server`, controllers off so
 * nothing else writes nodes), running in this process with a recording fake provider: finalizer,
 * status, events, host updates on node add / NotReady / exclude label, port change, failure then
 * retry, type change and delete, loadBalancerClass ignored.
 */
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningCloudControllers,
  startCloudControllerManager,
} from '../src/cloud/cloud-controller-manager.js';
import type {
  CloudProvider,
  EndpointSource,
  LoadBalancer,
  LoadBalancerStatus,
} from '../src/cloud/provider.js';
import { LB_FINALIZER } from '../src/cloud/service-lb-plan.js';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import { createReadyNode, eventReasons, lbService, setNodeReady, waitFor } from './helpers/cloud.js';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';

interface Call {
  op: 'ensure' | 'update' | 'delete';
  svc: string;
  nodes: string[];
  ports: number[];
  endpoints?: string[];
}

class RecordingLb implements LoadBalancer {
  calls: Call[] = [];
  failNext = 0;
  private source: EndpointSource | undefined;
  usesEndpoints(s: Service): boolean {
    return s.metadata?.annotations?.['test.k8ts.io/pod-targets'] === 'true';
  }
  setEndpointSource(src: EndpointSource): void {
    this.source = src;
  }
  private readonly live = new Map<string, LoadBalancerStatus>();
  getLoadBalancerName(_c: string, s: Service): string {
    return `a${s.metadata!.uid!.replace(/-/g, '')}`.slice(0, 32);
  }
  async getLoadBalancer(_c: string, s: Service) {
    const st = this.live.get(s.metadata!.uid!);
    return { exists: !!st, status: st };
  }
  private record(op: Call['op'], s: Service, nodes: Node[] = []): void {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error(`injected ${op} failure`);
    }
    this.calls.push({
      op,
      svc: s.metadata!.name!,
      nodes: nodes.map((n) => n.metadata!.name!),
      ports: (s.spec?.ports ?? []).map((p) => p.port),
      ...(this.usesEndpoints(s)
        ? { endpoints: (this.source?.(s, 'http') ?? []).map((e) => `${e.ip}:${e.port}`) }
        : {}),
    });
  }
  async ensureLoadBalancer(_c: string, s: Service, nodes: Node[]): Promise<LoadBalancerStatus> {
    this.record('ensure', s, nodes);
    const st = { ingress: [{ ip: `192.0.2.${this.live.size + 10}` }] };
    this.live.set(s.metadata!.uid!, st);
    return st;
  }
  async updateLoadBalancer(_c: string, s: Service, nodes: Node[]): Promise<void> {
    this.record('update', s, nodes);
  }
  async ensureLoadBalancerDeleted(_c: string, s: Service): Promise<void> {
    this.record('delete', s);
    this.live.delete(s.metadata!.uid!);
  }
}

const lb = new RecordingLb();
const provider: CloudProvider = {
  name: 'fake',
  loadBalancer: () => lb,
  instances: () => undefined,
  zones: () => undefined,
  routes: () => undefined,
};

let server: RunningServer;
let client: RestClient;
let ccm: RunningCloudControllers;

const getSvc = (name: string) =>
  client.request<Service>('GET', `/api/v1/namespaces/default/services/${name}`);
const callsFor = (name: string, op?: Call['op']) =>
  lb.calls.filter((c) => c.svc === name && (!op || c.op === op));

beforeAll(async () => {
  server = await startServer({ args: ['--disable-controllers'] });
  client = new RestClient(loadKubeconfig(server.kubeconfig));
  await createReadyNode(client, 'n1', { ip: '10.0.0.1' });
  await createReadyNode(client, 'n2', { ip: '10.0.0.2' });
  ccm = await startCloudControllerManager(client, {
    provider,
    clusterName: 'test',
    service: { baseDelayMs: 50, maxDelayMs: 200 },
  });
});

afterAll(async () => {
  ccm?.stop();
  client?.close();
  await server?.kill();
  if (server) cleanup(server.dataDir);
});

describe('service controller', () => {
  it('adds the finalizer, ensures the LB on the ready nodes and writes the status, with events', async () => {
    await client.request('POST', '/api/v1/namespaces/default/services', { body: lbService('web') });
    const svc = await waitFor('status.loadBalancer', async () => {
      const s = await getSvc('web');
      return s.status?.loadBalancer?.ingress?.length ? s : undefined;
    });
    expect(svc.metadata?.finalizers).toContain(LB_FINALIZER);
    expect(svc.status?.loadBalancer?.ingress?.[0]?.ip).toMatch(/^192\.0\.2\./);
    expect(callsFor('web')).toEqual([{ op: 'ensure', svc: 'web', nodes: ['n1', 'n2'], ports: [80] }]);
    const reasons = await waitFor('events', async () => {
      const r = await eventReasons(client, 'default', 'web');
      return r.includes('EnsuredLoadBalancer') ? r : undefined;
    });
    // Events are written fire-and-forget, so their order is not asserted.
    expect([...reasons].sort()).toEqual(['EnsuredLoadBalancer', 'EnsuringLoadBalancer']);
  });

  it('follows the node set: added, NotReady, excluded by label', async () => {
    await createReadyNode(client, 'n3', { ip: '10.0.0.3' });
    await waitFor(
      'update with n3',
      async () => callsFor('web', 'update').some((c) => c.nodes.join() === 'n1,n2,n3') || undefined,
    );
    await setNodeReady(client, 'n2', false);
    await waitFor(
      'update without NotReady n2',
      async () => callsFor('web', 'update').at(-1)?.nodes.join() === 'n1,n3' || undefined,
    );
    await client.request('PATCH', '/api/v1/nodes/n3', {
      body: { metadata: { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' } } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor(
      'update without excluded n3',
      async () => callsFor('web', 'update').at(-1)?.nodes.join() === 'n1' || undefined,
    );
    // Never a full ensure for host changes.
    expect(callsFor('web', 'ensure')).toHaveLength(1);
    await waitFor(
      'UpdatedLoadBalancer event',
      async () => (await eventReasons(client, 'default', 'web')).includes('UpdatedLoadBalancer') || undefined,
    );
  });

  it('ensures again on a port change', async () => {
    const s = await getSvc('web');
    s.spec!.ports = [...s.spec!.ports!, { name: 'https', port: 443, targetPort: 443, protocol: 'TCP' }];
    await client.request('PUT', '/api/v1/namespaces/default/services/web', { body: s });
    await waitFor(
      'ensure with 80+443',
      async () => callsFor('web', 'ensure').some((c) => c.ports.join() === '80,443') || undefined,
    );
  });

  it('a failure is reported as an event and retried with backoff', async () => {
    lb.failNext = 2;
    await client.request('POST', '/api/v1/namespaces/default/services', { body: lbService('flaky') });
    await waitFor('status after retries', async () => {
      const s = await getSvc('flaky');
      return s.status?.loadBalancer?.ingress?.length ? s : undefined;
    });
    const reasons = await waitFor('events', async () => {
      const r = await eventReasons(client, 'default', 'flaky');
      return r.includes('EnsuredLoadBalancer') ? r : undefined;
    });
    expect(reasons).toContain('SyncLoadBalancerFailed');
    expect(callsFor('flaky', 'ensure')).toHaveLength(1);
  });

  it('for providers that target pods, EndpointSlice changes update the load balancer', async () => {
    await client.request('POST', '/api/v1/namespaces/default/services', {
      body: lbService('pods', { annotations: { 'test.k8ts.io/pod-targets': 'true' } }),
    });
    await waitFor('ensure', async () => callsFor('pods', 'ensure')[0]);
    expect(callsFor('pods', 'ensure')[0]!.endpoints).toEqual([]);
    const slice = (ips: string[]) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'pods-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'pods' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    });
    await client.request('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
      body: slice(['10.42.0.5']),
    });
    await waitFor(
      'update with one pod',
      async () => callsFor('pods', 'update').at(-1)?.endpoints?.join() === '10.42.0.5:8080' || undefined,
    );
    const cur = await client.request<any>(
      'GET',
      '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/pods-abc',
    );
    await client.request('PUT', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/pods-abc', {
      body: {
        ...slice(['10.42.0.5', '10.42.1.7']),
        metadata: { ...slice([]).metadata, resourceVersion: cur.metadata.resourceVersion },
      },
    });
    await waitFor(
      'update with two pods',
      async () =>
        callsFor('pods', 'update').at(-1)?.endpoints?.join() === '10.42.0.5:8080,10.42.1.7:8080' || undefined,
    );
    // Services without pod targets are not touched by slice changes.
    expect(callsFor('web', 'update').every((c) => c.endpoints === undefined)).toBe(true);
  });

  it('ignores services with a loadBalancerClass', async () => {
    await client.request('POST', '/api/v1/namespaces/default/services', {
      body: lbService('classy', { spec: { loadBalancerClass: 'example.com/other' } }),
    });
    await new Promise((r) => setTimeout(r, 500));
    const s = await getSvc('classy');
    expect(s.metadata?.finalizers ?? []).not.toContain(LB_FINALIZER);
    expect(callsFor('classy')).toEqual([]);
  });

  it('type change to ClusterIP deletes the LB, clears the status and drops the finalizer', async () => {
    const s = await getSvc('flaky');
    s.spec!.type = 'ClusterIP';
    for (const p of s.spec!.ports!) delete p.nodePort;
    await client.request('PUT', '/api/v1/namespaces/default/services/flaky', { body: s });
    // The finalizer goes first, then the status is cleared.
    await waitFor('finalizer gone and status cleared', async () => {
      const x = await getSvc('flaky');
      const fin = (x.metadata?.finalizers ?? []).includes(LB_FINALIZER);
      return !fin && !x.status?.loadBalancer?.ingress?.length ? x : undefined;
    });
    // Later syncs over a cache that has not caught up yet do not delete twice.
    await new Promise((r) => setTimeout(r, 300));
    expect(callsFor('flaky', 'delete')).toHaveLength(1);
    const reasons = await eventReasons(client, 'default', 'flaky');
    expect(reasons.filter((r) => r === 'DeletedLoadBalancer')).toHaveLength(1);
  });

  it('delete: the Service stays until its LB is gone, then disappears', async () => {
    lb.failNext = 1;
    await client.request('DELETE', '/api/v1/namespaces/default/services/web');
    await waitFor('service gone', async () => {
      try {
        await getSvc('web');
        return undefined;
      } catch {
        return true;
      }
    });
    expect(callsFor('web', 'delete')).toHaveLength(1);
    const reasons = await eventReasons(client, 'default', 'web');
    expect(reasons).toEqual(
      expect.arrayContaining(['DeletingLoadBalancer', 'SyncLoadBalancerFailed', 'DeletedLoadBalancer']),
    );
  });
});
