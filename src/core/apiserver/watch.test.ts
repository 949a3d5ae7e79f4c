import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resourceForPlural } from '../api/resources.js';
import { SqliteStorage } from '../storage/sqlite.js';
import { type Admission, type KObj, Registry } from './registry.js';
import { startWatch, type WatchEventType } from './watch.js';

const CM = resourceForPlural('', 'v1', 'configmaps')!;
const noAdmission: Admission = {
  defaults() {},
  validateCreate: () => [],
  validateUpdate: () => [],
  validateStatusUpdate: () => [],
};
const ctx = { manager: 'test', dryRun: false };

describe('startWatch', () => {
  const dirs: string[] = [];
  const open = () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8ts-watch-'));
    dirs.push(dir);
    const storage = SqliteStorage.open(join(dir, 'db'));
    return { storage, registry: new Registry({ storage, admission: noAdmission }) };
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const collect = () => {
    const events: { type: WatchEventType; obj: KObj }[] = [];
    let ended = false;
    return {
      events,
      sink: {
        write: (type: WatchEventType, obj: KObj) => events.push({ type, obj }),
        end: () => (ended = true),
      },
      ended: () => ended,
    };
  };

  it('answers a watch from a compacted revision with a 410 Expired ERROR event and ends', async () => {
    const { storage, registry } = open();
    for (let i = 0; i < 5; i++) await registry.create(CM, 'default', { metadata: { name: `c${i}` } }, ctx);
    const rev = await storage.currentRevision();
    await storage.compact(rev);
    const w = collect();
    await startWatch(registry, { info: CM, namespace: 'default', resourceVersion: '1' }, w.sink);
    expect(w.events).toHaveLength(1);
    expect(w.events[0]!.type).toBe('ERROR');
    expect(w.events[0]!.obj).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(w.ended()).toBe(true);
    await storage.close();
  });

  it('replays from a resourceVersion in order, then goes live; DELETED carries the delete revision', async () => {
    const { storage, registry } = open();
    const a = await registry.create(CM, 'default', { metadata: { name: 'a' } }, ctx);
    await registry.create(CM, 'default', { metadata: { name: 'b' } }, ctx);
    const w = collect();
    const active = await startWatch(
      registry,
      { info: CM, namespace: 'default', resourceVersion: a.metadata.resourceVersion },
      w.sink,
    );
    await registry.delete(CM, 'default', 'a', {}, ctx);
    await new Promise((r) => setTimeout(r, 20));
    active.stop();
    expect(w.events.map((e) => `${e.type}:${e.obj.metadata.name}`)).toEqual(['ADDED:b', 'DELETED:a']);
    const rvs = w.events.map((e) => Number(e.obj.metadata.resourceVersion));
    expect(rvs[1]).toBe(await storage.currentRevision());
    expect(rvs[0]).toBeLessThan(rvs[1]!);
    await storage.close();
  });

  // A label-filtered watch through a run of label changes: the transitions are upstream's, and each
  // stored value is decoded once (a change's previous value is what the change before decoded).
  const runs: Array<[string, string[], string[]]> = [
    ['stays in', ['x', 'x', 'x'], ['MODIFIED', 'MODIFIED', 'MODIFIED']],
    ['leaves and comes back', ['y', 'x', 'y', 'x'], ['DELETED', 'ADDED', 'DELETED', 'ADDED']],
    ['stays out', ['y', 'y', 'x'], ['DELETED', 'ADDED']],
  ];
  it.each(runs)('a filtered watch: %s', async (_name, labels, want) => {
    const { storage, registry } = open();
    const created = await registry.create(
      CM,
      'default',
      { metadata: { name: 'a', labels: { app: 'x' } } },
      ctx,
    );
    const decode = vi.spyOn(registry, 'decode');
    const w = collect();
    const active = await startWatch(
      registry,
      {
        info: CM,
        namespace: 'default',
        resourceVersion: created.metadata.resourceVersion,
        filter: (o) => o.metadata.labels?.app === 'x',
      },
      w.sink,
    );
    for (const [i, app] of labels.entries()) {
      await registry.guaranteedUpdate(
        CM,
        'default',
        'a',
        (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { app } }, data: { i: String(i) } }),
        ctx,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
    active.stop();
    expect(w.events.map((e) => e.type)).toEqual(want);
    // The registry's own writes read each value once; the watch adds one decode per change, plus the
    // value from before the watch started.
    const watchDecodes = decode.mock.calls.length - labels.length;
    expect(watchDecodes).toBe(labels.length + 1);
    // What the watch handed out is what storage holds.
    expect(w.events.at(-1)!.obj).toEqual(await registry.get(CM, 'default', 'a'));
    await storage.close();
  });

  it('two registries with the same keys and revisions keep their own objects', async () => {
    const one = open();
    const two = open();
    const seen: string[] = [];
    for (const [n, { registry }] of [one, two].entries()) {
      await registry.create(
        CM,
        'default',
        { metadata: { name: 'a', labels: { app: 'x' } }, data: { from: `r${n}` } },
        ctx,
      );
    }
    const watches = [];
    for (const { registry } of [one, two]) {
      const w = collect();
      watches.push({
        w,
        active: await startWatch(
          registry,
          { info: CM, namespace: 'default', resourceVersion: '1', filter: () => true },
          w.sink,
        ),
      });
    }
    for (const [n, { registry }] of [one, two].entries()) {
      await registry.guaranteedUpdate(
        CM,
        'default',
        'a',
        (cur) => ({ ...cur, data: { ...cur.data, again: `r${n}` } }),
        ctx,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
    for (const { w, active } of watches) {
      active.stop();
      seen.push(w.events.map((e) => `${e.type}:${e.obj.data.from}:${e.obj.data.again}`).join(','));
    }
    expect(seen).toEqual(['MODIFIED:r0:r0', 'MODIFIED:r1:r1']);
    await one.storage.close();
    await two.storage.close();
  });
});
