/**
 * Endpoint choice for a Backend: round robin (cursor per Backend.key) or EWMA of upstream
 * latency with power-of-two-choices (as ingress-nginx's balancer/ewma.lua), and the sticky
 * cookie values of session affinity. State is keyed by stable keys so it outlives table swaps;
 * `prune` drops what no backend of the current table references.
 */
import { createHash } from 'node:crypto';
import type { Backend, RouteTable, UpstreamEndpoint } from '../route-table.js';

/** EWMA decay time constant (ingress-nginx uses 10 s). */
const DECAY_MS = 10_000;

interface EwmaState {
  ewma: number;
  stamp: number;
  inflight: number;
}

export type LoadBalance = 'round_robin' | 'ewma';

export interface BalancerOptions {
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
  now?: () => number;
}

/** The endpoint key used by pools and EWMA state. */
export const endpointKey = (e: UpstreamEndpoint): string => `${e.ip}:${e.port}`;

/** Picks endpoints; single-threaded, called from the event loop only. */
export class Balancer {
  private readonly cursor = new Map<string, number>();
  private readonly ewma = new Map<string, EwmaState>();
  private readonly cookies = new Map<string, string>();
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(options: BalancerOptions = {}) {
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** The next endpoint of `backend`, skipping the addresses in `exclude` (retries). */
  pick(backend: Backend, mode: LoadBalance, exclude?: ReadonlySet<string>): UpstreamEndpoint | undefined {
    const eps = backend.endpoints;
    const n = eps.length;
    if (n === 0) return undefined;
    if (mode === 'ewma' && n > 1) return this.pickEwma(eps, exclude);
    let i = this.cursor.get(backend.key);
    if (i === undefined) i = Math.floor(this.random() * n);
    for (let k = 0; k < n; k++) {
      const e = eps[(i + k) % n]!;
      if (exclude && exclude.size > 0 && exclude.has(endpointKey(e))) continue;
      this.cursor.set(backend.key, (i + k + 1) % n);
      return e;
    }
    return undefined;
  }

  private pickEwma(
    eps: readonly UpstreamEndpoint[],
    exclude?: ReadonlySet<string>,
  ): UpstreamEndpoint | undefined {
    const candidates = exclude && exclude.size > 0 ? eps.filter((e) => !exclude.has(endpointKey(e))) : eps;
    if (candidates.length <= 1) return candidates[0];
    const a = Math.floor(this.random() * candidates.length);
    let b = Math.floor(this.random() * (candidates.length - 1));
    if (b >= a) b++;
    const ea = candidates[a]!;
    const eb = candidates[b]!;
    return this.score(endpointKey(ea)) <= this.score(endpointKey(eb)) ? ea : eb;
  }

  private score(key: string): number {
    const s = this.ewma.get(key);
    if (!s) return 0;
    const decayed = s.ewma * Math.exp(-(this.now() - s.stamp) / DECAY_MS);
    return decayed * (s.inflight + 1);
  }

  /** A request to `key` started (EWMA counts requests in flight). */
  begin(key: string): void {
    const s = this.ewma.get(key);
    if (s) s.inflight++;
    else this.ewma.set(key, { ewma: 0, stamp: this.now(), inflight: 1 });
  }

  /** A request to `key` ended after `ms` of upstream time (undefined: failed, no sample). */
  end(key: string, ms: number | undefined): void {
    const s = this.ewma.get(key);
    if (!s) return;
    if (s.inflight > 0) s.inflight--;
    if (ms === undefined) return;
    const now = this.now();
    const w = Math.exp(-(now - s.stamp) / DECAY_MS);
    s.ewma = s.ewma * w + ms * (1 - w);
    s.stamp = now;
  }

  /** The sticky cookie value naming `e` within `backend` (stable across tables and restarts). */
  cookieFor(backend: Backend, e: UpstreamEndpoint): string {
    const id = `${backend.key}|${endpointKey(e)}`;
    let v = this.cookies.get(id);
    if (v === undefined) {
      v = createHash('sha1').update(id).digest('hex').slice(0, 32);
      this.cookies.set(id, v);
    }
    return v;
  }

  /** The endpoint a sticky cookie value names, when it is still an endpoint of `backend`. */
  byCookie(backend: Backend, value: string): UpstreamEndpoint | undefined {
    for (const e of backend.endpoints) if (this.cookieFor(backend, e) === value) return e;
    return undefined;
  }

  /** Forget state of backends and endpoints the table no longer references. */
  prune(table: RouteTable): void {
    const keys = new Set<string>();
    const addrs = new Set<string>();
    for (const b of table.backends()) {
      keys.add(b.key);
      for (const e of b.endpoints) addrs.add(endpointKey(e));
    }
    for (const k of this.cursor.keys()) if (!keys.has(k)) this.cursor.delete(k);
    for (const [k, s] of this.ewma) if (!addrs.has(k) && s.inflight === 0) this.ewma.delete(k);
    for (const k of this.cookies.keys()) {
      const bar = k.indexOf('|');
      if (!keys.has(k.slice(0, bar)) || !addrs.has(k.slice(bar + 1))) this.cookies.delete(k);
    }
  }
}
