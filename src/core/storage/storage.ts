/**
 * The storage contract every backend implements (SQLite embedded default, etcd for HA).
 *
 * Semantics follow etcd v3: one global, strictly increasing revision; every write gets the next
 * revision; each key carries createRevision (revision of its creation) and modRevision (revision of
 * its last write). Writes resolve only after they are durable (fsync'd): an acknowledged write
 * survives kill -9 of the process.
 *
 * Keys are plain strings such as `/registry/pods/default/web-1`; values are opaque strings (JSON
 * documents for the API server). Prefix listing is ordered by key (byte order).
 */

/** One stored key at one revision. */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision at which the key was (last) created. */
  createRevision: number;
  /** Revision of the last write to the key; the compare-and-swap token. */
  modRevision: number;
}

/** One change, as delivered to a watcher. */
export interface WatchEvent {
  type: 'put' | 'delete';
  /** For a put: the new value. For a delete: the key with the value it had before deletion, modRevision = the delete's revision. */
  kv: KeyValue;
  /** The value before this event, if the key existed. */
  prevKv?: KeyValue | undefined;
  /** Revision of this event (equals kv.modRevision). */
  revision: number;
}

export interface ListOptions {
  /** Read the state as of this revision (0 or undefined: the latest). Older than the compacted revision: CompactedError. */
  revision?: number | undefined;
  /** At most this many items (0 or undefined: no limit). */
  limit?: number | undefined;
  /** Start the listing at this key (inclusive); used to continue a paged list. */
  startKey?: string | undefined;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at (for a paged list, pass it back as `revision` to continue). */
  revision: number;
  /** True if more keys with the prefix exist after the last item. */
  more: boolean;
  /** Number of keys with the prefix after the last item (when known). */
  remaining?: number | undefined;
}

export interface UpdateOptions {
  /** The write happens only if the key's current modRevision equals this; otherwise ConflictError. */
  expectedModRevision: number;
}

export interface DeleteOptions {
  /** If set, delete only if the key's current modRevision equals this; otherwise ConflictError. */
  expectedModRevision?: number | undefined;
}

export interface WatchOptions {
  /** Deliver every event with revision > afterRevision (in revision order, no gaps). Older than compaction: CompactedError. */
  afterRevision: number;
  /** Called when the watch is ended by the backend (e.g. the backend closed, or the watcher fell too far behind). */
  onClose?: ((err?: Error) => void) | undefined;
}

export interface Watcher {
  /** Stop delivering events. Idempotent. */
  close(): void;
}

/** A backend with etcd semantics. All methods are safe to call concurrently. */
export interface Storage {
  /** The latest committed revision. */
  currentRevision(): Promise<number>;
  /** The revision below which history has been compacted (watch/list from older revisions fail). */
  compactedRevision(): Promise<number>;
  get(key: string, opts?: { revision?: number | undefined }): Promise<KeyValue | undefined>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Count keys under a prefix at the latest revision. */
  count(prefix: string): Promise<number>;
  /** Create a key that must not exist; KeyExistsError otherwise. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Compare-and-swap update; NotFoundError if missing, ConflictError (with the current kv) on a stale modRevision. */
  update(key: string, value: string, opts: UpdateOptions): Promise<KeyValue>;
  /** Delete a key; resolves with the deleted kv (modRevision = the delete's revision). NotFoundError if missing. */
  delete(key: string, opts?: DeleteOptions): Promise<KeyValue>;
  /**
   * Watch all keys with the prefix. Events are delivered in revision order with no gaps, first the
   * history after `afterRevision`, then live. Rejects with CompactedError if that history is gone.
   */
  watch(prefix: string, handler: (events: WatchEvent[]) => void, opts: WatchOptions): Promise<Watcher>;
  /** Drop history older than `revision`. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}
