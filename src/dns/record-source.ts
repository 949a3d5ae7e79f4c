/**
 * Keeps the current RecordIndex from the Service, EndpointSlice and Namespace informers. A watch
 * event marks the unit it touches dirty (a Service and its EndpointSlices are one unit, a
 * Namespace another); one update per turn of the event loop (a burst of events costs one update)
 * recomputes only the dirty units' records and derives the next index from the current one by
 * structural sharing (record-index.ts), then swaps the reference. Lookups read `index` and never
 * see a half-applied change.
 */
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { InformerHandlers, KObj } from '../core/client/informer.js';
import type { SharedInformer } from '../core/client/informer-factory.js';
import { DnsConfigError } from './errors.js';
import { RecordIndex, type ZoneUnit } from './record-index.js';
import {
  baseRecords,
  namespaceNames,
  podRecords,
  serviceKey,
  serviceRecords,
  sliceServiceKey,
  type ZoneOptions,
} from './records.js';

export interface RecordSourceInformers {
  services: Pick<SharedInformer, 'list' | 'addHandlers' | 'hasSynced'>;
  slices: Pick<SharedInformer, 'list' | 'addHandlers' | 'hasSynced'>;
  namespaces: Pick<SharedInformer, 'list' | 'addHandlers' | 'hasSynced'>;
  /** Pods (slim: identity and IPs), for `pods: 'verified'` only. */
  pods?: Pick<SharedInformer, 'list' | 'addHandlers' | 'hasSynced'> | undefined;
}

export interface RecordSourceOptions {
  zone: string;
  ttl: number;
  /** This server's addresses, published as `ns.dns.<zone>`. */
  dnsIps?: readonly string[] | undefined;
  /** Wall clock in ms (SOA serials); injectable for tests. */
  now?: (() => number) | undefined;
  /** Schedules the coalesced update (default setImmediate); tests may run it synchronously. */
  schedule?: ((fn: () => void) => void) | undefined;
  /** Pod names (see RecordIndexOptions.pods); `verified` needs the pods informer. */
  pods?: 'insecure' | 'verified' | 'disabled' | undefined;
}

/** Unit keys: one per Service (with its slices), one per Namespace (the index's full-build unit holds
 * the zone's own records). */
const svcUnit = (key: string) => `svc/${key}`;
const nsUnit = (name: string) => `ns/${name}`;
const podUnit = (key: string) => `pod/${key}`;

/** The index of the moment plus the machinery that updates it on watch events. */
export class RecordSource {
  /** The current index; replaced (never mutated) on every update. */
  index: RecordIndex;
  /** Called after each swap (metrics, the update-latency bench). */
  onSwap: ((index: RecordIndex, eventsCoalesced: number) => void) | undefined;
  /** Called on every watch event, before the update is scheduled (the update-latency bench). */
  onEvent: (() => void) | undefined;
  private readonly inf: RecordSourceInformers;
  private readonly zoneOpts: ZoneOptions;
  private readonly now: () => number;
  private readonly schedule: (fn: () => void) => void;
  /** Slim caches of what the units are computed from (the informers' objects, never mutated). */
  private readonly services = new Map<string, Service>();
  private readonly slices = new Map<string, { svc: string; slice: EndpointSlice }>();
  private readonly slicesBySvc = new Map<string, Set<string>>();
  private readonly namespaces = new Set<string>();
  /** Service keys, namespace names and pod keys whose units must be recomputed. */
  private readonly dirtySvcs = new Set<string>();
  private readonly dirtyNs = new Set<string>();
  private readonly dirtyPods = new Map<string, Pod | undefined>();
  private pending = 0;
  private serial = 0;
  private stopped = false;

  constructor(informers: RecordSourceInformers, opts: RecordSourceOptions) {
    this.inf = informers;
    this.zoneOpts = { zone: opts.zone, ttl: opts.ttl, dnsIps: opts.dnsIps };
    this.now = opts.now ?? Date.now;
    this.schedule = opts.schedule ?? ((fn) => setImmediate(fn));
    if (opts.pods === 'verified' && !informers.pods)
      throw new DnsConfigError('pods verified needs a pod informer');
    this.index = new RecordIndex(baseRecords(this.zoneOpts), {
      zone: opts.zone,
      ttl: opts.ttl,
      serial: this.nextSerial(),
      pods: opts.pods,
    });
    // Objects already cached are replayed to `add`; they are applied at once below, so the
    // index is complete when the constructor returns.
    informers.services.addHandlers({
      add: (o) => this.serviceEvent(o, undefined),
      update: (o, old) => {
        if (o !== old) this.serviceEvent(o, undefined);
      },
      delete: (o) => this.serviceEvent(o, true),
    });
    informers.slices.addHandlers({
      add: (o) => this.sliceEvent(o, undefined),
      update: (o, old) => {
        if (o !== old) this.sliceEvent(o, undefined);
      },
      delete: (o) => this.sliceEvent(o, true),
    });
    const nsHandlers: InformerHandlers = {
      add: (o) => this.namespaceEvent(o, undefined),
      delete: (o) => this.namespaceEvent(o, true),
    };
    informers.namespaces.addHandlers(nsHandlers);
    if (opts.pods === 'verified')
      informers.pods?.addHandlers({
        add: (o) => this.podEvent(o as Pod, undefined),
        update: (o, old) => {
          if (o !== old) this.podEvent(o as Pod, undefined);
        },
        delete: (o) => this.podEvent(o as Pod, true),
      });
    if (this.pending > 0) this.rebuild();
  }

