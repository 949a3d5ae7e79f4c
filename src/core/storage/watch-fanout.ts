/**
 * Delivers committed events to watchers. Each watcher has its own queue, drained in a microtask, so
 * a handler never runs inside a commit, events reach it in revision order, and a handler that throws
 * only ends its own watch.
 */

import type { WatchEvent, Watcher } from './storage.js';

export interface SubscribeOptions {
  /** Only events with a revision above this one are delivered. */
  afterRevision: number;
  onClose?: ((err?: Error) => void) | undefined;
  /** At most this many events per handler call. */
  maxBatchSize: number;
}

/** One watcher. Created by WatchFanout.subscribe. */
export class WatchSubscription implements Watcher {
  readonly prefix: string;
  readonly #handler: (events: WatchEvent[]) => void;
  readonly #onClose: ((err?: Error) => void) | undefined;
  readonly #maxBatchSize: number;
  readonly #owner: Set<WatchSubscription>;
  #lastRevision: number;
  #queue: WatchEvent[] = [];
  #scheduled = false;
  #closed = false;

  constructor(
    owner: Set<WatchSubscription>,
    prefix: string,
    handler: (events: WatchEvent[]) => void,
    opts: SubscribeOptions,
  ) {
    this.#owner = owner;
    this.prefix = prefix;
    this.#handler = handler;
    this.#onClose = opts.onClose;
    this.#maxBatchSize = Math.max(1, opts.maxBatchSize);
    this.#lastRevision = opts.afterRevision;
  }

  /** Queues the events of this watcher's prefix that it has not seen yet (events in revision order). */
  enqueue(events: readonly WatchEvent[]): void {
    if (this.#closed) return;
    let added = false;
    for (const event of events) {
      if (event.revision <= this.#lastRevision || !event.kv.key.startsWith(this.prefix)) continue;
      this.#queue.push(event);
      this.#lastRevision = event.revision;
      added = true;
    }
    if (added && !this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.drain());
    }
  }

  /** Hands every queued event to the handler now. */
  drain(): void {
    this.#scheduled = false;
    while (this.#queue.length > 0 && !this.#closed) {
      const batch = this.#queue.splice(0, this.#maxBatchSize);
      try {
        this.#handler(batch);
      } catch (err) {
        // The handler may have lost events it was handed; ending the watch makes the consumer
        // re-list or re-watch from its last revision instead of running with a silent gap.
        this.end(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** Stops delivery and tells the owner of the watch why (no error: the backend closed). */
  end(err?: Error): void {
    if (this.#closed) return;
    this.close();
    if (this.#onClose === undefined) return;
    try {
      if (err === undefined) this.#onClose();
      else this.#onClose(err);
    } catch {
      // A failing onClose must not stop the other watchers from being closed.
    }
  }

  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#owner.delete(this);
  }
}

/** The set of live watchers of one backend. */
export class WatchFanout {
  readonly #subscriptions = new Set<WatchSubscription>();

  /** Number of open watchers. */
  get size(): number {
    return this.#subscriptions.size;
  }

  /** Registers a watcher; events are given to it by `publish` (and by the caller, for a replay). */
  subscribe(
    prefix: string,
    handler: (events: WatchEvent[]) => void,
    opts: SubscribeOptions,
  ): WatchSubscription {
    const sub = new WatchSubscription(this.#subscriptions, prefix, handler, opts);
    this.#subscriptions.add(sub);
    return sub;
  }

  /** Queues committed events (in revision order) for every watcher whose prefix they match. */
  publish(events: readonly WatchEvent[]): void {
    if (events.length === 0 || this.#subscriptions.size === 0) return;
    for (const sub of this.#subscriptions) sub.enqueue(events);
  }

  /** Delivers what is queued, then ends every watcher (onClose with `err`, if given). */
  closeAll(err?: Error): void {
    for (const sub of [...this.#subscriptions]) {
      sub.drain();
      sub.end(err);
    }
  }
}
