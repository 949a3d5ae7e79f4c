/**
 * Expectations, as upstream's controller expectations: after a controller creates or deletes pods
 * it must not act on the same owner again until its informer has seen those changes, or a slow
 * watch would make it create twice (or delete again). Creates are counted (the name of a generated
 * pod is not known before the answer, and the watch event may come first); deletes are tracked by
 * pod name, so seeing both the deletionTimestamp and the final delete counts once. An expectation
 * older than the TTL is considered satisfied (a lost event must not wedge the owner forever).
 */

export interface ExpectationsOptions {
  /** After this long an unmet expectation no longer blocks (ms; upstream: 5 minutes). */
  ttlMs?: number | undefined;
  now?: (() => number) | undefined;
}

interface Pending {
  adds: number;
  deletes: Set<string>;
  at: number;
}

export class Expectations {
  private readonly pending = new Map<string, Pending>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(opts: ExpectationsOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Record that `adds` pods are about to be created and the named pods deleted for `owner`. */
  expect(owner: string, adds: number, deletes: readonly string[]): void {
    this.pending.set(owner, { adds, deletes: new Set(deletes), at: this.now() });
  }

  /** The informer saw a new pod of `owner`. */
  creationObserved(owner: string): void {
    const p = this.pending.get(owner);
    if (p) p.adds--;
  }

  /** The informer saw the pod `name` of `owner` go (or start going). */
  deletionObserved(owner: string, name: string): void {
    this.pending.get(owner)?.deletes.delete(name);
  }

  /** A create failed: the pod it counted will never be observed. */
  creationFailed(owner: string): void {
    this.creationObserved(owner);
  }

  /** Whether the controller may act on `owner` again. */
  satisfied(owner: string): boolean {
    const p = this.pending.get(owner);
    if (!p) return true;
    if (p.adds <= 0 && p.deletes.size === 0) return true;
    return this.now() - p.at > this.ttlMs;
  }

  /** Drop what is known about `owner` (it was deleted). */
  forget(owner: string): void {
    this.pending.delete(owner);
  }
}
