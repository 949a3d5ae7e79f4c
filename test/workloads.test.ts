/**
 * The DaemonSet and StatefulSet controllers of a real `k8ts server` (with its scheduler), driven
 * with the real kubectl, on hollow nodes: they register, keep their Leases, report the pods the
 * scheduler binds to them Running + Ready, and finish graceful deletes.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import {
  type HollowNodes,
  type HollowNodesOptions,
  startHollowNodes,
} from '../src/core/hollow/hollow-nodes.js';
import { adminClient, type TestClient, type WatchEventJson } from './helpers/rest.js';
import {
  cleanup,
  KUBECTL,
  kubectlOk,
  type RunningServer,
  requireTool,
  startServer,
} from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

const have = requireTool(KUBECTL, 'install kubectl (e.g. the kubernetes-client package)');

const isReady = (p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');

function affinityNode(pod: any): string | undefined {
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms)
    for (const f of t.matchFields ?? [])
      if (f.key === 'metadata.name' && f.values?.length === 1) return f.values[0];
  return undefined;
}

const DAEMONSET = (image: string) => `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: ${image}}]
`;

const STATEFULSET = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.25}]
`;

describe.runIf(have)('DaemonSet and StatefulSet controllers (hollow nodes)', () => {
  let srv: RunningServer;
  let api: TestClient;
  let client: RestClient;
  const hollow: HollowNodes[] = [];
  let tmp: string;
  const addNodes = async (opts: HollowNodesOptions) => {
    hollow.push(await startHollowNodes(client, { leaseRenewIntervalMs: 2000, ...opts }));
  };

  beforeAll(async () => {
    srv = await startServer();
    api = adminClient(srv);
    tmp = mkdtempSync(join(tmpdir(), 'k8ts-workloads-'));
    client = new RestClient(loadKubeconfig(srv.kubeconfig));
    await addNodes({ count: 3, namePrefix: 'node-', firstIndex: 1 });
  }, 60_000);

  afterAll(async () => {
    for (const h of hollow) await h.stop();
    client?.close();
    api?.close();
    await srv?.kill('SIGTERM');
    if (srv) cleanup(srv.dataDir);
    if (tmp) cleanup(tmp);
  });

  const file = (name: string, text: string) => {
    const p = join(tmp, name);
    writeFileSync(p, text);
    return p;
  };
  const podsOf = async (app: string): Promise<any[]> =>
    (await api.json('GET', `/api/v1/namespaces/default/pods?labelSelector=app%3D${app}`)).items;
  const live = (pods: any[]) => pods.filter((p) => !p.metadata.deletionTimestamp);
  const onNodes = (pods: any[]) =>
    live(pods)
      .map((p) => p.spec.nodeName ?? `(unbound for ${affinityNode(p)})`)
      .sort();

  it('a DaemonSet lands exactly one pod on each node, pinned by node affinity', async () => {
    await kubectlOk(srv, ['apply', '-f', file('ds.yaml', DAEMONSET('registry.k8s.io/pause:3.9'))]);
    const pods = await waitFor('one running pod per node', async () => {
      const ps = live(await podsOf('agent'));
      return ps.length === 3 && ps.every((p) => p.status.phase === 'Running' && isReady(p)) ? ps : undefined;
    });
    expect(onNodes(pods)).toEqual(['node-1', 'node-2', 'node-3']);
    for (const p of pods) {
      expect(affinityNode(p)).toBe(p.spec.nodeName);
      expect(p.metadata.generateName).toBe('agent-');
      expect(p.metadata.labels['controller-revision-hash']).toMatch(/^[a-z0-9]+$/);
      expect(p.metadata.ownerReferences).toEqual([
        expect.objectContaining({
          kind: 'DaemonSet',
          name: 'agent',
          controller: true,
          blockOwnerDeletion: true,
        }),
      ]);
      const keys = p.spec.tolerations.map((t: any) => `${t.key}:${t.effect}`);
      expect(keys).toEqual(
        expect.arrayContaining([
          'node.kubernetes.io/not-ready:NoExecute',
          'node.kubernetes.io/unreachable:NoExecute',
          'node.kubernetes.io/unschedulable:NoSchedule',
        ]),
      );
    }
    const out = await kubectlOk(srv, ['rollout', 'status', 'daemonset/agent', '--timeout=60s']);
    expect(out).toContain('daemon set "agent" successfully rolled out');
    const ds = await api.json('GET', '/apis/apps/v1/namespaces/default/daemonsets/agent');
    expect(ds.status).toMatchObject({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      numberMisscheduled: 0,
      numberReady: 3,
      numberAvailable: 3,
      updatedNumberScheduled: 3,
      observedGeneration: ds.metadata.generation,
    });
  }, 120_000);

  it('a new node gets a daemon pod; a tainted node without a toleration gets none', async () => {
    // The tainted node comes first: when node-4's pod exists, the controller had seen node-tainted.
    await addNodes({
      count: 1,
      namePrefix: 'tainted-',
      firstIndex: 9,
      taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }],
    });
    await addNodes({ count: 1, namePrefix: 'node-', firstIndex: 4 });
    const pods = await waitFor('a pod on node-4', async () => {
      const ps = live(await podsOf('agent'));
      return ps.some((p) => p.spec.nodeName === 'node-4' && isReady(p)) ? ps : undefined;
    });
    expect(onNodes(pods)).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
    const ds = await waitFor('status counts node-4', async () => {
      const d = await api.json('GET', '/apis/apps/v1/namespaces/default/daemonsets/agent');
      return d.status.numberReady === 4 ? d : undefined;
    });
    expect(ds.status.desiredNumberScheduled).toBe(4);
    expect(ds.status.numberMisscheduled).toBe(0);
  }, 120_000);

  it('a DaemonSet rolls a new template out node by node', async () => {
    const before = live(await podsOf('agent'));
    const oldHash = before[0].metadata.labels['controller-revision-hash'];
    await kubectlOk(srv, ['apply', '-f', file('ds.yaml', DAEMONSET('registry.k8s.io/pause:3.10'))]);
    const out = await kubectlOk(srv, ['rollout', 'status', 'daemonset/agent', '--timeout=90s'], {
      timeoutMs: 100_000,
    });
    expect(out).toContain('successfully rolled out');
    const after = await waitFor('old pods gone', async () => {
      const ps = await podsOf('agent');
      return ps.length === 4 ? ps : undefined;
    });
    expect(onNodes(after)).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
    for (const p of after) {
      expect(p.spec.containers[0].image).toBe('registry.k8s.io/pause:3.10');
      expect(p.metadata.labels['controller-revision-hash']).not.toBe(oldHash);
    }
    const names = new Set(before.map((p) => p.metadata.name));
    for (const p of after) expect(names.has(p.metadata.name)).toBe(false);
  }, 150_000);

  it('rollout history and undo read the ControllerRevisions of a DaemonSet', async () => {
    const revisions = async () =>
      (await api.json('GET', '/apis/apps/v1/namespaces/default/controllerrevisions')).items.filter(
        (r: any) => r.metadata.ownerReferences?.[0]?.kind === 'DaemonSet',
      );
    const before = await waitFor('two revisions', async () => {
      const rs = await revisions();
      return rs.length === 2 ? rs : undefined;
    });
    expect(before.map((r: any) => r.revision).sort()).toEqual([1, 2]);
    const history = await kubectlOk(srv, ['rollout', 'history', 'daemonset/agent']);
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    const one = await kubectlOk(srv, ['rollout', 'history', 'daemonset/agent', '--revision=1']);
    expect(one).toContain('registry.k8s.io/pause:3.9');
    expect(await kubectlOk(srv, ['get', 'controllerrevisions'])).toMatch(
      /NAME\s+CONTROLLER\s+REVISION\s+AGE\nagent-\S+\s+daemonset\.apps\/agent\s+[12]/,
    );

    await kubectlOk(srv, ['rollout', 'undo', 'daemonset/agent']);
    await kubectlOk(srv, ['rollout', 'status', 'daemonset/agent', '--timeout=90s'], { timeoutMs: 100_000 });
    const pods = await waitFor('pods back on the first template', async () => {
      const ps = live(await podsOf('agent'));
      return ps.length === 4 &&
        ps.every((p) => p.spec.containers[0].image === 'registry.k8s.io/pause:3.9' && isReady(p))
        ? ps
        : undefined;
    });
    expect(pods).toHaveLength(4);
    const after = await waitFor('revision 1 renumbered to 3', async () => {
      const rs = await revisions();
      return rs.some((r: any) => r.revision === 3) ? rs : undefined;
    });
    expect(after).toHaveLength(2);
    const renumbered = after.find((r: any) => r.revision === 3);
    expect(renumbered.metadata.name).toBe(before.find((r: any) => r.revision === 1).metadata.name);
  }, 150_000);

  it('a StatefulSet creates web-0, web-1, web-2 in order, each after the previous is Ready', async () => {
    const rv = (await api.json('GET', '/api/v1/namespaces/default/pods')).metadata.resourceVersion;
    const allReady = (evs: WatchEventJson[]) =>
      ['web-0', 'web-1', 'web-2'].every((n) =>
        evs.some((e) => e.object.metadata.name === n && isReady(e.object)),
      );
    const watching = api.watchEvents(
      `/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dweb&resourceVersion=${rv}`,
      allReady,
      90_000,
    );
    await kubectlOk(srv, ['apply', '-f', file('sts.yaml', STATEFULSET)]);
    const events = await watching;
    expect(allReady(events)).toBe(true);
    const rvOf = (e: WatchEventJson) => BigInt(e.object.metadata.resourceVersion);
    const added = (n: string) => events.find((e) => e.type === 'ADDED' && e.object.metadata.name === n)!;
    const firstReady = (n: string) => events.find((e) => e.object.metadata.name === n && isReady(e.object))!;
    for (const n of ['web-0', 'web-1', 'web-2']) expect(added(n), n).toBeDefined();
    // Created in order, and none before its predecessor was Ready.
    expect(rvOf(added('web-0'))).toBeLessThan(rvOf(added('web-1')));
    expect(rvOf(added('web-1'))).toBeLessThan(rvOf(added('web-2')));
    expect(rvOf(firstReady('web-0'))).toBeLessThan(rvOf(added('web-1')));
    expect(rvOf(firstReady('web-1'))).toBeLessThan(rvOf(added('web-2')));

    const pods = await podsOf('web');
    const web1 = pods.find((p) => p.metadata.name === 'web-1');
    expect(web1.spec.hostname).toBe('web-1');
    expect(web1.spec.subdomain).toBe('web');
    expect(web1.metadata.labels).toMatchObject({
      'statefulset.kubernetes.io/pod-name': 'web-1',
      'apps.kubernetes.io/pod-index': '1',
    });
    const out = await kubectlOk(srv, ['rollout', 'status', 'statefulset/web', '--timeout=60s']);
    expect(out).toContain('3 new pods have been updated');
    const sts = await api.json('GET', '/apis/apps/v1/namespaces/default/statefulsets/web');
    expect(sts.status).toMatchObject({
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      observedGeneration: sts.metadata.generation,
    });
    expect(sts.status.currentRevision).toBe(sts.status.updateRevision);
    expect(web1.metadata.labels['controller-revision-hash']).toBe(sts.status.updateRevision);
  }, 120_000);

  it('scaling down removes the highest ordinal first, one at a time', async () => {
    const rv = (await api.json('GET', '/api/v1/namespaces/default/pods')).metadata.resourceVersion;
    const gone = (evs: WatchEventJson[], n: string) =>
      evs.some((e) => e.type === 'DELETED' && e.object.metadata.name === n);
    const watching = api.watchEvents(
      `/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dweb&resourceVersion=${rv}`,
      (evs) => gone(evs, 'web-1') && gone(evs, 'web-2'),
      90_000,
    );
    await kubectlOk(srv, ['scale', 'statefulset/web', '--replicas=1']);
    const events = await watching;
    const idx = (pred: (e: WatchEventJson) => boolean) => events.findIndex(pred);
    const web2Deleted = idx((e) => e.type === 'DELETED' && e.object.metadata.name === 'web-2');
    const web1Leaving = idx(
      (e) =>
        e.object.metadata.name === 'web-1' && (e.type === 'DELETED' || !!e.object.metadata.deletionTimestamp),
    );
    expect(web2Deleted).toBeGreaterThanOrEqual(0);
    // web-1 starts going only after web-2 is completely gone.
    expect(web1Leaving).toBeGreaterThan(web2Deleted);
    expect(live(await podsOf('web')).map((p) => p.metadata.name)).toEqual(['web-0']);
    await waitFor('status replicas 1', async () => {
      const s = await api.json('GET', '/apis/apps/v1/namespaces/default/statefulsets/web');
      return s.status.replicas === 1 && s.status.readyReplicas === 1 ? s : undefined;
    });
  }, 120_000);

  it('a StatefulSet rolling update replaces pods from the highest ordinal down', async () => {
    await kubectlOk(srv, ['scale', 'statefulset/web', '--replicas=3']);
    await kubectlOk(srv, ['rollout', 'status', 'statefulset/web', '--timeout=60s']);
    const rv = (await api.json('GET', '/api/v1/namespaces/default/pods')).metadata.resourceVersion;
    const readyNew = (evs: WatchEventJson[], n: string) =>
      evs.some(
        (e) =>
          e.object.metadata.name === n &&
          e.object.spec.containers[0].image === 'nginx:1.26' &&
          isReady(e.object),
      );
    const watching = api.watchEvents(
      `/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dweb&resourceVersion=${rv}`,
      (evs) => ['web-0', 'web-1', 'web-2'].every((n) => readyNew(evs, n)),
      90_000,
    );
    await kubectlOk(srv, ['set', 'image', 'statefulset/web', 'web=nginx:1.26']);
    const out = await kubectlOk(srv, ['rollout', 'status', 'statefulset/web', '--timeout=90s'], {
      timeoutMs: 100_000,
    });
    expect(out).toContain('3 new pods have been updated');
    const events = await watching;
    const deletedAt = (n: string) =>
      events.findIndex((e) => e.type === 'DELETED' && e.object.metadata.name === n);
    expect(deletedAt('web-2')).toBeGreaterThanOrEqual(0);
    expect(deletedAt('web-2')).toBeLessThan(deletedAt('web-1'));
    expect(deletedAt('web-1')).toBeLessThan(deletedAt('web-0'));
    const sts = await api.json('GET', '/apis/apps/v1/namespaces/default/statefulsets/web');
    expect(sts.status.currentRevision).toBe(sts.status.updateRevision);
    for (const p of live(await podsOf('web')))
      expect(p.metadata.labels['controller-revision-hash']).toBe(sts.status.updateRevision);
  }, 150_000);
  it('a StatefulSet keeps its revisions as ControllerRevisions for rollout history', async () => {
    const out = await waitFor('two StatefulSet revisions', async () => {
      const h = await kubectlOk(srv, ['rollout', 'history', 'statefulset/web']);
      return /\n1\s+<none>\n2\s+<none>/.test(h) ? h : undefined;
    });
    expect(out).toContain('REVISION');
  });
});
