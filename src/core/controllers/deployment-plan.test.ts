import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import { type DeploymentWrite, planDeploymentSync, proportion } from './deployment-plan.js';
import {
  DESIRED_REPLICAS,
  HASH_LABEL,
  MAX_REPLICAS,
  REVISION,
  REVISION_HISTORY,
} from './deployment-revision.js';

const T0 = Date.parse('2024-05-01T12:00:00Z');
const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

function deployment(replicas: number, image: string, strategy: KObj = {}, extra: KObj = {}): KObj {
  return {
    metadata: { name: 'web', namespace: 'ns', uid: 'u-web', generation: 1, annotations: {} },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } },
      strategy,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      ...extra,
    },
    status: {},
  };
}

/**
 * A tiny cluster: applies planned writes, and between syncs lets every ReplicaSet reach its size.
 * Pods created in one round become available in the next; scale-down is immediate.
 */
class World {
  d: KObj;
  rss: KObj[] = [];
  events: string[] = [];
  now = T0;
  private seq = 0;

  constructor(d: KObj) {
    this.d = d;
  }

  sync(): { writes: DeploymentWrite[]; requeueAfterMs?: number | undefined } {
    const plan = planDeploymentSync({ deployment: this.d, replicaSets: this.rss, nowMs: this.now });
    for (const w of plan.writes) this.apply(w);
    return plan;
  }

  private apply(w: DeploymentWrite): void {
    switch (w.op) {
      case 'createReplicaSet':
        this.rss.push({
          ...structuredClone(w.replicaSet),
          metadata: {
            ...w.replicaSet.metadata,
            uid: `u-rs-${++this.seq}`,
            creationTimestamp: iso(this.now),
            generation: 1,
          },
          status: { replicas: 0, observedGeneration: 1 },
        });
        return;
      case 'updateReplicaSet': {
        const rs = this.rss.find((r) => r.metadata.name === w.name)!;
        rs.spec.replicas = w.replicas;
        rs.metadata.annotations = w.annotations;
        return;
      }
      case 'deleteReplicaSet':
        this.rss = this.rss.filter((r) => r.metadata.name !== w.name);
        return;
      case 'setRevision':
        this.d.metadata.annotations[REVISION] = w.revision;
        return;
      case 'updateStatus':
        this.d.status = w.status;
        return;
      case 'event':
        this.events.push(w.message);
    }
  }

  /** The ReplicaSet controller and kubelet catching up. */
  settle(): void {
    this.now += 1000;
    for (const rs of this.rss) {
      const want = rs.spec.replicas;
      const had = rs.status.replicas ?? 0;
      const available = Math.min(want, had);
      rs.status = {
        replicas: want,
        readyReplicas: available,
        availableReplicas: available,
        observedGeneration: 1,
      };
    }
  }

  update(fn: (d: KObj) => void): void {
    fn(this.d.spec);
    this.d.metadata.generation++;
  }

  /** Sync and settle until a sync writes nothing; check rollout bounds at every step. */
  rollout(bounds: { maxTotal: number; minAvailable: number }): number {
    for (let i = 0; i < 100; i++) {
      const { writes } = this.sync();
      const total = this.rss.reduce((n, r) => n + r.spec.replicas, 0);
      expect(total, `step ${i}: pods`).toBeLessThanOrEqual(bounds.maxTotal);
      this.settle();
      const available = this.rss.reduce((n, r) => n + (r.status.availableReplicas ?? 0), 0);
      if (i > 0) expect(available, `step ${i}: available`).toBeGreaterThanOrEqual(bounds.minAvailable);
      // A status write is a watch event too: the controller syncs again until nothing changes.
      if (writes.every((w) => w.op === 'event') && this.complete()) return i;
    }
    throw new Error('rollout did not finish');
  }

  complete(): boolean {
    const p = this.d.status.conditions?.find((c: KObj) => c.type === 'Progressing');
    return p?.reason === 'NewReplicaSetAvailable' && this.d.status.updatedReplicas === this.d.spec.replicas;
  }

  byRevision(rev: string): KObj | undefined {
    return this.rss.find((r) => r.metadata.annotations?.[REVISION] === rev);
  }
}

