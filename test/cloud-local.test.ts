/**
 * The local provider (bare metal / laptop LoadBalancers) through a real API server, with the cloud
 * controller manager in this process: pool allocation, conflicts, release on delete, finalizer
 * removal, addresses kept across a controller restart, node-address mode following the nodes.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningCloudControllers,
  startCloudControllerManager,
} from '../src/cloud/cloud-controller-manager.js';
import { createLocalProvider } from '../src/cloud/providers/local/local-provider.js';
import { LB_FINALIZER } from '../src/cloud/service-lb-plan.js';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import { createReadyNode, eventReasons, lbService, setNodeReady, waitFor } from './helpers/cloud.js';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';

let server: RunningServer;
let client: RestClient;
let ccm: RunningCloudControllers | undefined;

const getSvc = (name: string) =>
  client.request<Service>('GET', `/api/v1/namespaces/default/services/${name}`);
const ipsOf = (s: Service) => (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(',');
const create = (name: string, spec: Record<string, unknown> = {}) =>
  client.request('POST', '/api/v1/namespaces/default/services', { body: lbService(name, { spec }) });
const del = (name: string) => client.request('DELETE', `/api/v1/namespaces/default/services/${name}`);
async function addressOf(name: string, want?: string): Promise<string> {
  return waitFor(`${name} address${want ? ` ${want}` : ''}`, async () => {
    const ip = ipsOf(await getSvc(name));
    return ip && (!want || ip === want) ? ip : undefined;
  });
}
async function gone(name: string): Promise<true> {
  return waitFor(`${name} deleted`, async () => {
    try {
      await getSvc(name);
      return undefined;
    } catch {
      return true;
    }
  });
}
const start = (pool?: string) =>
  startCloudControllerManager(client, {
    provider: createLocalProvider({ pool }),
    clusterName: 'local',
    service: { baseDelayMs: 50, maxDelayMs: 500 },
  });

beforeAll(async () => {
  server = await startServer({ args: ['--disable-controllers'] });
  client = new RestClient(loadKubeconfig(server.kubeconfig));
  await createReadyNode(client, 'node-a', { ip: '10.20.0.1' });
});
afterEach(() => {
  ccm?.stop();
  ccm = undefined;
});
afterAll(async () => {
  client?.close();
  await server?.kill();
  if (server) cleanup(server.dataDir);
});

describe('local provider with an address pool', () => {
  it('allocates distinct addresses, reports exhaustion, releases on delete and hands the address on', async () => {
    ccm = await start('192.0.2.10-192.0.2.11');
    await create('alpha');
    expect(await addressOf('alpha')).toBe('192.0.2.10');
    await create('beta');
    expect(await addressOf('beta')).toBe('192.0.2.11');
    await create('gamma');
    await waitFor(
      'pool exhausted event',
      async () =>
        (await eventReasons(client, 'default', 'gamma')).includes('SyncLoadBalancerFailed') || undefined,
    );
    expect(ipsOf(await getSvc('gamma'))).toBe('');

    await del('alpha');
    await gone('alpha');
    // The freed address goes to the waiting service.
    expect(await addressOf('gamma')).toBe('192.0.2.10');
    expect((await getSvc('gamma')).metadata?.finalizers).toContain(LB_FINALIZER);
  });

  it('a requested loadBalancerIP that is taken is refused; a free one is given', async () => {
    ccm = await start('192.0.2.10-192.0.2.12');
    await create('delta', { loadBalancerIP: '192.0.2.11' });
    await waitFor(
      'conflict event',
      async () =>
        (await eventReasons(client, 'default', 'delta')).includes('SyncLoadBalancerFailed') || undefined,
    );
    expect(ipsOf(await getSvc('delta'))).toBe('');
    await create('epsilon', { loadBalancerIP: '192.0.2.12' });
    expect(await addressOf('epsilon')).toBe('192.0.2.12');
  });

  it('a restarted controller keeps every published address and steals none', async () => {
    ccm = await start('192.0.2.10-192.0.2.12');
    await create('zeta');
    await waitFor(
      'zeta waits for an address',
      async () =>
        (await eventReasons(client, 'default', 'zeta')).includes('SyncLoadBalancerFailed') || undefined,
    );
    expect(ipsOf(await getSvc('beta'))).toBe('192.0.2.11');
    expect(ipsOf(await getSvc('gamma'))).toBe('192.0.2.10');
    expect(ipsOf(await getSvc('epsilon'))).toBe('192.0.2.12');
    expect(ipsOf(await getSvc('zeta'))).toBe('');
    // A service that never got an address is still cleaned up (finalizer removed).
    await del('delta');
    await gone('delta');
    await del('beta');
    await gone('beta');
    expect(await addressOf('zeta')).toBe('192.0.2.11');
    for (const n of ['gamma', 'epsilon', 'zeta']) await del(n);
    for (const n of ['gamma', 'epsilon', 'zeta']) await gone(n);
  });
});

describe('local provider without a pool (node addresses, as k3s ServiceLB)', () => {
  it('publishes the ready nodes addresses and follows them', async () => {
    ccm = await start();
    await create('eta');
    expect(await addressOf('eta')).toBe('10.20.0.1');
    await createReadyNode(client, 'node-b', { ip: '10.20.0.2' });
    expect(await addressOf('eta', '10.20.0.1,10.20.0.2')).toBe('10.20.0.1,10.20.0.2');
    await setNodeReady(client, 'node-b', false);
    expect(await addressOf('eta', '10.20.0.1')).toBe('10.20.0.1');
    await del('eta');
    await gone('eta');
  });
});
