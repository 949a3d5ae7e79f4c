/**
 * WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs inside whichever commit
 * crosses its threshold: it copies the WAL into the database and syncs both files, which stalled
 * the event loop 8-25 ms every ~1,400 writes here (a commit's p50 is 0.4 ms). A second connection
 * on a worker thread does the same PASSIVE checkpoint concurrently with the main connection's
 * commits (WAL mode allows one checkpointer beside a writer), so the loop never waits for it.
 *
 * Durability is SQLite's: the checkpointing connection uses synchronous=NORMAL, which syncs the
 * WAL before copying and the database before it records the copy as done; a writer restarts the
 * WAL only after that record.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What one PASSIVE checkpoint reported (SQLite's wal_checkpoint columns). */
export interface CheckpointResult {
  /** Frames in the WAL when it ran. */
  walFrames: number;
  /** Frames copied into the database (all of them means the next commit restarts the WAL). */
  checkpointed: number;
}

// CommonJS run by the worker (eval): the module path of better-sqlite3 comes in workerData, so it
// resolves the same whether the caller runs from dist/ or from sources under a test runner.
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file, { timeout: 5000 });
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.postMessage({ closed: true });
    return;
  }
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, walFrames: r.log, checkpointed: r.checkpointed });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String(e && e.message || e) });
  }
});
parentPort.postMessage({ ready: true });
`;

type Reply =
  | { ready: true }
  | { closed: true }
  | { ok: true; walFrames: number; checkpointed: number }
  | { ok: false; error: string };

/** Runs PASSIVE checkpoints of one database file on a worker thread, one at a time. */
export class WalCheckpointer {
  readonly #worker: Worker;
  #running: { resolve: (r: CheckpointResult) => void; reject: (e: Error) => void } | undefined;
  #closing: (() => void) | undefined;
  #again = false;
  #dead: Error | undefined;
  /** Checkpoints done, and the last result. */
  readonly stats = { checkpoints: 0, failures: 0, last: undefined as CheckpointResult | undefined };
  readonly #onError: (err: Error) => void;

  /**
   * @param file the database file (already in WAL mode)
   * @param opts.onError called when a checkpoint fails or the worker dies (the caller falls back
   *   to SQLite's automatic checkpoint)
   */
  constructor(file: string, opts: { onError: (err: Error) => void }) {
    this.#onError = opts.onError;
    this.#worker = new Worker(WORKER_CODE, {
      eval: true,
      workerData: { file, sqlite: createRequire(import.meta.url).resolve('better-sqlite3') },
    });
    this.#worker.unref();
    this.#worker.on('message', (m: Reply) => this.#reply(m));
    this.#worker.on('error', (e) => this.#die(e));
    this.#worker.on('exit', (code) => {
      if (!this.#closing) this.#die(new Error(`the checkpoint worker exited with code ${code}`));
      this.#closing?.();
    });
  }

  /** Whether the worker can still checkpoint. */
  get alive(): boolean {
    return this.#dead === undefined;
  }

  /** Whether a checkpoint is running. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Asks for a checkpoint; one already running is followed by one more (coalesced). */
  request(): void {
    if (this.#dead || this.#closing) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.run().catch(() => {});
  }

  /** Runs a checkpoint now (after the one running, if any) and resolves with its result. */
  async run(): Promise<CheckpointResult> {
    while (this.#running) await new Promise<void>((r) => setImmediate(r));
    if (this.#dead) throw this.#dead;
    return new Promise<CheckpointResult>((resolve, reject) => {
      this.#running = { resolve, reject };
      this.#worker.postMessage('checkpoint');
    });
  }

  /** Waits for a running checkpoint, then closes the worker's connection and ends the worker. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#again = false;
    if (this.#running) await new Promise<void>((r) => this.#settled.push(r));
    if (this.#dead) {
      this.#closing = () => {};
      await this.#worker.terminate();
      return;
    }
    const exited = new Promise<void>((r) => (this.#closing = r));
    this.#worker.postMessage('close');
    await exited;
  }

  readonly #settled: Array<() => void> = [];

  #reply(m: Reply): void {
    if ('ready' in m) return;
    if ('closed' in m) {
      void this.#worker.terminate();
      return;
    }
    const running = this.#running;
    this.#running = undefined;
    if (m.ok) {
      const r = { walFrames: m.walFrames, checkpointed: m.checkpointed };
      this.stats.checkpoints++;
      this.stats.last = r;
      running?.resolve(r);
    } else {
      this.stats.failures++;
      const err = new Error(`WAL checkpoint failed: ${m.error}`);
      running?.reject(err);
      this.#onError(err);
    }
    for (const f of this.#settled.splice(0)) f();
    if (this.#again && !this.#closing) {
      this.#again = false;
      this.request();
    }
  }

  #die(err: Error): void {
    if (this.#dead) return;
    this.#dead = err;
    this.#running?.reject(err);
    this.#running = undefined;
    for (const f of this.#settled.splice(0)) f();
    this.#onError(err);
  }
}
