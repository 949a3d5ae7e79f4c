import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resourceForPlural } from '../api/resources.js';
import { SqliteStorage } from '../storage/sqlite.js';
import { type Admission, type KObj, Registry } from './registry.js';

const PODS = resourceForPlural('', 'v1', 'pods')!;
const CM = resourceForPlural('', 'v1', 'configmaps')!;
const noAdmission: Admission = {
  defaults() {},
  validateCreate: () => [],
  validateUpdate: () => [],
  validateStatusUpdate: () => [],
};
const ctx = { manager: 'test', dryRun: false };

describe('Registry writes through a strategy that answers with a new object', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-registry-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const registry = new Registry({ storage: SqliteStorage.open(join(dir, 'db')), admission: noAdmission });
  const pod = (name: string, meta: KObj = {}) => ({
    metadata: { name, ...meta },
    spec: { nodeName: 'n', containers: [{ name: 'c', image: 'i' }] },
  });

  // A status write keeps the stored metadata; the answer must carry the new resourceVersion.
  const writes: Array<[string, (name: string) => Promise<KObj>]> = [
    [
      'status subresource',
      (name) =>
        registry.guaranteedUpdate(
          PODS,
          'default',
          name,
          (cur) => ({ ...cur, status: { phase: 'Running' } }),
          {
            ...ctx,
            subresource: 'status',
          },
        ),
    ],
    [
      'main resource',
      (name) =>
        registry.guaranteedUpdate(
          PODS,
          'default',
          name,
          (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { a: 'b' } } }),
          ctx,
        ),
    ],
  ];
  it.each(writes)('%s: the answer carries the stored resourceVersion', async (name, update) => {
    const created = await registry.create(PODS, 'default', pod(name.replace(/ /g, '-')), ctx);
    const updated = await update(created.metadata.name);
    const read = await registry.get(PODS, 'default', created.metadata.name);
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(
      Number(created.metadata.resourceVersion),
    );
    expect(updated.metadata.resourceVersion).toBe(read.metadata.resourceVersion);
  });

  it('a status write that leaves out the finalizers does not finish the delete of an object being deleted', async () => {
    await registry.create(PODS, 'default', pod('held', { finalizers: ['example.com/hold'] }), ctx);
    const { deleted } = await registry.delete(PODS, 'default', 'held', { gracePeriodSeconds: 0 }, ctx);
    expect(deleted).toBe(false);
    await registry.guaranteedUpdate(
      PODS,
      'default',
      'held',
      (cur) => ({ ...cur, metadata: { ...cur.metadata, finalizers: [] }, status: { phase: 'Failed' } }),
      { ...ctx, subresource: 'status' },
    );
    const read = await registry.get(PODS, 'default', 'held');
    expect(read.metadata.finalizers).toEqual(['example.com/hold']);
    expect(read.status.phase).toBe('Failed');
  });

  it('a plain update still finishes the delete when it removes the last finalizer', async () => {
    await registry.create(
      CM,
      'default',
      { metadata: { name: 'held', finalizers: ['example.com/hold'] } },
      ctx,
    );
    await registry.delete(CM, 'default', 'held', {}, ctx);
    await registry.guaranteedUpdate(
      CM,
      'default',
      'held',
      (cur) => ({ ...cur, metadata: { ...cur.metadata, finalizers: [] } }),
      ctx,
    );
    await expect(registry.get(CM, 'default', 'held')).rejects.toMatchObject({ httpCode: 404 });
  });
});
