/**
 * Write-rate anchors for the SQLite backend. All three measure durable writes with the same settings
 * (WAL, synchronous=FULL: the WAL is fsync'd at every commit):
 * - rawDurableWriteRate: plain better-sqlite3, one transaction (one fsync) per write. The physical
 *   limit of "every write is its own durable commit" on this disk.
 * - groupCommitRate: plain better-sqlite3 with the batching the backend uses (writes queued until
 *   the next setImmediate share one transaction). No k8ts code.
 * - storageCreateRate: SqliteStorage.create, the backend itself.
 */

import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { SqliteStorage } from '../../src/core/storage/sqlite.js';

export interface RateOptions {
  /** Directory for the database files (a fresh file per run). */
  dir: string;
  /** How long to write. */
  seconds: number;
  /** Writers with a write in flight at once. Default 1. */
  concurrency?: number | undefined;
  /** Size of each value. Default 512 bytes (a small Kubernetes object). */
  valueBytes?: number | undefined;
}

export interface RateResult {
  writesPerSec: number;
  /** fsyncs per acknowledged write, e.g. "1" or "0.031 (1 per 32.0 writes)". */
  fsyncPerWrite: string;
  writes: number;
  commits: number;
}

let runs = 0;

function freshFile(dir: string, name: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}-${process.pid}-${runs++}.db`);
}

function removeDb(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '.lock']) fs.rmSync(`${file}${suffix}`, { force: true });
}

function openRaw(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  return db;
}

function result(writes: number, commits: number, elapsedMs: number): RateResult {
  const ratio = writes === 0 ? 0 : commits / writes;
  const fsyncPerWrite =
    commits === writes
      ? '1'
      : `${ratio.toFixed(3)} (1 per ${(writes / Math.max(commits, 1)).toFixed(1)} writes)`;
  return { writesPerSec: Math.round((writes * 1000) / elapsedMs), fsyncPerWrite, writes, commits };
}

/** Runs `concurrency` writers until the time is up; each awaits its write before the next. */
async function drive(
  opts: RateOptions,
  write: (key: string, value: string) => Promise<unknown>,
): Promise<{ writes: number; elapsedMs: number }> {
  const value = 'x'.repeat(opts.valueBytes ?? 512);
  const start = performance.now();
  const deadline = start + opts.seconds * 1000;
  let next = 0;
  const writer = async () => {
    while (performance.now() < deadline) {
      const n = next++;
      await write(`/bench/${String(n).padStart(10, '0')}`, value);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, writer));
  return { writes: next, elapsedMs: performance.now() - start };
}

/** Plain better-sqlite3, one durable transaction per write: the rate anchor for unbatched commits. */
export async function rawDurableWriteRate(opts: RateOptions): Promise<RateResult> {
  const file = freshFile(opts.dir, 'raw');
  const db = openRaw(file);
  const insert = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?)');
  try {
    // Autocommit: each INSERT is its own transaction with its own WAL fsync.
    const { writes, elapsedMs } = await drive(opts, async (key, value) => {
      insert.run(key, value);
    });
    return result(writes, writes, elapsedMs);
  } finally {
    db.close();
    removeDb(file);
  }
}

/** Plain better-sqlite3 with setImmediate group commit: the anchor for the backend's batching. */
export async function groupCommitRate(opts: RateOptions): Promise<RateResult> {
  const file = freshFile(opts.dir, 'group');
  const db = openRaw(file);
  const insert = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?)');
  type Pending = { key: string; value: string; done: (err?: unknown) => void };
  let queue: Pending[] = [];
  let scheduled = false;
  let commits = 0;
  const commitAll = db.transaction((batch: Pending[]) => {
    for (const p of batch) insert.run(p.key, p.value);
  });
  const flush = () => {
    scheduled = false;
    const batch = queue;
    queue = [];
    try {
      commitAll(batch);
      commits++;
      for (const p of batch) p.done();
    } catch (err) {
      for (const p of batch) p.done(err);
    }
  };
  try {
    const { writes, elapsedMs } = await drive(
      opts,
      (key, value) =>
        new Promise<void>((resolve, reject) => {
          queue.push({ key, value, done: (err) => (err === undefined ? resolve() : reject(err)) });
          if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
        }),
    );
    return result(writes, commits, elapsedMs);
  } finally {
    db.close();
    removeDb(file);
  }
}

/** SqliteStorage.create throughput at the given concurrency. */
export async function storageCreateRate(opts: RateOptions): Promise<RateResult> {
  const file = freshFile(opts.dir, 'storage');
  const storage = SqliteStorage.open(file);
  try {
    const { writes, elapsedMs } = await drive(opts, (key, value) => storage.create(key, value));
    return result(writes, storage.stats().commits, elapsedMs);
  } finally {
    await storage.close();
    removeDb(file);
  }
}

export interface LoopDelayResult {
  writes: number;
  /** Event loop delay while writing (monitorEventLoopDelay, 1 ms resolution), ms. */
  loopP99: number;
  loopMax: number;
  /** Write latency (create call to its resolution), ms. */
  writeP50: number;
  writeP99: number;
}

/**
 * How much the storage stalls the event loop: `writers` concurrent writers, each pausing 2 ms
 * between creates (a steady load, not saturation), for `seconds`. `checkpointBytes: 0` gives the
 * anchor: SQLite's own checkpoints inside the commits, on the event loop.
 */
export async function storageLoopDelay(
  opts: RateOptions & { writers: number; checkpointBytes?: number | undefined },
): Promise<LoopDelayResult> {
  const file = freshFile(opts.dir, 'loop');
  const storage = SqliteStorage.open(file, { checkpointBytes: opts.checkpointBytes });
  const value = 'v'.repeat(700);
  const lat: number[] = [];
  let n = 0;
  const h = monitorEventLoopDelay({ resolution: 1 });
  try {
    h.enable();
    const end = performance.now() + opts.seconds * 1000;
    await Promise.all(
      Array.from({ length: opts.writers }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          await storage.create(`/loop/${n++}`, value);
          lat.push(performance.now() - t);
          await new Promise((r) => setTimeout(r, 2));
        }
      }),
    );
    h.disable();
    lat.sort((a, b) => a - b);
    const ms = (v: number | undefined) => Math.round((v ?? Number.NaN) * 100) / 100;
    return {
      writes: lat.length,
      loopP99: ms(h.percentile(99) / 1e6),
      loopMax: ms(h.max / 1e6),
      writeP50: ms(lat[lat.length >> 1]),
      writeP99: ms(lat[Math.floor(lat.length * 0.99)]),
    };
  } finally {
    await storage.close();
    removeDb(file);
  }
}
