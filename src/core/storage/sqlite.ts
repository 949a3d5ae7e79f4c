/**
 * The embedded storage backend: one SQLite file (WAL) through better-sqlite3.
 *
 * Writes are group-committed: every write queued before the next check phase goes into one
 * transaction; each write gets its own revision and its own outcome. The transaction is written
 * on the event loop with synchronous=NORMAL (no fsync at commit), then the WAL file is fdatasync'd
 * in the thread pool; only then are the writes acknowledged and their watch events published. So
 * a resolved write is as durable as with synchronous=FULL, but the loop serves requests while the
 * disk syncs. NORMAL keeps checkpoints safe (SQLite syncs the WAL before and the database after
 * each one). While a batch is being synced no other batch is committed, and reads wait for the
 * sync: nothing that is not yet durable is ever read or watched.
 * Reads and watch replays are synchronous after that wait, so they never observe a half-applied
 * batch, and a watch's replay and its live registration happen in the same tick (no gap, no
 * duplicate).
 */

import { closeSync, fdatasync, openSync } from 'node:fs';
import type Database from 'better-sqlite3';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  NotFoundError,
  StorageClosedError,
  StorageSyncError,
} from './errors.js';
import { GroupCommitter } from './group-commit.js';
import { compareKeys, prefixRangeEnd } from './key-range.js';
import { openDatabase, releaseLock } from './sqlite-schema.js';
import type {
  DeleteOptions,
  KeyValue,
  ListOptions,
  ListResult,
  Storage,
  UpdateOptions,
  WatchEvent,
  Watcher,
  WatchOptions,
} from './storage.js';
import { type CheckpointResult, WalCheckpointer } from './wal-checkpointer.js';
import { WatchFanout } from './watch-fanout.js';

export interface SqliteStorageOptions {
  /**
   * Hold an exclusive lock on the file while open, so a second server on the same file fails with
   * DatabaseLockedError instead of corrupting the revision sequence. Default true.
   */
  lock?: boolean | undefined;
  /** At most this many writes per transaction. Default 1000. */
  maxBatchSize?: number | undefined;
  /** At most this many events per watch handler call. Default 1000. */
  watchBatchSize?: number | undefined;
  /** Log revisions examined per compaction transaction (the event loop is yielded between). Default 10000. */
  compactionChunk?: number | undefined;
  /**
   * Makes the committed transactions durable; writes are acknowledged when it resolves. Default:
   * fdatasync of the WAL file in the thread pool (nothing for ':memory:'). Tests inject one they
   * control.
   */
  syncWal?: (() => Promise<void>) | undefined;
  /**
   * Checkpoint the WAL on a worker thread after about this many bytes of writes (default 1 MiB:
   * measured best for 1, 16 and 100 writers; rarer checkpoints let a single writer's WAL grow, and
   * its fdatasyncs then also write the file's size). 0 leaves checkpoints to SQLite inside the
   * commits (automatic, every 1000 pages).
   */
  checkpointBytes?: number | undefined;
}

/**
 * Past this many WAL frames (16 MiB at 4 KiB pages) without a checkpoint that caught up, commits
 * wait for one: under a write load that never pauses, a checkpoint beside the writer may never
 * find the moment when the whole WAL is copied, and only then can a commit restart the WAL.
 */
const WAL_FRAMES_LIMIT = 4096;

export interface AutoCompactionOptions {
  /** How often to compact. Default 5 minutes, as the Kubernetes API server does. */
  intervalMs?: number | undefined;
  /** History to keep: compact to currentRevision - keepRevisions. Default 1000 (as kine). */
  keepRevisions?: number | undefined;
  /** Called when a scheduled compaction fails (it is retried at the next interval). */
  onError?: ((err: unknown) => void) | undefined;
}

/** The SQLite settings that decide durability, as the connection reports them. */
export interface DurabilitySettings {
  /** 'wal' expected. */
  journalMode: string;
  /**
   * 0 off, 1 normal, 2 full, 3 extra. 1 (normal) expected: SQLite syncs around checkpoints, and
   * SqliteStorage itself fdatasyncs the WAL after every commit before acknowledging it.
   */
  synchronous: number;
  /**
   * The main connection's locking mode: 'normal', so that the checkpointer's connection can share
   * the file; one process at a time is ensured by the `<file>.lock` database instead.
   */
  lockingMode: string;
}