  /** True once every informer has listed (the zone is complete). */
  synced(): boolean {
    const inf = this.inf;
    return (
      inf.services.hasSynced() &&
      inf.slices.hasSynced() &&
      inf.namespaces.hasSynced() &&
      (this.index.pods !== 'verified' || inf.pods?.hasSynced() === true)
    );
  }

  stop(): void {
    this.stopped = true;
  }

  private serviceEvent(o: KObj, deleted: true | undefined): void {
    const svc = o as Service;
    const key = serviceKey(svc);
    if (key === undefined) return;
    if (deleted) this.services.delete(key);
    else this.services.set(key, svc);
    this.dirtySvcs.add(key);
    this.dirty();
  }

  private sliceEvent(o: KObj, deleted: true | undefined): void {
    const slice = o as EndpointSlice;
    const key = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    // The service label may change: the unit it left is dirty as well as the one it joins.
    const before = this.slices.get(key);
    if (before) {
      this.slicesBySvc.get(before.svc)?.delete(key);
      if (this.slicesBySvc.get(before.svc)?.size === 0) this.slicesBySvc.delete(before.svc);
      this.slices.delete(key);
      this.dirtySvcs.add(before.svc);
    }
    const svc = deleted ? undefined : sliceServiceKey(slice);
    if (svc !== undefined) {
      this.slices.set(key, { svc, slice });
      let set = this.slicesBySvc.get(svc);
      if (!set) this.slicesBySvc.set(svc, (set = new Set()));
      set.add(key);
      this.dirtySvcs.add(svc);
    }
    this.dirty();
  }

  private namespaceEvent(o: KObj, deleted: true | undefined): void {
    const name = o.metadata.name;
    if (deleted) this.namespaces.delete(name);
    else this.namespaces.add(name);
    this.dirtyNs.add(name);
    this.dirty();
  }

  private podEvent(pod: Pod, deleted: true | undefined): void {
    this.dirtyPods.set(
      `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`,
      deleted ? undefined : pod,
    );
    this.dirty();
  }

  private dirty(): void {
    this.onEvent?.();
    if (this.pending++ > 0 || this.stopped) return;
    this.schedule(() => this.rebuild());
  }

  /** Recompute the dirty units and swap in the next index (single writer: the scheduled update). */
  rebuild(): void {
    const n = this.pending;
    this.pending = 0;
    if (this.stopped || n === 0) return;
    const changes = new Map<string, ZoneUnit | undefined>();
    for (const key of this.dirtySvcs) {
      const svc = this.services.get(key);
      if (!svc) {
        changes.set(svcUnit(key), undefined);
        continue;
      }
      const slices: EndpointSlice[] = [];
      for (const k of this.slicesBySvc.get(key) ?? []) slices.push(this.slices.get(k)!.slice);
      changes.set(svcUnit(key), { records: serviceRecords(svc, slices, this.zoneOpts), emptyNames: [] });
    }
    for (const name of this.dirtyNs) {
      const unit = this.namespaces.has(name)
        ? { records: [], emptyNames: namespaceNames(name, this.zoneOpts.zone) }
        : undefined;
      changes.set(nsUnit(name), unit);
    }
    for (const [key, pod] of this.dirtyPods)
      changes.set(
        podUnit(key),
        pod ? { records: podRecords(pod, this.zoneOpts), emptyNames: [] } : undefined,
      );
    this.dirtySvcs.clear();
    this.dirtyNs.clear();
    this.dirtyPods.clear();
    this.index = this.index.update(changes, { serial: this.nextSerial() });
    this.onSwap?.(this.index, n);
  }

  private nextSerial(): number {
    this.serial = Math.max(this.serial + 1, Math.floor(this.now() / 1000)) >>> 0;
    return this.serial;
  }
}
