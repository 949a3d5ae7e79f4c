/**
 * The client library against a real `k8ts server`: leader election on a Lease (exactly one of two
 * candidates leads; stopping it hands over), and a shared informer (indexes, handlers, and
 * convergence after the server is killed -9 and the data changes behind the informer's back).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { resourceForPlural } from '../src/core/api/resources.js';
import type { KObj } from '../src/core/client/informer.js';
import { InformerFactory } from '../src/core/client/informer-factory.js';
import { type LeaderElector, runLeaderElection } from '../src/core/client/leader-election.js';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import { adminClient } from './helpers/rest.js';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';

/** Poll until `cond` is true (no timing assertion: the generous timeout only bounds a hang). */
async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 45_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const servers: RunningServer[] = [];
const dirs = new Set<string>();
const afterStop: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const f of afterStop) await f();
  for (const s of servers) await s.kill('SIGKILL');
  for (const d of dirs) cleanup(d);
});

async function start(opts: { dataDir?: string; port?: number } = {}): Promise<RunningServer> {
  const s = await startServer(opts);
  servers.push(s);
  dirs.add(s.dataDir);
  return s;
}

describe('leader election against k8ts server', () => {
  it('of two candidates exactly one leads; stopping it hands the Lease to the other', async () => {
    const server = await start();
    const client = new RestClient(loadKubeconfig(server.kubeconfig));
    const test = adminClient(server);
    const leading = new Set<string>();
    let maxConcurrent = 0;
    const started: string[] = [];
    const electors = new Map<string, LeaderElector>();
    for (const id of ['server-a', 'server-b']) {
      electors.set(
        id,
        runLeaderElection(
          client,
          {
            name: 'k8ts-test',
            identity: id,
            leaseDurationSeconds: 4,
            renewDeadlineSeconds: 3,
            retryPeriodSeconds: 0.5,
          },
          {
            onStartedLeading: () => {
              leading.add(id);
              started.push(id);
              maxConcurrent = Math.max(maxConcurrent, leading.size);
            },
            onStoppedLeading: () => void leading.delete(id),
          },
        ),
      );
    }
    afterStop.push(() => Promise.all([...electors.values()].map((e) => e.stop())));
    await until('a leader', () => leading.size === 1);
    const first = [...leading][0]!;
    const other = first === 'server-a' ? 'server-b' : 'server-a';
    // Both candidates keep trying for a while (several retry periods); still only the first leads.
    const lease = async () =>
      (await test.json('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/k8ts-test')).spec;
    const renewed = (await lease()).renewTime;
    await until('two renewals', async () => (await lease()).renewTime !== renewed);
    expect([...leading]).toEqual([first]);
    expect(electors.get(first)!.isLeader()).toBe(true);
    expect(electors.get(other)!.isLeader()).toBe(false);
    await until('the follower to see the leader', () => electors.get(other)!.leader() === first);
    const spec = await lease();
    expect(spec).toMatchObject({ holderIdentity: first, leaseDurationSeconds: 4, leaseTransitions: 0 });
    expect(spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    await electors.get(first)!.stop();
    expect(leading.has(first)).toBe(false);
    await until('the other candidate to lead', () => leading.has(other));
    expect(started).toEqual([first, other]);
    expect(maxConcurrent).toBe(1);
    expect(await lease()).toMatchObject({ holderIdentity: other, leaseTransitions: 1 });

    await electors.get(other)!.stop();
    expect(await lease()).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    client.close();
    test.close();
  });
});

describe('shared informers against k8ts server', () => {
  it('index by label, see add/update/delete, and converge after kill -9 and changes behind their back', async () => {
    const server = await start();
    const port = Number(new URL(server.url).port);
    const client = new RestClient(loadKubeconfig(server.kubeconfig));
    let test = adminClient(server);
    const ns = 'informer-test';
    await test.json('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    });
    const cms = `/api/v1/namespaces/${ns}/configmaps`;
    const cm = (name: string, app: string, v: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, labels: { app } },
      data: { v },
    });
    await test.json('POST', cms, cm('one', 'web', '1'));

    const factory = new InformerFactory(client, { retryMs: 200 });
    const inf = factory.informer(resourceForPlural('', 'v1', 'configmaps')!, { namespace: ns });
    inf.addIndex('app', (o) => (o.metadata.labels?.app ? [o.metadata.labels.app] : []));
    const events: string[] = [];
    inf.addHandlers({
      add: (o: KObj) => events.push(`add ${o.metadata.name} ${o.data?.v}`),
      update: (o: KObj, old: KObj) => events.push(`update ${o.metadata.name} ${old.data?.v}->${o.data?.v}`),
      delete: (o: KObj) => events.push(`delete ${o.metadata.name}`),
    });
    expect(await factory.startAndWait()).toBe(true);
    expect(events).toEqual(['add one 1']);

    await test.json('POST', cms, cm('two', 'web', '1'));
    await test.json('POST', cms, cm('three', 'db', '1'));
    await until('two adds', () => events.length === 3);
    const names = (app: string) =>
      inf
        .byIndex('app', app)
        .map((o) => o.metadata.name)
        .sort();
    expect(names('web')).toEqual(['one', 'two']);
    const two = await test.json('GET', `${cms}/two`);
    await test.json('PUT', `${cms}/two`, {
      ...two,
      metadata: { ...two.metadata, labels: { app: 'db' } },
      data: { v: '2' },
    });
    await test.request('DELETE', `${cms}/one`);
    await until('update and delete', () => events.length === 5);
    expect(events.slice(3)).toEqual(['update two 1->2', 'delete one']);
    expect(names('web')).toEqual([]);
    expect(names('db')).toEqual(['three', 'two']);

    // kill -9; change the data through another server on the same data dir (the informer cannot
    // see it); then bring the API back on the original port.
    await server.kill('SIGKILL');
    test.close();
    const side = await start({ dataDir: server.dataDir });
    const sideClient = adminClient(side);
    await sideClient.request('DELETE', `${cms}/three`);
    await sideClient.json('POST', cms, cm('four', 'web', '1'));
    const t = await sideClient.json('GET', `${cms}/two`);
    await sideClient.json('PUT', `${cms}/two`, { ...t, data: { v: '3' } });
    sideClient.close();
    await side.kill('SIGKILL');
    const back = await start({ dataDir: server.dataDir, port });
    test = adminClient(back);

    await until('the informer to converge', () => events.length >= 8);
    expect(events.slice(5).sort()).toEqual(['add four 1', 'delete three', 'update two 2->3']);
    expect(names('web')).toEqual(['four']);
    expect(names('db')).toEqual(['two']);
    expect(
      inf
        .list(ns)
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['four', 'two']);

    // And the watch is live again.
    await test.json('POST', cms, cm('five', 'web', '1'));
    await until('a live add', () => events.includes('add five 1'));
    expect(names('web')).toEqual(['five', 'four']);
    factory.stop();
    client.close();
    test.close();
  });
});

describe('RestClient against k8ts server', () => {
  it('serves requests while more watches are open than its request pool has sockets', async () => {
    const server = await start();
    const client = new RestClient(loadKubeconfig(server.kubeconfig));
    const opened: string[] = [];
    // 40 long-lived watches (the request pool holds 32 sockets), each confirmed open by a bookmark
    // or event; then a plain request must still be answered.
    const watches = Array.from({ length: 40 }, (_, i) =>
      client.watch(
        '/api/v1/namespaces',
        { resourceVersion: '0' },
        (type) => {
          if (type === 'ADDED' && !opened.includes(String(i))) opened.push(String(i));
        },
        () => {},
      ),
    );
    await until('every watch to open', () => opened.length === 40);
    const ns = await client.request('GET', '/api/v1/namespaces/default');
    expect(ns.metadata.name).toBe('default');
    for (const w of watches) w.stop();
    client.close();
  });
});
