/**
 * Two `k8ts controller-manager` processes against one API server: only the Lease holder runs
 * controllers; when it is killed with -9 the other takes over after the lease duration and the
 * cluster keeps converging.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiStatusError, loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import { CLI, cleanup, type RunningServer, startServer } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

interface Candidate {
  id: string;
  proc: ChildProcess;
  out(): string;
  exited: Promise<void>;
}

describe('controller-manager leader election', () => {
  let server: RunningServer;
  let client: RestClient;
  const candidates: Candidate[] = [];

  function startCandidate(id: string): Candidate {
    const proc = spawn(
      process.execPath,
      [
        CLI,
        'controller-manager',
        '--kubeconfig',
        server.kubeconfig,
        '--identity',
        id,
        '--controllers',
        'replicaset,garbage-collector',
        '--leader-elect-lease-duration',
        '3',
        '--leader-elect-renew-deadline',
        '2',
        '--leader-elect-retry-period',
        '0.5',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    const c = { id, proc, out: () => out, exited };
    candidates.push(c);
    return c;
  }

  const lease = async () =>
    client.request<any>(
      'GET',
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager',
    );
  const podCount = async (rs: string) => {
    const list = await client.request<any>('GET', '/api/v1/namespaces/default/pods', {
      query: { labelSelector: `app=${rs}` },
    });
    return list.items.filter((p: any) => !p.metadata.deletionTimestamp).length;
  };
  const replicaSet = (name: string, replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          schedulerName: 'manual',
          containers: [{ name: 'c', image: 'busybox', command: ['sleep', '1d'] }],
        },
      },
    },
  });

  beforeAll(async () => {
    server = await startServer({ args: ['--disable-controllers'] });
    client = new RestClient(loadKubeconfig(server.kubeconfig));
  });

  afterAll(async () => {
    for (const c of candidates) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await c.exited;
    }
    client?.close();
    await server?.kill();
    if (server) cleanup(server.dataDir);
  });

  it('the server itself runs no controllers with --disable-controllers', async () => {
    await client.request('POST', '/apis/apps/v1/namespaces/default/replicasets', {
      body: replicaSet('idle', 1),
    });
    // Nothing may create the pod; the assertion is on the absence after the Lease is shown unheld.
    await expect(lease()).rejects.toSatisfy((e) => e instanceof ApiStatusError && e.httpStatus === 404);
    expect(await podCount('idle')).toBe(0);
  });

  it('only the Lease holder works; the other takes over when it dies', async () => {
    const a = startCandidate('cm-a');
    const b = startCandidate('cm-b');
    const first = await waitFor('a Lease holder', async () => {
      const l = await lease();
      return ['cm-a', 'cm-b'].includes(l.spec?.holderIdentity)
        ? (l.spec.holderIdentity as string)
        : undefined;
    });
    const [leader, follower] = first === 'cm-a' ? [a, b] : [b, a];
    // The leader's controllers converge the ReplicaSet created before any manager ran.
    await waitFor('pod of rs idle', async () => ((await podCount('idle')) === 1 ? true : undefined));
    await waitFor('follower sees the leader', async () =>
      follower.out().includes(`${leader.id} is the leader; waiting`) ? true : undefined,
    );
    expect(follower.out()).not.toContain('starting controllers');
    expect(leader.out()).toContain(`${leader.id} is the leader; starting controllers`);

    leader.proc.kill('SIGKILL');
    await leader.exited;
    await client.request('POST', '/apis/apps/v1/namespaces/default/replicasets', {
      body: replicaSet('after', 3),
    });
    await waitFor('the follower holds the Lease', async () =>
      (await lease()).spec?.holderIdentity === follower.id ? true : undefined,
    );
    await waitFor('pods of rs after', async () => ((await podCount('after')) === 3 ? true : undefined));
    expect(follower.out()).toContain(`${follower.id} is the leader; starting controllers`);
    const l = await lease();
    expect(l.spec.leaseTransitions).toBeGreaterThanOrEqual(1);
  });

  it('a stopped leader releases the Lease so the next one need not wait it out', async () => {
    const current = candidates.find((c) => c.proc.exitCode === null && c.proc.signalCode === null)!;
    const next = startCandidate('cm-c');
    await waitFor('cm-c waiting', async () =>
      next.out().includes('is the leader; waiting') ? true : undefined,
    );
    current.proc.kill('SIGTERM');
    await current.exited;
    expect(current.out()).toContain('stopped leading');
    await waitFor('cm-c holds the Lease', async () =>
      (await lease()).spec?.holderIdentity === 'cm-c' ? true : undefined,
    );
    await client.request('PATCH', '/apis/apps/v1/namespaces/default/replicasets/after', {
      body: { spec: { replicas: 1 } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('rs after scaled down', async () => ((await podCount('after')) === 1 ? true : undefined));
  });
});
