import { describe, expect, it } from 'vitest';
import { planHistory, revisionData, templateOf } from './controller-history.js';

const owner = (image: string, extra: object = {}) => ({
  metadata: {
    name: 'agent',
    namespace: 'default',
    uid: 'u1',
    annotations: { 'kubernetes.io/change-cause': 'why' },
  },
  spec: {
    selector: { matchLabels: { app: 'agent' } },
    template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image }] } },
    ...extra,
  },
});
const rev = (name: string, revision: number) => ({ metadata: { name }, revision, data: {} });

describe('planHistory', () => {
  it('creates revision 1 for a new owner, labelled for kubectl (selector labels + hash) and owned', () => {
    const plan = planHistory({
      owner: owner('a'),
      kind: 'DaemonSet',
      revisions: [],
      name: 'agent-h1',
      hash: 'h1',
      inUse: new Set(),
    });
    expect(plan.revision).toBe(1);
    expect(plan.create).toMatchObject({
      kind: 'ControllerRevision',
      revision: 1,
      metadata: {
        name: 'agent-h1',
        labels: { app: 'agent', 'controller-revision-hash': 'h1' },
        annotations: { 'kubernetes.io/change-cause': 'why' },
        ownerReferences: [{ kind: 'DaemonSet', name: 'agent', uid: 'u1', controller: true }],
      },
    });
    expect(templateOf(plan.create!)).toEqual(owner('a').spec.template);
  });

  it('a new template gets max + 1; the current one is left alone', () => {
    const revisions = [rev('agent-h1', 1), rev('agent-h2', 2)];
    expect(
      planHistory({
        owner: owner('c'),
        kind: 'DaemonSet',
        revisions,
        name: 'agent-h3',
        hash: 'h3',
        inUse: new Set(),
      }).create?.revision,
    ).toBe(3);
    const same = planHistory({
      owner: owner('b'),
      kind: 'DaemonSet',
      revisions,
      name: 'agent-h2',
      hash: 'h2',
      inUse: new Set(),
    });
    expect(same).toEqual({ prune: [], revision: 2 });
  });

  it('going back to an old template renumbers its revision instead of copying it', () => {
    const revisions = [rev('agent-h1', 1), rev('agent-h2', 2)];
    const plan = planHistory({
      owner: owner('a'),
      kind: 'DaemonSet',
      revisions,
      name: 'agent-h1',
      hash: 'h1',
      inUse: new Set(),
    });
    expect(plan.create).toBeUndefined();
    expect(plan.renumber).toEqual({ name: 'agent-h1', revision: 3 });
  });

  it('prunes the oldest revisions beyond revisionHistoryLimit, never one in use', () => {
    const revisions = [rev('agent-h1', 1), rev('agent-h2', 2), rev('agent-h3', 3), rev('agent-h4', 4)];
    const plan = planHistory({
      owner: owner('x', { revisionHistoryLimit: 1 }),
      kind: 'DaemonSet',
      revisions,
      name: 'agent-h4',
      hash: 'h4',
      inUse: new Set(['agent-h1']),
    });
    expect(plan.prune).toEqual(['agent-h2']);
  });

  it('data is the patch that restores the template', () => {
    expect(revisionData(owner('a'))).toEqual({
      spec: { template: { ...owner('a').spec.template, $patch: 'replace' } },
    });
  });
});
