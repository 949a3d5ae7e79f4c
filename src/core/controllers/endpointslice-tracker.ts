/**
 * What this controller wrote, so that (a) a sync never plans from an informer cache that has not
 * seen our own last writes yet (it would create duplicate slices or PUT stale versions) and (b) the
 * watch echo of our own write does not trigger another sync. Upstream keeps the same record per
 * service (EndpointSliceTracker, by generation); here resourceVersions are compared, which our
 * storage makes ordered integers. Called from the sync loop and informer handlers (one thread).
 */
import { compareResourceVersions } from './endpoints-common.js';

const DELETED = Symbol('deleted');

interface Entry {
  /** resourceVersion we wrote, or DELETED when we deleted it. */
  rv: string | typeof DELETED;
  at: number;
}

/** A slice as far as the tracker cares. */
export interface TrackedSlice {
  metadata?: { name?: string | undefined; resourceVersion?: string | undefined } | undefined;
}

export interface SliceTrackerOptions {
  /** Clock (ms); injected in tests. */
  now?: (() => number) | undefined;
  /**
   * After this long an expectation is dropped even if the cache never confirmed it (a relist can
   * fold a create + delete into nothing); keeps a lost event from wedging a service forever.
   */
  maxAgeMs?: number | undefined;
}

const cmp = compareResourceVersions;

/** Expected results of our own slice writes, per service key (`ns/name`). */
export class SliceTracker {
  private readonly services = new Map<string, Map<string, Entry>>();
  private readonly now: () => number;
  private readonly maxAgeMs: number;

  constructor(opts: SliceTrackerOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.maxAgeMs = opts.maxAgeMs ?? 60_000;
  }

  private entries(service: string): Map<string, Entry> {
    let m = this.services.get(service);
    if (!m) this.services.set(service, (m = new Map()));
    return m;
  }

  /** Record a slice we created or updated (the server's answer). */
  written(service: string, slice: TrackedSlice): void {
    const name = slice.metadata?.name;
    const rv = slice.metadata?.resourceVersion;
    if (name && rv) this.entries(service).set(name, { rv, at: this.now() });
  }

  /** Record a slice we deleted. */
  deleted(service: string, name: string): void {
    this.entries(service).set(name, { rv: DELETED, at: this.now() });
  }

  /**
   * Whether the cached slices of a service lag behind our writes. Expectations the cache has met
   * (or that are too old) are dropped.
   */
  stale(service: string, cached: readonly TrackedSlice[]): boolean {
    const m = this.services.get(service);
    if (!m) return false;
    const byName = new Map<string, TrackedSlice>();
    for (const s of cached) if (s.metadata?.name) byName.set(s.metadata.name, s);
    let stale = false;
    const now = this.now();
    for (const [name, e] of m) {
      if (now - e.at > this.maxAgeMs) {
        m.delete(name);
        continue;
      }
      const c = byName.get(name);
      let behind: boolean;
      if (e.rv === DELETED) behind = c !== undefined;
      else if (!c) behind = true;
      else behind = (cmp(c.metadata?.resourceVersion, e.rv) ?? 0) < 0;
      if (behind) stale = true;
      else m.delete(name);
    }
    if (m.size === 0) this.services.delete(service);
    return stale;
  }

  /**
   * An informer event about a managed slice: true when the service needs a sync (the change is not
   * just the echo of our own write).
   */
  observe(service: string, type: 'add' | 'update' | 'delete', slice: TrackedSlice): boolean {
    const name = slice.metadata?.name ?? '';
    const m = this.services.get(service);
    const e = m?.get(name);
    if (type === 'delete') {
      if (!e) return true;
      m!.delete(name);
      return e.rv !== DELETED;
    }
    if (!e) return true;
    if (e.rv === DELETED) return false;
    const c = cmp(slice.metadata?.resourceVersion, e.rv);
    if (c === undefined) return true;
    if (c < 0) return false;
    m!.delete(name);
    return c > 0;
  }

  /** Forget a deleted service. */
  deleteService(service: string): void {
    this.services.delete(service);
  }
}
