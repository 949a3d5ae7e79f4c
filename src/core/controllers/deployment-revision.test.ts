import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import {
  equalIgnoreHash,
  findNewReplicaSet,
  HASH_LABEL,
  maxRevision,
  newReplicaSetFor,
  REVISION,
  REVISION_HISTORY,
  safeEncode,
  setNewReplicaSetAnnotations,
  templateHash,
} from './deployment-revision.js';

const template = (image: string, extra: KObj = {}): KObj => ({
  metadata: { labels: { app: 'web' }, ...extra },
  spec: { containers: [{ name: 'nginx', image, resources: {} }] },
});

describe('template identity', () => {
  const cases: { name: string; a: KObj; b: KObj; equal: boolean }[] = [
    { name: 'same', a: template('x:1'), b: template('x:1'), equal: true },
    { name: 'different image', a: template('x:1'), b: template('x:2'), equal: false },
    {
      name: 'hash label ignored',
      a: template('x:1'),
      b: { ...template('x:1'), metadata: { labels: { app: 'web', [HASH_LABEL]: 'abc' } } },
      equal: true,
    },
    {
      name: 'null and empty fields as Go sees them',
      a: template('x:1', { creationTimestamp: null }),
      b: template('x:1'),
      equal: true,
    },
    {
      name: 'annotation differs',
      a: template('x:1', { annotations: { r: '1' } }),
      b: template('x:1'),
      equal: false,
    },
  ];
  for (const c of cases) it(c.name, () => expect(equalIgnoreHash(c.a, c.b)).toBe(c.equal));

  it('hashes stably, independent of key order, into the safe alphabet', () => {
    const a = templateHash(template('x:1'));
    const reordered = {
      spec: { containers: [{ image: 'x:1', resources: {}, name: 'nginx' }] },
      metadata: { labels: { app: 'web' } },
    };
    expect(templateHash(reordered)).toBe(a);
    expect(a).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(templateHash(template('x:2'))).not.toBe(a);
    expect(templateHash(template('x:1'), 1)).not.toBe(a);
    expect(templateHash(template('x:1'), 1)).not.toBe(templateHash(template('x:1'), 2));
    expect(safeEncode('0123')).toBe('4567');
  });

  it('builds the new ReplicaSet with the hash on labels, selector and template', () => {
    const d: KObj = {
      metadata: { name: 'web', namespace: 'ns', uid: 'u-d' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: template('x:1'), minReadySeconds: 5 },
    };
    const rs = newReplicaSetFor(d, 'h4sh', 2);
    expect(rs.metadata.name).toBe('web-h4sh');
    expect(rs.metadata.labels).toEqual({ app: 'web', [HASH_LABEL]: 'h4sh' });
    expect(rs.spec.selector).toEqual({ matchLabels: { app: 'web', [HASH_LABEL]: 'h4sh' } });
    expect(rs.spec.template.metadata.labels).toEqual({ app: 'web', [HASH_LABEL]: 'h4sh' });
    expect(rs.spec).toMatchObject({ replicas: 2, minReadySeconds: 5 });
    expect(rs.metadata.ownerReferences[0]).toMatchObject({
      kind: 'Deployment',
      uid: 'u-d',
      controller: true,
    });
    expect(d.spec.template.metadata.labels).toEqual({ app: 'web' });
  });
});

describe('revisions', () => {
  const rs = (name: string, created: string, image: string, revision?: string, history?: string): KObj => ({
    metadata: {
      name,
      creationTimestamp: created,
      annotations: {
        ...(revision ? { [REVISION]: revision } : {}),
        ...(history ? { [REVISION_HISTORY]: history } : {}),
      },
    },
    spec: { template: template(image) },
  });

  it('finds the oldest ReplicaSet with the template as the new one', () => {
    const d = { spec: { template: template('x:1') } };
    const list = [
      rs('b', '2024-01-02T00:00:00Z', 'x:1'),
      rs('c', '2024-01-01T00:00:00Z', 'x:2'),
      rs('a', '2024-01-02T00:00:00Z', 'x:1'),
    ];
    expect(findNewReplicaSet(d, list)?.metadata.name).toBe('a');
    expect(findNewReplicaSet({ spec: { template: template('x:9') } }, list)).toBeUndefined();
    expect(maxRevision([rs('a', '', 'x', '3'), rs('b', '', 'x', '11'), rs('c', '', 'x', 'junk')])).toBe(11);
  });

  const d: KObj = {
    metadata: {
      annotations: { team: 'a', [REVISION]: '9', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
    },
    spec: {},
  };
  const cases: {
    name: string;
    rs: KObj;
    exists: boolean;
    revision: number;
    changed: boolean;
    want: Record<string, string>;
    limit?: number;
  }[] = [
    {
      name: 'a ReplicaSet about to be created',
      rs: rs('n', '', 'x'),
      exists: false,
      revision: 4,
      changed: true,
      want: {
        team: 'a',
        [REVISION]: '4',
        'deployment.kubernetes.io/desired-replicas': '3',
        'deployment.kubernetes.io/max-replicas': '4',
      },
    },
    {
      name: 'rollback: revision raised, old one kept in history',
      rs: rs('n', '', 'x', '1'),
      exists: true,
      revision: 3,
      changed: true,
      want: { team: 'a', [REVISION]: '3', [REVISION_HISTORY]: '1' },
    },
    {
      name: 'history appended',
      rs: rs('n', '', 'x', '3', '1'),
      exists: true,
      revision: 5,
      changed: true,
      want: { team: 'a', [REVISION]: '5', [REVISION_HISTORY]: '1,3' },
    },
    {
      name: 'history trimmed to its length limit',
      rs: rs('n', '', 'x', '30', '10,20'),
      exists: true,
      revision: 31,
      limit: 6,
      changed: true,
      want: { team: 'a', [REVISION]: '31', [REVISION_HISTORY]: '20,30' },
    },
    {
      name: 'never lowered',
      rs: { ...rs('n', '', 'x', '7'), metadata: { name: 'n', annotations: { team: 'a', [REVISION]: '7' } } },
      exists: true,
      revision: 5,
      changed: false,
      want: { team: 'a', [REVISION]: '7' },
    },
  ];
  for (const c of cases) {
    it(`setNewReplicaSetAnnotations: ${c.name}`, () => {
      const changed = setNewReplicaSetAnnotations(d, c.rs, c.revision, {
        exists: c.exists,
        desiredReplicas: 3,
        maxReplicas: 4,
        maxHistoryChars: c.limit,
      });
      expect(changed).toBe(c.changed);
      expect(c.rs.metadata.annotations).toEqual(c.want);
    });
  }
});
