/**
 * Controller expectations, as kube-controller-manager's: before a controller issues pod creations
 * or deletions for an owner it records how many it expects to see, the informer's add/delete
 * events count them down, and the owner is not acted on again until they are all observed (or the
 * record is older than the timeout). This is what keeps a ReplicaSet from creating twice while its
 * watch lags behind its own writes.
 *
 * Deletions are tracked by pod key, so a pod seen first with a deletionTimestamp and later as
 * deleted counts once.
 */

/** How long an unmet expectation holds the owner back (upstream's ExpectationsTimeout). */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

interface ExpectationRecord {
  add: number;
  /** Keys of pods whose deletion was issued and not yet observed. */
  deleting: Set<string>;
  /** When the expectation was last set (ms). */
  at: number;
}

export interface ExpectationsOptions {
  /** Clock in ms (tests inject one). */
  now?: (() => number) | undefined;
  timeoutMs?: number | undefined;
}

export class Expectations {
  private readonly records = new Map<string, ExpectationRecord>();
  private readonly now: () => number;
  private readonly timeoutMs: number;

  constructor(opts: ExpectationsOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs ?? EXPECTATIONS_TIMEOUT_MS;
  }

  /**
   * True when the owner may be synced: no record, every expected event observed, or the record
   * expired.
   */
  satisfied(owner: string): boolean {
    const r = this.records.get(owner);
    if (!r) return true;
    if (r.add <= 0 && r.deleting.size === 0) return true;
    return this.now() - r.at > this.timeoutMs;
  }

  /** Expect `count` pod creations for `owner` (replaces any earlier record). */
  expectCreations(owner: string, count: number): void {
    this.records.set(owner, { add: count, deleting: new Set(), at: this.now() });
  }

  /** Expect the deletion of these pods (keys `namespace/name`) for `owner`. */
  expectDeletions(owner: string, podKeys: readonly string[]): void {
    this.records.set(owner, { add: 0, deleting: new Set(podKeys), at: this.now() });
  }

  /** A creation was observed (or will never happen: a failed or skipped create). */
  creationObserved(owner: string): void {
    const r = this.records.get(owner);
    if (r) r.add--;
  }

  /** A deletion was observed (or failed); counts only pods whose deletion was expected. */
  deletionObserved(owner: string, podKey: string): void {
    this.records.get(owner)?.deleting.delete(podKey);
  }

  /** Forget an owner (it was deleted). */
  delete(owner: string): void {
    this.records.delete(owner);
  }

  /** Pending counts, for logs and tests. */
  pending(owner: string): { add: number; del: number } | undefined {
    const r = this.records.get(owner);
    return r ? { add: r.add, del: r.deleting.size } : undefined;
  }
}
