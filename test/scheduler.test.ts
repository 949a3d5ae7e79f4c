/**
 * The scheduler inside a real `k8ts server`: Node objects (no kubelet), pods with nodeSelector,
 * tolerations and requests; placements are checked through the API and `kubectl describe`.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type TestClient } from './helpers/rest.js';
import {
  cleanup,
  KUBECTL,
  kubectlOk,
  type RunningServer,
  requireTool,
  startServer,
} from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

const haveKubectl = requireTool(KUBECTL, 'install kubectl (e.g. the kubernetes-client package)');

function node(
  name: string,
  o: { cpu: string; zone: string; labels?: Record<string, string>; taints?: object[] },
) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': o.zone, ...o.labels },
    },
    spec: o.taints ? { taints: o.taints } : {},
    status: {
      capacity: { cpu: o.cpu, memory: '8Gi', pods: '110' },
      allocatable: { cpu: o.cpu, memory: '8Gi', pods: '110' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          lastHeartbeatTime: new Date().toISOString().slice(0, 19) + 'Z',
          lastTransitionTime: new Date().toISOString().slice(0, 19) + 'Z',
        },
      ],
    },
  };
}

function pod(
  name: string,
  o: { cpu?: string; nodeSelector?: Record<string, string>; tolerations?: object[] } = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      containers: [{ name: 'c', image: 'busybox', resources: o.cpu ? { requests: { cpu: o.cpu } } : {} }],
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
    },
  };
}

describe('scheduler in k8ts server', () => {
  let srv: RunningServer;
  let api: TestClient;
  const ns = '/api/v1/namespaces/default';

  beforeAll(async () => {
    srv = await startServer();
    api = adminClient(srv);
    const nodes = [
      node('n1', { cpu: '2', zone: 'a', labels: { disk: 'ssd' } }),
      node('n2', { cpu: '2', zone: 'b' }),
      node('n3', {
        cpu: '8',
        zone: 'c',
        labels: { gpu: 'yes' },
        taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
      }),
    ];
    for (const n of nodes) {
      const r = await api.request('POST', '/api/v1/nodes', n);
      expect(r.status, r.body).toBe(201);
      expect(JSON.parse(r.body).status.allocatable.cpu).toBe(n.status.allocatable.cpu);
    }
  });

  afterAll(async () => {
    api?.close();
    await srv?.kill('SIGTERM');
    if (srv) cleanup(srv.dataDir);
  });

  const nodeOf = (name: string) =>
    waitFor(`${name} bound`, async () => {
      const p = await api.json('GET', `${ns}/pods/${name}`);
      return p.spec?.nodeName || undefined;
    });

  it('places pods by nodeSelector, tolerations and requests', async () => {
    const create = async (p: object) => {
      const r = await api.request('POST', `${ns}/pods`, p);
      expect(r.status, r.body).toBe(201);
    };
    await create(pod('ssd', { nodeSelector: { disk: 'ssd' } }));
    await create(
      pod('gpu', {
        nodeSelector: { gpu: 'yes' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
      }),
    );
    // 1.5 cpu fits n1 or n2 but not the tainted n3 (untolerated).
    await create(pod('big', { cpu: '1500m' }));
    expect(await nodeOf('ssd')).toBe('n1');
    expect(await nodeOf('gpu')).toBe('n3');
    const big = await nodeOf('big');
    expect(['n1', 'n2']).toContain(big);
    // The next 1.5 cpu pod must go to the other small node: the first one's requests are counted.
    await create(pod('big2', { cpu: '1500m' }));
    const big2 = await nodeOf('big2');
    expect(['n1', 'n2']).toContain(big2);
    expect(big2).not.toBe(big);
    const p = await api.json('GET', `${ns}/pods/big2`);
    const cond = p.status.conditions.find((c: any) => c.type === 'PodScheduled');
    expect(cond.status).toBe('True');
    // Events are recorded after the binding, as upstream's recorder does: wait for it.
    const want = `Scheduled: Successfully assigned default/big2 to ${big2}`;
    const seen = await waitFor('the Scheduled event', async () => {
      const events = await api.json('GET', `${ns}/events?fieldSelector=involvedObject.name=big2`);
      const all: string[] = events.items.map((e: any) => `${e.reason}: ${e.message}`);
      return all.includes(want) ? all : undefined;
    });
    expect(seen).toContain(want);
  });

  it.runIf(haveKubectl)(
    'a pod that fits no node stays Pending with the reason, until a node fits',
    async () => {
      const r = await api.request('POST', `${ns}/pods`, pod('huge', { cpu: '6' }));
      expect(r.status, r.body).toBe(201);
      const want =
        '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.';
      const cond = await waitFor('PodScheduled=False', async () => {
        const p = await api.json('GET', `${ns}/pods/huge`);
        return p.status?.conditions?.find((c: any) => c.type === 'PodScheduled' && c.status === 'False');
      });
      expect(cond.reason).toBe('Unschedulable');
      expect(cond.message).toBe(want);
      const described = await waitFor('FailedScheduling event in describe', async () => {
        const out = await kubectlOk(srv, ['describe', 'pod', 'huge']);
        return out.includes('FailedScheduling') ? out : undefined;
      });
      expect(described).toMatch(/Status:\s+Pending/);
      // describe wraps long messages; compare without whitespace.
      expect(described.replace(/\s+/g, '')).toContain(want.replace(/\s+/g, ''));
      const p = await api.json('GET', `${ns}/pods/huge`);
      expect(p.spec.nodeName ?? '').toBe('');

      // A node with room appears: the pod is scheduled there.
      const n4 = node('n4', { cpu: '16', zone: 'a' });
      const c = await api.request('POST', '/api/v1/nodes', n4);
      expect(c.status, c.body).toBe(201);
      expect(await nodeOf('huge')).toBe('n4');
    },
  );
});
