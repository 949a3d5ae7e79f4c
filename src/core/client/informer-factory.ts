/**
 * Shared informers: one list + watch per (resource, namespace, metadata-only) however many
 * controllers read it, with a cache that supports secondary indexes (by namespace built in).
 * Controllers ask for informers in their constructors, then `start()` lists and watches them all.
 * Every handler is isolated: one that throws is logged once and does not affect the others or the
 * cache. Objects are shared between all readers: never mutate them (clone first).
 */
import type { ResourceInfo } from '../api/resources.js';
import { type Clock, realClock, type TimerHandle } from './clock.js';
import {
  callHandler,
  Informer,
  type InformerHandlers,
  type KObj,
  type ListWatchClient,
  objectKey,
  waitForCacheSync,
} from './informer.js';
import { collectionPath } from './paths.js';

export type IndexFunc = (obj: KObj) => string[];

export { waitForCacheSync };

export interface HandlerOptions {
  /** Re-deliver update(obj, obj) for every cached object to this handler this often (ms). */
  resyncMs?: number | undefined;
}

export interface InformerFactoryOptions {
  /** Default resync period of every handler (ms; default none), as client-go's defaultResync. */
  resyncMs?: number | undefined;
  /** First delay before retrying a failed list or watch (ms, default 1000; doubles up to 30 s). */
  retryMs?: number | undefined;
  clock?: Clock | undefined;
}

/** The read side every controller uses. Objects are shared: never mutate them (clone first). */
export interface SharedInformer {
  readonly info: ResourceInfo;
  /** Register handlers; objects already in the cache are replayed to `add`. */
  addHandlers(h: InformerHandlers, opts?: HandlerOptions): void;
  /** Every cached object, or those of one namespace. */
  list(namespace?: string): KObj[];
  get(namespace: string | undefined, name: string): KObj | undefined;
  /** Add a secondary index (call before the factory starts, or it is built from the cache at once). */
  addIndex(name: string, fn: IndexFunc): void;
  byIndex(name: string, value: string): KObj[];
  hasSynced(): boolean;
  waitForSync(): Promise<void>;
}

class Indexed implements SharedInformer {
  readonly info: ResourceInfo;
  private readonly inner: Informer;
  private readonly label: string;
  private readonly clock: Clock;
  private readonly defaultResyncMs: number | undefined;
  private readonly handlers: InformerHandlers[] = [];
  private readonly resyncs: { h: InformerHandlers; every: number; timer?: TimerHandle }[] = [];
  private stopped = false;
  private readonly indexFns = new Map<string, IndexFunc>();
  /** index name -> value -> keys */
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly objects = new Map<string, KObj>();
  private started = false;

  constructor(
    client: ListWatchClient,
    info: ResourceInfo,
    opts: {
      namespace?: string | undefined;
      metadataOnly?: boolean | undefined;
      transform?: ((o: KObj) => KObj) | undefined;
      resyncMs?: number | undefined;
      retryMs?: number | undefined;
      clock?: Clock | undefined;
    },
  ) {
    this.info = info;
    this.clock = opts.clock ?? realClock;
    this.defaultResyncMs = opts.resyncMs;
    const path = collectionPath(info, opts.namespace);
    this.label = opts.metadataOnly ? `${path} (metadata)` : path;
    this.addIndex('namespace', (o) => (o.metadata?.namespace ? [o.metadata.namespace] : []));
    this.inner = new Informer(client, {
      path,
      name: this.label,
      metadataOnly: opts.metadataOnly,
      transform: opts.transform,
      retryMs: opts.retryMs,
      clock: this.clock,
      handlers: {
        add: (o) => {
          this.put(o, undefined);
          for (const h of this.handlers) if (h.add) callHandler(this.label, () => h.add!(o));
        },
        update: (o, old) => {
          this.put(o, old);
          for (const h of this.handlers) if (h.update) callHandler(this.label, () => h.update!(o, old));
        },
        delete: (o) => {
          this.remove(o);
          for (const h of this.handlers) if (h.delete) callHandler(this.label, () => h.delete!(o));
        },
      },
    });
  }

