/**
 * A deduplicating work queue with per-item exponential backoff on failure, processed by one
 * worker (level-triggered: an item queued while it is being processed runs again afterwards).
 * The rate-limited, multi-worker version the controllers need grows from here: TODO(#3).
 */

export interface WorkQueueOptions {
  /** First retry delay after a failure (ms); doubles per consecutive failure. */
  baseDelayMs?: number | undefined;
  maxDelayMs?: number | undefined;
  onError?: ((key: string, err: unknown) => void) | undefined;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly process: (key: string) => Promise<void>;
  private readonly opts: WorkQueueOptions;
  private running = false;
  private stopped = false;

  constructor(process: (key: string) => Promise<void>, opts: WorkQueueOptions = {}) {
    this.process = process;
    this.opts = opts;
  }

  /** Queue a key (no-op if it is already waiting). */
  add(key: string): void {
    if (this.stopped || this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    void this.drain();
  }

  /** Queue a key after a delay. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, ms);
    this.timers.add(t);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.stopped && this.queue.length > 0) {
        const key = this.queue.shift()!;
        this.queued.delete(key);
        try {
          await this.process(key);
          this.failures.delete(key);
        } catch (e) {
          const n = (this.failures.get(key) ?? 0) + 1;
          this.failures.set(key, n);
          this.opts.onError?.(key, e);
          const delay = Math.min((this.opts.baseDelayMs ?? 5) * 2 ** (n - 1), this.opts.maxDelayMs ?? 30_000);
          this.addAfter(key, delay);
        }
      }
    } finally {
      this.running = false;
    }
  }
}

/** The default onError of controllers: one line per failed attempt (it will be retried with backoff). */
export function logRetry(controller: string, key: string, err: unknown): void {
  console.error(`k8ts ${controller}: ${key}: ${(err as Error)?.message ?? String(err)} (will retry)`);
}
