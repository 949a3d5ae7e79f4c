/**
 * The controllers' work queue, with client-go's workqueue semantics:
 * - a key waits in the queue at most once (adds while it waits are merged: `dirty`);
 * - a key is never processed by two workers at once (`processing`); a key added while it is being
 *   processed is queued again when that processing ends, so the latest state is always reconciled
 *   (level-triggered);
 * - a failed key is requeued after its rate limiter's delay (per-key exponential backoff, and an
 *   overall token bucket); a key that succeeds is forgotten (its backoff resets);
 * - `addAfter` delays a key; several delays of one key keep the earliest.
 * Time comes from an injected Clock so tests run without sleeping.
 */
import { type Clock, realClock, type TimerHandle } from './clock.js';
import {
  type ControllerRateLimiterOptions,
  defaultControllerRateLimiter,
  type RateLimiter,
} from './rate-limiter.js';

export interface RateLimitedQueueOptions extends ControllerRateLimiterOptions {
  /** Keys processed concurrently (default 1); one key is still never processed twice at once. */
  workers?: number | undefined;
  /** Name for log lines (e.g. the controller's name). */
  name?: string | undefined;
  /** Called for each failed attempt (default: one log line); the key is retried with backoff. */
  onError?: ((key: string, err: unknown) => void) | undefined;
  /** Replaces the default limiter built from baseDelayMs / maxDelayMs / qps / burst. */
  rateLimiter?: RateLimiter | undefined;
  clock?: Clock | undefined;
}

export class RateLimitedQueue {
  private readonly process: (key: string) => Promise<void>;
  private readonly limiter: RateLimiter;
  private readonly clock: Clock;
  private readonly workers: number;
  private readonly onError: (key: string, err: unknown) => void;
  /** Keys ready to run, in order; `head` is the next one (a deque without O(n) shifts). */
  private queue: string[] = [];
  private head = 0;
  /** Keys that need processing (queued, or re-added while processing). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  /** Delayed keys: when each becomes ready, and its timer. */
  private readonly waiting = new Map<string, { at: number; timer: TimerHandle }>();
  private active = 0;
  private pumpScheduled = false;
  private shuttingDown = false;
  private idle: (() => void)[] = [];

  constructor(process: (key: string) => Promise<void>, opts: RateLimitedQueueOptions = {}) {
    this.process = process;
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter({ ...opts, clock: this.clock });
    this.workers = Math.max(1, opts.workers ?? 1);
    const name = opts.name ?? 'workqueue';
    this.onError = opts.onError ?? ((key, err) => logRetry(name, key, err));
  }

  /** Queue a key now (merged with a copy already waiting; re-run later if it is being processed). */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.schedulePump();
  }

  /** Queue a key after `ms` (at once if `ms` <= 0); an earlier pending delay of the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const prev = this.waiting.get(key);
    if (prev) {
      if (prev.at <= at) return;
      this.clock.clearTimeout(prev.timer);
    }
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  /** Queue a key after its rate limiter's delay (counts one more requeue). */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.addAfter(key, this.limiter.when(key));
  }

  /** End a key's failure streak (its next backoff starts from the base delay again). */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  /** How many times a key was requeued with backoff since it was last forgotten. */
  numRequeues(key: string): number {
    return this.limiter.numRequeues(key);
  }

  /** Keys ready to run and not yet picked by a worker (excludes delayed and in-flight keys). */
  len(): number {
    return this.queue.length - this.head;
  }

  /** Keys being processed right now. */
  inFlight(): number {
    return this.active;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Stop: drop queued and delayed keys, accept no more, and resolve once the keys in flight are
   * done (their failures are not requeued).
   */
  shutDown(): Promise<void> {
    this.shuttingDown = true;
    for (const w of this.waiting.values()) this.clock.clearTimeout(w.timer);
    this.waiting.clear();
    this.queue = [];
    this.head = 0;
    this.dirty.clear();
    if (this.active === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** `shutDown()` without waiting for the keys in flight. */
  stop(): void {
    void this.shutDown();
  }

  private next(): string | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return key;
  }

  /**
   * Workers pick keys in a later microtask, never inside the caller of add() (often an informer
   * handler), so the adds of one burst are merged before any of them runs.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Hand ready keys to free workers. */
  private pump(): void {
    while (!this.shuttingDown && this.active < this.workers) {
      const key = this.next();
      if (key === undefined) return;
      this.dirty.delete(key);
      this.processing.add(key);
      this.active++;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.process(key);
      this.limiter.forget(key);
    } catch (e) {
      if (!this.shuttingDown) {
        try {
          this.onError(key, e);
        } catch {}
        this.addRateLimited(key);
      }
    } finally {
      this.processing.delete(key);
      this.active--;
      if (this.dirty.has(key) && !this.shuttingDown) this.queue.push(key);
      if (this.active === 0) for (const r of this.idle.splice(0)) r();
      this.pump();
    }
  }
}

export interface WorkQueueOptions {
  /** First retry delay after a failure (ms); doubles per consecutive failure. */
  baseDelayMs?: number | undefined;
  /** Longest retry delay (ms, default 30 s). */
  maxDelayMs?: number | undefined;
  onError?: ((key: string, err: unknown) => void) | undefined;
  clock?: Clock | undefined;
}

/**
 * One worker, per-key backoff (5 ms .. 30 s) and no overall bucket: the original queue of the
 * garbage collector and namespace controller, now a RateLimitedQueue.
 */
export class WorkQueue extends RateLimitedQueue {
  constructor(process: (key: string) => Promise<void>, opts: WorkQueueOptions = {}) {
    super(process, {
      workers: 1,
      qps: 0,
      baseDelayMs: opts.baseDelayMs,
      maxDelayMs: opts.maxDelayMs ?? 30_000,
      onError: opts.onError ?? (() => {}),
      clock: opts.clock,
    });
  }
}

/** The default onError of controllers: one line per failed attempt (it will be retried with backoff). */
export function logRetry(controller: string, key: string, err: unknown): void {
  console.error(`k8ts ${controller}: ${key}: ${(err as Error)?.message ?? String(err)} (will retry)`);
}
