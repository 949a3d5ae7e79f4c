/**
 * Pure change trackers between informer events and the sync loop, as upstream's
 * ServiceChangeTracker / EndpointsChangeTracker: they remember, per service, the state last applied
 * (previous) and the state now seen (current), drop changes that cancel out, and on `checkout` (by
 * the sync loop only) fold them into the applied maps and say which services changed, which UDP
 * endpoints went away (their conntrack entries must go) and which UDP service ports got their first
 * endpoint (stale REJECT entries must go).
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { mergeSlices, type SlimSlice, sameEndpoints, sliceServiceKey, slimSlice } from './endpoints.js';
import { type EndpointInfo, endpointString, type ServicePortInfo } from './model.js';
import type { ProxyState } from './proxy-state.js';
import { servicePortsOf } from './service-port.js';

function serviceName(s: Service): string {
  return `${s.metadata?.namespace ?? 'default'}/${s.metadata?.name ?? ''}`;
}

function samePorts(a: Map<string, ServicePortInfo>, b: Map<string, ServicePortInfo>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || JSON.stringify(v) !== JSON.stringify(w)) return false;
  }
  return true;
}

/** What a service checkout changed. */
export interface ServiceChanges {
  /** `namespace/name` of every service whose ports changed. */
  changed: Set<string>;
  /** Service ports that no longer exist (their UDP conntrack entries are cleared). */
  removed: ServicePortInfo[];
}

/** Tracks Service changes between syncs. */
export class ServiceChangeTracker {
  private readonly pending = new Map<
    string,
    { previous: Map<string, ServicePortInfo>; current: Map<string, ServicePortInfo> }
  >();

  /** Record an add (prev undefined), update, or delete (cur undefined). True if a change is pending. */
  update(prev: Service | undefined, cur: Service | undefined): boolean {
    const obj = cur ?? prev;
    if (!obj) return this.pending.size > 0;
    const name = serviceName(obj);
    let c = this.pending.get(name);
    if (!c) {
      c = { previous: prev ? servicePortsOf(prev) : new Map(), current: new Map() };
      this.pending.set(name, c);
    }
    c.current = cur ? servicePortsOf(cur) : new Map();
    if (samePorts(c.previous, c.current)) this.pending.delete(name);
    return this.pending.size > 0;
  }

  pendingCount(): number {
    return this.pending.size;
  }

  /** Fold pending changes into `applied` (called from the sync loop only). */
  checkout(state: ProxyState): ServiceChanges {
    const out: ServiceChanges = { changed: new Set(), removed: [] };
    for (const [name, c] of this.pending) {
      out.changed.add(name);
      for (const [k, v] of c.previous) {
        if (!c.current.has(k)) {
          state.deletePort(k);
          out.removed.push(v);
        }
      }
      for (const [k, v] of c.current) state.setPort(k, v);
    }
    this.pending.clear();
    return out;
  }
}

/** A UDP endpoint that went away, whose conntrack entries must be deleted. */
export interface StaleEndpoint {
  servicePortKey: string;
  endpoint: EndpointInfo;
}

/** What an endpoints checkout changed. */
export interface EndpointsChanges {
  changed: Set<string>;
  staleEndpoints: StaleEndpoint[];
  /** UDP service ports that had no endpoint and now have one. */
  newlyActiveUdp: string[];
  /** Oldest last-change-trigger-time (ms) of each changed service that carried one. */
  triggerTimes: number[];
}

/** Tracks EndpointSlice changes per slice and merges them per service. */
export class EndpointsChangeTracker {
  /** service -> slice name -> slim slice: the slices seen now. */
  private readonly slices = new Map<string, Map<string, SlimSlice>>();
  private readonly pending = new Map<
    string,
    { previous: Map<string, EndpointInfo[]>; triggerTime: number | undefined }
  >();

  /** Record a slice add/update (removed false) or delete (removed true). True if a change is pending. */
  update(slice: EndpointSlice, opts: { removed?: boolean } = {}): boolean {
    const service = sliceServiceKey(slice);
    if (!service) return this.pending.size > 0;
    const name = slice.metadata?.name ?? '';
    let bySlice = this.slices.get(service);
    let c = this.pending.get(service);
    if (!c) {
      c = { previous: mergeSlices(bySlice?.values() ?? []), triggerTime: undefined };
      this.pending.set(service, c);
    }
    const slim = opts.removed ? undefined : slimSlice(slice);
    if (slim) {
      if (!bySlice) this.slices.set(service, (bySlice = new Map()));
      bySlice.set(name, slim);
      if (slim.triggerTime !== undefined)
        c.triggerTime =
          c.triggerTime === undefined ? slim.triggerTime : Math.min(c.triggerTime, slim.triggerTime);
    } else if (bySlice) {
      bySlice.delete(name);
      if (bySlice.size === 0) this.slices.delete(service);
    }
    return this.pending.size > 0;
  }

  pendingCount(): number {
    return this.pending.size;
  }

  /** Fold pending changes into `applied` (called from the sync loop only). */
  checkout(state: ProxyState): EndpointsChanges {
    const applied = state.endpoints;
    const out: EndpointsChanges = {
      changed: new Set(),
      staleEndpoints: [],
      newlyActiveUdp: [],
      triggerTimes: [],
    };
    for (const [service, c] of this.pending) {
      const current = mergeSlices(this.slices.get(service)?.values() ?? []);
      let same = current.size === c.previous.size;
      if (same)
        for (const [k, eps] of current) {
          const prev = c.previous.get(k);
          if (!prev || !sameEndpoints(prev, eps)) {
            same = false;
            break;
          }
        }
      if (same) continue;
      out.changed.add(service);
      if (c.triggerTime !== undefined) out.triggerTimes.push(c.triggerTime);
      for (const [k, prev] of c.previous) {
        const cur = current.get(k) ?? [];
        if (!current.has(k)) applied.delete(k);
        if (!k.endsWith('/UDP')) continue;
        const now = new Set(cur.map(endpointString));
        for (const e of prev)
          if (!now.has(endpointString(e))) out.staleEndpoints.push({ servicePortKey: k, endpoint: e });
      }
      for (const [k, eps] of current) {
        applied.set(k, eps);
        if (k.endsWith('/UDP') && eps.some((e) => e.ready) && !(c.previous.get(k) ?? []).some((e) => e.ready))
          out.newlyActiveUdp.push(k);
      }
    }
    this.pending.clear();
    return out;
  }
}
