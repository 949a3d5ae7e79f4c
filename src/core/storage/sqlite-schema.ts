/**
 * The on-disk format of the SQLite backend and the checks made when a file is opened.
 *
 * Tables (in the style of k3s's kine, plus a `current` table so reads at the latest revision do not
 * scan history):
 * - `log`: one row per write. `value` is the new value for a put and the deleted value for a delete;
 *   `prev_revision` is the modRevision of the live value the write replaced (0 if the key did not
 *   exist). Rows superseded before the compacted revision are removed by compaction.
 * - `current`: the live value of every existing key.
 * - `meta`: the global revision and the compacted revision.
 *
 * Format marker: the SQLite header's application_id is 'k8ts' and user_version is the schema
 * version. A file without them is refused, never overwritten.
 */

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CorruptDatabaseError, DatabaseLockedError } from './errors.js';

/** 'k8ts' in ASCII, stored in the SQLite header (PRAGMA application_id). */
export const K8TS_APPLICATION_ID = 0x6b387473;
/** Version of the table layout below (PRAGMA user_version). */
export const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE log (
  revision INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  deleted INTEGER NOT NULL
);
CREATE INDEX log_key_revision ON log (key, revision);
CREATE TABLE current (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  create_revision INTEGER NOT NULL,
  mod_revision INTEGER NOT NULL
);
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0);
PRAGMA application_id = ${K8TS_APPLICATION_ID};
PRAGMA user_version = ${SCHEMA_VERSION};
`;

export interface OpenDatabaseOptions {
  /**
   * Hold an exclusive lock for as long as the database is open (one writer process): a small lock
   * database next to the file (`<file>.lock`), kept in SQLite's exclusive locking mode. The main
   * file itself stays in normal locking mode so that a second connection (the checkpointer) can
   * share it.
   */
  lock: boolean;
}

export interface OpenedDatabase {
  db: Database.Database;
  /** The held lock database (close it after `db` to release the lock). */
  lockDb?: Database.Database | undefined;
  revision: number;
  compacted: number;
}

/** SQLite error codes meaning "this file is not a usable database". */
const CORRUPT_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

function sqliteCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}

/**
 * Opens (or creates) a k8ts database file, checks its format marker and returns its revisions.
 * Throws CorruptDatabaseError for a file that is not a k8ts database, DatabaseLockedError if another
 * process holds it. A file is initialised only if it is new or an empty SQLite database.
 */
export function openDatabase(file: string, opts: OpenDatabaseOptions): OpenedDatabase {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const lockExisted = fs.existsSync(`${file}.lock`);
  const lockDb = opts.lock && file !== ':memory:' ? takeLock(file) : undefined;
  const db = new Database(file, { timeout: 5000 });
  try {
    return { ...prepareDatabase(db, file), lockDb };
  } catch (err) {
    db.close();
    releaseLock(lockDb);
    // A refused file is left as it was found, with nothing new beside it.
    if (lockDb && !lockExisted) fs.rmSync(`${file}.lock`, { force: true });
    const code = sqliteCode(err);
    if (code !== undefined && CORRUPT_CODES.has(code)) {
      throw new CorruptDatabaseError(file, `${(err as Error).message} (${code})`);
    }
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw new DatabaseLockedError(file);
    throw err;
  }
}

/** Takes the process-wide lock of `file`; DatabaseLockedError if another process holds it. */
function takeLock(file: string): Database.Database {
  const lockDb = new Database(`${file}.lock`, { timeout: 0 });
  try {
    // In exclusive locking mode the lock of the first write is kept until the connection closes.
    lockDb.pragma('locking_mode = EXCLUSIVE');
    lockDb.pragma('journal_mode = MEMORY');
    lockDb.exec('BEGIN EXCLUSIVE; COMMIT');
    return lockDb;
  } catch (err) {
    lockDb.close();
    const code = sqliteCode(err);
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw new DatabaseLockedError(file);
    throw err;
  }
}

/** Releases a lock taken by takeLock (the lock file stays; it holds no data). */
export function releaseLock(lockDb: Database.Database | undefined): void {
  lockDb?.close();
}

function prepareDatabase(db: Database.Database, file: string): Omit<OpenedDatabase, 'lockDb'> {
  // Read-only probes first: on a foreign or garbage file nothing is written.
  const applicationId = Number(db.pragma('application_id', { simple: true }));
  const userVersion = Number(db.pragma('user_version', { simple: true }));
  const objects = Number(db.prepare('SELECT COUNT(*) FROM sqlite_master').pluck().get());
  const fresh = applicationId === 0 && userVersion === 0 && objects === 0;
  if (!fresh) checkMarker(file, applicationId, userVersion);

  db.pragma('journal_mode = WAL');
  // NORMAL: no fsync inside a commit; SqliteStorage fdatasyncs the WAL in the thread pool after
  // each commit and acknowledges the writes only then, so a resolved write survives a crash or
  // power loss. NORMAL still syncs the WAL before and the database after every checkpoint (and on
  // close), which keeps checkpoints from losing committed data.
  db.pragma('synchronous = NORMAL');
  if (fresh) db.transaction(() => db.exec(SCHEMA)).immediate();
  return readRevisions(db, file);
}

function checkMarker(file: string, applicationId: number, userVersion: number): void {
  if (applicationId !== K8TS_APPLICATION_ID) {
    const seen = `0x${applicationId.toString(16).padStart(8, '0')}`;
    throw new CorruptDatabaseError(
      file,
      `not a k8ts database (SQLite application_id is ${seen}, expected 0x${K8TS_APPLICATION_ID.toString(16)})`,
    );
  }
  if (userVersion !== SCHEMA_VERSION) {
    throw new CorruptDatabaseError(
      file,
      `unsupported k8ts schema version ${userVersion} (this build reads version ${SCHEMA_VERSION})`,
    );
  }
}

function readRevisions(db: Database.Database, file: string): Omit<OpenedDatabase, 'lockDb'> {
  let rows: Array<{ name: string; value: number }>;
  let maxLogged: number;
  try {
    rows = db.prepare<[], { name: string; value: number }>('SELECT name, value FROM meta').all();
    maxLogged = Number(db.prepare('SELECT COALESCE(MAX(revision), 0) FROM log').pluck().get());
    db.prepare('SELECT key FROM current LIMIT 1').get();
  } catch (err) {
    throw new CorruptDatabaseError(file, `k8ts tables are missing or unreadable: ${(err as Error).message}`);
  }
  const meta = new Map(rows.map((r) => [r.name, r.value]));
  const revision = meta.get('revision');
  const compacted = meta.get('compacted');
  if (!Number.isSafeInteger(revision) || !Number.isSafeInteger(compacted)) {
    throw new CorruptDatabaseError(file, 'the meta table has no valid revision or compacted revision');
  }
  if (maxLogged > revision! || compacted! > revision!) {
    throw new CorruptDatabaseError(
      file,
      `inconsistent revisions (meta revision ${revision}, compacted ${compacted}, highest logged ${maxLogged})`,
    );
  }
  return { db, revision: revision!, compacted: compacted! };
}
