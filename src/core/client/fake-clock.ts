/**
 * A manual clock for unit tests: time moves only when the test calls `advance`, and timers fire in
 * due order with pending promise callbacks flushed between them, so async code driven by the clock
 * runs deterministically without sleeping.
 */
import type { Clock, TimerHandle } from './clock.js';

interface FakeTimer {
  readonly __timer: true;
  at: number;
  seq: number;
  fn: () => void;
}

/** Let every pending promise callback (and the ones they schedule) run. */
export async function flushPromises(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Set<FakeTimer>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { __timer: true, at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as FakeTimer);
  }

  /** Timers not yet fired. */
  pending(): number {
    return this.timers.size;
  }

  /** Move time forward by `ms`, firing every timer that falls due (in order) and flushing promises. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flushPromises();
    for (;;) {
      let next: FakeTimer | undefined;
      for (const tm of this.timers)
        if (tm.at <= end && (!next || tm.at < next.at || (tm.at === next.at && tm.seq < next.seq))) next = tm;
      if (!next) break;
      this.timers.delete(next);
      this.t = next.at;
      next.fn();
      await flushPromises();
    }
    this.t = end;
    await flushPromises();
  }
}
