/**
 * API semantics against a real `k8ts server`: resourceVersion and paging, watch (bookmarks,
 * selectors, 410), dryRun, generateName, finalizers and graceful deletion, subresources,
 * deletecollection, namespace deletion, metrics.
 */

import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type TestClient } from './helpers/rest.js';
import { cleanup, KUBECTL, kubectl, kubectlOk, type RunningServer, startServer } from './helpers/server.js';

const cm = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels },
  data: { k: name },
});

describe('API semantics', () => {
  let srv: RunningServer;
  let c: TestClient;
  beforeAll(async () => {
    srv = await startServer();
    c = adminClient(srv);
    await c.json('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'sem' },
    });
  });
  afterAll(async () => {
    c?.close();
    await srv?.kill('SIGTERM');
    if (srv) cleanup(srv.dataDir);
  });

  it('pages a list with limit/continue at one resourceVersion', async () => {
    for (let i = 0; i < 25; i++) {
      const r = await c.request(
        'POST',
        '/api/v1/namespaces/sem/configmaps',
        cm(`page-${String(i).padStart(2, '0')}`, { page: 'yes' }),
      );
      expect(r.status).toBe(201);
    }
    const first = await c.json('GET', '/api/v1/namespaces/sem/configmaps?limit=10&labelSelector=page%3Dyes');
    expect(first.items).toHaveLength(10);
    expect(first.metadata.continue).toBeTruthy();
    // A write between pages is not seen by the continued list (same snapshot).
    await c.request('POST', '/api/v1/namespaces/sem/configmaps', cm('page-zz-late', { page: 'yes' }));
    const names: string[] = first.items.map((o: any) => o.metadata.name);
    let token = first.metadata.continue;
    while (token) {
      const next = await c.json(
        'GET',
        `/api/v1/namespaces/sem/configmaps?limit=10&labelSelector=page%3Dyes&continue=${encodeURIComponent(token)}`,
      );
      expect(next.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
      names.push(...next.items.map((o: any) => o.metadata.name));
      token = next.metadata.continue;
    }
    expect(names).toHaveLength(25);
    expect(names).not.toContain('page-zz-late');
    expect([...names].sort()).toEqual(names);
    // kubectl pages with --chunk-size and prints everything.
    const out = await kubectl(srv, [
      'get',
      'cm',
      '-n',
      'sem',
      '-l',
      'page=yes',
      '--chunk-size=7',
      '-o',
      'name',
    ]);
    if (existsSync(KUBECTL)) expect(out.stdout.trim().split('\n')).toHaveLength(26);
    const bad = await c.request('GET', '/api/v1/namespaces/sem/configmaps?limit=5&continue=garbage');
    expect(bad.status).toBe(400);
  });

  it('watch: selector transitions and the initial-events bookmark', async () => {
    const start = await c.json('GET', '/api/v1/namespaces/sem/configmaps?limit=1');
    const rv = start.metadata.resourceVersion;
    const watch = c.watchEvents(
      `/api/v1/namespaces/sem/configmaps?watch=1&resourceVersion=${rv}&labelSelector=tier%3Dweb&allowWatchBookmarks=true`,
      (evs) => evs.filter((e) => e.type !== 'BOOKMARK').length >= 3,
      8000,
    );
    await c.request('POST', '/api/v1/namespaces/sem/configmaps', cm('sel', { tier: 'web' }));
    await c.request(
      'PATCH',
      '/api/v1/namespaces/sem/configmaps/sel',
      { data: { k: 'changed' } },
      { 'content-type': 'application/merge-patch+json' },
    );
    await c.request(
      'PATCH',
      '/api/v1/namespaces/sem/configmaps/sel',
      { metadata: { labels: { tier: 'db' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    await c.request('POST', '/api/v1/namespaces/sem/configmaps', cm('other', { tier: 'db' }));
    const events = (await watch).filter((e) => e.type !== 'BOOKMARK');
    expect(events.map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual([
      'ADDED:sel',
      'MODIFIED:sel',
      'DELETED:sel',
    ]);
    // sendInitialEvents ends the initial state with a bookmark annotated initial-events-end.
    const initial = await c.watchEvents(
      '/api/v1/namespaces/sem/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=tier%3Ddb',
      (evs) => evs.some((e) => e.type === 'BOOKMARK'),
      8000,
    );
    const bm = initial.find((e) => e.type === 'BOOKMARK')!;
    expect(bm.object.metadata.annotations['k8s.io/initial-events-end']).toBe('true');
    expect(
      initial
        .filter((e) => e.type === 'ADDED')
        .map((e) => e.object.metadata.name)
        .sort(),
    ).toEqual(['other', 'sel']);
  });

  it('dryRun=All validates and answers but stores nothing', async () => {
    const r = await c.request('POST', '/api/v1/namespaces/sem/configmaps?dryRun=All', cm('dry'));
    expect(r.status).toBe(201);
    expect(JSON.parse(r.body).metadata.uid).toBeTruthy();
    expect((await c.request('GET', '/api/v1/namespaces/sem/configmaps/dry')).status).toBe(404);
    const svc = await c.request('POST', '/api/v1/namespaces/sem/services?dryRun=All', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'dry' },
      spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 30999 }] },
    });
    expect(svc.status).toBe(201);
    // The dry run did not keep the port.
    const real = await c.request('POST', '/api/v1/namespaces/sem/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'real' },
      spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 30999 }] },
    });
    expect(real.status).toBe(201);
  });

  it('generateName, uid, creationTimestamp, generation', async () => {
    const r = await c.json('POST', '/apis/apps/v1/namespaces/sem/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { generateName: 'gen-' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    });
    expect(r.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(r.metadata.generation).toBe(1);
    expect(r.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const path = `/apis/apps/v1/namespaces/sem/deployments/${r.metadata.name}`;
    const labeled = await c.json(
      'PATCH',
      path,
      { metadata: { labels: { x: 'y' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(labeled.metadata.generation).toBe(1);
    const scaled = await c.json(
      'PATCH',
      path,
      { spec: { replicas: 4 } },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(scaled.metadata.generation).toBe(2);
    // status subresource: spec changes are ignored there, status changes are kept. (A Service:
    // no controller writes its status, unlike a Deployment's.)
    await c.json('POST', '/api/v1/namespaces/sem/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'st' },
      spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
    });
    const lb = { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } };
    const st = await c.json(
      'PATCH',
      '/api/v1/namespaces/sem/services/st/status',
      { spec: { sessionAffinity: 'ClientIP' }, status: lb },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(st.spec.sessionAffinity).toBe('None');
    expect(st.status).toEqual(lb);
    // main resource: status changes are ignored.
    const main = await c.json(
      'PATCH',
      '/api/v1/namespaces/sem/services/st',
      { status: { loadBalancer: { ingress: [{ ip: '192.0.2.99' }] } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(main.status).toEqual(lb);
    // scale subresource
    const scale = await c.json('GET', `${path}/scale`);
    expect(scale).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 4 },
      status: { selector: 'a=b' },
    });
    const put = await c.json('PUT', `${path}/scale`, { ...scale, spec: { replicas: 6 } });
    expect(put.spec.replicas).toBe(6);
  });

  it('finalizers hold a delete until they are removed; pods bound to a node delete gracefully', async () => {
    await c.json('POST', '/api/v1/namespaces/sem/configmaps', {
      ...cm('fin'),
      metadata: { name: 'fin', finalizers: ['example.com/hold'] },
    });
    const del = await c.request('DELETE', '/api/v1/namespaces/sem/configmaps/fin');
    expect(del.status).toBe(202);
    const held = await c.json('GET', '/api/v1/namespaces/sem/configmaps/fin');
    expect(held.metadata.deletionTimestamp).toBeTruthy();
    const added = await c.request(
      'PATCH',
      '/api/v1/namespaces/sem/configmaps/fin',
      [{ op: 'add', path: '/metadata/finalizers/-', value: 'new' }],
      { 'content-type': 'application/json-patch+json' },
    );
    expect(added.status).toBe(422);
    await c.json(
      'PATCH',
      '/api/v1/namespaces/sem/configmaps/fin',
      { metadata: { finalizers: null } },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect((await c.request('GET', '/api/v1/namespaces/sem/configmaps/fin')).status).toBe(404);

    const pod = await c.json('POST', '/api/v1/namespaces/sem/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      // Bound by hand below, so not handed to the default scheduler.
      spec: { schedulerName: 'manual', containers: [{ name: 'c', image: 'busybox' }] },
    });
    expect(pod.status.phase).toBe('Pending');
    expect(pod.spec.restartPolicy).toBe('Always');
    const bind = await c.request('POST', '/api/v1/namespaces/sem/pods/p/binding', {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'p' },
      target: { kind: 'Node', name: 'node-a' },
    });
    expect(bind.status).toBe(201);
    const again = await c.request('POST', '/api/v1/namespaces/sem/pods/p/binding', {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'p' },
      target: { kind: 'Node', name: 'node-b' },
    });
    expect(again.status).toBe(409);
    const bound = await c.json('GET', '/api/v1/namespaces/sem/pods/p');
    expect(bound.spec.nodeName).toBe('node-a');
    expect(bound.status.conditions.find((x: any) => x.type === 'PodScheduled').status).toBe('True');
    const graceful = await c.request('DELETE', '/api/v1/namespaces/sem/pods/p');
    expect(graceful.status).toBe(202);
    const terminating = await c.json('GET', '/api/v1/namespaces/sem/pods/p');
    expect(terminating.metadata.deletionGracePeriodSeconds).toBe(30);
    // The kubelet (or a user) finishes with grace period 0.
    const now = await c.request('DELETE', '/api/v1/namespaces/sem/pods/p', {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      gracePeriodSeconds: 0,
    });
    expect(now.status).toBe(200);
    expect((await c.request('GET', '/api/v1/namespaces/sem/pods/p')).status).toBe(404);
  });

  it('deletecollection with a selector', async () => {
    for (const n of ['dc-1', 'dc-2', 'dc-keep'])
      await c.request(
        'POST',
        '/api/v1/namespaces/sem/configmaps',
        cm(n, { dc: n === 'dc-keep' ? 'no' : 'yes' }),
      );
    const r = await c.request('DELETE', '/api/v1/namespaces/sem/configmaps?labelSelector=dc%3Dyes');
    expect(r.status).toBe(200);
    const left = await c.json('GET', '/api/v1/namespaces/sem/configmaps?labelSelector=dc');
    expect(left.items.map((o: any) => o.metadata.name)).toEqual(['dc-keep']);
  });

  it('garbage collection: background deletes dependents, orphan keeps them', async () => {
    const owner = await c.json('POST', '/api/v1/namespaces/sem/configmaps', cm('owner'));
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid };
    await c.json('POST', '/api/v1/namespaces/sem/configmaps', {
      ...cm('dep'),
      metadata: { name: 'dep', ownerReferences: [ref] },
    });
    await c.request('DELETE', '/api/v1/namespaces/sem/configmaps/owner');
    await waitFor(
      async () => (await c.request('GET', '/api/v1/namespaces/sem/configmaps/dep')).status === 404,
    );

    const owner2 = await c.json('POST', '/api/v1/namespaces/sem/configmaps', cm('owner2'));
    const ref2 = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner2', uid: owner2.metadata.uid };
    await c.json('POST', '/api/v1/namespaces/sem/configmaps', {
      ...cm('dep2'),
      metadata: { name: 'dep2', ownerReferences: [ref2] },
    });
    await c.request('DELETE', '/api/v1/namespaces/sem/configmaps/owner2', {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Orphan',
    });
    await waitFor(
      async () => (await c.request('GET', '/api/v1/namespaces/sem/configmaps/owner2')).status === 404,
    );
    const dep2 = await c.json('GET', '/api/v1/namespaces/sem/configmaps/dep2');
    expect(dep2.metadata.ownerReferences).toBeUndefined();
  });

  it('foreground deletion waits for blocking dependents, which the garbage collector deletes first', async () => {
    const owner = await c.json('POST', '/api/v1/namespaces/sem/configmaps', cm('fg-owner'));
    const ref = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'fg-owner',
      uid: owner.metadata.uid,
      blockOwnerDeletion: true,
    };
    // The dependent has a finalizer of its own, so the owner must stay until it is really gone.
    await c.json('POST', '/api/v1/namespaces/sem/configmaps', {
      ...cm('fg-dep'),
      metadata: { name: 'fg-dep', ownerReferences: [ref], finalizers: ['example.com/slow'] },
    });
    const del = await c.json('DELETE', '/api/v1/namespaces/sem/configmaps/fg-owner', {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Foreground',
    });
    expect(del.metadata.finalizers).toContain('foregroundDeletion');
    await waitFor(async () =>
      Boolean((await c.json('GET', '/api/v1/namespaces/sem/configmaps/fg-dep')).metadata.deletionTimestamp),
    );
    // Still there: its blocking dependent is not gone yet.
    const held = await c.json('GET', '/api/v1/namespaces/sem/configmaps/fg-owner');
    expect(held.metadata.deletionTimestamp).toBeTruthy();
    await c.json(
      'PATCH',
      '/api/v1/namespaces/sem/configmaps/fg-dep',
      { metadata: { finalizers: null } },
      { 'content-type': 'application/merge-patch+json' },
    );
    await waitFor(
      async () => (await c.request('GET', '/api/v1/namespaces/sem/configmaps/fg-owner')).status === 404,
    );
  });

  it('deleting a namespace deletes its content, then the namespace', async () => {
    await c.json('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'doomed' },
    });
    await c.json('POST', '/api/v1/namespaces/doomed/configmaps', cm('x'));
    const del = await c.json('DELETE', '/api/v1/namespaces/doomed');
    expect(del.status.phase).toBe('Terminating');
    const refused = await c.request('POST', '/api/v1/namespaces/doomed/configmaps', cm('y'));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).message).toContain('because it is being terminated');
    await waitFor(async () => (await c.request('GET', '/api/v1/namespaces/doomed')).status === 404);
    if (existsSync(KUBECTL)) {
      await kubectlOk(srv, ['create', 'namespace', 'doomed2']);
      expect(await kubectlOk(srv, ['delete', 'namespace', 'doomed2', '--timeout=20s'])).toContain('deleted');
    }
  });

  it('OpenAPI v3 documents are linked by hash, cacheable, and answer If-None-Match with 304', async () => {
    const index = await c.json('GET', '/openapi/v3');
    const url: string = index.paths['apis/apps/v1'].serverRelativeURL;
    expect(url).toMatch(/^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]+$/);
    const doc = await c.request('GET', url);
    expect(doc.status).toBe(200);
    expect(doc.headers['cache-control']).toBe('public, immutable');
    const etag = doc.headers.etag as string;
    expect(JSON.parse(doc.body).components.schemas['io.k8s.api.apps.v1.Deployment']).toBeTruthy();
    const again = await c.request('GET', url, undefined, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
  });

  it('serves metrics with upstream names', async () => {
    const r = await c.request('GET', '/metrics', undefined, { accept: 'text/plain' });
    expect(r.status).toBe(200);
    expect(r.body).toMatch(
      /apiserver_request_total\{[^}]*verb="POST"[^}]*resource="configmaps"[^}]*code="201"/,
    );
    expect(r.body).toContain('apiserver_request_duration_seconds_bucket');
    expect(r.body).toMatch(
      /etcd_request_duration_seconds_count\{[^}]*operation="create"[^}]*type="configmaps"[^}]*\} [1-9]/,
    );
    expect(r.body).toMatch(/apiserver_storage_objects\{resource="namespaces"\} [4-9]/);
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}
