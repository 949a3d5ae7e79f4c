import { describe, expect, it } from 'vitest';
import { LeaderElectionConfigError } from './errors.js';
import { FakeClock, flushPromises } from './fake-clock.js';
import { type LeaderElector, type LeaseClient, microTime, runLeaderElection } from './leader-election.js';
import { ApiStatusError, type RequestOptions } from './rest-client.js';

const COLLECTION = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases';
const PATH = `${COLLECTION}/ctrl`;

function status(code: number, reason: string): ApiStatusError {
  return new ApiStatusError(code, { kind: 'Status', code, reason, message: reason }, '');
}

/** An in-memory Lease store with resourceVersion compare-and-swap, as the API server's. */
class LeaseStore {
  lease: Record<string, any> | undefined;
  rv = 0;
  writes = 0;

  /** Put a Lease in the store as if another process had written it. */
  seed(spec: Record<string, unknown>): void {
    this.lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'ctrl', namespace: 'kube-system', resourceVersion: String(++this.rv) },
      spec,
    };
  }

  /** A client of the store; `down()` makes every request of this client fail (a partition). */
  client(): LeaseClient & { down: boolean } {
    const self = this;
    return {
      down: false,
      async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
        await Promise.resolve(); // answer asynchronously, so racing candidates interleave
        if (this.down) throw new Error('connect ECONNREFUSED');
        return self.handle(method, path, opts.body as Record<string, any> | undefined) as T;
      },
    };
  }

  private handle(method: string, path: string, body: Record<string, any> | undefined): unknown {
    const copy = () => structuredClone(this.lease);
    if (method === 'GET' && path === PATH) {
      if (!this.lease) throw status(404, 'NotFound');
      return copy();
    }
    if (method === 'POST' && path === COLLECTION) {
      if (this.lease) throw status(409, 'AlreadyExists');
      this.lease = {
        ...structuredClone(body),
        metadata: { ...body!.metadata, resourceVersion: String(++this.rv) },
      };
      this.writes++;
      return copy();
    }
    if (method === 'PUT' && path === PATH) {
      if (!this.lease) throw status(404, 'NotFound');
      if (body!.metadata.resourceVersion !== this.lease.metadata.resourceVersion)
        throw status(409, 'Conflict');
      this.lease = {
        ...structuredClone(body),
        metadata: { ...body!.metadata, resourceVersion: String(++this.rv) },
      };
      this.writes++;
      return copy();
    }
    throw status(405, 'MethodNotAllowed');
  }
}

interface Candidate {
  elector: LeaderElector;
  client: ReturnType<LeaseStore['client']>;
  log: string[];
  signals: AbortSignal[];
  leading(): boolean;
}

function candidate(
  store: LeaseStore,
  clock: FakeClock,
  identity: string,
  extra: Record<string, unknown> = {},
): Candidate {
  const client = store.client();
  const log: string[] = [];
  const signals: AbortSignal[] = [];
  let leading = false;
  const elector = runLeaderElection(
    client,
    { name: 'ctrl', identity, clock, jitterFactor: 0, onError: () => {}, ...extra },
    {
      onStartedLeading: (signal) => {
        leading = true;
        signals.push(signal);
        log.push('started');
      },
      onStoppedLeading: () => {
        leading = false;
        log.push('stopped');
      },
      onNewLeader: (id) => log.push(`leader:${id}`),
    },
  );
  return { elector, client, log, signals, leading: () => leading };
}

/** Advance the clock in small steps, checking at each one that at most one candidate leads. */
async function run(clock: FakeClock, ms: number, cands: Candidate[], step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(step);
    const leaders = cands.filter((c) => c.leading());
    expect(leaders.length).toBeLessThanOrEqual(1);
  }
}

describe('microTime', () => {
  it.each([
    [Date.UTC(2026, 0, 1), '2026-01-01T00:00:00.000000Z'],
    [Date.UTC(2026, 6, 4, 12, 30, 15, 123), '2026-07-04T12:30:15.123000Z'],
  ])('%s -> %s', (ms, s) => {
    expect(microTime(ms)).toBe(s);
  });
});

