import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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
});
