/**
 * An informer (client-go's reflector + cache): list (in pages), then watch from the list's
 * resourceVersion, keeping a cache keyed by namespace/name and calling handlers on add/update/delete.
 * - A watch that ends is resumed from the last resourceVersion seen (bookmarks included); watches
 *   ask the server to end them after 5-10 minutes, so a silently dead connection is not kept forever.
 * - 410 Gone (as an ERROR event or an HTTP answer) means that resourceVersion is compacted: the
 *   informer relists and diffs against its cache, so handlers still see every object's final state
 *   (deletes missed meanwhile are delivered with the last known object).
 * - Failed lists / watches are retried with exponential backoff (retryMs doubling, up to 30 s).
 * - `resyncMs` re-delivers update(obj, obj) for every cached object periodically.
 * - A handler that throws never breaks the informer: the error is logged once (per message).
 * Cached objects are shared with every handler and reader: never mutate them (clone first).
 */
import { type Clock, realClock, type TimerHandle } from './clock.js';
import { ApiStatusError, type RestClient } from './rest-client.js';

export type KObj = Record<string, any>;

/** The part of RestClient an informer uses (a fake in unit tests). */
export type ListWatchClient = Pick<RestClient, 'request' | 'watch'>;

export interface InformerHandlers {
  add?(obj: KObj): void;
  update?(obj: KObj, old: KObj): void;
  delete?(obj: KObj): void;
}

export interface InformerOptions {
  /** Collection path, e.g. `/api/v1/pods` or `/apis/apps/v1/namespaces/x/deployments`. */
  path: string;
  handlers: InformerHandlers;
  /** Cache only metadata (PartialObjectMetadata), as the garbage collector needs: far less to decode. */
  metadataOnly?: boolean | undefined;
  /** First delay before retrying a failed list or watch (ms, default 1000); doubles up to 30 s. */
  retryMs?: number | undefined;
  /** Re-deliver update(obj, obj) for every cached object this often (ms; default never). */
  resyncMs?: number | undefined;
  /** Objects per list page (default 500; 0 lists in one request). */
  pageSize?: number | undefined;
  clock?: Clock | undefined;
  /** Name for log lines (default the path). */
  name?: string | undefined;
  /**
   * Applied to every listed or watched object before it is cached or handed to handlers
   * (client-go's SetTransform): keep only what the caller reads, so the cache stays small. The
   * result must keep metadata.name, namespace and resourceVersion.
   */
  transform?: ((o: KObj) => KObj) | undefined;
  /** Server-side filters of the list and the watch (e.g. the kubelet's `spec.nodeName=<node>`). */
  fieldSelector?: string | undefined;
  labelSelector?: string | undefined;
}

/** Cache key of an object. */
export function objectKey(o: KObj): string {
  const ns = o.metadata?.namespace;
  return ns ? `${ns}/${o.metadata.name}` : o.metadata.name;
}

const MAX_RETRY_MS = 30_000;
const loggedHandlerErrors = new Set<string>();

/**
 * Run an event handler; an exception is logged (once per informer and message) and swallowed, so
 * one faulty handler neither stops the informer nor the other handlers.
 */
export function callHandler(label: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    const key = `${label}\0${(err as Error)?.message ?? String(err)}`;
    if (loggedHandlerErrors.has(key)) return;
    if (loggedHandlerErrors.size > 1000) loggedHandlerErrors.clear();
    loggedHandlerErrors.add(key);
    console.error(
      `k8ts informer ${label}: event handler failed (logged once): ${(err as Error)?.stack ?? String(err)}`,
    );
  }
}

/** Resolve true once every informer has synced, or false if `signal` aborts first. */
export function waitForCacheSync(
  informers: Iterable<{ hasSynced(): boolean; waitForSync(): Promise<void> }>,
  signal?: AbortSignal,
): Promise<boolean> {
  const pending = [...informers].filter((i) => !i.hasSynced());
  if (pending.length === 0) return Promise.resolve(true);
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => resolve(false);
    signal?.addEventListener('abort', onAbort, { once: true });
    void Promise.all(pending.map((i) => i.waitForSync())).then(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    });
  });
}

export class Informer {
  private readonly client: ListWatchClient;
  private readonly opts: InformerOptions;
  private readonly clock: Clock;
  private readonly label: string;
  private readonly cache = new Map<string, KObj>();
  private rv = '';
  private watch: { stop(): void } | undefined;
  private stopped = false;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private timer: TimerHandle | undefined;
  private resyncTimer: TimerHandle | undefined;
  private failures = 0;

  constructor(client: ListWatchClient, opts: InformerOptions) {
    this.client = client;
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.label = opts.name ?? opts.path;
  }

  /** Start listing and watching; resolves after the first list is in the cache. */
  async start(): Promise<void> {
    void this.relist();
    this.scheduleResync();
    await this.waitForSync();
  }

  /** Resolves once the first list is in the cache. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Every cached object (a snapshot array; the objects are shared: do not mutate). */
  list(): KObj[] {
    return [...this.cache.values()];
  }