/** Counters of the write path, for benchmarks and metrics. */
export interface SqliteStorageStats {
  /** Transactions committed (each followed by one fdatasync of the WAL). */
  commits: number;
  /** Writes that got a revision. */
  writes: number;
  /** WAL checkpoints done by the worker thread. */
  checkpoints: number;
}

type Settle = { resolve: (kv: KeyValue) => void; reject: (err: unknown) => void };
type WriteOp =
  | ({ kind: 'create'; key: string; value: string } & Settle)
  | ({ kind: 'update'; key: string; value: string; expected: number } & Settle)
  | ({ kind: 'delete'; key: string; expected: number | undefined } & Settle);

interface Row {
  key: string;
  value: string;
  create_revision: number;
  mod_revision: number;
}
interface LogRow {
  revision: number;
  key: string;
  value: string;
  create_revision: number;
  prev_revision: number;
  deleted: number;
  prev_value: string | null;
}

/** Bound for "no upper key bound": in SQLite every TEXT value sorts before every BLOB. */
const NO_END = Buffer.alloc(0);
/** SQLite's LIMIT for "no limit". */
const NO_LIMIT = -1;

const SQL = {
  getCurrent: 'SELECT key, value, create_revision, mod_revision FROM current WHERE key = ?',
  getAt: `SELECT key, value, create_revision, revision AS mod_revision, deleted FROM log
    WHERE key = ? AND revision <= ? ORDER BY revision DESC LIMIT 1`,
  listCurrent: `SELECT key, value, create_revision, mod_revision FROM current
    WHERE key >= ? AND key < ? ORDER BY key LIMIT ?`,
  countCurrent: 'SELECT COUNT(*) FROM current WHERE key >= ? AND key < ?',
  // The latest row per key at or below the revision, if it is not a tombstone. Walks the
  // (key, revision) index in key order, so a LIMIT stops the scan early. Binds the revision twice.
  listAt: `SELECT key, value, create_revision, revision AS mod_revision FROM log l
    WHERE key >= ? AND key < ? AND revision <= ? AND deleted = 0 AND NOT EXISTS (
      SELECT 1 FROM log n WHERE n.key = l.key AND n.revision > l.revision AND n.revision <= ?)
    ORDER BY key LIMIT ?`,
  countAt: `SELECT COUNT(*) FROM log l
    WHERE key >= ? AND key < ? AND revision <= ? AND deleted = 0 AND NOT EXISTS (
      SELECT 1 FROM log n WHERE n.key = l.key AND n.revision > l.revision AND n.revision <= ?)`,
  // Walks the log by revision from the start point ('+' keeps SQLite off the key index): a watch
  // usually resumes from a recent revision, so this reads only the recent tail.
  replay: `SELECT l.revision, l.key, l.value, l.create_revision, l.prev_revision, l.deleted, p.value AS prev_value
    FROM log l LEFT JOIN log p ON p.revision = l.prev_revision AND l.deleted = 0
    WHERE l.revision > ? AND +l.key >= ? AND +l.key < ? ORDER BY l.revision`,
  insertLog: `INSERT INTO log (revision, key, value, create_revision, prev_revision, deleted)
    VALUES (?, ?, ?, ?, ?, ?)`,
  insertCurrent: 'INSERT INTO current (key, value, create_revision, mod_revision) VALUES (?, ?, ?, ?)',
  updateCurrent: 'UPDATE current SET value = ?, mod_revision = ? WHERE key = ?',
  deleteCurrent: 'DELETE FROM current WHERE key = ?',
  setMeta: 'UPDATE meta SET value = ? WHERE name = ?',
  minLogRevision: 'SELECT MIN(revision) FROM log',
  // Drop rows at or below the target that are tombstones or are superseded by a row at or below it;
  // what is left below the target is exactly the state at the target.
  compactRange: `DELETE FROM log WHERE revision >= ? AND revision < ? AND (deleted = 1 OR EXISTS (
      SELECT 1 FROM log n WHERE n.key = log.key AND n.revision > log.revision AND n.revision <= ?))`,
} as const;

function toKeyValue(row: Row): KeyValue {
  return {
    key: row.key,
    value: row.value,
    createRevision: row.create_revision,
    modRevision: row.mod_revision,
  };
}

