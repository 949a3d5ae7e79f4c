/**
 * Durability: objects acknowledged with 201 survive `kill -9` of the server, and a watch resumes
 * from the resourceVersion it had seen, with nothing lost in between.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { adminClient, type TestClient } from './helpers/rest.js';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';

describe('kill -9 of k8ts server', () => {
  const servers: RunningServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.kill('SIGKILL');
    if (servers[0]) cleanup(servers[0].dataDir);
  });

  it('keeps every acknowledged create and resumes watches', async () => {
    const first = await startServer();
    servers.push(first);
    const c1: TestClient = adminClient(first);
    // A watch opened before the writes: remember the last resourceVersion it saw.
    const list = await c1.json('GET', '/api/v1/namespaces/default/configmaps');
    const startRv = list.metadata.resourceVersion as string;

    // Fire creates concurrently; kill -9 while they are in flight.
    const acknowledged: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const name = `cm-${w}-${i}`;
        try {
          const r = await c1.request('POST', '/api/v1/namespaces/default/configmaps', {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name },
            data: { i: String(i) },
          });
          if (r.status === 201) acknowledged.push(name);
        } catch {
          return; // connection reset by the kill
        }
      }
    });
    await new Promise((r) => setTimeout(r, 1500));
    await first.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    expect(acknowledged.length).toBeGreaterThan(20);

    const second = await startServer({ dataDir: first.dataDir });
    servers.push(second);
    const c2 = adminClient(second);
    const after = await c2.json('GET', '/api/v1/namespaces/default/configmaps');
    const names = new Set((after.items as { metadata: { name: string } }[]).map((o) => o.metadata.name));
    const missing = acknowledged.filter((n) => !names.has(n));
    expect(missing).toEqual([]);

    // A watch from the pre-crash resourceVersion replays every create, in order, without gaps.
    const events = await c2.watchEvents(
      `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${startRv}`,
      (evs) => evs.length >= names.size,
      10_000,
    );
    const added = events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata.name);
    for (const n of acknowledged) expect(added).toContain(n);
    const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
  });
});
