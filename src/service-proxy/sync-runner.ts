/**
 * The single writer's schedule (upstream's BoundedFrequencyRunner): `request()` asks for a sync;
 * a sync starts at once when the last one started at least `minIntervalMs` ago, else when that
 * interval has passed, so a burst of changes is batched into one sync; never two at a time (a
 * request during a sync runs another right after, still bounded by the interval); and one sync at
 * least every `maxIntervalMs` (the periodic full sync that repairs drift). A failed sync is retried
 * after `retryMs`.
 */
import { type Clock, realClock, type TimerHandle } from '../core/client/clock.js';

export interface SyncRunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  /** Delay before retrying a failed sync (default minIntervalMs, at least 100 ms). */
  retryMs?: number | undefined;
  clock?: Clock | undefined;
  /** Called with each failure (the runner keeps going). */
  onError?: ((err: unknown) => void) | undefined;
}

export class SyncRunner {
  private readonly fn: () => Promise<void>;
  private readonly opts: SyncRunnerOptions;
  private readonly clock: Clock;
  private lastStart = Number.NEGATIVE_INFINITY;
  private running = false;
  private pending = false;
  private timer: TimerHandle | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private periodic: TimerHandle | undefined;
  private stopped = true;
  private idleWaiters: (() => void)[] = [];
  /** Syncs run so far. */
  runs = 0;

  constructor(fn: () => Promise<void>, opts: SyncRunnerOptions) {
    this.fn = fn;
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
  }

  /** Start the periodic schedule and run a first sync now. */
  start(): void {
    this.stopped = false;
    this.request();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    if (this.periodic) this.clock.clearTimeout(this.periodic);
    this.timer = undefined;
    this.periodic = undefined;
  }

  /** Ask for a sync (coalesced with any other request before it starts). */
  request(): void {
    if (this.stopped) return;
    this.pending = true;
    if (this.running) return;
    this.schedule(Math.max(0, this.lastStart + this.opts.minIntervalMs - this.clock.now()));
  }

  /** Resolves when no sync is running or pending. */
  idle(): Promise<void> {
    if (!this.running && !this.pending) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private schedule(delay: number): void {
    if (delay <= 0) {
      // Due now: run on the next microtask (not a clock timer), so a change after a quiet period is
      // applied at once, with the events of the same tick batched.
      if (this.timer) this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      queueMicrotask(() => void this.runOnce());
      return;
    }
    const at = this.clock.now() + delay;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      void this.runOnce();
    }, delay);
  }

  private async runOnce(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    this.pending = false;
    this.lastStart = this.clock.now();
    if (this.periodic) this.clock.clearTimeout(this.periodic);
    this.periodic = this.clock.setTimeout(() => {
      this.periodic = undefined;
      this.request();
    }, this.opts.maxIntervalMs);
    let failed = false;
    try {
      this.runs++;
      await this.fn();
    } catch (err) {
      failed = true;
      this.opts.onError?.(err);
    } finally {
      this.running = false;
    }
    if (this.stopped) return this.wake();
    if (failed) {
      this.pending = true;
      this.schedule(this.opts.retryMs ?? Math.max(100, this.opts.minIntervalMs));
    } else if (this.pending) {
      this.schedule(Math.max(0, this.lastStart + this.opts.minIntervalMs - this.clock.now()));
    } else this.wake();
  }

  private wake(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
