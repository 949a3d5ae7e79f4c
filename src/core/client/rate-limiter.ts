/**
 * Rate limiters of the workqueue, as client-go's: `when(key)` says how long to wait before the key
 * may be retried (and counts the retry), `forget(key)` ends its failure streak.
 */
import { type Clock, realClock } from './clock.js';

export interface RateLimiter {
  /** Delay (ms) before `key` may run again; each call counts one more requeue. */
  when(key: string): number;
  /** The key succeeded: reset its failure count. */
  forget(key: string): void;
  /** Requeues counted since the last `forget`. */
  numRequeues(key: string): number;
}

/** Per-key exponential backoff: base * 2^failures, capped at max. */
export class ItemExponentialRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(baseMs: number, maxMs: number) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity long after it passed maxMs, and min() handles Infinity.
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * A token bucket shared by every key (qps tokens per second, at most `burst` saved): bounds the
 * overall retry rate. A reservation is taken even when it must wait, as golang.org/x/time/rate's.
 */
export class BucketRateLimiter implements RateLimiter {
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private last: number;

  constructor(qps: number, burst: number, clock: Clock = realClock) {
    this.qps = qps;
    this.burst = burst;
    this.clock = clock;
    this.tokens = burst;
    this.last = clock.now();
  }

  when(_key: string): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }

  forget(_key: string): void {}

  numRequeues(_key: string): number {
    return 0;
  }
}

/** The longest delay of several limiters (every one of them counts the retry). */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    let d = 0;
    for (const l of this.limiters) d = Math.max(d, l.when(key));
    return d;
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    let n = 0;
    for (const l of this.limiters) n = Math.max(n, l.numRequeues(key));
    return n;
  }
}

export interface ControllerRateLimiterOptions {
  /** First retry delay (ms, default 5); doubles per consecutive failure of a key. */
  baseDelayMs?: number | undefined;
  /** Longest per-key delay (ms, default 1000 s). */
  maxDelayMs?: number | undefined;
  /** Overall retry rate (default 10/s; 0 turns the bucket off). */
  qps?: number | undefined;
  /** Overall retry burst (default 100). */
  burst?: number | undefined;
  clock?: Clock | undefined;
}

/** client-go's DefaultControllerRateLimiter: per-key backoff 5 ms .. 1000 s, and 10 qps / 100 burst overall. */
export function defaultControllerRateLimiter(opts: ControllerRateLimiterOptions = {}): RateLimiter {
  const item = new ItemExponentialRateLimiter(opts.baseDelayMs ?? 5, opts.maxDelayMs ?? 1_000_000);
  const qps = opts.qps ?? 10;
  if (qps <= 0) return item;
  return new MaxOfRateLimiter(item, new BucketRateLimiter(qps, opts.burst ?? 100, opts.clock ?? realClock));
}