describe('a new Deployment', () => {
  it('creates its ReplicaSet, records the scale-up, revision 1 and NewReplicaSetCreated', () => {
    const w = new World(deployment(3, 'nginx:1.25'));
    const { writes } = w.sync();
    expect(writes.map((x) => x.op)).toEqual([
      'createReplicaSet',
      'event',
      'setRevision',
      'updateStatus',
      'updateStatus',
    ]);
    const rs = w.rss[0]!;
    const hash = rs.metadata.labels[HASH_LABEL];
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.spec.replicas).toBe(3);
    expect(rs.metadata.annotations).toEqual({
      [REVISION]: '1',
      [DESIRED_REPLICAS]: '3',
      [MAX_REPLICAS]: '4',
    });
    expect(w.events).toEqual([`Scaled up replica set web-${hash} from 0 to 3`]);
    expect(w.d.metadata.annotations[REVISION]).toBe('1');
    const progressing = w.d.status.conditions.find((c: KObj) => c.type === 'Progressing');
    expect(progressing).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetCreated',
      message: `Created new replica set "web-${hash}"`,
    });
    expect(w.d.status.conditions.find((c: KObj) => c.type === 'Available')).toMatchObject({
      status: 'False',
    });
    w.rollout({ maxTotal: 4, minAvailable: 0 });
    expect(w.d.status).toMatchObject({
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      observedGeneration: 1,
    });
    expect(w.d.status.conditions.find((c: KObj) => c.type === 'Available')).toMatchObject({ status: 'True' });
  });

  it('warns and does nothing with an empty selector', () => {
    const d = deployment(3, 'x');
    d.spec.selector = {};
    const { writes } = planDeploymentSync({ deployment: d, replicaSets: [], nowMs: T0 });
    expect(writes).toEqual([
      {
        op: 'event',
        type: 'Warning',
        reason: 'SelectingAll',
        message: 'This deployment is selecting all pods. A non-empty selector is required.',
      },
      { op: 'updateStatus', status: { observedGeneration: 1 } },
    ]);
  });
});

describe('rolling updates stay within maxSurge and maxUnavailable', () => {
  const cases: { replicas: number; strategy: KObj; maxTotal: number; minAvailable: number }[] = [
    { replicas: 10, strategy: {}, maxTotal: 13, minAvailable: 8 },
    {
      replicas: 3,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
      maxTotal: 3,
      minAvailable: 2,
    },
    {
      replicas: 4,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      maxTotal: 5,
      minAvailable: 4,
    },
    {
      replicas: 5,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: '0%' } },
      maxTotal: 10,
      minAvailable: 5,
    },
  ];
  for (const c of cases) {
    it(`${c.replicas} replicas, ${JSON.stringify(c.strategy.rollingUpdate ?? 'defaults')}`, () => {
      const w = new World(deployment(c.replicas, 'v1', c.strategy));
      w.rollout({ maxTotal: c.maxTotal, minAvailable: 0 });
      w.update((s) => {
        s.template.spec.containers[0].image = 'v2';
      });
      const steps = w.rollout(c);
      expect(steps).toBeGreaterThan(1);
      expect(w.byRevision('1')?.spec.replicas).toBe(0);
      expect(w.byRevision('2')?.spec.replicas).toBe(c.replicas);
      expect(w.byRevision('2')?.spec.template.spec.containers[0].image).toBe('v2');
      expect(w.d.metadata.annotations[REVISION]).toBe('2');
      expect(w.d.status.conditions.find((x: KObj) => x.type === 'Progressing')).toMatchObject({
        reason: 'NewReplicaSetAvailable',
        message: `ReplicaSet "${w.byRevision('2')?.metadata.name}" has successfully progressed.`,
      });
    });
  }
});

describe('Recreate', () => {
  it('scales the old ReplicaSet to zero before the new one exists', () => {
    const w = new World(deployment(3, 'v1', { type: 'Recreate' }));
    w.rollout({ maxTotal: 3, minAvailable: 0 });
    w.update((s) => {
      s.template.spec.containers[0].image = 'v2';
    });
    const first = w.sync();
    expect(first.writes.some((x) => x.op === 'createReplicaSet')).toBe(false);
    expect(w.rss[0]?.spec.replicas).toBe(0);
    w.settle();
    w.rollout({ maxTotal: 3, minAvailable: 0 });
    expect(w.byRevision('2')?.spec.replicas).toBe(3);
    expect(w.rss).toHaveLength(2);
  });

  it('waits while old pods are still running', () => {
    const d = deployment(2, 'v2', { type: 'Recreate' });
    const old: KObj = {
      metadata: {
        name: 'web-old',
        uid: 'u-old',
        creationTimestamp: iso(T0 - 1000),
        annotations: { [REVISION]: '1' },
      },
      spec: {
        replicas: 0,
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'c', image: 'v1' }] },
        },
      },
      status: { replicas: 0 },
    };
    const running = new Map([['u-old', [{ status: { phase: 'Running' } }]]]);
    const waiting = planDeploymentSync({
      deployment: d,
      replicaSets: [old],
      podsByReplicaSet: running,
      nowMs: T0,
    });
    expect(waiting.writes.some((x) => x.op === 'createReplicaSet')).toBe(false);
    const done = new Map([['u-old', [{ status: { phase: 'Succeeded' } }]]]);
    const go = planDeploymentSync({ deployment: d, replicaSets: [old], podsByReplicaSet: done, nowMs: T0 });
    expect(go.writes.find((x) => x.op === 'createReplicaSet')).toMatchObject({
      replicaSet: { spec: { replicas: 2 } },
    });
  });
});

