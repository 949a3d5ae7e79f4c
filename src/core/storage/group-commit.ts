/**
 * Group commit: writes that arrive while the event loop is busy are collected and handed to one
 * commit on the next check phase (setImmediate). A commit may return a promise (SQLite: the
 * transaction is written synchronously, then the WAL is fsync'd in the thread pool): until it
 * settles no other batch is committed, and everything that arrives meanwhile waits for the next
 * batch. So the event loop keeps serving requests while the disk syncs, and a slow fsync makes the
 * next batch larger instead of making the loop wait.
 */

export interface GroupCommitOptions<T> {
  /**
   * Commits one batch. Must settle every item of the batch itself (resolve or reject its promise)
   * and must not throw. A returned promise holds back the next batch until it settles (it must
   * not reject).
   */
  commit: (batch: T[]) => undefined | Promise<void>;
  /** At most this many items per commit; a longer queue is committed in several transactions. Default 1000. */
  maxBatchSize?: number | undefined;
}

/** Collects items and commits them in batches. Called from the event loop thread only. */
export class GroupCommitter<T> {
  readonly #commit: (batch: T[]) => undefined | Promise<void>;
  readonly #maxBatchSize: number;
  #queue: T[] = [];
  #timer: NodeJS.Immediate | undefined;
  /** The commit in flight (its durability step), if any. */
  #inflight: Promise<void> | undefined;

  constructor(opts: GroupCommitOptions<T>) {
    this.#commit = opts.commit;
    this.#maxBatchSize = Math.max(1, opts.maxBatchSize ?? 1000);
  }

  /** Number of items waiting for the next commit. */
  get pending(): number {
    return this.#queue.length;
  }

  /** The commit in flight, if one is: settles when its batch has been settled. */
  get inflight(): Promise<void> | undefined {
    return this.#inflight;
  }

  /** Queues an item for the next batch. */
  add(item: T): void {
    this.#queue.push(item);
    this.#schedule();
  }

  /** Commits everything queued, waiting for each commit in flight; resolves when all are settled. */
  async drain(): Promise<void> {
    if (this.#timer !== undefined) {
      clearImmediate(this.#timer);
      this.#timer = undefined;
    }
    for (;;) {
      if (this.#inflight !== undefined) await this.#inflight;
      else if (this.#queue.length > 0) this.#run();
      else return;
    }
  }

  #schedule(): void {
    if (this.#inflight === undefined) this.#timer ??= setImmediate(() => this.#run());
  }

  /** Commits batches until one is in flight or the queue is empty. */
  #run(): void {
    this.#timer = undefined;
    while (this.#inflight === undefined && this.#queue.length > 0) {
      const batch =
        this.#queue.length <= this.#maxBatchSize ? this.#queue : this.#queue.slice(0, this.#maxBatchSize);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(this.#maxBatchSize);
      const pending = this.#commit(batch);
      if (pending === undefined) continue;
      const inflight = pending.then(() => {
        this.#inflight = undefined;
        // The next batch goes on the next check phase, so that reads waiting for this one run
        // first (as microtasks) and see exactly the durable state.
        if (this.#queue.length > 0) this.#schedule();
      });
      this.#inflight = inflight;
    }
  }
}