  start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      for (const r of this.resyncs) this.scheduleResync(r);
      return this.inner.start();
    }
    return this.inner.waitForSync();
  }

  stop(): void {
    this.stopped = true;
    this.inner.stop();
    for (const r of this.resyncs) if (r.timer) this.clock.clearTimeout(r.timer);
  }

  addHandlers(h: InformerHandlers, opts: HandlerOptions = {}): void {
    this.handlers.push(h);
    for (const o of [...this.objects.values()]) if (h.add) callHandler(this.label, () => h.add!(o));
    const every = opts.resyncMs ?? this.defaultResyncMs;
    if (every && every > 0) {
      const r = { h, every };
      this.resyncs.push(r);
      if (this.started) this.scheduleResync(r);
    }
  }

  /** Every `every` ms, hand this handler update(obj, obj) for each cached object (not before sync). */
  private scheduleResync(r: { h: InformerHandlers; every: number; timer?: TimerHandle }): void {
    if (this.stopped) return;
    r.timer = this.clock.setTimeout(() => {
      const update = r.h.update;
      if (update && this.hasSynced())
        for (const o of [...this.objects.values()]) callHandler(this.label, () => update.call(r.h, o, o));
      this.scheduleResync(r);
    }, r.every);
  }

  list(namespace?: string): KObj[] {
    if (namespace === undefined) return [...this.objects.values()];
    return this.byIndex('namespace', namespace);
  }

  get(namespace: string | undefined, name: string): KObj | undefined {
    return this.objects.get(namespace ? `${namespace}/${name}` : name);
  }

  addIndex(name: string, fn: IndexFunc): void {
    if (this.indexFns.has(name)) return;
    this.indexFns.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indexes.set(name, idx);
    for (const [k, o] of this.objects) for (const v of fn(o)) add(idx, v, k);
  }

  byIndex(name: string, value: string): KObj[] {
    const keys = this.indexes.get(name)?.get(value);
    if (!keys) return [];
    const out: KObj[] = [];
    for (const k of keys) {
      const o = this.objects.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  hasSynced(): boolean {
    return this.inner.hasSynced();
  }

  waitForSync(): Promise<void> {
    return this.inner.waitForSync();
  }

  private put(o: KObj, old: KObj | undefined): void {
    if (o === old) return;
    const k = objectKey(o);
    const prev = old ?? this.objects.get(k);
    if (prev) this.unindex(k, prev);
    this.objects.set(k, o);
    for (const [name, fn] of this.indexFns) for (const v of fn(o)) add(this.indexes.get(name)!, v, k);
  }

  private remove(o: KObj): void {
    const k = objectKey(o);
    const prev = this.objects.get(k) ?? o;
    this.unindex(k, prev);
    this.objects.delete(k);
  }

  private unindex(k: string, o: KObj): void {
    for (const [name, fn] of this.indexFns) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(o)) {
        const set = idx.get(v);
        set?.delete(k);
        if (set?.size === 0) idx.delete(v);
      }
    }
  }
}

function add(idx: Map<string, Set<string>>, v: string, k: string): void {
  let set = idx.get(v);
  if (!set) idx.set(v, (set = new Set()));
  set.add(k);
}

/** One informer per (resource, namespace, metadata-only), shared by every caller. */
export class InformerFactory {
  private readonly client: ListWatchClient;
  private readonly opts: InformerFactoryOptions;
  private readonly informers = new Map<string, Indexed>();

  constructor(client: ListWatchClient, opts: InformerFactoryOptions = {}) {
    this.client = client;
    this.opts = opts;
  }

  /**
   * The shared informer of a resource (created on first request, started by `start()`). A
   * `transform` (see InformerOptions) is named: callers asking for the same name share it.
   */
  informer(
    info: ResourceInfo,
    opts: {
      namespace?: string;
      metadataOnly?: boolean;
      transform?: { name: string; fn: (o: KObj) => KObj };
    } = {},
  ): SharedInformer {
    const key = `${info.group}/${info.version}/${info.plural}/${opts.namespace ?? ''}/${opts.metadataOnly ? 'meta' : 'full'}/${opts.transform?.name ?? ''}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Indexed(this.client, info, {
        namespace: opts.namespace,
        metadataOnly: opts.metadataOnly,
        transform: opts.transform?.fn,
        resyncMs: this.opts.resyncMs,
        retryMs: this.opts.retryMs,
        clock: this.opts.clock,
      });
      this.informers.set(key, inf);
    }
    return inf;
  }

  /** List and watch every informer asked for so far; resolves when all have synced. */
  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  /** Start every informer asked for so far; true once all synced, false if `signal` aborts first. */
  startAndWait(signal?: AbortSignal): Promise<boolean> {
    for (const i of this.informers.values()) void i.start();
    return waitForCacheSync(this.informers.values(), signal);
  }

  stop(): void {
    for (const i of this.informers.values()) i.stop();
  }
}
