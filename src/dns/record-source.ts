/**
 * Keeps the current RecordIndex from the Service, EndpointSlice and Namespace informers: every
 * watch event marks the zone dirty; one rebuild per turn of the event loop (a burst of events
 * costs one rebuild) renders the whole zone and swaps the index reference atomically. Lookups
 * read `index` and never see a half-built zone.
 */
import type { InformerHandlers } from '../core/client/informer.js';
import type { SharedInformer } from '../core/client/informer-factory.js';
import { RecordIndex } from './record-index.js';
import { buildRecords } from './records.js';

export interface RecordSourceInformers {
  services: Pick<SharedInformer, 'list' | 'addHandlers' | 'hasSynced'>;
  slices: Pick<SharedInformer, 'list' | 'addHandlers' | 'hasSynced'>;
  namespaces: Pick<SharedInformer, 'list' | 'addHandlers' | 'hasSynced'>;
}

export interface RecordSourceOptions {
  zone: string;
  ttl: number;
  /** This server's addresses, published as `ns.dns.<zone>`. */
  dnsIps?: readonly string[] | undefined;
  /** Wall clock in ms (SOA serials); injectable for tests. */
  now?: (() => number) | undefined;
  /** Schedules the coalesced rebuild (default setImmediate); tests may run it synchronously. */
  schedule?: ((fn: () => void) => void) | undefined;
}

/** The index of the moment plus the machinery that rebuilds it on watch events. */
export class RecordSource {
  /** The current index; replaced (never mutated) on every rebuild. */
  index: RecordIndex;
  /** Called after each swap (metrics, the update-latency bench). */
  onSwap: ((index: RecordIndex, eventsCoalesced: number) => void) | undefined;
  /** Called on every watch event, before the rebuild is scheduled (the update-latency bench). */
  onEvent: (() => void) | undefined;
  private readonly inf: RecordSourceInformers;
  private readonly opts: RecordSourceOptions;
  private readonly now: () => number;
  private readonly schedule: (fn: () => void) => void;
  private pending = 0;
  private serial = 0;
  private stopped = false;

  constructor(informers: RecordSourceInformers, opts: RecordSourceOptions) {
    this.inf = informers;
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.schedule = opts.schedule ?? ((fn) => setImmediate(fn));
    this.index = this.build();
    const h: InformerHandlers = {
      add: () => this.dirty(),
      update: (o, old) => {
        if (o !== old) this.dirty();
      },
      delete: () => this.dirty(),
    };
    informers.services.addHandlers(h);
    informers.slices.addHandlers(h);
    informers.namespaces.addHandlers(h);
  }

  /** True once every informer has listed (the zone is complete). */
  synced(): boolean {
    return this.inf.services.hasSynced() && this.inf.slices.hasSynced() && this.inf.namespaces.hasSynced();
  }

  stop(): void {
    this.stopped = true;
  }

  private dirty(): void {
    this.onEvent?.();
    if (this.pending++ > 0 || this.stopped) return;
    this.schedule(() => this.rebuild());
  }

  /** Render the whole zone from the caches and swap it in (single writer: the scheduled rebuild). */
  rebuild(): void {
    const n = this.pending;
    this.pending = 0;
    if (this.stopped) return;
    this.index = this.build();
    this.onSwap?.(this.index, n);
  }

  private build(): RecordIndex {
    this.serial = Math.max(this.serial + 1, Math.floor(this.now() / 1000)) >>> 0;
    const zr = buildRecords(
      {
        services: this.inf.services.list() as any[],
        slices: this.inf.slices.list() as any[],
        namespaces: this.inf.namespaces.list().map((n) => n.metadata?.name as string),
      },
      { zone: this.opts.zone, ttl: this.opts.ttl, dnsIps: this.opts.dnsIps },
    );
    return new RecordIndex(zr, { zone: this.opts.zone, ttl: this.opts.ttl, serial: this.serial });
  }
}
