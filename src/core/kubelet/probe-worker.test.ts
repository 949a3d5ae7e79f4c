import { describe, expect, it } from 'vitest';
import { FakeClock } from '../client/fake-clock.js';
import { type ProbeKind, type ProbeResult, ProbeWorker, probeTiming } from './probe-worker.js';

function setup(
  kind: ProbeKind,
  timing: Record<string, number>,
  script: boolean[],
  extra: { started?: () => boolean; initial?: boolean } = {},
) {
  const clock = new FakeClock(0);
  const probedAt: number[] = [];
  const results: [number, boolean][] = [];
  let i = 0;
  const w = new ProbeWorker({
    kind,
    timing: probeTiming(timing),
    startedAtMs: 0,
    clock,
    probe: async (): Promise<ProbeResult> => {
      probedAt.push(clock.now());
      const ok = script[Math.min(i++, script.length - 1)]!;
      return ok ? { ok: true } : { ok: false, message: 'no' };
    },
    onResult: (ok) => results.push([clock.now(), ok]),
    ...extra,
  });
  w.start();
  return { clock, w, probedAt, results };
}

describe('ProbeWorker timing', () => {
  it('probes every period from the start, skipping ticks before initialDelaySeconds', async () => {
    const { clock, probedAt } = setup('readiness', { initialDelaySeconds: 5, periodSeconds: 2 }, [true]);
    await clock.advance(10_000);
    expect(probedAt).toEqual([6000, 8000, 10_000]);
  });
  it('readiness: starts not ready, ready after successThreshold, unready after failureThreshold', async () => {
    const { clock, results, w } = setup(
      'readiness',
      { periodSeconds: 1, successThreshold: 2, failureThreshold: 2 },
      [true, true, true, false, false, true, true],
    );
    expect(w.ok).toBe(false);
    await clock.advance(7000);
    expect(results).toEqual([
      [1000, true],
      [4000, false],
      [6000, true],
    ]);
  });
  it('liveness: reports one failure after failureThreshold consecutive failures, then stops', async () => {
    const { clock, results, probedAt } = setup('liveness', { periodSeconds: 10, failureThreshold: 3 }, [
      true,
      false,
      false,
      true,
      false,
      false,
      false,
    ]);
    await clock.advance(120_000);
    // failures at 10s, 20s; success at 30s resets; failures at 40, 50, 60 -> killed at 60 s
    expect(results).toEqual([[60_000, false]]);
    expect(probedAt.at(-1)).toBe(60_000);
  });
  it('liveness waits for startup; startup succeeds once and stops probing', async () => {
    let started = false;
    const live = setup('liveness', { periodSeconds: 1 }, [false], { started: () => started });
    const startup = setup('startup', { periodSeconds: 1, failureThreshold: 30 }, [false, false, true]);
    await startup.clock.advance(5000);
    expect(startup.results).toEqual([[2000, true]]);
    expect(startup.probedAt).toEqual([0, 1000, 2000]);
    await live.clock.advance(5000);
    expect(live.probedAt).toEqual([]);
    started = true;
    await live.clock.advance(3000);
    // probes at 6, 7, 8 s: the third consecutive failure (default threshold 3) reports
    expect(live.results).toEqual([[8000, false]]);
  });
  it('startup failure after failureThreshold', async () => {
    const { clock, results } = setup('startup', { periodSeconds: 5, failureThreshold: 2 }, [false]);
    await clock.advance(20_000);
    expect(results).toEqual([[5000, false]]);
  });
  it('an adopted readiness worker keeps its initial result without a blip', async () => {
    const { clock, results, w } = setup('readiness', { periodSeconds: 1 }, [true], { initial: true });
    expect(w.ok).toBe(true);
    await clock.advance(3000);
    expect(results).toEqual([]);
  });
  it('probeTiming applies upstream defaults', () => {
    expect(probeTiming({})).toEqual({
      initialDelaySeconds: 0,
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });
});
