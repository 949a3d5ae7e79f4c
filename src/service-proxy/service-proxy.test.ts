/**
 * The component: informer events -> trackers -> one rate-limited sync loop (batching within the
 * min sync period, periodic full syncs, retries), health and metrics, on a fake clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flushPromises } from '../core/client/fake-clock.js';
import { ProxyHealth } from './health.js';
import { IptablesProxier } from './iptables-proxier.js';
import { ServiceHealthServer } from './service-health.js';
import { ServiceProxy } from './service-proxy.js';
import { FakeFactory } from './testing/fake-informers.js';
import { FakeIptablesRunner } from './testing/fake-iptables.js';
import { NODE, slice, svc } from './testing/fixtures.js';
import { summarize, trace } from './testing/packet-tracer.js';

const EP = ['10.42.0.11', '10.42.0.12', '10.42.0.13'];

function setup(opts: { minSyncPeriodMs?: number; syncPeriodMs?: number; burstSyncs?: number } = {}) {
  const clock = new FakeClock();
  const factory = new FakeFactory();
  const runner = new FakeIptablesRunner();
  const restores: string[] = [];
  const backend = new IptablesProxier({
    family: 'IPv4',
    nodeName: NODE,
    clusterCidr: '10.42.0.0/16',
    runner,
    onRestore: (t) => restores.push(t),
  });
  const logs: string[] = [];
  const serviceHealth = new ServiceHealthServer({ host: '127.0.0.1', portFor: () => 0 });
  const proxy = new ServiceProxy({
    factory,
    nodeName: NODE,
    backends: [backend],
    minSyncPeriodMs: opts.minSyncPeriodMs ?? 1000,
    // One sync per period: the batching tests below count syncs; burst 2 has its own test.
    burstSyncs: opts.burstSyncs ?? 1,
    syncPeriodMs: opts.syncPeriodMs ?? 30_000,
    clock,
    health: new ProxyHealth({ clock, timeoutMs: 10_000 }),
    serviceHealth,
    log: (l) => logs.push(l),
  });
  const reach = (dst: string, dport: number) =>
    summarize(trace(runner.v4, { src: '10.42.0.50', dst, dport, origin: 'remote' }, { localAddresses: [] }));
  return { clock, factory, runner, restores, proxy, logs, reach, serviceHealth };
}

let stopFns: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of stopFns) await f();
  stopFns = [];
});

describe('ServiceProxy', () => {
  it('syncs the cache at start, then batches a burst of changes into one sync after minSyncPeriod', async () => {
    const t = setup();
    stopFns.push(() => t.proxy.stop());
    t.factory.informer({ plural: 'services' } as never);
    // Objects present before start are in the first sync.
    const services = t.factory.get('services');
    t.factory.informer({ plural: 'endpointslices' } as never);
    services.upsert(svc());
    t.factory.get('endpointslices').upsert(slice(EP));
    await t.proxy.start();
    expect(t.proxy.syncs).toBe(1);
    expect(t.reach('10.43.0.10', 80)).toEqual({
      'ACCEPT 10.42.0.11:8080': 0.3333,
      'ACCEPT 10.42.0.12:8080': 0.3333,
      'ACCEPT 10.42.0.13:8080': 0.3333,
    });
    // A burst inside the min sync period: one sync at the end of the period.
    const slices = t.factory.get('endpointslices');
    slices.upsert(slice([EP[0]!]));
    slices.upsert(slice([EP[0]!, EP[1]!]));
    services.upsert(svc({ name: 'b', clusterIP: '10.43.0.11' }));
    await t.clock.advance(999);
    expect(t.proxy.syncs).toBe(1);
    await t.clock.advance(1);
    await t.proxy.idle();
    expect(t.proxy.syncs).toBe(2);
    expect(t.proxy.lastResults[0]!.full).toBe(false);
    expect(t.reach('10.43.0.10', 80)).toEqual({
      'ACCEPT 10.42.0.11:8080': 0.5,
      'ACCEPT 10.42.0.12:8080': 0.5,
    });
    expect(t.reach('10.43.0.11', 80)).toEqual({ REJECT: 1 });
    // A change long after the last sync is applied at once.
    await t.clock.advance(5000);
    slices.delete(slice([]));
    await flushPromises();
    await t.proxy.idle();
    expect(t.proxy.syncs).toBe(3);
    expect(t.reach('10.43.0.10', 80)).toEqual({ REJECT: 1 });
  });

  it('with burstSyncs 2 (the default, as upstream) a change right after a sync runs at once, the next waits', async () => {
    const t = setup({ burstSyncs: 2 });
    stopFns.push(() => t.proxy.stop());
    await t.proxy.start();
    expect(t.proxy.syncs).toBe(1);
    const slices = t.factory.get('endpointslices');
    t.factory.get('services').upsert(svc());
    await flushPromises();
    await t.proxy.idle();
    expect(t.proxy.syncs).toBe(2);
    slices.upsert(slice(EP));
    await flushPromises();
    await t.clock.advance(999);
    expect(t.proxy.syncs).toBe(2);
    await t.clock.advance(1);
    await t.proxy.idle();
    expect(t.proxy.syncs).toBe(3);
    expect(t.reach('10.43.0.10', 80)['ACCEPT 10.42.0.11:8080']).toBe(0.3333);
  });

  it('runs a full sync every syncPeriod, repairing drift', async () => {
    const t = setup({ syncPeriodMs: 30_000 });
    stopFns.push(() => t.proxy.stop());
    await t.proxy.start();
    t.factory.get('services').upsert(svc());
    t.factory.get('endpointslices').upsert(slice(EP));
    await t.clock.advance(1000);
    await t.proxy.idle();
    // Someone flushes our service chain behind our back.
    const chain = t.runner.v4.chains('nat').find((c) => c.startsWith('KUBE-SVC-'))!;
    t.runner.v4.tables.get('nat')!.set(chain, []);
    expect(t.reach('10.43.0.10', 80)).toEqual({ ACCEPT: 1 });
    await t.clock.advance(30_000);
    await t.proxy.idle();
    expect(t.proxy.lastResults[0]!.full).toBe(true);
    expect(t.reach('10.43.0.10', 80)['ACCEPT 10.42.0.11:8080']).toBe(0.3333);
  });

  it('retries a failed sync as a full one and keeps the changes it had checked out', async () => {
    const t = setup();
    stopFns.push(() => t.proxy.stop());
    await t.proxy.start();
    t.runner.failRestores = 1;
    t.factory.get('services').upsert(svc());
    t.factory.get('endpointslices').upsert(slice(EP));
    await t.clock.advance(1000);
    expect(t.logs.join('\n')).toMatch(/sync failed/);
    expect(t.reach('10.43.0.10', 80)).toEqual({ ACCEPT: 1 });
    await t.clock.advance(1000);
    await t.proxy.idle();
    expect(t.proxy.lastResults[0]!.full).toBe(true);
    expect(t.reach('10.43.0.10', 80)['ACCEPT 10.42.0.12:8080']).toBe(0.3333);
    const m = await t.proxy.metrics.registry.getSingleMetricAsString(
      'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
    );
    expect(m).toMatch(/ 1$/m);
  });

  it('health: 503 once a queued change waits longer than the timeout; 200 again after a sync', async () => {
    const t = setup();
    stopFns.push(() => t.proxy.stop());
    await t.proxy.start();
    expect(t.proxy.health.report('healthz').status).toBe(200);
    t.runner.failRestores = 1000;
    t.factory.get('services').upsert(svc());
    await t.clock.advance(9_000);
    expect(t.proxy.health.report('healthz').status).toBe(200);
    await t.clock.advance(2_000);
    expect(t.proxy.health.report('healthz').status).toBe(503);
    expect(t.proxy.health.report('livez').status).toBe(503);
    t.runner.failRestores = 0;
    await t.clock.advance(1_000);
    await t.proxy.idle();
    const h = t.proxy.health.report('healthz');
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ nodeEligible: true, currentTime: new Date(t.clock.now()).toISOString() });
  });

  it('healthz reports a node being deleted as not eligible (livez stays 200)', async () => {
    const t = setup();
    stopFns.push(() => t.proxy.stop());
    await t.proxy.start();
    t.factory.get('nodes').upsert({ metadata: { name: NODE, deletionTimestamp: '2026-01-01T00:00:00Z' } });
    expect(t.proxy.health.report('healthz')).toMatchObject({ status: 503, body: { nodeEligible: false } });
    expect(t.proxy.health.report('livez').status).toBe(200);
  });

  it('metrics: sync duration, last timestamp, rule counts and network programming latency', async () => {
    const t = setup();
    stopFns.push(() => t.proxy.stop());
    await t.proxy.start();
    t.factory.get('services').upsert(svc());
    // Triggered 2 s before; applied by the batched sync 1 s later: 3 s of programming latency.
    const trigger = new Date(t.clock.now() - 2000).toISOString();
    t.factory.get('endpointslices').upsert(slice(EP, { triggerTime: trigger }));
    await t.clock.advance(1000);
    await t.proxy.idle();
    const text = await t.proxy.metrics.registry.metrics();
    expect(text).toMatch(/kubeproxy_sync_proxy_rules_duration_seconds_count 2/);
    expect(text).toMatch(/kubeproxy_network_programming_duration_seconds_count 1/);
    expect(text).toMatch(/kubeproxy_network_programming_duration_seconds_sum 3/);
    expect(text).toMatch(/kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} \d+/);
    expect(text).toContain(`kubeproxy_sync_proxy_rules_last_timestamp_seconds ${t.clock.now() / 1000}`);
  });

  it('serves a health check node port with the local endpoint count', async () => {
    const t = setup();
    stopFns.push(() => t.proxy.stop());
    await t.proxy.start();
    t.factory.get('services').upsert(
      svc({
        type: 'LoadBalancer',
        etpLocal: true,
        healthCheckNodePort: 32000,
        ports: [{ name: 'http', port: 80, nodePort: 30080 }],
      }),
    );
    t.factory.get('endpointslices').upsert(
      slice([
        { ip: EP[0]!, node: NODE },
        { ip: EP[1]!, node: 'node-b' },
      ]),
    );
    await t.clock.advance(1000);
    await t.proxy.idle();
    const port = t.serviceHealth.port('default/web')!;
    let r = await fetch(`http://127.0.0.1:${port}/`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      service: { namespace: 'default', name: 'web' },
      localEndpoints: 1,
      serviceProxyHealthy: true,
    });
    t.factory.get('endpointslices').upsert(slice([{ ip: EP[1]!, node: 'node-b' }]));
    await t.clock.advance(1000);
    await t.proxy.idle();
    r = await fetch(`http://127.0.0.1:${port}/`);
    expect(r.status).toBe(503);
    expect((await r.json()).localEndpoints).toBe(0);
  });
});