describe('runLeaderElection', () => {
  it('creates the Lease when there is none and leads', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate(store, clock, 'a');
    await clock.advance(0);
    expect(a.leading()).toBe(true);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.log).toEqual(['leader:a', 'started']);
    expect(store.lease).toMatchObject({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'ctrl', namespace: 'kube-system' },
      spec: {
        holderIdentity: 'a',
        leaseDurationSeconds: 15,
        acquireTime: '2026-01-01T00:00:00.000000Z',
        renewTime: '2026-01-01T00:00:00.000000Z',
        leaseTransitions: 0,
      },
    });
    expect(a.signals[0]!.aborted).toBe(false);
    await a.elector.stop();
  });

  it('renews every retry period, keeping acquireTime and transitions', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate(store, clock, 'a');
    await clock.advance(0);
    const rv0 = store.rv;
    await clock.advance(2000);
    expect(store.lease!.spec.renewTime).toBe(microTime(Date.UTC(2026, 0, 1) + 2000));
    await clock.advance(2000 * 9);
    expect(store.rv - rv0).toBe(10);
    expect(store.lease!.spec).toMatchObject({
      holderIdentity: 'a',
      acquireTime: '2026-01-01T00:00:00.000000Z',
      renewTime: microTime(Date.UTC(2026, 0, 1) + 20_000),
      leaseTransitions: 0,
    });
    expect(a.log).toEqual(['leader:a', 'started']);
    await a.elector.stop();
  });

  it.each([
    {
      name: 'a holder that stopped renewing is taken over after the lease duration',
      holderRenews: false,
      takesOver: true,
    },
    { name: 'a holder that keeps renewing is never taken over', holderRenews: true, takesOver: false },
  ])('$name', async ({ holderRenews, takesOver }) => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const t0 = microTime(clock.now() - 60_000);
    store.seed({
      holderIdentity: 'old',
      leaseDurationSeconds: 15,
      acquireTime: t0,
      renewTime: t0,
      leaseTransitions: 3,
    });
    // The renewTime is a minute old, but the follower times the lease from when it first saw it.
    const b = candidate(store, clock, 'b');
    const renew = () => {
      store.lease!.spec = { ...store.lease!.spec, renewTime: microTime(clock.now()) };
      store.lease!.metadata.resourceVersion = String(++store.rv);
    };
    await clock.advance(0);
    expect(b.leading()).toBe(false);
    expect(b.log).toEqual(['leader:old']);
    for (let s = 0; s < 14; s++) {
      await clock.advance(1000);
      if (holderRenews && s % 2 === 0) renew();
    }
    expect(b.leading()).toBe(false);
    for (let s = 0; s < 20; s++) {
      await clock.advance(1000);
      if (holderRenews && s % 2 === 0) renew();
    }
    expect(b.leading()).toBe(takesOver);
    if (takesOver) {
      // b tries every 2 s: the first try after 15 s without a change is at 16 s.
      expect(store.lease!.spec).toMatchObject({
        holderIdentity: 'b',
        leaseTransitions: 4,
        acquireTime: '2026-01-01T00:00:16.000000Z',
      });
      expect(b.log).toEqual(['leader:old', 'leader:b', 'started']);
    } else {
      expect(store.lease!.spec.holderIdentity).toBe('old');
    }
    await b.elector.stop();
  });

  it.each([
    { name: 'no Lease yet', existing: false },
    { name: 'an expired Lease', existing: true },
  ])('of racing candidates exactly one leads ($name)', async ({ existing }) => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    if (existing) store.seed({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 2 });
    const cands = ['a', 'b', 'c', 'd'].map((id) => candidate(store, clock, id));
    await run(clock, 30_000, cands);
    const leaders = cands.filter((c) => c.leading());
    expect(leaders).toHaveLength(1);
    const winner = store.lease!.spec.holderIdentity;
    expect(leaders[0]!.elector.isLeader()).toBe(true);
    expect(cands.map((c) => c.elector.leader())).toEqual(['a', 'b', 'c', 'd'].map(() => winner));
    expect(store.lease!.spec.leaseTransitions).toBe(existing ? 3 : 0);
    for (const c of cands) await c.elector.stop();
  });

  it('a leader that cannot renew stops within the renew deadline, before a follower takes over', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate(store, clock, 'a');
    await clock.advance(0);
    const b = candidate(store, clock, 'b');
    await clock.advance(1000);
    expect([a.leading(), b.leading()]).toEqual([true, false]);
    a.client.down = true; // partitioned from the API server
    const cut = clock.now();
    let stoppedAt = 0;
    let takenAt = 0;
    for (let t = 0; t < 30_000; t += 100) {
      await clock.advance(100);
      expect(a.leading() && b.leading()).toBe(false);
      if (!stoppedAt && !a.leading()) stoppedAt = clock.now() - cut;
      if (!takenAt && b.leading()) takenAt = clock.now() - cut;
    }
    expect(a.signals[0]!.aborted).toBe(true);
    expect(a.log).toEqual(['leader:a', 'started', 'stopped']);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThanOrEqual(10_000);
    expect(takenAt).toBeGreaterThan(stoppedAt);
    expect(store.lease!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    // The partition heals: the old leader becomes a follower of b and does not start again.
    a.client.down = false;
    await run(clock, 10_000, [a, b]);
    expect(a.log.at(-1)).toBe('leader:b');
    expect(b.leading()).toBe(true);
    await a.elector.stop();
    await b.elector.stop();
  });

  it('stop() ends the work, then releases the Lease so a follower takes over at once', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const order: string[] = [];
    let finishWork: () => void = () => {};
    const elector = runLeaderElection(
      store.client(),
      { name: 'ctrl', identity: 'a', clock, jitterFactor: 0, onError: () => {} },
      {
        onStartedLeading: (signal) =>
          new Promise<void>((resolve) => {
            finishWork = () => {
              order.push(`work done (holder ${store.lease!.spec.holderIdentity})`);
              resolve();
            };
            signal.addEventListener('abort', () => order.push('aborted'));
          }),
        onStoppedLeading: () => order.push('stopped'),
      },
    );
    await clock.advance(0);
    const b = candidate(store, clock, 'b');
    await clock.advance(4000);
    expect(b.leading()).toBe(false);
    let released = false;
    const p = elector.stop().then(() => (released = true));
    await flushPromises();
    expect(order).toEqual(['aborted', 'stopped']);
    expect(released).toBe(false); // waits for the work to finish
    finishWork();
    await p;
    expect(order).toEqual(['aborted', 'stopped', 'work done (holder a)']);
    expect(store.lease!.spec).toMatchObject({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      leaseTransitions: 0,
    });
    expect(elector.isLeader()).toBe(false);
    // b takes over on its next try (2 s), not after the 15 s lease.
    await clock.advance(2000);
    expect(b.leading()).toBe(true);
    expect(store.lease!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.elector.stop();
  });

  it('stop() of a follower leaves the Lease alone and never calls onStoppedLeading', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate(store, clock, 'a');
    await clock.advance(0);
    const b = candidate(store, clock, 'b');
    await clock.advance(1000);
    const before = store.rv;
    await b.elector.stop();
    expect(b.log).toEqual(['leader:a']);
    expect(store.rv).toBe(before);
    expect(store.lease!.spec.holderIdentity).toBe('a');
    await a.elector.stop();
    expect(clock.pending()).toBe(0);
  });

  it.each([
    { opts: { leaseDurationSeconds: 10, renewDeadlineSeconds: 10 }, msg: /leaseDurationSeconds/ },
    {
      opts: { renewDeadlineSeconds: 2, retryPeriodSeconds: 2, jitterFactor: 0 },
      msg: /renewDeadlineSeconds/,
    },
    { opts: { identity: '' }, msg: /identity/ },
  ])('rejects inconsistent options $opts', ({ opts, msg }) => {
    const store = new LeaseStore();
    const make = () =>
      runLeaderElection(
        store.client(),
        { name: 'ctrl', identity: 'a', clock: new FakeClock(), ...opts },
        { onStartedLeading: () => {}, onStoppedLeading: () => {} },
      );
    expect(make).toThrow(LeaderElectionConfigError);
    expect(make).toThrow(msg);
  });
});
