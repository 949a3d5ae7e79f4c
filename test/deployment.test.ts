/**
 * The ReplicaSet and Deployment controllers of a real `k8ts server` (with its scheduler), driven
 * with the real kubectl (v1.32): create, scale 3 -> 10 -> 2, set image + rollout status, history,
 * undo, restart, and a foreground cascading delete, on three hollow nodes that report the pods
 * bound to them Running + Ready and finish graceful deletes.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import { type HollowNodes, startHollowNodes } from '../src/core/hollow/hollow-nodes.js';
import { adminClient, type TestClient } from './helpers/rest.js';
import {
  cleanup,
  KUBECTL,
  kubectl,
  kubectlOk,
  type RunningServer,
  requireTool,
  startServer,
} from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

const have = requireTool(KUBECTL, 'install kubectl (e.g. the kubernetes-client package)');
const NS = 'default';

const isReady = (p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');

describe.runIf(have)('Deployment and ReplicaSet controllers with kubectl', () => {
  let srv: RunningServer;
  let api: TestClient;
  let client: RestClient;
  let hollow: HollowNodes;

  beforeAll(async () => {
    srv = await startServer();
    api = adminClient(srv);
    client = new RestClient(loadKubeconfig(srv.kubeconfig));
    hollow = await startHollowNodes(client, { count: 3, namePrefix: 'node-' });
  });
  afterAll(async () => {
    await hollow?.stop();
    client?.close();
    api?.close();
    await srv?.kill('SIGTERM');
    if (srv) cleanup(srv.dataDir);
  });

  const k = (...args: string[]) => kubectlOk(srv, args, { timeoutMs: 90_000 });
  const pods = async () =>
    ((await api.json('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dweb`)).items ?? []) as any[];
  const livePods = async () => (await pods()).filter((p) => !p.metadata.deletionTimestamp);
  const replicaSets = async () =>
    ((await api.json('GET', `/apis/apps/v1/namespaces/${NS}/replicasets?labelSelector=app%3Dweb`)).items ??
      []) as any[];
  const deployment = () => api.json('GET', `/apis/apps/v1/namespaces/${NS}/deployments/web`);
  /** Wait for exactly `n` live pods, all Ready, and no pod left terminating. */
  const settle = (n: number) =>
    waitFor(`${n} ready pods`, async () => {
      const all = await pods();
      const live = all.filter((p) => !p.metadata.deletionTimestamp);
      return all.length === n && live.every(isReady) ? live : undefined;
    });

  it('creates a ReplicaSet with the template hash and its pods', async () => {
    await k('create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=3');
    const live = await settle(3);
    const [rs, ...more] = await replicaSets();
    expect(more).toHaveLength(0);
    const hash = rs.metadata.labels['pod-template-hash'];
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.spec.template.metadata.labels['pod-template-hash']).toBe(hash);
    expect(rs.metadata.annotations).toMatchObject({
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
    const owner = rs.metadata.ownerReferences[0];
    expect(owner).toMatchObject({
      kind: 'Deployment',
      name: 'web',
      controller: true,
      blockOwnerDeletion: true,
    });
    for (const p of live) {
      expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
      expect(p.metadata.ownerReferences[0]).toMatchObject({
        kind: 'ReplicaSet',
        name: rs.metadata.name,
        uid: rs.metadata.uid,
      });
      expect(p.metadata.labels['pod-template-hash']).toBe(hash);
    }
    const out = await k('rollout', 'status', 'deployment/web', '--timeout=60s');
    expect(out).toContain('deployment "web" successfully rolled out');
    const d = await deployment();
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.status).toMatchObject({
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    expect(d.status.observedGeneration).toBe(d.metadata.generation);
    const cond = Object.fromEntries(d.status.conditions.map((c: any) => [c.type, c]));
    expect(cond.Available).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    expect(cond.Progressing).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    const rsStatus = (await replicaSets())[0].status;
    expect(rsStatus).toMatchObject({
      replicas: 3,
      fullyLabeledReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
  });

  it('scales 3 -> 10 -> 2 and records the scaling events', async () => {
    await k('scale', 'deployment/web', '--replicas=10');
    await settle(10);
    await waitFor('10 available', async () =>
      (await deployment()).status.availableReplicas === 10 ? true : undefined,
    );
    await k('scale', 'deployment/web', '--replicas=2');
    await settle(2);
    const rs = (await replicaSets())[0];
    expect(rs.spec.replicas).toBe(2);
    const name = rs.metadata.name;
    const described = await waitFor('scaling events', async () => {
      const out = await k('describe', 'deployment', 'web');
      return out.includes(`Scaled down replica set ${name} from 10 to 2`) ? out : undefined;
    });
    expect(described).toContain(`Scaled up replica set ${name} from 0 to 3`);
    expect(described).toContain(`Scaled up replica set ${name} from 3 to 10`);
    expect(described).toContain('ScalingReplicaSet');
  });

  it('rolls out a new image and rollout status finishes', async () => {
    await k('set', 'image', 'deployment/web', 'nginx=nginx:1.26');
    const out = await k('rollout', 'status', 'deployment/web', '--timeout=60s');
    expect(out).toContain('successfully rolled out');
    const live = await settle(2);
    for (const p of live) expect(p.spec.containers[0].image).toBe('nginx:1.26');
    const rss = await replicaSets();
    expect(rss).toHaveLength(2);
    const byRev = Object.fromEntries(
      rss.map((r) => [r.metadata.annotations['deployment.kubernetes.io/revision'], r]),
    );
    expect(byRev['1'].spec.replicas).toBe(0);
    expect(byRev['2'].spec.replicas).toBe(2);
    expect(byRev['2'].spec.template.spec.containers[0].image).toBe('nginx:1.26');
    const d = await deployment();
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
    expect(d.status).toMatchObject({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 });
  });

  it('shows two revisions in rollout history', async () => {
    const out = await k('rollout', 'history', 'deployment/web');
    const revisions = out
      .split('\n')
      .map((l) => /^(\d+)\s/.exec(l)?.[1])
      .filter((x) => x !== undefined);
    expect(revisions).toEqual(['1', '2']);
  });

  it('rolls back with rollout undo, reusing the old ReplicaSet as revision 3', async () => {
    const before = await replicaSets();
    const rev1 = before.find((r) => r.metadata.annotations['deployment.kubernetes.io/revision'] === '1');
    await k('rollout', 'undo', 'deployment/web');
    await k('rollout', 'status', 'deployment/web', '--timeout=60s');
    const live = await settle(2);
    for (const p of live) expect(p.spec.containers[0].image).toBe('nginx:1.25');
    const rss = await replicaSets();
    expect(rss).toHaveLength(2);
    const reused = rss.find((r) => r.metadata.uid === rev1.metadata.uid);
    expect(reused.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    expect(reused.metadata.annotations['deployment.kubernetes.io/revision-history']).toBe('1');
    expect(reused.spec.replicas).toBe(2);
    const d = await deployment();
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    expect(d.spec.template.spec.containers[0].image).toBe('nginx:1.25');
  });

  it('restarts with rollout restart', async () => {
    const before = new Set((await livePods()).map((p) => p.metadata.uid));
    await k('rollout', 'restart', 'deployment/web');
    await k('rollout', 'status', 'deployment/web', '--timeout=60s');
    const live = await settle(2);
    for (const p of live) {
      expect(before.has(p.metadata.uid)).toBe(false);
      expect(p.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeTruthy();
    }
    const rss = await replicaSets();
    expect(rss).toHaveLength(3);
    const d = await deployment();
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('4');
  });

  it('pauses: a template change makes no new ReplicaSet until resumed', async () => {
    await k('rollout', 'pause', 'deployment/web');
    await k('set', 'env', 'deployment/web', 'PAUSED=1');
    const paused = await waitFor('Progressing=DeploymentPaused', async () => {
      const d = await deployment();
      const c = d.status.conditions?.find((x: any) => x.type === 'Progressing');
      return c?.reason === 'DeploymentPaused' && d.status.observedGeneration === d.metadata.generation
        ? d
        : undefined;
    });
    expect(paused.status.conditions.find((x: any) => x.type === 'Progressing').status).toBe('Unknown');
    expect(await replicaSets()).toHaveLength(3);
    await k('rollout', 'resume', 'deployment/web');
    await k('rollout', 'status', 'deployment/web', '--timeout=60s');
    const live = await settle(2);
    for (const p of live) expect(p.spec.containers[0].env).toEqual([{ name: 'PAUSED', value: '1' }]);
    expect(await replicaSets()).toHaveLength(4);
  });

  it('deletes with --cascade=foreground: ReplicaSets and pods go first', async () => {
    const r = await kubectl(
      srv,
      ['delete', 'deployment', 'web', '--cascade=foreground', '--wait', '--timeout=60s'],
      {
        timeoutMs: 90_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect((await api.request('GET', `/apis/apps/v1/namespaces/${NS}/deployments/web`)).status).toBe(404);
    expect(await replicaSets()).toHaveLength(0);
    expect(await pods()).toHaveLength(0);
  });
});
