/**
 * The single writer's schedule (upstream's BoundedFrequencyRunner): `request()` asks for a sync;
 * syncs are rate limited by a token bucket of `burst` tokens refilled one per `minIntervalMs`: a
 * sync starts at once while a token is left, else when the next one is due, so a burst of
 * changes is batched into one sync. With burst 1 a sync waits `minIntervalMs` after the previous
 * start; upstream's iptables proxier uses 2, so that a change following one sync closely (a pod's
 * not-ready endpoint, then the same endpoint ready a moment later) is not held back a whole
 * interval. Never two at a time (a
 * request during a sync runs another right after, still bounded by the interval); and one sync at
 * least every `maxIntervalMs` (the periodic full sync that repairs drift). A failed sync is retried
 * after `retryMs`.
 */
import { type Clock, realClock, type TimerHandle } from '../core/client/clock.js';

export interface SyncRunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  /** Syncs that may run back to back before the interval applies (default 1). */
  burst?: number | undefined;
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
  private tokens: number;
  private tokensAt: number;
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
    this.tokens = Math.max(1, opts.burst ?? 1);
    this.tokensAt = this.clock.now();
  }

  /** Milliseconds until a token is available (0: now). */
  private delay(): number {
    const now = this.clock.now();
    const burst = Math.max(1, this.opts.burst ?? 1);
    this.tokens = Math.min(burst, this.tokens + (now - this.tokensAt) / this.opts.minIntervalMs);
    this.tokensAt = now;
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) * this.opts.minIntervalMs);
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
    this.schedule(this.delay());
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
    if (this.delay() > 0) return this.schedule(this.delay());
    this.tokens -= 1;
    this.running = true;
    this.pending = false;
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
      this.schedule(this.delay());
    } else this.wake();
  }

  private wake(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