describe('scaling', () => {
  it('resizes the one active ReplicaSet with up and down events', () => {
    const w = new World(deployment(3, 'v1'));
    w.rollout({ maxTotal: 4, minAvailable: 0 });
    const name = w.rss[0]?.metadata.name;
    w.update((s) => {
      s.replicas = 10;
    });
    w.rollout({ maxTotal: 13, minAvailable: 0 });
    expect(w.rss[0]?.spec.replicas).toBe(10);
    expect(w.rss[0]?.metadata.annotations).toMatchObject({ [DESIRED_REPLICAS]: '10', [MAX_REPLICAS]: '13' });
    w.update((s) => {
      s.replicas = 2;
    });
    w.rollout({ maxTotal: 13, minAvailable: 0 });
    expect(w.events).toEqual([
      `Scaled up replica set ${name} from 0 to 3`,
      `Scaled up replica set ${name} from 3 to 10`,
      `Scaled down replica set ${name} from 10 to 2`,
    ]);
  });

  it('shares a resize in the middle of a rollout proportionally', () => {
    const d = deployment(20, 'v2');
    d.status = { replicas: 13 };
    const mk = (name: string, image: string, size: number, created: number, rev: string): KObj => ({
      metadata: {
        name,
        uid: `u-${name}`,
        creationTimestamp: iso(T0 + created),
        annotations: { [REVISION]: rev, [DESIRED_REPLICAS]: '10', [MAX_REPLICAS]: '13' },
      },
      spec: {
        replicas: size,
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } },
      },
      status: { replicas: size, availableReplicas: size },
    });
    const { writes } = planDeploymentSync({
      deployment: d,
      replicaSets: [mk('old', 'v1', 8, 0, '1'), mk('new', 'v2', 5, 1000, '2')],
      nowMs: T0,
    });
    const sizes = Object.fromEntries(
      writes.flatMap((x) => (x.op === 'updateReplicaSet' ? [[x.name, x.replicas]] : [])),
    );
    // 25 allowed (20 + 25% surge), 13 running: old gets round(8*25/13)-8 = 7, new the remaining 5.
    expect(sizes).toEqual({ old: 15, new: 10 });
  });

  // max-replicas 13 was 10 + 3 surge; the new size is `replicas` + 25% surge.
  const pcases: {
    name: string;
    replicas: number;
    size: number;
    toAdd: number;
    added: number;
    want: number;
  }[] = [
    { name: 'scale up share', replicas: 20, size: 8, toAdd: 12, added: 0, want: 7 },
    { name: 'bounded by what is left', replicas: 20, size: 8, toAdd: 12, added: 10, want: 2 },
    { name: 'scale down share', replicas: 5, size: 8, toAdd: -6, added: 0, want: -4 },
    { name: 'scale down bounded', replicas: 5, size: 8, toAdd: -6, added: -3, want: -3 },
    { name: 'to zero removes all', replicas: 0, size: 8, toAdd: -13, added: 0, want: -8 },
    { name: 'empty ReplicaSet gets none', replicas: 20, size: 0, toAdd: 12, added: 0, want: 0 },
  ];
  for (const c of pcases) {
    it(`proportion: ${c.name}`, () => {
      const rs = { metadata: { annotations: { [MAX_REPLICAS]: '13' } }, spec: { replicas: c.size } };
      const d = { spec: { replicas: c.replicas }, status: {} };
      expect(proportion(rs, d, c.toAdd, c.added)).toBe(c.want);
    });
  }
});

