/**
 * Group commit: writes that arrive while the event loop is busy are collected and handed to one
 * synchronous commit (one transaction, one fsync) on the next check phase (setImmediate). Because
 * better-sqlite3 blocks the event loop during a commit, requests that arrive during an fsync queue up
 * in the kernel and are all read in the next poll phase, so they land in the next batch together.
 */

export interface GroupCommitOptions<T> {
  /**
   * Commits one batch. Must settle every item of the batch itself (resolve or reject its promise)
   * and must not throw.
   */
  commit: (batch: T[]) => void;
  /** At most this many items per commit; a longer queue is committed in several transactions. Default 1000. */
  maxBatchSize?: number | undefined;
}

/** Collects items and commits them in batches. Called from the event loop thread only. */
export class GroupCommitter<T> {
  readonly #commit: (batch: T[]) => void;
  readonly #maxBatchSize: number;
  #queue: T[] = [];
  #timer: NodeJS.Immediate | undefined;

  constructor(opts: GroupCommitOptions<T>) {
    this.#commit = opts.commit;
    this.#maxBatchSize = Math.max(1, opts.maxBatchSize ?? 1000);
  }

  /** Number of items waiting for the next commit. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Queues an item for the next batch. */
  add(item: T): void {
    this.#queue.push(item);
    this.#timer ??= setImmediate(() => this.flush());
  }

  /** Commits everything queued now, synchronously. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearImmediate(this.#timer);
      this.#timer = undefined;
    }
    while (this.#queue.length > 0) {
      const batch =
        this.#queue.length <= this.#maxBatchSize ? this.#queue : this.#queue.slice(0, this.#maxBatchSize);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(this.#maxBatchSize);
      this.#commit(batch);
    }
  }
}
