import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import {
  adoptPatch,
  type ClaimDecision,
  claimDecision,
  claimObjects,
  controllerUidIndex,
  orphanNamespaceIndex,
  releasePatch,
} from './replicaset-controller-ref.js';

const owner = (extra: KObj = {}): KObj => ({
  metadata: { name: 'rs', namespace: 'ns', uid: 'u-rs', ...extra },
});
const ref = (uid: string, controller = true) => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  name: 'x',
  uid,
  controller,
});
const pod = (name: string, extra: KObj = {}): KObj => ({
  metadata: { name, namespace: 'ns', uid: `u-${name}`, resourceVersion: '7', ...extra },
});

describe('claimDecision', () => {
  const cases: { name: string; owner: KObj; obj: KObj; matches: boolean; want: ClaimDecision }[] = [
    {
      name: 'ours and matching',
      owner: owner(),
      obj: pod('a', { ownerReferences: [ref('u-rs')] }),
      matches: true,
      want: 'keep',
    },
    {
      name: 'ours, no longer matching',
      owner: owner(),
      obj: pod('a', { ownerReferences: [ref('u-rs')] }),
      matches: false,
      want: 'release',
    },
    {
      name: 'ours, not matching, owner deleting',
      owner: owner({ deletionTimestamp: '2024-01-01T00:00:00Z' }),
      obj: pod('a', { ownerReferences: [ref('u-rs')] }),
      matches: false,
      want: 'ignore',
    },
    {
      name: 'another controller',
      owner: owner(),
      obj: pod('a', { ownerReferences: [ref('u-other')] }),
      matches: true,
      want: 'ignore',
    },
    { name: 'orphan matching', owner: owner(), obj: pod('a'), matches: true, want: 'adopt' },
    {
      name: 'non-controller owner only',
      owner: owner(),
      obj: pod('a', { ownerReferences: [ref('u-x', false)] }),
      matches: true,
      want: 'adopt',
    },
    { name: 'orphan not matching', owner: owner(), obj: pod('a'), matches: false, want: 'ignore' },
    {
      name: 'orphan being deleted',
      owner: owner(),
      obj: pod('a', { deletionTimestamp: '2024-01-01T00:00:00Z' }),
      matches: true,
      want: 'ignore',
    },
    {
      name: 'orphan, owner being deleted',
      owner: owner({ deletionTimestamp: '2024-01-01T00:00:00Z' }),
      obj: pod('a'),
      matches: true,
      want: 'ignore',
    },
    {
      name: 'orphan in another namespace',
      owner: owner(),
      obj: pod('a', { namespace: 'other' }),
      matches: true,
      want: 'ignore',
    },
  ];
  for (const c of cases) it(c.name, () => expect(claimDecision(c.owner, c.obj, c.matches)).toBe(c.want));
});

describe('indexes and patches', () => {
  it('indexes by controller uid and orphan namespace', () => {
    expect(controllerUidIndex(pod('a', { ownerReferences: [ref('u-x', false), ref('u-rs')] }))).toEqual([
      'u-rs',
    ]);
    expect(controllerUidIndex(pod('a'))).toEqual([]);
    expect(orphanNamespaceIndex(pod('a'))).toEqual(['ns']);
    expect(orphanNamespaceIndex(pod('a', { ownerReferences: [ref('u-rs')] }))).toEqual([]);
  });
  it('guards adoption and release with uid and resourceVersion tests', () => {
    const p = pod('a', { ownerReferences: [ref('u-x', false)] });
    const add = adoptPatch(p, ref('u-rs'));
    expect(add.slice(0, 2)).toEqual([
      { op: 'test', path: '/metadata/uid', value: 'u-a' },
      { op: 'test', path: '/metadata/resourceVersion', value: '7' },
    ]);
    expect(add[2]).toEqual({
      op: 'add',
      path: '/metadata/ownerReferences',
      value: [ref('u-x', false), ref('u-rs')],
    });
    const both = pod('a', { ownerReferences: [ref('u-x', false), ref('u-rs')] });
    expect(releasePatch(both, 'u-rs')[2]).toEqual({
      op: 'replace',
      path: '/metadata/ownerReferences',
      value: [ref('u-x', false)],
    });
    const only = pod('a', { ownerReferences: [ref('u-rs')] });
    expect(releasePatch(only, 'u-rs')[2]).toEqual({ op: 'remove', path: '/metadata/ownerReferences' });
  });
});

describe('claimObjects', () => {
  const candidates = [
    pod('keep', { ownerReferences: [ref('u-rs')], labels: { app: 'web' } }),
    pod('release', { ownerReferences: [ref('u-rs')], labels: { app: 'other' } }),
    pod('adopt1', { labels: { app: 'web' } }),
    pod('adopt2', { labels: { app: 'web' } }),
    pod('gone', { labels: { app: 'web' } }),
  ];
  const run = async (canAdopt: boolean) => {
    const log: string[] = [];
    let checks = 0;
    const got = await claimObjects(owner(), candidates, {
      matches: (o) => o.metadata.labels.app === 'web',
      canAdopt: async () => {
        checks++;
        return canAdopt;
      },
      adopt: async (o) => {
        log.push(`adopt ${o.metadata.name}`);
        return o.metadata.name !== 'gone';
      },
      release: async (o) => {
        log.push(`release ${o.metadata.name}`);
      },
    });
    return { names: got.map((o) => o.metadata.name), log, checks };
  };
  it('keeps, releases and adopts, checking the owner once', async () => {
    const r = await run(true);
    expect(r.names).toEqual(['keep', 'adopt1', 'adopt2']);
    expect(r.log).toEqual(['release release', 'adopt adopt1', 'adopt adopt2', 'adopt gone']);
    expect(r.checks).toBe(1);
  });
  it('adopts nothing when the fresh owner check fails', async () => {
    const r = await run(false);
    expect(r.names).toEqual(['keep']);
    expect(r.log).toEqual(['release release']);
  });
});
