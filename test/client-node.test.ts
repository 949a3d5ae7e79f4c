/**
 * The official JavaScript client (@kubernetes/client-node) against k8ts: list, create, patch and an
 * informer fed by list + watch.
 */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';

describe('@kubernetes/client-node', () => {
  let srv: RunningServer;
  let kc: k8s.KubeConfig;
  beforeAll(async () => {
    srv = await startServer();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(srv.kubeconfig);
  });
  afterAll(async () => {
    await srv?.kill('SIGTERM');
    if (srv) cleanup(srv.dataDir);
  });

  it('lists, creates and patches', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = await core.listNamespace();
    expect(ns.items.map((n) => n.metadata?.name)).toEqual(
      expect.arrayContaining(['default', 'kube-system', 'kube-public', 'kube-node-lease']),
    );
    const created = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'from-js', labels: { a: 'b' } }, data: { k: 'v' } },
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    const patched = await core.patchNamespacedConfigMap(
      { name: 'from-js', namespace: 'default', body: { data: { k2: 'v2' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(patched.data).toEqual({ k: 'v', k2: 'v2' });
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const d = await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'js-web' },
        spec: {
          selector: { matchLabels: { app: 'js' } },
          template: {
            metadata: { labels: { app: 'js' } },
            spec: { containers: [{ name: 'c', image: 'nginx' }] },
          },
        },
      },
    });
    expect(d.spec?.replicas).toBe(1);
    const sp = await apps.patchNamespacedDeployment(
      {
        name: 'js-web',
        namespace: 'default',
        body: { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    expect(sp.spec?.template.spec?.containers[0]?.image).toBe('nginx:2');
    const list = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'a=b' });
    expect(list.items.map((c) => c.metadata?.name)).toEqual(['from-js']);
  });

  it('an informer sees adds, updates and deletes through list + watch', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () =>
      core.listNamespacedConfigMap({ namespace: 'default' }),
    );
    const seen: string[] = [];
    let resolveDone: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    informer.on('add', (o) => seen.push(`add:${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update:${o.metadata?.name}`));
    informer.on('delete', (o) => {
      seen.push(`delete:${o.metadata?.name}`);
      if (o.metadata?.name === 'inf') resolveDone();
    });
    await informer.start();
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'inf' }, data: { a: '1' } },
    });
    await core.replaceNamespacedConfigMap({
      name: 'inf',
      namespace: 'default',
      body: { metadata: { name: 'inf' }, data: { a: '2' } },
    });
    await core.deleteNamespacedConfigMap({ name: 'inf', namespace: 'default' });
    await Promise.race([
      done,
      new Promise((_, rej) => setTimeout(() => rej(new Error(`informer saw only ${seen}`)), 10_000)),
    ]);
    await informer.stop();
    expect(seen).toContain('add:inf');
    expect(seen).toContain('update:inf');
    expect(seen).toContain('delete:inf');
    expect(informer.list('default').some((o) => o.metadata?.name === 'inf')).toBe(false);
  });
});
