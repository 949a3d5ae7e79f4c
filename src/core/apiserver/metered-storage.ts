/**
 * A Storage decorator that records each storage call's latency (upstream's
 * etcd_request_duration_seconds{operation,type}) and, on demand, the number of stored objects per
 * resource (apiserver_storage_objects). `type` is the resource of the key (`configmaps`,
 * `deployments.apps`), derived from the `/registry/<group>/<plural>/` key layout.
 */
import type { Storage, WatchEvent, Watcher, WatchOptions } from '../storage/storage.js';

export interface StorageObserver {
  observeStorage(o: { operation: string; type: string; seconds: number }): void;
}

/** `configmaps` or `deployments.apps` for a `/registry/<group>/<plural>/...` key or prefix. */
export function resourceOfKey(key: string): string {
  const parts = key.split('/');
  const group = parts[2] ?? '';
  const plural = parts[3] ?? '';
  if (!plural) return '';
  return group === 'core' ? plural : `${plural}.${group}`;
}

/** Wrap a storage so that every call is timed. */
export function meteredStorage(inner: Storage, observer: StorageObserver): Storage {
  const timed = async <T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> => {
    const t = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      observer.observeStorage({
        operation,
        type: resourceOfKey(key),
        seconds: Number(process.hrtime.bigint() - t) / 1e9,
      });
    }
  };
  return {
    currentRevision: () => inner.currentRevision(),
    compactedRevision: () => inner.compactedRevision(),
    get: (key, opts) => timed('get', key, () => inner.get(key, opts)),
    list: (prefix, opts) => timed('list', prefix, () => inner.list(prefix, opts)),
    count: (prefix) => timed('count', prefix, () => inner.count(prefix)),
    create: (key, value) => timed('create', key, () => inner.create(key, value)),
    update: (key, value, opts) => timed('update', key, () => inner.update(key, value, opts)),
    delete: (key, opts) => timed('delete', key, () => inner.delete(key, opts)),
    watch: (prefix: string, handler: (events: WatchEvent[]) => void, opts: WatchOptions): Promise<Watcher> =>
      inner.watch(prefix, handler, opts),
    compact: (revision) => inner.compact(revision),
    close: () => inner.close(),
  };
}