  get(key: string): KObj | undefined {
    return this.cache.get(key);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    if (this.resyncTimer) this.clock.clearTimeout(this.resyncTimer);
    this.watch?.stop();
  }

  /** List every page at one resourceVersion (the first page's), restarting if a continue token expired. */
  private async listAll(): Promise<{ items: KObj[]; rv: string }> {
    const limit = this.opts.pageSize ?? 500;
    for (;;) {
      const items: KObj[] = [];
      let rv = '';
      let cont: string | undefined;
      try {
        do {
          const page = await this.client.request('GET', this.opts.path, {
            accept: this.accept(),
            query: {
              limit: limit > 0 ? limit : undefined,
              continue: cont,
              fieldSelector: this.opts.fieldSelector,
              labelSelector: this.opts.labelSelector,
            },
          });
          if (!rv) rv = page.metadata?.resourceVersion ?? '';
          for (const o of (page.items ?? []) as KObj[]) items.push(o);
          cont = page.metadata?.continue || undefined;
        } while (cont && !this.stopped);
        return { items, rv };
      } catch (err) {
        if (cont && err instanceof ApiStatusError && err.httpStatus === 410) continue;
        throw err;
      }
    }
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    let list: { items: KObj[]; rv: string };
    try {
      list = await this.listAll();
    } catch {
      this.retry(() => this.relist());
      return;
    }
    if (this.stopped) return;
    this.failures = 0;
    const seen = new Set<string>();
    for (const o of list.items) {
      seen.add(objectKey(o));
      this.apply('ADDED', o);
    }
    for (const [k, o] of [...this.cache]) {
      if (!seen.has(k)) {
        this.cache.delete(k);
        const h = this.opts.handlers;
        if (h.delete) callHandler(this.label, () => h.delete!(o));
      }
    }
    this.rv = list.rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
    this.startWatch();
  }

  private retry(fn: () => void): void {
    if (this.stopped) return;
    const base = this.opts.retryMs ?? 1000;
    const delay = Math.min(base * 2 ** Math.min(this.failures, 20), Math.max(base, MAX_RETRY_MS));
    this.failures++;
    this.timer = this.clock.setTimeout(fn, delay);
  }

  private scheduleResync(): void {
    const every = this.opts.resyncMs;
    if (!every || every <= 0 || this.stopped) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      const h = this.opts.handlers;
      if (this.synced && h.update)
        for (const o of [...this.cache.values()]) callHandler(this.label, () => h.update!(o, o));
      this.scheduleResync();
    }, every);
  }

  private startWatch(): void {
    if (this.stopped) return;
    let gone = false;
    let closed = false;
    const startedAt = this.clock.now();
    // The server ends the watch after this long; we then resume from the last resourceVersion.
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    const handle = this.client.watch(
      this.opts.path,
      {
        resourceVersion: this.rv,
        allowWatchBookmarks: true,
        timeoutSeconds,
        fieldSelector: this.opts.fieldSelector,
        labelSelector: this.opts.labelSelector,
      },
      (type, obj) => {
        if (this.stopped || closed) return;
        if (type === 'ERROR') {
          // A Status: 410 means our resourceVersion is too old; anything else, resume watching.
          if (obj?.code === 410) gone = true;
          closed = true;
          handle.stop();
          return;
        }
        if (obj?.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
        if (type !== 'BOOKMARK') this.apply(type, obj);
      },
      (err) => {
        if (this.stopped) return;
        closed = true;
        // A watch that lasted is healthy (e.g. ended by its timeout): resume at once. One that ends
        // right away is retried with backoff, so a failing server is not hammered.
        const healthy = this.clock.now() - startedAt >= 1000;
        if (healthy) this.failures = 0;
        if (gone) this.relistSoon();
        else if (err instanceof ApiStatusError && err.httpStatus === 410) this.retry(() => this.relist());
        else if (err || !healthy) this.retry(() => this.startWatch());
        else this.startWatch();
      },
      {
        accept: this.opts.metadataOnly
          ? 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json'
          : undefined,
      },
    );
    this.watch = handle;
  }

  /** Relist after a 410 on a healthy connection: at once (the first time), no backoff to wait. */
  private relistSoon(): void {
    this.timer = this.clock.setTimeout(() => void this.relist(), 0);
  }

  private accept(): string | undefined {
    return this.opts.metadataOnly
      ? 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json'
      : undefined;
  }

  private apply(type: string, raw: KObj): void {
    if (!raw?.metadata?.name) return;
    const obj = this.opts.transform ? this.opts.transform(raw) : raw;
    const h = this.opts.handlers;
    const k = objectKey(obj);
    const old = this.cache.get(k);
    if (type === 'DELETED') {
      if (!old) return; // already gone (e.g. removed by a relist)
      this.cache.delete(k);
      if (h.delete) callHandler(this.label, () => h.delete!(obj));
      return;
    }
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    this.cache.set(k, obj);
    if (!old) {
      if (h.add) callHandler(this.label, () => h.add!(obj));
    } else if (h.update) callHandler(this.label, () => h.update!(obj, old));
  }
}
