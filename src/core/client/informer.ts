/**
 * An informer: list, then watch from the list's resourceVersion, keeping a cache keyed by
 * namespace/name and calling handlers on add/update/delete. On a watch that ends it resumes from
 * the last seen resourceVersion; on 410 Gone it relists and diffs against the cache, so handlers see
 * every change exactly as a level-triggered controller needs.
 */
import { ApiStatusError, type RestClient } from './rest-client.js';

export type KObj = Record<string, any>;

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
  /** Delay before re-listing after an error (ms). */
  retryMs?: number | undefined;
}

/** Cache key of an object. */
export function objectKey(o: KObj): string {
  const ns = o.metadata?.namespace;
  return ns ? `${ns}/${o.metadata.name}` : o.metadata.name;
}

export class Informer {
  private readonly client: RestClient;
  private readonly opts: InformerOptions;
  private readonly cache = new Map<string, KObj>();
  private rv = '';
  private watch: { stop(): void } | undefined;
  private stopped = false;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(client: RestClient, opts: InformerOptions) {
    this.client = client;
    this.opts = opts;
  }

  /** Start listing and watching; resolves after the first list is in the cache. */
  async start(): Promise<void> {
    void this.relist();
    await this.waitForSync();
  }

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
    if (this.timer) clearTimeout(this.timer);
    this.watch?.stop();
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const list = await this.client.request('GET', this.opts.path, { accept: this.accept() });
      const seen = new Set<string>();
      for (const o of list.items as KObj[]) {
        const k = objectKey(o);
        seen.add(k);
        this.apply('ADDED', o);
      }
      for (const [k, o] of [...this.cache]) {
        if (!seen.has(k)) {
          this.cache.delete(k);
          this.opts.handlers.delete?.(o);
        }
      }
      this.rv = list.metadata.resourceVersion;
      if (!this.synced) {
        this.synced = true;
        for (const w of this.syncWaiters.splice(0)) w();
      }
      this.startWatch();
    } catch {
      this.retry(() => this.relist());
    }
  }

  private retry(fn: () => void): void {
    if (this.stopped) return;
    this.timer = setTimeout(fn, this.opts.retryMs ?? 1000);
  }

  private startWatch(): void {
    if (this.stopped) return;
    let gone = false;
    this.watch = this.client.watch(
      this.opts.path,
      { resourceVersion: this.rv, allowWatchBookmarks: true },
      (type, obj) => {
        if (type === 'ERROR') {
          if (obj.code === 410) gone = true;
          return;
        }
        if (obj.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
        if (type !== 'BOOKMARK') this.apply(type, obj);
      },
      (err) => {
        if (this.stopped) return;
        // (a watch that ends cleanly is resumed from the last resourceVersion)
        if (gone || (err instanceof ApiStatusError && err.httpStatus === 410))
          this.retry(() => this.relist());
        else if (err) this.retry(() => this.startWatch());
        else this.startWatch();
      },
      {
        accept: this.opts.metadataOnly
          ? 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json'
          : undefined,
      },
    );
  }

  private accept(): string | undefined {
    return this.opts.metadataOnly
      ? 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json'
      : undefined;
  }

  private apply(type: string, obj: KObj): void {
    const k = objectKey(obj);
    const old = this.cache.get(k);
    if (type === 'DELETED') {
      this.cache.delete(k);
      this.opts.handlers.delete?.(obj);
      return;
    }
    this.cache.set(k, obj);
    if (!old) this.opts.handlers.add?.(obj);
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
      this.opts.handlers.update?.(obj, old);
  }
}
