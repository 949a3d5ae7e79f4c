import { describe, expect, it } from 'vitest';
import { KeyedRunner } from './keyed-runner.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('KeyedRunner', () => {
  it('never runs more than `concurrency` tasks at once', async () => {
    let active = 0;
    let peak = 0;
    const done: string[] = [];
    const r = new KeyedRunner(
      async (k) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((res) => setImmediate(res));
        active--;
        done.push(k);
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 20; i++) r.add(`k${i}`);
    await r.idle();
    expect(peak).toBe(3);
    expect(done.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`).sort());
  });

  it('deduplicates waiting keys and reruns a key added while it runs', async () => {
    const gate = deferred();
    const runs: string[] = [];
    const r = new KeyedRunner(
      async (k) => {
        runs.push(k);
        if (runs.length === 1) await gate.promise;
      },
      { concurrency: 1 },
    );
    r.add('a'); // starts, blocks on the gate
    r.add('a'); // while running: once more afterwards
    r.add('a');
    r.add('b');
    r.add('b'); // waiting: deduplicated
    gate.resolve();
    await r.idle();
    expect(runs).toEqual(['a', 'b', 'a']);
  });

  it('retries a failing key with backoff and reports the error', async () => {
    let calls = 0;
    const errors: string[] = [];
    const r = new KeyedRunner(
      async () => {
        calls++;
        if (calls < 3) throw new Error(`fail ${calls}`);
      },
      { concurrency: 2, baseDelayMs: 1, onError: (_k, e) => errors.push((e as Error).message) },
    );
    r.add('x');
    while (calls < 3) await new Promise((res) => setTimeout(res, 5));
    await r.idle();
    expect(errors).toEqual(['fail 1', 'fail 2']);
    r.stop();
  });

  it('takes no work after stop', async () => {
    const runs: string[] = [];
    const r = new KeyedRunner(async (k) => void runs.push(k), { concurrency: 1 });
    r.stop();
    r.add('a');
    r.addAfter('b', 0);
    await new Promise((res) => setTimeout(res, 10));
    await r.idle();
    expect(runs).toEqual([]);
  });
});
