/**
 * The EndpointSlice, Endpoints and ServiceAccount controllers of a real `k8ts server`. There is no
 * kubelet: the test plays one, registering a Node (with a zone, a Ready status and a renewed Lease)
 * and writing pod status (phase, podIP/podIPs, Ready) through pods/<name>/status as a kubelet would.
 * Pods are created already bound (spec.nodeName) so no scheduler is involved.
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

const have = requireTool(KUBECTL, 'install kubectl (e.g. the kubernetes-client package)');

const NS = 'ep';
const NODE = 'node-1';
const ZONE = 'zone-a';
const microTime = () => new Date().toISOString().replace('Z', '000Z');
const seconds = () => `${new Date().toISOString().slice(0, 19)}Z`;
const MERGE = { 'content-type': 'application/merge-patch+json' };

interface Ep {
  ip: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  pod: string;
  port: number | undefined;
}

describe.skipIf(!have)('endpoints controllers (real server)', () => {
  let srv: RunningServer;
  let api: TestClient;
  let leaseTimer: NodeJS.Timeout | undefined;

  const slices = async (svc: string): Promise<any[]> =>
    (
      await api.json(
        'GET',
        `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${svc}`)}`,
      )
    ).items;

  /** Every endpoint of a service's slices, flattened and sorted by IP. */
  const endpointsOf = async (svc: string): Promise<Ep[]> => {
    const out: Ep[] = [];
    for (const s of await slices(svc))
      for (const e of s.endpoints ?? [])
        out.push({
          ip: e.addresses[0],
          ready: e.conditions.ready,
          serving: e.conditions.serving,
          terminating: e.conditions.terminating,
          pod: e.targetRef?.name,
          port: s.ports?.[0]?.port,
        });
    return out.sort((a, b) => (a.ip < b.ip ? -1 : 1));
  };

  const legacy = (svc: string) => api.json('GET', `/api/v1/namespaces/${NS}/endpoints/${svc}`);

  /** Ready / not ready IPs of an Endpoints object. */
  const legacyIps = async (svc: string) => {
    const ep = await legacy(svc);
    const ready: string[] = [];
    const notReady: string[] = [];
    for (const ss of ep.subsets ?? []) {
      for (const a of ss.addresses ?? []) ready.push(`${a.ip}:${ss.ports?.[0]?.port}`);
      for (const a of ss.notReadyAddresses ?? []) notReady.push(`${a.ip}:${ss.ports?.[0]?.port}`);
    }
    return { ready: ready.sort(), notReady: notReady.sort(), kind: ep.kind as string };
  };

  const createPod = async (name: string, labels: Record<string, string>, port: number) => {
    const p = await api.json('POST', `/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels },
      spec: {
        nodeName: NODE,
        containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: port }] }],
      },
    });
    if (p.kind !== 'Pod') throw new Error(`creating pod ${name}: ${JSON.stringify(p)}`);
  };

  /** What a kubelet writes when a pod runs: phase, IPs, conditions. */
  const setStatus = async (name: string, ip: string, ready: boolean) => {
    const now = seconds();
    const c = (type: string, ok = true) => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: now });
    const r = await api.request(
      'PATCH',
      `/api/v1/namespaces/${NS}/pods/${name}/status`,
      {
        status: {
          phase: 'Running',
          hostIP: '10.0.0.1',
          podIP: ip,
          podIPs: [{ ip }],
          startTime: now,
          conditions: [c('PodScheduled'), c('Initialized'), c('ContainersReady', ready), c('Ready', ready)],
        },
      },
      MERGE,
    );
    if (r.status !== 200) throw new Error(`status of ${name}: ${r.status} ${r.body}`);
  };

  beforeAll(async () => {
    srv = await startServer();
    api = adminClient(srv);
    await api.json('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: NODE,
        labels: { 'kubernetes.io/hostname': NODE, 'topology.kubernetes.io/zone': ZONE },
      },
    });
    const now = seconds();
    await api.request(
      'PATCH',
      `/api/v1/nodes/${NODE}/status`,
      {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
          allocatable: { cpu: '4', memory: '8Gi', pods: '250' },
          capacity: { cpu: '4', memory: '8Gi', pods: '250' },
        },
      },
      MERGE,
    );
    await api.json('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
      metadata: { name: NODE, namespace: 'kube-node-lease' },
      spec: { holderIdentity: NODE, leaseDurationSeconds: 40, renewTime: microTime() },
    });
    // Keep the node alive so node lifecycle never marks our pods NotReady.
    leaseTimer = setInterval(() => {
      void api
        .request(
          'PATCH',
          `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`,
          { spec: { renewTime: microTime() } },
          MERGE,
        )
        .catch(() => {});
    }, 3000);
    await api.json('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS },
    });
  });

  afterAll(async () => {
    if (process.env.K8TS_TEST_DEBUG) console.log(srv?.output());
    if (leaseTimer) clearInterval(leaseTimer);
    api?.close();
    await srv?.kill('SIGTERM');
    if (srv) cleanup(srv.dataDir);
  });

  it('a new namespace gets a default ServiceAccount, recreated when deleted', async () => {
    await kubectlOk(srv, ['create', 'ns', 'sa-test']);
    const out = await waitFor('default sa', async () => {
      const o = await kubectlOk(srv, ['get', 'sa', '-n', 'sa-test']);
      return /^default\s/m.test(o) ? o : undefined;
    });
    expect(out).toMatch(/^NAME\s+SECRETS\s+AGE/m);
    const first = await api.json('GET', '/api/v1/namespaces/sa-test/serviceaccounts/default');
    await kubectlOk(srv, ['delete', 'sa', 'default', '-n', 'sa-test']);
    const again = await waitFor('recreated sa', async () => {
      const sa = await api.json('GET', '/api/v1/namespaces/sa-test/serviceaccounts/default');
      return sa.kind === 'ServiceAccount' && sa.metadata.uid !== first.metadata.uid ? sa : undefined;
    });
    expect(again.metadata.name).toBe('default');
    // Every namespace, the system ones included.
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', NS]) {
      await waitFor(`sa in ${ns}`, async () => {
        const sa = await api.json('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`);
        return sa.kind === 'ServiceAccount' ? sa : undefined;
      });
    }
  });

  it('slices and Endpoints follow pods, readiness, deletion, selector and service deletion', async () => {
    const svc = await api.json('POST', `/api/v1/namespaces/${NS}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: { team: 'net' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    expect(svc.kind).toBe('Service');

    // No pods yet: one empty placeholder slice and an empty Endpoints.
    const placeholder = await waitFor('placeholder', async () => {
      const s = await slices('web');
      return s.length === 1 ? s[0] : undefined;
    });
    expect(placeholder.endpoints ?? []).toEqual([]);
    expect(placeholder.metadata.name.startsWith('web-')).toBe(true);
    expect(placeholder.metadata.labels).toEqual({
      team: 'net',
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    expect(placeholder.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Service',
        name: 'web',
        uid: svc.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    await waitFor('empty Endpoints', async () =>
      (await legacyIps('web')).kind === 'Endpoints' ? true : undefined,
    );

    // Pods: web-2 names its http port differently, so it lands in its own slice.
    await createPod('web-0', { app: 'web' }, 8080);
    await createPod('web-1', { app: 'web' }, 8080);
    await createPod('web-2', { app: 'web' }, 9090);
    await createPod('nope', { app: 'other' }, 8080);
    // Pending pods without IPs publish nothing.
    expect(await endpointsOf('web')).toEqual([]);
    await setStatus('web-0', '10.42.0.10', true);
    await setStatus('web-1', '10.42.0.11', true);
    await setStatus('web-2', '10.42.0.12', false);
    await setStatus('nope', '10.42.0.13', true);
    const eps = await waitFor('3 endpoints', async () => {
      const e = await endpointsOf('web');
      return e.length === 3 ? e : undefined;
    });
    expect(eps).toEqual([
      { ip: '10.42.0.10', ready: true, serving: true, terminating: false, pod: 'web-0', port: 8080 },
      { ip: '10.42.0.11', ready: true, serving: true, terminating: false, pod: 'web-1', port: 8080 },
      { ip: '10.42.0.12', ready: false, serving: false, terminating: false, pod: 'web-2', port: 9090 },
    ]);
    const all = await slices('web');
    expect(all).toHaveLength(2);
    for (const s of all) {
      expect(s.addressType).toBe('IPv4');
      expect(s.ports).toHaveLength(1);
      expect(s.ports[0]).toMatchObject({ name: 'http', protocol: 'TCP' });
      expect(s.metadata.annotations['endpoints.kubernetes.io/last-change-trigger-time']).toMatch(
        /^\d{4}-\d\d-\d\dT/,
      );
      for (const e of s.endpoints) {
        expect(e.nodeName).toBe(NODE);
        expect(e.zone).toBe(ZONE);
        expect(e.targetRef).toMatchObject({ kind: 'Pod', namespace: NS });
        expect(e.targetRef.uid).toMatch(/./);
      }
    }
    expect(
      await waitFor('Endpoints', async () => {
        const l = await legacyIps('web');
        return l.ready.length === 2 ? l : undefined;
      }),
    ).toEqual({
      ready: ['10.42.0.10:8080', '10.42.0.11:8080'],
      notReady: ['10.42.0.12:9090'],
      kind: 'Endpoints',
    });

    // kubectl sees them.
    const table = await kubectlOk(srv, ['get', 'endpointslices', '-n', NS]);
    expect(table).toMatch(/^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE/m);
    expect(table).toMatch(/^web-\S+\s+IPv4\s+8080\s+10\.42\.0\.10,10\.42\.0\.11\s/m);
    expect(table).toMatch(/^web-\S+\s+IPv4\s+9090\s+10\.42\.0\.12\s/m);
    expect(await kubectlOk(srv, ['get', 'endpoints', 'web', '-n', NS])).toMatch(
      /^web\s+10\.42\.0\.\d+:\d+,/m,
    );

    // Readiness: web-2 turns Ready.
    await setStatus('web-2', '10.42.0.12', true);
    await waitFor('web-2 ready', async () => {
      const e = await endpointsOf('web');
      return e.find((x) => x.pod === 'web-2')?.ready ? e : undefined;
    });
    expect(
      await waitFor('Endpoints web-2 ready', async () => {
        const l = await legacyIps('web');
        return l.notReady.length === 0 ? l : undefined;
      }),
    ).toEqual({
      ready: ['10.42.0.10:8080', '10.42.0.11:8080', '10.42.0.12:9090'],
      notReady: [],
      kind: 'Endpoints',
    });
    // Readiness lost again.
    await setStatus('web-1', '10.42.0.11', false);
    await waitFor('web-1 not ready', async () => {
      const e = await endpointsOf('web');
      const w = e.find((x) => x.pod === 'web-1');
      return w && !w.ready && !w.serving ? e : undefined;
    });

    // Graceful deletion: web-0 stays as terminating (serving, not ready), Endpoints drop it.
    const del = await api.request('DELETE', `/api/v1/namespaces/${NS}/pods/web-0`);
    expect([200, 202]).toContain(del.status);
    const term = await waitFor('web-0 terminating', async () => {
      const e = await endpointsOf('web');
      const w = e.find((x) => x.pod === 'web-0');
      return w?.terminating ? w : undefined;
    });
    expect(term).toMatchObject({ ready: false, serving: true, terminating: true });
    await waitFor('Endpoints without web-0', async () => {
      const l = await legacyIps('web');
      return !l.ready.includes('10.42.0.10:8080') ? l : undefined;
    });
    // The kubelet finishes the deletion: gone from the slice.
    await api.request('DELETE', `/api/v1/namespaces/${NS}/pods/web-0`, {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      gracePeriodSeconds: 0,
    });
    await waitFor('web-0 gone', async () => {
      const e = await endpointsOf('web');
      return e.length === 2 && !e.some((x) => x.pod === 'web-0') ? e : undefined;
    });

    // Selector change: now only app=other matches.
    await api.request(
      'PATCH',
      `/api/v1/namespaces/${NS}/services/web`,
      { spec: { selector: { app: 'other' } } },
      MERGE,
    );
    const swapped = await waitFor('selector swap', async () => {
      const e = await endpointsOf('web');
      return e.length === 1 && e[0]!.pod === 'nope' ? e : undefined;
    });
    expect(swapped[0]).toMatchObject({ ip: '10.42.0.13', ready: true, port: 8080 });
    // The emptied 9090 slice is gone; one slice remains.
    await waitFor('one slice', async () => ((await slices('web')).length === 1 ? true : undefined));
    expect(
      await waitFor('Endpoints follow selector', async () => {
        const l = await legacyIps('web');
        return l.ready.length === 1 ? l : undefined;
      }),
    ).toEqual({ ready: ['10.42.0.13:8080'], notReady: [], kind: 'Endpoints' });

    // Service deletion: its slices and Endpoints go.
    await kubectlOk(srv, ['delete', 'service', 'web', '-n', NS]);
    await waitFor('slices removed', async () => ((await slices('web')).length === 0 ? true : undefined));
    await waitFor('Endpoints removed', async () => {
      const r = await api.request('GET', `/api/v1/namespaces/${NS}/endpoints/web`);
      return r.status === 404 ? true : undefined;
    });
  });

  it('120 pods: two slices of at most 100; one pod change writes one slice', async () => {
    await api.json('POST', `/api/v1/namespaces/${NS}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'big' },
      spec: { selector: { app: 'big' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const n = 120;
    const names = Array.from({ length: n }, (_, i) => `big-${i}`);
    for (let i = 0; i < n; i += 20)
      await Promise.all(names.slice(i, i + 20).map((name) => createPod(name, { app: 'big' }, 8080)));
    for (let i = 0; i < n; i += 20)
      await Promise.all(
        names.slice(i, i + 20).map((name, j) => setStatus(name, `10.42.1.${i + j + 1}`, true)),
      );
    const before = await waitFor(
      '120 endpoints',
      async () => {
        const s = await slices('big');
        const total = s.reduce((a, x) => a + (x.endpoints ?? []).length, 0);
        return total === n && s.length === 2 ? s : undefined;
      },
      60_000,
    );
    // (How they split depends on how the pods' readiness arrived in batches; never over 100.)
    for (const s of before) expect(s.endpoints.length).toBeLessThanOrEqual(100);
    const rv = new Map(before.map((s) => [s.metadata.name, s.metadata.resourceVersion]));
    // One pod turns not ready: exactly the slice holding it changes.
    const victim = before[0].endpoints[0].targetRef.name as string;
    const ip = before[0].endpoints[0].addresses[0] as string;
    await setStatus(victim, ip, false);
    const after = await waitFor('victim not ready', async () => {
      const s = await slices('big');
      const e = s.flatMap((x) => x.endpoints).find((x: any) => x.targetRef.name === victim);
      return e && e.conditions.ready === false ? s : undefined;
    });
    const changed = after.filter((s) => rv.get(s.metadata.name) !== s.metadata.resourceVersion);
    expect(changed.map((s) => s.metadata.name)).toEqual([before[0].metadata.name]);
    expect(after.map((s) => s.metadata.name).sort()).toEqual([...rv.keys()].sort());
  });

  it('leaves the API server`s own kubernetes Service alone', async () => {
    const ks = (
      await api.json(
        'GET',
        '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes',
      )
    ).items;
    expect(ks.map((s: any) => s.metadata.name)).toEqual(['kubernetes']);
    expect(ks[0].endpoints).toHaveLength(1);
    const ep = await api.json('GET', '/api/v1/namespaces/default/endpoints/kubernetes');
    expect(ep.subsets[0].addresses).toHaveLength(1);
  });
});
