/**
 * The namespace lookups of admission (upstream's NamespaceLifecycle plugin): creates in a missing
 * namespace are refused, creates in a terminating one too. Served from a cache the API server
 * keeps from its own storage watch, with a live read on a miss (a namespace created a moment ago
 * may not have reached the cache yet).
 */
import { resourceForPlural } from '../api/resources.js';
import { ApiError } from './errors.js';
import type { KObj, Registry } from './registry.js';

const NS = resourceForPlural('', 'v1', 'namespaces')!;

export class NamespaceCache {
  private readonly registry: Registry;
  private readonly byName = new Map<string, KObj>();
  private watcher: { close(): void } | undefined;

  constructor(registry: Registry) {
    this.registry = registry;
  }

  /** List and watch the namespaces; resolves once the cache is filled. */
  async start(): Promise<void> {
    const list = await this.registry.list(NS, {});
    for (const ns of list.items) this.byName.set(ns.metadata.name, ns);
    this.watcher = await this.registry.storage.watch(
      this.registry.prefix(NS),
      (events) => {
        for (const ev of events) {
          const name = ev.kv.key.slice(ev.kv.key.lastIndexOf('/') + 1);
          if (ev.type === 'delete') this.byName.delete(name);
          else this.byName.set(name, this.registry.decode(ev.kv));
        }
      },
      { afterRevision: Number(list.resourceVersion) },
    );
  }

  stop(): void {
    this.watcher?.close();
  }

  /** The namespace, or undefined if it does not exist. */
  async get(name: string): Promise<KObj | undefined> {
    const hit = this.byName.get(name);
    if (hit) return hit;
    try {
      return await this.registry.get(NS, undefined, name);
    } catch (e) {
      if (e instanceof ApiError && e.httpCode === 404) return undefined;
      throw e;
    }
  }
}