/** The SQLite implementation of Storage. Create with `SqliteStorage.open`. */
export class SqliteStorage implements Storage {
  readonly #db: Database.Database;
  readonly #committer: GroupCommitter<WriteOp>;
  readonly #fanout = new WatchFanout();
  readonly #watchBatchSize: number;
  readonly #compactionChunk: number;
  readonly #stmt: { [K in keyof typeof SQL]: Database.Statement };
  readonly #applyBatch: (ops: WriteOp[]) => { outcomes: Array<KeyValue | Error>; events: WatchEvent[] };
  readonly #stats = { commits: 0, writes: 0 };
  #revision: number;
  #compacted: number;
  #closed = false;
  /** Set when a sync failed: the file's durable state is unknown, so nothing more is accepted. */
  #failed: Error | undefined;
  #autoCompaction: NodeJS.Timeout | undefined;
  readonly #syncWal: () => Promise<void>;
  #walFd: number | undefined;
  readonly #lockDb: Database.Database | undefined;
  #checkpointer: WalCheckpointer | undefined;
  readonly #checkpointBytes: number;
  /** Bytes of writes (estimated) since the last checkpoint was asked for. */
  #walBytes = 0;
  /** The checkpoint result the commits last waited for (see WAL_FRAMES_LIMIT). */
  #heldFor: CheckpointResult | undefined;

