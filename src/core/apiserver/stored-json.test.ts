import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resourceForPlural } from '../api/resources.js';
import { SqliteStorage } from '../storage/sqlite.js';
import { encode } from './negotiation.js';
import { type Admission, type KObj, Registry } from './registry.js';
import { encodeForStorage, rememberStored, storedJson } from './stored-json.js';
import { trackFields } from './wiring.js';

type Obj = Record<string, any>;

/** What a registry write does: store without resourceVersion, then set it. */
function write(obj: Obj, rv: string): string {
  const stored = encodeForStorage(obj);
  obj.metadata.resourceVersion = rv;
  rememberStored(obj, stored);
  return stored.text;
}

const withoutRv = (o: Obj) => {
  const copy = JSON.parse(JSON.stringify(o));
  delete copy.metadata.resourceVersion;
  return JSON.stringify(copy);
};

describe('stored JSON of written objects', () => {
  const cases: Array<[string, () => Obj]> = [
    [
      'metadata in the middle',
      () => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', uid: 'u' }, data: { k: 'v' } }),
    ],
    ['metadata first', () => ({ metadata: { name: 'a' }, kind: 'ConfigMap' })],
    ['metadata last', () => ({ kind: 'ConfigMap', metadata: { name: 'a', labels: { x: 'y' } } })],
    ['empty metadata', () => ({ kind: 'ConfigMap', metadata: {} })],
    [
      'resourceVersion sent in the middle',
      () => ({ kind: 'X', metadata: { name: 'a', resourceVersion: '3', uid: 'u' } }),
    ],
    [
      'resourceVersion present but undefined',
      () => ({ kind: 'X', metadata: { resourceVersion: undefined, name: 'a' } }),
    ],
    [
      'escapes and unicode',
      () => ({ kind: 'X', metadata: { name: 'a', annotations: { 'q"}': '\u2028é\n{' } } }),
    ],
    [
      'undefined and function members',
      () => ({ a: undefined, kind: 'X', f: () => 1, metadata: { name: 'a', g: undefined } }),
    ],
    [
      'an own __proto__ key',
      () => JSON.parse('{"__proto__":{"x":1},"metadata":{"name":"a"},"data":{"__proto__":"v"}}'),
    ],
  ];
  it.each(cases)('%s: stored text and response are what JSON.stringify writes', (_name, make) => {
    const obj = make();
    const expectedStored = withoutRv(obj);
    expect(write(obj, '42')).toBe(expectedStored);
    expect(Object.keys(obj.metadata).at(-1)).toBe('resourceVersion');
    expect(storedJson(obj)).toBe(JSON.stringify(obj));
    expect(encode(obj, 'json').payload).toBe(JSON.stringify(obj));
  });

  const changes: Array<[string, (o: Obj) => void]> = [
    ['resourceVersion changed', (o) => (o.metadata.resourceVersion = '43')],
    ['metadata key added', (o) => (o.metadata.generation = 2)],
    ['metadata key removed', (o) => delete o.metadata.uid],
    ['metadata replaced', (o) => (o.metadata = { ...o.metadata })],
  ];
  it.each(changes)(
    'falls back to JSON.stringify when the object changed after the write: %s',
    (_name, change) => {
      const obj: Obj = { kind: 'ConfigMap', metadata: { name: 'a', uid: 'u' }, data: { k: 'v' } };
      write(obj, '42');
      change(obj);
      expect(storedJson(obj)).toBeUndefined();
      expect(encode(obj, 'json').payload).toBe(JSON.stringify(obj));
    },
  );

  it('knows nothing of objects it did not see written', () => {
    expect(storedJson({ metadata: { resourceVersion: '1' } })).toBeUndefined();
    expect(storedJson(null)).toBeUndefined();
    expect(storedJson('x')).toBeUndefined();
  });
});

describe('registry writes answer with their stored text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-stored-json-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const storage = SqliteStorage.open(join(dir, 'db'));
  const noAdmission: Admission = {
    defaults() {},
    validateCreate: () => [],
    validateUpdate: () => [],
    validateStatusUpdate: () => [],
  };
  const registry = new Registry({ storage, admission: noAdmission, hooks: { trackFields } });
  const CM = resourceForPlural('', 'v1', 'configmaps')!;
  const PODS = resourceForPlural('', 'v1', 'pods')!;
  const NS = resourceForPlural('', 'v1', 'namespaces')!;
  const ctx = { manager: 'test', dryRun: false };
  const respond = async (obj: KObj) => {
    expect(encode(obj, 'json').payload).toBe(JSON.stringify(obj));
    expect(storedJson(obj)).toBeDefined();
    // What a later read decodes is the response without a different resourceVersion.
    const read = await registry.get(
      obj.kind === 'Namespace' ? NS : obj.kind === 'Pod' ? PODS : CM,
      obj.metadata.namespace,
      obj.metadata.name,
    );
    expect(JSON.stringify(read)).toBe(JSON.stringify(obj));
  };

  it('create, update, status update, graceful delete', async () => {
    const cm = await registry.create(
      CM,
      'default',
      { metadata: { name: 'c', resourceVersion: '9' }, data: { a: '1' } },
      ctx,
    );
    await respond(cm);
    const updated = await registry.update(CM, 'default', 'c', { ...cm, data: { a: '2' } }, ctx);
    await respond(updated);
    const pod = await registry.create(
      PODS,
      'default',
      { metadata: { name: 'p' }, spec: { nodeName: 'n', containers: [{ name: 'c', image: 'i' }] } },
      ctx,
    );
    await respond(pod);
    const status = await registry.guaranteedUpdate(
      PODS,
      'default',
      'p',
      (cur) => ({ ...cur, status: { phase: 'Running' } }),
      { ...ctx, manager: 'kubelet', subresource: 'status' },
    );
    await respond(status);
    const { obj: deleting, deleted } = await registry.delete(PODS, 'default', 'p', {}, ctx);
    expect(deleted).toBe(false);
    await respond(deleting);
    const ns = await registry.create(
      NS,
      undefined,
      { metadata: { name: 'gone', finalizers: ['x/y'] }, spec: { finalizers: ['kubernetes'] } },
      ctx,
    );
    const { obj: terminating } = await registry.delete(NS, undefined, 'gone', {}, ctx);
    expect(terminating.status.phase).toBe('Terminating');
    await respond(terminating);
    expect(ns.metadata.name).toBe('gone');
  });
});
