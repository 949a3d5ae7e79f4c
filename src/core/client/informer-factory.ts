/**
 * Shared informers: one list + watch per (resource, namespace, metadata-only) however many
 * controllers read it, with a cache that supports secondary indexes (by namespace built in).
 * Controllers ask for informers in their constructors, then `start()` lists and watches them all.
 */
import type { ResourceInfo } from '../api/resources.js';
import { Informer, type InformerHandlers, type KObj, objectKey } from './informer.js';
import { collectionPath } from './paths.js';
import type { RestClient } from './rest-client.js';

export type IndexFunc = (obj: KObj) => string[];

/** The read side every controller uses. Objects are shared: never mutate them (clone first). */
export interface SharedInformer {
  readonly info: ResourceInfo;
  /** Register handlers; objects already in the cache are replayed to `add`. */
  addHandlers(h: InformerHandlers): void;
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
  private readonly handlers: InformerHandlers[] = [];
  private readonly indexFns = new Map<string, IndexFunc>();
  /** index name -> value -> keys */
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly objects = new Map<string, KObj>();
  private started = false;

  constructor(
    client: RestClient,
    info: ResourceInfo,
    opts: { namespace?: string | undefined; metadataOnly?: boolean | undefined },
  ) {
    this.info = info;
    this.addIndex('namespace', (o) => (o.metadata?.namespace ? [o.metadata.namespace] : []));
    this.inner = new Informer(client, {
      path: collectionPath(info, opts.namespace),
      metadataOnly: opts.metadataOnly,
      handlers: {
        add: (o) => {
          this.put(o, undefined);
          for (const h of this.handlers) h.add?.(o);
        },
        update: (o, old) => {
          this.put(o, old);
          for (const h of this.handlers) h.update?.(o, old);
        },
        delete: (o) => {
          this.remove(o);
          for (const h of this.handlers) h.delete?.(o);
        },
      },
    });
  }

  start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      return this.inner.start();
    }
    return this.inner.waitForSync();
  }

  stop(): void {
    this.inner.stop();
  }

  addHandlers(h: InformerHandlers): void {
    this.handlers.push(h);
    for (const o of this.objects.values()) h.add?.(o);
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
  private readonly client: RestClient;
  private readonly informers = new Map<string, Indexed>();

  constructor(client: RestClient) {
    this.client = client;
  }

  informer(info: ResourceInfo, opts: { namespace?: string; metadataOnly?: boolean } = {}): SharedInformer {
    const key = `${info.group}/${info.version}/${info.plural}/${opts.namespace ?? ''}/${opts.metadataOnly ? 'meta' : 'full'}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Indexed(this.client, info, opts);
      this.informers.set(key, inf);
    }
    return inf;
  }

  /** List and watch every informer asked for so far; resolves when all have synced. */
  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  stop(): void {
    for (const i of this.informers.values()) i.stop();
  }
}