  private constructor(
    opened: {
      db: Database.Database;
      lockDb?: Database.Database | undefined;
      revision: number;
      compacted: number;
    },
    opts: SqliteStorageOptions,
  ) {
    this.#db = opened.db;
    this.#lockDb = opened.lockDb;
    const file = opened.db.name;
    this.#checkpointBytes = opts.checkpointBytes ?? 1024 * 1024;
    if (this.#checkpointBytes > 0 && file !== ':memory:' && file !== '') {
      this.#checkpointer = new WalCheckpointer(file, {
        onError: (err) => {
          // Back to SQLite's own checkpoints inside the commits: slower commits, same safety.
          if (this.#closed) return;
          console.error(`k8ts storage: ${err.message}; checkpoints run in the commits from now on`);
          this.#checkpointer = undefined;
          this.#db.pragma('wal_autocheckpoint = 1000');
        },
      });
      this.#db.pragma('wal_autocheckpoint = 0');
    }
    this.#syncWal =
      opts.syncWal ??
      (file === ':memory:' || file === ''
        ? () => Promise.resolve()
        : () => this.#fdatasyncWal(`${file}-wal`));
    this.#revision = opened.revision;
    this.#compacted = opened.compacted;
    this.#watchBatchSize = opts.watchBatchSize ?? 1000;
    this.#compactionChunk = Math.max(1, opts.compactionChunk ?? 10_000);
    const stmt = {} as Record<keyof typeof SQL, Database.Statement>;
    for (const name of Object.keys(SQL) as Array<keyof typeof SQL>) stmt[name] = this.#db.prepare(SQL[name]);
    for (const single of [stmt.countCurrent, stmt.countAt, stmt.minLogRevision]) single.pluck();
    this.#stmt = stmt;
    this.#applyBatch = this.#db.transaction((ops: WriteOp[]) => this.#apply(ops));
    this.#committer = new GroupCommitter<WriteOp>({
      commit: (batch) => this.#commit(batch),
      maxBatchSize: opts.maxBatchSize,
    });
  }

  /**
   * Opens the database at `path`, creating it if missing. Throws CorruptDatabaseError if the file
   * is not a k8ts database (the file is left untouched) and DatabaseLockedError if another process
   * has it open.
   */
  static open(path: string, opts: SqliteStorageOptions = {}): SqliteStorage {
    return new SqliteStorage(openDatabase(path, { lock: opts.lock ?? true }), opts);
  }

  async currentRevision(): Promise<number> {
    await this.#durable();
    return this.#revision;
  }

  async compactedRevision(): Promise<number> {
    await this.#durable();
    return this.#compacted;
  }

  /** Write-path counters since open. */
  stats(): SqliteStorageStats {
    return { ...this.#stats, checkpoints: this.#checkpointer?.stats.checkpoints ?? 0 };
  }

  /** The durability-relevant SQLite settings in effect. */
  durabilitySettings(): DurabilitySettings {
    this.#assertOpen();
    return {
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.#db.pragma('synchronous', { simple: true })),
      lockingMode: String(this.#db.pragma('locking_mode', { simple: true })),
    };
  }

  async get(key: string, opts?: { revision?: number | undefined }): Promise<KeyValue | undefined> {
    await this.#durable();
    const at = this.#readRevision(opts?.revision);
    if (at === undefined) {
      const row = this.#stmt.getCurrent.get(key) as Row | undefined;
      return row && toKeyValue(row);
    }
    const row = this.#stmt.getAt.get(key, at) as (Row & { deleted: number }) | undefined;
    return row && row.deleted === 0 ? toKeyValue(row) : undefined;
  }

  /**
   * Lists keys with the prefix in key order. To continue a paged list, pass the returned revision and
   * `startKey` = last key + '\0'.
   */
  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    await this.#durable();
    const at = this.#readRevision(opts.revision);
    const revision = at ?? this.#revision;
    const end = prefixRangeEnd(prefix);
    const start =
      opts.startKey !== undefined && compareKeys(opts.startKey, prefix) > 0 ? opts.startKey : prefix;
    if (end !== undefined && compareKeys(start, end) >= 0)
      return { items: [], revision, more: false, remaining: 0 };
    const upper = end ?? NO_END;
    const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : undefined;
    const fetch = limit === undefined ? NO_LIMIT : limit + 1;
    const rows = (
      at === undefined
        ? this.#stmt.listCurrent.all(start, upper, fetch)
        : this.#stmt.listAt.all(start, upper, at, at, fetch)
    ) as Row[];
    const more = limit !== undefined && rows.length > limit;
    if (more) rows.length = limit;
    const items = rows.map(toKeyValue);
    let remaining = 0;
    if (more) {
      const total = Number(
        at === undefined
          ? this.#stmt.countCurrent.get(start, upper)
          : this.#stmt.countAt.get(start, upper, at, at),
      );
      remaining = total - items.length;
    }
    return { items, revision, more, remaining };
  }

  async count(prefix: string): Promise<number> {
    await this.#durable();
    return Number(this.#stmt.countCurrent.get(prefix, prefixRangeEnd(prefix) ?? NO_END));
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.#enqueue((settle) => ({ kind: 'create', key, value, ...settle }));
  }

  update(key: string, value: string, opts: UpdateOptions): Promise<KeyValue> {
    return this.#enqueue((settle) => ({
      kind: 'update',
      key,
      value,
      expected: opts.expectedModRevision,
      ...settle,
    }));
  }

  delete(key: string, opts: DeleteOptions = {}): Promise<KeyValue> {
    return this.#enqueue((settle) => ({
      kind: 'delete',
      key,
      expected: opts.expectedModRevision,
      ...settle,
    }));
  }

  async watch(prefix: string, handler: (events: WatchEvent[]) => void, opts: WatchOptions): Promise<Watcher> {
    await this.#durable();
    const after = opts.afterRevision;
    if (after < this.#compacted) throw new CompactedError(after, this.#compacted);
    // Replay and registration run in this one synchronous stretch: no commit can land between them.
    const sub = this.#fanout.subscribe(prefix, handler, {
      afterRevision: after,
      onClose: opts.onClose,
      maxBatchSize: this.#watchBatchSize,
    });
    if (after < this.#revision) {
      const rows = this.#stmt.replay.all(after, prefix, prefixRangeEnd(prefix) ?? NO_END) as LogRow[];
      sub.enqueue(rows.map(replayEvent));
    }
    return sub;
  }

  /**
   * Drops history older than `revision`: afterwards reads at older revisions and watches from before
   * it fail with CompactedError. A revision at or below the compacted one is a no-op.
   */
  async compact(revision: number): Promise<void> {
    await this.#durable();
    if (revision > this.#revision) throw new FutureRevisionError(revision, this.#revision);
    if (revision <= this.#compacted) return;
    // Recorded before any row goes, so no reader can ask for a state that is half deleted.
    this.#stmt.setMeta.run(revision, 'compacted');
    this.#compacted = revision;
    let low = Number(this.#stmt.minLogRevision.get() ?? revision + 1);
    while (low <= revision) {
      const high = Math.min(low + this.#compactionChunk, revision + 1);
      this.#stmt.compactRange.run(low, high, revision);
      low = high;
      if (low <= revision) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.#closed) return;
      }
    }
  }

  /**
   * Compacts every `intervalMs` to `currentRevision - keepRevisions`. Returns a function that stops it;
   * close() stops it too. Replaces an earlier schedule.
   */
  startAutoCompaction(opts: AutoCompactionOptions = {}): () => void {
    this.#assertOpen();
    this.#stopAutoCompaction();
    const keep = opts.keepRevisions ?? 1000;
    const timer = setInterval(
      () => {
        const target = this.#revision - keep;
        if (this.#closed || target <= this.#compacted) return;
        this.compact(target).catch((err: unknown) => opts.onError?.(err));
      },
      opts.intervalMs ?? 5 * 60_000,
    );
    timer.unref();
    this.#autoCompaction = timer;
    return () => {
      if (this.#autoCompaction === timer) this.#stopAutoCompaction();
    };
  }

  /** Commits pending writes, ends every watcher (onClose without error), then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopAutoCompaction();
    await this.#committer.drain();
    await this.#checkpointer?.close();
    this.#fanout.closeAll();
    this.#db.close();
    releaseLock(this.#lockDb);
    if (this.#walFd !== undefined) closeSync(this.#walFd);
    this.#walFd = undefined;
  }

  #stopAutoCompaction(): void {
    if (this.#autoCompaction !== undefined) clearInterval(this.#autoCompaction);
    this.#autoCompaction = undefined;
  }

  #assertOpen(): void {
    if (this.#failed) throw this.#failed;
    if (this.#closed) throw new StorageClosedError();
  }

  /**
   * Waits until no committed transaction is waiting for its sync, then checks the storage is open:
   * a read after this sees only durable state (the next batch is committed on a later check phase).
   */
  async #durable(): Promise<void> {
    const inflight = this.#committer.inflight;
    if (inflight !== undefined) await inflight;
    this.#assertOpen();
  }

  /**
   * fdatasync of the WAL in the thread pool. On Linux it flushes the file's dirty pages whoever
   * wrote them, so this descriptor of our own covers SQLite's writes. SQLite keeps the one WAL file
   * (reset in place after a checkpoint) until the connection closes.
   */
  #fdatasyncWal(walPath: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        this.#walFd ??= openSync(walPath, 'r');
      } catch (err) {
        reject(err);
        return;
      }
      fdatasync(this.#walFd, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** undefined: read the latest state; otherwise the historical revision to read at. */
  #readRevision(requested: number | undefined): number | undefined {
    if (requested === undefined || requested === 0 || requested === this.#revision) return undefined;
    if (requested > this.#revision) throw new FutureRevisionError(requested, this.#revision);
    if (requested < this.#compacted) throw new CompactedError(requested, this.#compacted);
    return requested;
  }

  #enqueue(make: (settle: Settle) => WriteOp): Promise<KeyValue> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closed) return Promise.reject(new StorageClosedError());
    return new Promise<KeyValue>((resolve, reject) => this.#committer.add(make({ resolve, reject })));
  }

  /**
   * One group commit. Called by the committer only; settles every op and never throws. Returns the
   * sync of the WAL when the batch wrote anything: its ops are settled and its events published
   * when that sync is done.
   */
  #commit(batch: WriteOp[]): undefined | Promise<void> {
    if (this.#failed) {
      for (const op of batch) op.reject(this.#failed);
      return undefined;
    }
    let result: { outcomes: Array<KeyValue | Error>; events: WatchEvent[] };
    try {
      result = this.#applyBatch(batch);
    } catch (err) {
      // The transaction was rolled back: no op of the batch happened, none used a revision.
      for (const op of batch) op.reject(err);
      return undefined;
    }
    const { outcomes, events } = result;
    const settle = () =>
      batch.forEach((op, i) => {
        const outcome = outcomes[i]!;
        if (outcome instanceof Error) op.reject(outcome);
        else op.resolve(outcome);
      });
    if (events.length === 0) {
      // Nothing was written (every op failed its check): nothing to make durable.
      settle();
      return undefined;
    }
    this.#revision = events[events.length - 1]!.revision;
    this.#stats.commits++;
    this.#stats.writes += events.length;
    const checkpointer = this.#checkpointer;
    if (checkpointer) {
      for (const e of events) this.#walBytes += e.kv.key.length * 3 + e.kv.value.length * 2 + 64;
      if (this.#walBytes >= this.#checkpointBytes) {
        this.#walBytes = 0;
        checkpointer.request();
      }
    }
    return this.#syncWal().then(
      async () => {
        settle();
        this.#fanout.publish(events);
        const last = checkpointer?.stats.last;
        if (checkpointer?.alive && last && last.walFrames > WAL_FRAMES_LIMIT && last !== this.#heldFor) {
          // Hold the next batch until a checkpoint has copied the whole WAL with no commit in
          // between: the next commit then restarts the WAL. Once per checkpoint result, so a WAL
          // that did not restart (a reader in the way) is tried again after the next checkpoint.
          this.#heldFor = await checkpointer.run().catch(() => undefined);
        }
      },
      (err: unknown) => this.#syncFailed(batch, err),
    );
  }

  /**
   * The WAL could not be synced: the batch may or may not be on disk. As PostgreSQL does after a
   * failed fsync, stop: the batch is refused, watchers end with the error, every later call fails.
   */
  #syncFailed(batch: WriteOp[], err: unknown): void {
    const failure = new StorageSyncError(err);
    this.#failed = failure;
    for (const op of batch) op.reject(failure);
    this.#fanout.closeAll(failure);
  }

  /** Applies a batch inside the open transaction; per-op failures are returned, not thrown. */
  #apply(ops: WriteOp[]): { outcomes: Array<KeyValue | Error>; events: WatchEvent[] } {
    const s = this.#stmt;
    let revision = this.#revision;
    const outcomes: Array<KeyValue | Error> = [];
    const events: WatchEvent[] = [];
    for (const op of ops) {
      const row = s.getCurrent.get(op.key) as Row | undefined;
      const prev = row && toKeyValue(row);
      if (op.kind === 'create') {
        if (prev) {
          outcomes.push(new KeyExistsError(op.key));
          continue;
        }
        revision++;
        s.insertLog.run(revision, op.key, op.value, revision, 0, 0);
        s.insertCurrent.run(op.key, op.value, revision, revision);
        const kv = { key: op.key, value: op.value, createRevision: revision, modRevision: revision };
        outcomes.push(kv);
        events.push({ type: 'put', kv, revision });
        continue;
      }
      if (!prev) {
        outcomes.push(new NotFoundError(op.key));
        continue;
      }
      if (op.expected !== undefined && op.expected !== prev.modRevision) {
        outcomes.push(new ConflictError(op.key, { modRevision: prev.modRevision, value: prev.value }));
        continue;
      }
      revision++;
      if (op.kind === 'update') {
        s.insertLog.run(revision, op.key, op.value, prev.createRevision, prev.modRevision, 0);
        s.updateCurrent.run(op.value, revision, op.key);
        const kv = {
          key: op.key,
          value: op.value,
          createRevision: prev.createRevision,
          modRevision: revision,
        };
        outcomes.push(kv);
        events.push({ type: 'put', kv, prevKv: prev, revision });
      } else {
        s.insertLog.run(revision, op.key, prev.value, prev.createRevision, prev.modRevision, 1);
        s.deleteCurrent.run(op.key);
        const kv = { ...prev, modRevision: revision };
        outcomes.push(kv);
        events.push({ type: 'delete', kv, prevKv: prev, revision });
      }
    }
    if (revision !== this.#revision) s.setMeta.run(revision, 'revision');
    return { outcomes, events };
  }
}

function replayEvent(row: LogRow): WatchEvent {
  const prevKv: KeyValue | undefined =
    row.prev_revision === 0
      ? undefined
      : {
          key: row.key,
          // A delete row carries the deleted value itself; a put's previous value is its prev row's.
          value: row.deleted === 1 ? row.value : (row.prev_value ?? ''),
          createRevision: row.create_revision,
          modRevision: row.prev_revision,
        };
  const kv: KeyValue = {
    key: row.key,
    value: row.value,
    createRevision: row.create_revision,
    modRevision: row.revision,
  };
  return { type: row.deleted === 1 ? 'delete' : 'put', kv, prevKv, revision: row.revision };
}