describe('rollback, history and pause', () => {
  it('rollout undo (the template set back) revives the old ReplicaSet as a new revision', () => {
    const w = new World(deployment(3, 'v1'));
    w.rollout({ maxTotal: 4, minAvailable: 0 });
    const rev1 = w.rss[0]!;
    w.update((s) => {
      s.template.spec.containers[0].image = 'v2';
    });
    w.rollout({ maxTotal: 4, minAvailable: 2 });
    // What kubectl sends: the old ReplicaSet's template without the hash label.
    w.update((s) => {
      const t = structuredClone(rev1.spec.template);
      delete t.metadata.labels[HASH_LABEL];
      s.template = t;
    });
    w.rollout({ maxTotal: 4, minAvailable: 2 });
    expect(w.rss).toHaveLength(2);
    expect(rev1.metadata.annotations).toMatchObject({ [REVISION]: '3', [REVISION_HISTORY]: '1' });
    expect(rev1.spec.replicas).toBe(3);
    expect(w.d.metadata.annotations[REVISION]).toBe('3');
  });

  it('deletes ReplicaSets beyond revisionHistoryLimit, lowest revision first', () => {
    const w = new World(deployment(1, 'v1', {}, { revisionHistoryLimit: 1 }));
    for (const image of ['v1', 'v2', 'v3', 'v4']) {
      w.update((s) => {
        s.template.spec.containers[0].image = image;
      });
      w.rollout({ maxTotal: 2, minAvailable: 0 });
    }
    const revisions = w.rss.map((r) => r.metadata.annotations[REVISION]).sort();
    expect(revisions).toEqual(['3', '4']);
  });

  it('while paused: a Paused condition, no new ReplicaSet; resumed: rolls', () => {
    const w = new World(deployment(2, 'v1'));
    w.rollout({ maxTotal: 3, minAvailable: 0 });
    w.update((s) => {
      s.paused = true;
      s.template.spec.containers[0].image = 'v2';
    });
    const { writes } = w.sync();
    expect(writes.some((x) => x.op === 'createReplicaSet')).toBe(false);
    expect(w.d.status.conditions.find((c: KObj) => c.type === 'Progressing')).toMatchObject({
      status: 'Unknown',
      reason: 'DeploymentPaused',
      message: 'Deployment is paused',
    });
    expect(w.d.status.observedGeneration).toBe(w.d.metadata.generation);
    w.update((s) => {
      s.paused = false;
    });
    w.sync();
    expect(w.rss).toHaveLength(2);
    w.rollout({ maxTotal: 3, minAvailable: 1 });
    expect(w.byRevision('2')?.spec.replicas).toBe(2);
  });
});

describe('progress deadline', () => {
  const stuck = (secondsAgo: number): { d: KObj; rss: KObj[] } => {
    const d = deployment(2, 'v2');
    const t = iso(T0 - secondsAgo * 1000);
    const rs: KObj = {
      metadata: {
        name: 'web-new',
        uid: 'u-new',
        creationTimestamp: t,
        annotations: { [REVISION]: '1', [DESIRED_REPLICAS]: '2', [MAX_REPLICAS]: '3' },
      },
      spec: { replicas: 2, template: structuredClone(d.spec.template) },
      status: { replicas: 2 },
    };
    d.metadata.annotations[REVISION] = '1';
    d.status = {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      unavailableReplicas: 2,
      conditions: [
        {
          type: 'Available',
          status: 'False',
          lastUpdateTime: t,
          lastTransitionTime: t,
          reason: 'MinimumReplicasUnavailable',
          message: 'Deployment does not have minimum availability.',
        },
        {
          type: 'Progressing',
          status: 'True',
          lastUpdateTime: t,
          lastTransitionTime: t,
          reason: 'ReplicaSetUpdated',
          message: 'ReplicaSet "web-new" is progressing.',
        },
      ],
    };
    return { d, rss: [rs] };
  };
  it('times out with ProgressDeadlineExceeded', () => {
    const { d, rss } = stuck(601);
    const { writes } = planDeploymentSync({ deployment: d, replicaSets: rss, nowMs: T0 });
    const st = writes.find((x) => x.op === 'updateStatus');
    expect(
      st && st.op === 'updateStatus' && st.status.conditions.find((c: KObj) => c.type === 'Progressing'),
    ).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "web-new" has timed out progressing.',
    });
  });
  it('asks to be synced again when the deadline will pass', () => {
    const { d, rss } = stuck(100);
    const plan = planDeploymentSync({ deployment: d, replicaSets: rss, nowMs: T0 });
    expect(plan.writes).toEqual([]);
    expect(plan.requeueAfterMs).toBe(501_000);
  });
});

describe('a Deployment being deleted', () => {
  it('only updates status', () => {
    const w = new World(deployment(3, 'v1'));
    w.rollout({ maxTotal: 4, minAvailable: 0 });
    w.d.metadata.deletionTimestamp = iso(T0);
    w.update((s) => {
      s.replicas = 9;
      s.template.spec.containers[0].image = 'v2';
    });
    const { writes } = w.sync();
    expect(writes.map((x) => x.op)).toEqual(['updateStatus']);
  });
});
