/**
 * A deduplicating task queue with bounded concurrency, the single writer of the hollow nodes: lease
 * renewals, node status and pod status all go through it so 1,000 nodes never open more than
 * `concurrency` requests at once. A key queued while it runs runs once more afterwards; a failed
 * key is retried with exponential backoff.
 */

export interface KeyedRunnerOptions {
  concurrency: number;
  baseDelayMs?: number | undefined;
  maxDelayMs?: number | undefined;
  onError?: ((key: string, err: unknown) => void) | undefined;
}

export class KeyedRunner {
  private readonly work: (key: string) => Promise<void>;
  private readonly opts: KeyedRunnerOptions;
  private readonly queue: string[] = [];
  private head = 0;
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  /** Keys re-added while running: queued again when they finish. */
  private readonly again = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(work: (key: string) => Promise<void>, opts: KeyedRunnerOptions) {
    this.work = work;
    this.opts = opts;
  }

  /** Queue a key now (no-op if it is already waiting). */
  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Queue a key after a delay; a later call replaces an earlier pending one. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    const prev = this.timers.get(key);
    if (prev) clearTimeout(prev);
    const t = setTimeout(
      () => {
        this.timers.delete(key);
        this.add(key);
      },
      Math.max(0, ms),
    );
    this.timers.set(key, t);
  }

  /** Drop a key's pending delayed run. */
  cancel(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  /** Tasks queued or running. */
  get pending(): number {
    return this.queue.length - this.head + this.active;
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stop taking work; what runs finishes (await `idle()`). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.head = 0;
    this.queued.clear();
    this.again.clear();
    this.checkIdle();
  }

  private pump(): void {
    while (this.active < this.opts.concurrency && this.head < this.queue.length) {
      const key = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.queued.delete(key);
      this.running.add(key);
      this.active++;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.work(key);
      this.failures.delete(key);
    } catch (e) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.opts.onError?.(key, e);
      const base = this.opts.baseDelayMs ?? 100;
      this.addAfter(key, Math.min(base * 2 ** (n - 1), this.opts.maxDelayMs ?? 10_000));
    } finally {
      this.active--;
      this.running.delete(key);
      if (this.again.delete(key)) this.add(key);
      this.pump();
      this.checkIdle();
    }
  }

  private checkIdle(): void {
    if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
