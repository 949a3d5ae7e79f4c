/**
 * Node failure through `k8ts server` itself (its node lifecycle controller, ReplicaSet controller
 * and scheduler), with hollow nodes as the kubelets: one node stops heartbeating; it turns
 * Unknown with the unreachable taints, its pods are evicted after their toleration, and the
 * Deployment's pods come back on the other nodes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import { type HollowNodes, startHollowNodes } from '../src/core/hollow/hollow-nodes.js';
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
const GRACE_SECONDS = 3;
const TOLERATION_SECONDS = 2;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.25}]
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: ${TOLERATION_SECONDS}}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: ${TOLERATION_SECONDS}}
`;

const isReady = (o: any) => o.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');

describe.runIf(have)('node failure through k8ts server', () => {
  let srv: RunningServer;
  let client: RestClient;
  let hollow: HollowNodes;
  let tmp: string;

  beforeAll(async () => {
    srv = await startServer({ args: ['--node-monitor-grace-period', String(GRACE_SECONDS)] });
    client = new RestClient(loadKubeconfig(srv.kubeconfig));
    hollow = await startHollowNodes(client, { count: 3, namePrefix: 'hn-', leaseRenewIntervalMs: 500 });
    tmp = mkdtempSync(join(tmpdir(), 'k8ts-node-failure-'));
  });

  afterAll(async () => {
    await hollow?.stop();
    client?.close();
    await srv?.kill('SIGTERM');
    if (srv) cleanup(srv.dataDir);
    if (tmp) cleanup(tmp);
  });

  const pods = async (): Promise<any[]> =>
    (
      await client.request<any>('GET', '/api/v1/namespaces/default/pods', {
        query: { labelSelector: 'app=web' },
      })
    ).items;
  const live = (ps: any[]) => ps.filter((p) => !p.metadata.deletionTimestamp);

  it('a silent node turns Unknown, its pods are evicted and recreated on the others', async () => {
    const file = join(tmp, 'web.yaml');
    writeFileSync(file, DEPLOYMENT);
    await kubectlOk(srv, ['apply', '-f', file]);
    const before = await waitFor('6 pods Running and Ready', async () => {
      const ps = live(await pods());
      return ps.length === 6 && ps.every((p) => p.spec.nodeName && isReady(p)) ? ps : undefined;
    });
    // The scheduler spreads the pods of one owner: every node holds some.
    const byNode = new Map<string, number>();
    for (const p of before) byNode.set(p.spec.nodeName, (byNode.get(p.spec.nodeName) ?? 0) + 1);
    expect([...byNode.keys()].sort()).toEqual(['hn-0', 'hn-1', 'hn-2']);

    const victim = 'hn-1';
    const silentSince = Date.now();
    hollow.pause(victim);
    const node = await waitFor('the node turns Unknown with the unreachable taints', async () => {
      const n = await client.request<any>('GET', `/api/v1/nodes/${victim}`);
      const ready = n.status.conditions.find((c: any) => c.type === 'Ready');
      const taints = (n.spec.taints ?? []).map((t: any) => `${t.key}:${t.effect}`);
      return ready?.status === 'Unknown' && taints.includes('node.kubernetes.io/unreachable:NoExecute')
        ? n
        : undefined;
    });
    expect(node.spec.taints.map((t: any) => `${t.key}:${t.effect}`)).toContain(
      'node.kubernetes.io/unreachable:NoSchedule',
    );
    // Bound: grace + toleration, plus the controllers' monitor periods and slack for a busy machine.
    const bound = (GRACE_SECONDS + TOLERATION_SECONDS + 20) * 1000;
    const after = await waitFor(
      'the victim pods replaced on the other nodes',
      async () => {
        const ps = live(await pods());
        return ps.length === 6 && ps.every((p) => p.spec.nodeName && p.spec.nodeName !== victim && isReady(p))
          ? ps
          : undefined;
      },
      bound - (Date.now() - silentSince),
    );
    expect(new Set(after.map((p) => p.spec.nodeName))).toEqual(new Set(['hn-0', 'hn-2']));
    // The evicted pods were deleted (Terminating: their kubelet is gone and cannot confirm).
    const evicted = (await pods()).filter((p) => p.spec.nodeName === victim);
    expect(evicted.length).toBe(byNode.get(victim));
    for (const p of evicted) expect(p.metadata.deletionTimestamp).toBeTruthy();
    // The Deployment's status follows the pods' readiness one controller sync later.
    await waitFor('the Deployment reports 6 available replicas', async () => {
      const dep = await client.request<any>('GET', '/apis/apps/v1/namespaces/default/deployments/web');
      return dep.status?.availableReplicas === 6 ? true : undefined;
    });

    // Back: the node turns Ready again, loses its taints, and its kubelet finishes the deletions.
    hollow.resume(victim);
    await waitFor('the node recovers', async () => {
      const n = await client.request<any>('GET', `/api/v1/nodes/${victim}`);
      return isReady(n) && !(n.spec.taints ?? []).length ? true : undefined;
    });
    await waitFor('terminating pods gone', async () =>
      (await pods()).every((p) => p.spec.nodeName !== victim) ? true : undefined,
    );
  }, 120_000);
});
