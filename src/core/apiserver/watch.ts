/**
 * API watch streams: initial state (for resourceVersion "" / "0" / sendInitialEvents), then every
 * change after the start revision, in order, filtered by namespace/name/selectors with upstream's
 * transition rules (an object leaving the selection is DELETED, entering it is ADDED), bookmarks,
 * and a 410 ERROR event when the start revision is compacted.
 */
import type { ResourceInfo } from '../api/resources.js';
import { CompactedError } from '../storage/errors.js';
import type { KeyValue, WatchEvent } from '../storage/storage.js';
import { expired } from './errors.js';
import { type KObj, parseResourceVersion, type Registry } from './registry.js';

/**
 * Decoded objects per stored value: every watcher of a prefix receives the same KeyValue objects
 * from storage, so each event is parsed once however many watchers there are. Consumers must
 * treat the objects as read-only.
 */
const decoded = new WeakMap<object, KObj>();

/**
 * The last decoded value of each key, per registry: the previous value of a change (prevKv, which
 * filtered watches decode to see an object leave or enter their selection) is the value the
 * change before it stored, decoded then. Bounded; the oldest keys go first.
 */
const latest = new WeakMap<Registry, Map<string, { revision: number; obj: KObj }>>();
const MAX_LATEST = 512;

function decodeShared(registry: Registry, kv: KeyValue): KObj {
  let o = decoded.get(kv);
  if (o) return o;
  let byKey = latest.get(registry);
  if (byKey === undefined) latest.set(registry, (byKey = new Map()));
  const hit = byKey.get(kv.key);
  if (hit !== undefined && hit.revision === kv.modRevision) o = hit.obj;
  else {
    o = registry.decode(kv);
    if (hit === undefined || hit.revision < kv.modRevision) {
      byKey.delete(kv.key);
      byKey.set(kv.key, { revision: kv.modRevision, obj: o });
      if (byKey.size > MAX_LATEST) byKey.delete(byKey.keys().next().value!);
    }
  }
  decoded.set(kv, o);
  return o;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchSink {
  /** Write one event; returns false when the client is slow (back-pressure). */
  write(type: WatchEventType, obj: KObj): void;
  end(): void;
}

export interface WatchRequest {
  info: ResourceInfo;
  namespace?: string | undefined;
  /** Selector predicate (labels, fields, metadata.name). */
  filter?: ((obj: KObj) => boolean) | undefined;
  resourceVersion?: string | undefined;
  sendInitialEvents?: boolean | undefined;
  allowBookmarks?: boolean | undefined;
  timeoutSeconds?: number | undefined;
  bookmarkIntervalMs?: number | undefined;
}

export interface ActiveWatch {
  stop(): void;
}

const DEFAULT_BOOKMARK_MS = 60_000;

/** Start a watch; events go to `sink` until stop() or the timeout. */
export async function startWatch(
  registry: Registry,
  req: WatchRequest,
  sink: WatchSink,
): Promise<ActiveWatch> {
  const { info } = req;
  const matches = (o: KObj) => (req.filter ? req.filter(o) : true);
  let lastRv = 0;
  let stopped = false;
  let storageWatch: { close(): void } | undefined;
  const timers: NodeJS.Timeout[] = [];
  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const t of timers) clearTimeout(t);
    storageWatch?.close();
    sink.end();
  };

  const rv = req.resourceVersion;
  const initial = req.sendInitialEvents ?? (rv === undefined || rv === '' || rv === '0');
  if (initial) {
    const list = await registry.list(info, { namespace: req.namespace, filter: req.filter, filtered: true });
    for (const o of list.items) sink.write('ADDED', o);
    lastRv = Number(list.resourceVersion);
    if (req.sendInitialEvents && req.allowBookmarks) {
      sink.write('BOOKMARK', bookmark(info, lastRv, true));
    }
  } else {
    lastRv = parseResourceVersion(rv!);
  }

  const onEvents = (events: WatchEvent[]) => {
    if (stopped) return;
    for (const ev of events) {
      lastRv = ev.revision;
      if (ev.type === 'delete') {
        // The deleted object, stamped with the delete's revision (shared through the event object).
        let prev = decoded.get(ev);
        if (!prev) {
          prev = registry.decode(ev.prevKv ?? ev.kv);
          prev.metadata.resourceVersion = String(ev.revision);
          decoded.set(ev, prev);
        }
        if (matches(prev)) sink.write('DELETED', prev);
        continue;
      }
      // The previous value first: it is the one the key's last change decoded (see latest).
      const before = ev.prevKv && req.filter ? matches(decodeShared(registry, ev.prevKv)) : true;
      const obj = decodeShared(registry, ev.kv);
      const now = matches(obj);
      if (!ev.prevKv) {
        if (now) sink.write('ADDED', obj);
        continue;
      }
      if (now && before) sink.write('MODIFIED', obj);
      else if (now) sink.write('ADDED', obj);
      else if (before) sink.write('DELETED', obj);
    }
  };
  try {
    storageWatch = await registry.storage.watch(registry.prefix(info, req.namespace), onEvents, {
      afterRevision: lastRv,
      onClose: () => stop(),
    });
  } catch (e) {
    if (e instanceof CompactedError) {
      sink.write('ERROR', expired(`too old resource version: ${e.requested} (${e.compacted})`).toStatus());
      stop();
      return { stop };
    }
    throw e;
  }
  if (req.allowBookmarks) {
    const every = req.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_MS;
    const tick = () => {
      if (stopped) return;
      sink.write('BOOKMARK', bookmark(info, lastRv, false));
      timers[0] = setTimeout(tick, every);
    };
    timers[0] = setTimeout(tick, every);
  }
  if (req.timeoutSeconds && req.timeoutSeconds > 0) timers.push(setTimeout(stop, req.timeoutSeconds * 1000));
  return { stop };
}

function bookmark(info: ResourceInfo, rv: number, initialEnd: boolean): KObj {
  const metadata: KObj = { resourceVersion: String(rv) };
  if (initialEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
  return {
    kind: info.kind,
    apiVersion: info.group ? `${info.group}/${info.version}` : info.version,
    metadata,
  };
}
