import { describe, expect, it } from 'vitest';
import { FakeClock, flushPromises } from './fake-clock.js';
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialRateLimiter,
} from './rate-limiter.js';
import { RateLimitedQueue, WorkQueue } from './workqueue.js';

/** A process function whose calls the test finishes by hand. */
function manual() {
  const calls: { key: string; resolve(): void; reject(e: Error): void }[] = [];
  let running = 0;
  let maxRunning = 0;
  const runningKeys = new Map<string, number>();
  let overlap = false;
  const process = (key: string) =>
    new Promise<void>((resolve, reject) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const n = (runningKeys.get(key) ?? 0) + 1;
      runningKeys.set(key, n);
      if (n > 1) overlap = true;
      const done = () => {
        running--;
        runningKeys.set(key, (runningKeys.get(key) ?? 1) - 1);
      };
      calls.push({
        key,
        resolve: () => {
          done();
          resolve();
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
    });
  return {
    process,
    calls,
    stats: () => ({ running, maxRunning, overlap }),
  };
}

describe('ItemExponentialRateLimiter', () => {
  it.each([
    { base: 5, max: 1_000_000, expected: [5, 10, 20, 40, 80, 160] },
    { base: 5, max: 30, expected: [5, 10, 20, 30, 30] },
    { base: 1000, max: 1000, expected: [1000, 1000] },
  ])('base $base max $max -> $expected', ({ base, max, expected }) => {
    const l = new ItemExponentialRateLimiter(base, max);
    expect(expected.map(() => l.when('k'))).toEqual(expected);
    expect(l.numRequeues('k')).toBe(expected.length);
    expect(l.when('other')).toBe(base);
    l.forget('k');
    expect(l.numRequeues('k')).toBe(0);
    expect(l.when('k')).toBe(base);
  });

  it('caps instead of overflowing after many failures', () => {
    const l = new ItemExponentialRateLimiter(5, 1_000_000);
    let d = 0;
    for (let i = 0; i < 2000; i++) d = l.when('k');
    expect(d).toBe(1_000_000);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through, then spaces retries at 1/qps and refills with time', async () => {
    const clock = new FakeClock();
    const b = new BucketRateLimiter(10, 3, clock);
    expect([b.when('a'), b.when('b'), b.when('c')]).toEqual([0, 0, 0]);
    expect(b.when('d')).toBe(100);
    expect(b.when('e')).toBe(200);
    await clock.advance(1000);
    // 10 tokens accrued, but only `burst` are kept.
    expect([b.when('f'), b.when('g'), b.when('h')]).toEqual([0, 0, 0]);
    expect(b.when('i')).toBe(100);
  });

  it('the default limiter takes the larger of per-key backoff and the bucket', () => {
    const clock = new FakeClock();
    const l = defaultControllerRateLimiter({ qps: 1, burst: 1, clock });
    expect(l.when('a')).toBe(5);
    expect(l.when('b')).toBe(1000);
  });
});

describe('RateLimitedQueue', () => {
  it('never runs process inside add() and processes each key once', async () => {
    const seen: string[] = [];
    const q = new RateLimitedQueue(async (k) => {
      seen.push(k);
    });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(seen).toEqual([]);
    expect(q.len()).toBe(2);
    await flushPromises();
    expect(seen).toEqual(['a', 'b']);
    expect(q.len()).toBe(0);
  });

  it('a key added while it is processed runs again afterwards, once', async () => {
    const m = manual();
    const q = new RateLimitedQueue(m.process, { workers: 4 });
    q.add('a');
    await flushPromises();
    expect(m.calls.map((c) => c.key)).toEqual(['a']);
    q.add('a');
    q.add('a');
    await flushPromises();
    // Not started again while the first run is in flight, even with idle workers.
    expect(m.calls).toHaveLength(1);
    expect(q.len()).toBe(0);
    m.calls[0]!.resolve();
    await flushPromises();
    expect(m.calls.map((c) => c.key)).toEqual(['a', 'a']);
    m.calls[1]!.resolve();
    await flushPromises();
    expect(m.calls).toHaveLength(2);
  });

  it('failures requeue with doubling delays and success forgets', async () => {
    const clock = new FakeClock();
    let failuresLeft = 3;
    const runs: number[] = [];
    const errors: string[] = [];
    const q = new RateLimitedQueue(
      async () => {
        runs.push(clock.now());
        if (failuresLeft-- > 0) throw new Error('boom');
      },
      {
        clock,
        baseDelayMs: 100,
        maxDelayMs: 10_000,
        onError: (k, e) => errors.push(`${k}:${(e as Error).message}`),
      },
    );
    const t0 = clock.now();
    q.add('k');
    await clock.advance(10_000);
    expect(runs.map((t) => t - t0)).toEqual([0, 100, 300, 700]);
    expect(errors).toEqual(['k:boom', 'k:boom', 'k:boom']);
    expect(q.numRequeues('k')).toBe(0);
  });

  it('numRequeues counts backoffs until forget', async () => {
    const clock = new FakeClock();
    const q = new RateLimitedQueue(async () => {}, { clock });
    q.addRateLimited('x');
    q.addRateLimited('x');
    expect(q.numRequeues('x')).toBe(2);
    q.forget('x');
    expect(q.numRequeues('x')).toBe(0);
    await q.shutDown();
  });

  it.each([
    { name: 'later delay is dropped', delays: [100, 500], runsAt: [100] },
    { name: 'earlier delay replaces a later one', delays: [500, 100], runsAt: [100] },
    { name: 'zero delay adds at once', delays: [0], runsAt: [0] },
  ])('addAfter: $name', async ({ delays, runsAt }) => {
    const clock = new FakeClock();
    const runs: number[] = [];
    const t0 = clock.now();
    const q = new RateLimitedQueue(async () => void runs.push(clock.now() - t0), { clock });
    for (const d of delays) q.addAfter('k', d);
    await clock.advance(1000);
    expect(runs).toEqual(runsAt);
    expect(clock.pending()).toBe(0);
  });

  it.each([
    { workers: 1, keys: ['a', 'b', 'a', 'c', 'b', 'a'] },
    { workers: 2, keys: ['a', 'a', 'a', 'b', 'b', 'c'] },
    { workers: 3, keys: ['a', 'b', 'c', 'd', 'a', 'b', 'c', 'd', 'a'] },
    { workers: 8, keys: ['x', 'x', 'y', 'x', 'y', 'z', 'x'] },
  ])('$workers workers never process one key twice at once', async ({ workers, keys }) => {
    const m = manual();
    const q = new RateLimitedQueue(m.process, { workers });
    let finished = 0;
    // Interleave adds with completing the oldest in-flight call, deterministically.
    for (const k of keys) {
      q.add(k);
      await flushPromises();
      const open = m.calls.filter((_, i) => i >= finished);
      if (open.length >= workers) {
        m.calls[finished++]!.resolve();
        await flushPromises();
      }
      expect(m.stats().running).toBeLessThanOrEqual(workers);
    }
    while (finished < m.calls.length) {
      m.calls[finished++]!.resolve();
      await flushPromises();
    }
    expect(m.stats().overlap).toBe(false);
    expect(m.stats().maxRunning).toBeLessThanOrEqual(workers);
    // Every distinct key ran at least once, and the last add of each key was followed by a run.
    expect(new Set(m.calls.map((c) => c.key))).toEqual(new Set(keys));
    expect(q.len()).toBe(0);
    expect(q.inFlight()).toBe(0);
  });

  it('uses all its workers for distinct keys', async () => {
    const m = manual();
    const q = new RateLimitedQueue(m.process, { workers: 3 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await flushPromises();
    expect(m.calls.map((c) => c.key)).toEqual(['a', 'b', 'c']);
    expect(q.len()).toBe(2);
    m.calls[1]!.resolve();
    await flushPromises();
    expect(m.calls.map((c) => c.key)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('shutDown drops waiting keys, waits for the one in flight, and does not retry its failure', async () => {
    const clock = new FakeClock();
    const m = manual();
    const q = new RateLimitedQueue(m.process, { clock, onError: () => {} });
    q.add('a');
    q.add('b');
    q.addAfter('c', 50);
    await flushPromises();
    let done = false;
    const p = q.shutDown().then(() => (done = true));
    await flushPromises();
    expect(done).toBe(false);
    m.calls[0]!.reject(new Error('late'));
    await p;
    q.add('d');
    await clock.advance(60_000);
    expect(m.calls.map((c) => c.key)).toEqual(['a']);
    expect(clock.pending()).toBe(0);
  });
});

describe('WorkQueue (single worker wrapper)', () => {
  it('retries a failing key with backoff capped at maxDelayMs', async () => {
    const clock = new FakeClock();
    const runs: number[] = [];
    const t0 = clock.now();
    const q = new WorkQueue(
      async () => {
        runs.push(clock.now() - t0);
        throw new Error('no');
      },
      { clock, baseDelayMs: 10, maxDelayMs: 40 },
    );
    q.add('k');
    await clock.advance(200);
    expect(runs).toEqual([0, 10, 30, 70, 110, 150, 190]);
    q.stop();
    await clock.advance(1000);
    expect(runs).toHaveLength(7);
  });
});
