/** Errors of the storage layer; each carries a stable `code`. */

export class StorageError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** create() of a key that exists. */
export class KeyExistsError extends StorageError {
  readonly key: string;
  constructor(key: string) {
    super('KEY_EXISTS', `key already exists: ${key}`);
    this.key = key;
  }
}

/** get/update/delete of a key that does not exist. */
export class NotFoundError extends StorageError {
  readonly key: string;
  constructor(key: string) {
    super('NOT_FOUND', `key not found: ${key}`);
    this.key = key;
  }
}

/** Compare-and-swap failed: the key's modRevision is not the expected one. */
export class ConflictError extends StorageError {
  readonly key: string;
  readonly current: { modRevision: number; value: string } | undefined;
  constructor(key: string, current: { modRevision: number; value: string } | undefined) {
    super('CONFLICT', `modRevision mismatch for ${key}`);
    this.key = key;
    this.current = current;
  }
}

/** A read or watch asked for a revision older than the compacted one. */
export class CompactedError extends StorageError {
  readonly requested: number;
  readonly compacted: number;
  constructor(requested: number, compacted: number) {
    super('COMPACTED', `required revision ${requested} has been compacted (compacted revision ${compacted})`);
    this.requested = requested;
    this.compacted = compacted;
  }
}

/** A revision newer than the current one was asked for. */
export class FutureRevisionError extends StorageError {
  readonly requested: number;
  readonly current: number;
  constructor(requested: number, current: number) {
    super('FUTURE_REVISION', `revision ${requested} is newer than the current revision ${current}`);
    this.requested = requested;
    this.current = current;
  }
}

/** The database cannot be opened or is not a k8ts database. */
export class CorruptDatabaseError extends StorageError {
  constructor(path: string, cause: string) {
    super('CORRUPT_DATABASE', `cannot use the database at ${path}: ${cause}`);
  }
}

/** An operation on a storage that has been closed. */
export class StorageClosedError extends StorageError {
  constructor() {
    super('STORAGE_CLOSED', 'storage is closed');
  }
}

/**
 * Making committed writes durable failed (fdatasync of the WAL): what is on disk is unknown, so
 * the storage accepts nothing more and the server must be restarted (it recovers from the file).
 */
export class StorageSyncError extends StorageError {
  constructor(cause: unknown) {
    super(
      'STORAGE_SYNC_FAILED',
      `could not make writes durable (fdatasync of the write-ahead log failed: ${cause instanceof Error ? cause.message : String(cause)}); restart the server`,
    );
  }
}

/** The database file is held by another process (another k8ts server on the same data dir). */
export class DatabaseLockedError extends StorageError {
  constructor(path: string) {
    super('DATABASE_LOCKED', `the database at ${path} is locked by another process`);
  }
}
