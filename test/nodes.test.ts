/**
 * Hollow nodes, node IPAM and node lifecycle against a real API server (HTTPS, SQLite, the real
 * kubectl), started in this process without its built-in controllers so that the controllers
 * under test run alone: node IPAM as the server would run it, node lifecycle with a 2 s grace
 * period so a node failure is quick to see. Both reach the server only through their RestClient.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, startControlPlane } from '../src/core/apiserver/control-plane.js';
import { EventRecorder } from '../src/core/client/events.js';
import type { KObj } from '../src/core/client/informer.js';
import { InformerFactory } from '../src/core/client/informer-factory.js';
import { ApiStatusError, loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import {
  CONTROLLERS,
  type ControllerContext,
  DEFAULT_CONTROLLER_CONFIG,
} from '../src/core/controllers/controller-manager.js';
import { NodeIpamController } from '../src/core/controllers/node-ipam.js';
import { NodeLifecycleController } from '../src/core/controllers/node-lifecycle.js';
import { type HollowNodes, startHollowNodes } from '../src/core/hollow/hollow-nodes.js';
import { EXIT_AFTER_ANNOTATION } from '../src/core/hollow/pod-status.js';
import { CLI, cleanup, KUBECTL, kubectlOk, requireTool } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

const have = requireTool(KUBECTL, 'install kubectl (e.g. the kubernetes-client package)');

const cond = (o: KObj, type: string): KObj | undefined =>
  (o.status?.conditions as KObj[] | undefined)?.find((c) => c.type === type);

function ipInCidr(ip: string, cidr: string): boolean {
  // /24 only, which is what node IPAM hands out.
  return ip.split('.').slice(0, 3).join('.') === cidr.split('/')[0]!.split('.').slice(0, 3).join('.');
}

describe('controller registration', () => {
  it('registers node-ipam and node-lifecycle with the cluster config', () => {
    const client = new RestClient({ server: 'https://127.0.0.1:1', caPem: '' });
    const ctx: ControllerContext = {
      client,
      factory: new InformerFactory(client),
      recorder: (c) => new EventRecorder(client, c),
      config: DEFAULT_CONTROLLER_CONFIG,
    };
    const byName = new Map(CONTROLLERS.map((c) => [c.name, c]));
    expect(byName.get('node-ipam')?.create(ctx)).toBeInstanceOf(NodeIpamController);
    expect(byName.get('node-lifecycle')?.create(ctx)).toBeInstanceOf(NodeLifecycleController);
    client.close();
  });
});

describe.skipIf(!have)('hollow nodes, node IPAM and node lifecycle', () => {
  let cp: ControlPlane;
  let server: { kubeconfig: string; dataDir: string };
  let client: RestClient;
  let hollow: HollowNodes;
  const stops: (() => void)[] = [];
  const children: ChildProcess[] = [];
  const names = ['hn-0', 'hn-1', 'hn-2'];

  /** Run a controller in this process, as the controller manager would (own informer factory). */
  async function run<C extends { start(): unknown; stop(): void }>(
    make: (ctx: ControllerContext) => C,
  ): Promise<C> {
    const factory = new InformerFactory(client);
    const c = make({
      client,
      factory,
      recorder: (name) => new EventRecorder(client, name),
      config: DEFAULT_CONTROLLER_CONFIG,
    });
    await factory.start();
    await c.start();
    stops.push(() => {
      c.stop();
      factory.stop();
    });
    return c;
  }

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'k8ts-nodes-'));
    cp = await startControlPlane({
      dataDir,
      httpsPort: 0,
      bindAddress: '127.0.0.1',
      disableControllers: true,
    });
    server = { kubeconfig: cp.kubeconfigPath, dataDir };
    client = new RestClient({ ...loadKubeconfig(cp.kubeconfigPath), userAgent: 'nodes-test' });
    await run((ctx) => new NodeIpamController(ctx));
    hollow = await startHollowNodes(client, {
      count: 3,
      namePrefix: 'hn-',
      zones: ['zone-a', 'zone-b', 'zone-c'],
      leaseRenewIntervalMs: 500,
      statusIntervalMs: 5000,
      log: () => {},
    });
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const stop of stops) stop();
    await hollow?.stop();
    client?.close();
    await cp?.stop();
    if (server) cleanup(server.dataDir);
  });

  const getNode = (name: string) => client.request('GET', `/api/v1/nodes/${name}`);
  const getPod = (name: string) => client.request('GET', `/api/v1/namespaces/default/pods/${name}`);

  it('registers nodes with Leases; node IPAM gives each a distinct /24 of 10.42.0.0/16', async () => {
    const cidrs = await waitFor('pod CIDRs on all nodes', async () => {
      const nodes = await Promise.all(names.map(getNode));
      return nodes.every((n) => n.spec.podCIDR) ? nodes.map((n) => n.spec) : undefined;
    });
    for (const spec of cidrs) {
      expect(spec.podCIDR).toMatch(/^10\.42\.\d{1,3}\.0\/24$/);
      expect(spec.podCIDRs).toEqual([spec.podCIDR]);
    }
    expect(new Set(cidrs.map((s) => s.podCIDR)).size).toBe(3);

    const n1 = await getNode('hn-1');
    expect(n1.metadata.labels).toMatchObject({
      'kubernetes.io/hostname': 'hn-1',
      'kubernetes.io/os': 'linux',
      'topology.kubernetes.io/zone': 'zone-b',
    });
    expect(n1.status.allocatable).toMatchObject({ cpu: '4', memory: '16Gi', pods: '110' });
    const lease = await client.request(
      'GET',
      '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/hn-1',
    );
    expect(lease.spec.holderIdentity).toBe('hn-1');
    expect(lease.metadata.ownerReferences[0]).toMatchObject({
      kind: 'Node',
      name: 'hn-1',
      uid: n1.metadata.uid,
    });
    // The Lease is renewed (renewTime moves).
    await waitFor('a lease renewal', async () => {
      const l = await client.request(
        'GET',
        '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/hn-1',
      );
      return l.spec.renewTime !== lease.spec.renewTime ? true : undefined;
    });
  });

  it('a restarted node IPAM rebuilds its used set: a new node gets a CIDR no other node has', async () => {
    // A second, fresh instance (as after a restart) with the first one still holding nothing new.
    const before = await Promise.all(names.map(getNode));
    stops.shift()?.(); // stop the first IPAM
    await run((ctx) => new NodeIpamController(ctx));
    await client.request('POST', '/api/v1/nodes', { body: { metadata: { name: 'late-0' } } });
    const late = await waitFor('late-0 pod CIDR', async () => {
      const n = await getNode('late-0');
      return n.spec.podCIDR ? n : undefined;
    });
    expect(before.map((n) => n.spec.podCIDR)).not.toContain(late.spec.podCIDR);
    // Existing nodes keep theirs.
    const after = await Promise.all(names.map(getNode));
    expect(after.map((n) => n.spec.podCIDR)).toEqual(before.map((n) => n.spec.podCIDR));
    await client.request('DELETE', '/api/v1/nodes/late-0');
  });

  it('kubectl get nodes -o wide shows them Ready with the columns', async () => {
    const out = await kubectlOk(server, ['get', 'nodes', '-o', 'wide']);
    const lines = out.trim().split('\n');
    expect(lines[0]!.split(/\s{2,}/)).toEqual([
      'NAME',
      'STATUS',
      'ROLES',
      'AGE',
      'VERSION',
      'INTERNAL-IP',
      'EXTERNAL-IP',
      'OS-IMAGE',
      'KERNEL-VERSION',
      'CONTAINER-RUNTIME',
    ]);
    for (const [i, name] of names.entries()) {
      const row = lines.find((l) => l.startsWith(`${name} `));
      expect(row, out).toBeDefined();
      const cols = row!.split(/\s{2,}/);
      expect(cols[1]).toBe('Ready');
      expect(cols[4]).toBe('v1.32.0-k8ts');
      expect(cols[5]).toBe(`10.240.0.${i + 1}`);
      expect(cols[9]).toBe('hollow://0.1.0');
    }
  });

  const podBody = (name: string, nodeName: string, extra: KObj = {}): KObj => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'nodes-test' }, ...(extra.metadata ?? {}) },
    spec: {
      nodeName,
      containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }],
      ...(extra.spec ?? {}),
    },
  });

  it('pods bound to hollow nodes turn Running and Ready with an IP from the node CIDR', async () => {
    for (const [i, node] of names.entries()) {
      await client.request('POST', '/api/v1/namespaces/default/pods', { body: podBody(`run-${i}`, node) });
    }
    for (const [i, node] of names.entries()) {
      const pod = await waitFor(`run-${i} Running`, async () => {
        const p = await getPod(`run-${i}`);
        return p.status.phase === 'Running' && cond(p, 'Ready')?.status === 'True' ? p : undefined;
      });
      const n = await getNode(node);
      expect(ipInCidr(pod.status.podIP, n.spec.podCIDR), `${pod.status.podIP} in ${n.spec.podCIDR}`).toBe(
        true,
      );
      expect(pod.status.hostIP).toBe(`10.240.0.${i + 1}`);
      expect(pod.status.containerStatuses[0]).toMatchObject({ name: 'c', ready: true, started: true });
      expect(pod.status.containerStatuses[0].state.running.startedAt).toBeDefined();
    }
    const out = await kubectlOk(server, ['get', 'pods', '-l', 'app=nodes-test', '-o', 'wide']);
    expect(out).toMatch(/run-0\s+1\/1\s+Running\s+0\s+\S+\s+10\.42\.\d+\.\d+\s+hn-0/);
  });

  it('a Job-style pod with the exit annotation completes (Succeeded)', async () => {
    await client.request('POST', '/api/v1/namespaces/default/pods', {
      body: podBody('job-pod', 'hn-2', {
        metadata: { annotations: { [EXIT_AFTER_ANNOTATION]: '1' } },
        spec: { restartPolicy: 'Never' },
      }),
    });
    const p = await waitFor('job-pod Succeeded', async () => {
      const p = await getPod('job-pod');
      return p.status.phase === 'Succeeded' ? p : undefined;
    });
    expect(p.status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
  });

  it('a silent node turns Unknown with unreachable taints, its pods are evicted after their toleration; it recovers', async () => {
    await run((ctx) => new NodeLifecycleController(ctx, { gracePeriodSeconds: 2, monitorPeriodMs: 250 }));

    const tolerate = (seconds?: number) =>
      ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({
        key,
        operator: 'Exists',
        effect: 'NoExecute',
        ...(seconds === undefined ? {} : { tolerationSeconds: seconds }),
      }));
    await client.request('POST', '/api/v1/namespaces/default/pods', {
      body: podBody('victim-a', 'hn-0', { spec: { tolerations: tolerate(2) } }),
    });
    await client.request('POST', '/api/v1/namespaces/default/pods', {
      body: podBody('victim-b', 'hn-0', { spec: { tolerations: tolerate(2) } }),
    });
    await client.request('POST', '/api/v1/namespaces/default/pods', {
      body: podBody('stays', 'hn-0', { spec: { tolerations: tolerate() } }),
    });
    for (const name of ['victim-a', 'victim-b', 'stays']) {
      await waitFor(`${name} Ready`, async () =>
        cond(await getPod(name), 'Ready')?.status === 'True' ? true : undefined,
      );
    }

    hollow.pause('hn-0');
    const down = await waitFor('hn-0 Unknown with taints', async () => {
      const n = await getNode('hn-0');
      const keys = ((n.spec.taints ?? []) as KObj[]).map((t) => `${t.key}:${t.effect}`);
      return cond(n, 'Ready')?.status === 'Unknown' && keys.length === 2 ? n : undefined;
    });
    expect(cond(down, 'Ready')).toMatchObject({
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
    });
    const taints = down.spec.taints as KObj[];
    expect(taints.map((t) => `${t.key}:${t.effect}`).sort()).toEqual([
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/unreachable:NoSchedule',
    ]);
    expect(taints.find((t) => t.effect === 'NoExecute')!.timeAdded).toMatch(/^\d{4}-\d\d-\d\dT/);
    const out = await kubectlOk(server, ['get', 'node', 'hn-0']);
    expect(out).toMatch(/hn-0\s+NotReady/);

    // Pods tolerating for 2 s are evicted (deleted; the dead kubelet cannot finish, so they stay
    // Terminating); the pod that tolerates forever stays, marked not ready.
    for (const name of ['victim-a', 'victim-b']) {
      const p = await waitFor(`${name} evicted`, async () => {
        const p = await getPod(name);
        return p.metadata.deletionTimestamp ? p : undefined;
      });
      expect(cond(p, 'DisruptionTarget')).toMatchObject({ status: 'True', reason: 'DeletionByTaintManager' });
    }
    const stays = await waitFor('stays marked not ready', async () => {
      const p = await getPod('stays');
      return cond(p, 'Ready')?.status === 'False' ? p : undefined;
    });
    expect(stays.metadata.deletionTimestamp).toBeUndefined();
    // Pods on healthy nodes are untouched.
    expect(cond(await getPod('run-1'), 'Ready')?.status).toBe('True');

    hollow.resume('hn-0');
    const up = await waitFor('hn-0 Ready without taints', async () => {
      const n = await getNode('hn-0');
      return cond(n, 'Ready')?.status === 'True' && (n.spec.taints ?? []).length === 0 ? n : undefined;
    });
    expect(cond(up, 'Ready')?.reason).toBe('KubeletReady');
    // The live kubelet finishes the deletions and reports the survivor Ready again.
    for (const name of ['victim-a', 'victim-b']) {
      await waitFor(`${name} gone`, async () => {
        try {
          await getPod(name);
          return undefined;
        } catch (e) {
          if (e instanceof ApiStatusError && e.httpStatus === 404) return true;
          throw e;
        }
      });
    }
    await waitFor('stays Ready again', async () =>
      cond(await getPod('stays'), 'Ready')?.status === 'True' ? true : undefined,
    );
  });

  it('k8ts hollow-nodes registers nodes from the command line', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'hollow-nodes',
        '--count',
        '2',
        '--kubeconfig',
        server.kubeconfig,
        '--name-prefix',
        'cli-',
        '--zones',
        'x,y',
        '--cpu',
        '8',
        '--pods',
        '50',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const nodes = await waitFor(`CLI nodes Ready (${out})`, async () => {
      const ns = await Promise.all(['cli-0', 'cli-1'].map(getNode));
      return ns.every((n) => cond(n, 'Ready')?.status === 'True') ? ns : undefined;
    });
    expect(nodes.map((n) => n.metadata.labels['topology.kubernetes.io/zone'])).toEqual(['x', 'y']);
    expect(nodes[0]!.status.capacity).toMatchObject({ cpu: '8', pods: '50' });
    await waitFor('registered message', async () =>
      /2 hollow nodes registered/.test(out) ? true : undefined,
    );
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
