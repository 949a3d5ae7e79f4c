/**
 * Metrics named as CoreDNS's, on their own prom-client Registry. The query path only bumps
 * numbers in typed arrays (a prom-client label lookup per query would cost more than answering
 * it); the prom-client metrics read those arrays when scraped.
 */
import { Counter, Registry } from 'prom-client';
import { TYPE } from './wire.js';

const TYPE_NAMES = ['A', 'AAAA', 'NS', 'CNAME', 'SOA', 'PTR', 'TXT', 'SRV', 'MX', 'ANY', 'other'] as const;
const TYPE_INDEX = new Map<number, number>([
  [TYPE.A, 0],
  [TYPE.AAAA, 1],
  [TYPE.NS, 2],
  [TYPE.CNAME, 3],
  [TYPE.SOA, 4],
  [TYPE.PTR, 5],
  [TYPE.TXT, 6],
  [TYPE.SRV, 7],
  [15, 8],
  [TYPE.ANY, 9],
]);
const NT = TYPE_NAMES.length;
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const NR = 16;
export const ZONE_CLUSTER = 0;
export const ZONE_OTHER = 1;
export const PLUGINS = ['kubernetes', 'cache', 'forward', ''] as const;
export const PLUGIN_KUBERNETES = 0;
export const PLUGIN_CACHE = 1;
export const PLUGIN_FORWARD = 2;
export const PLUGIN_NONE = 3;
const NP = PLUGINS.length;
/** CoreDNS's buckets: 0.25 ms doubling 16 times. */
const BUCKETS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);
const NB = BUCKETS.length;

function typeIndex(qtype: number): number {
  return TYPE_INDEX.get(qtype) ?? NT - 1;
}

export interface DnsMetricsOptions {
  /** The `server` label, e.g. `dns://10.43.0.10:53`. */
  server: string;
  /** The cluster zone with its trailing dot (`zone` label). */
  zone: string;
}

/** Counters of the DNS server and their Prometheus view. */
export class DnsMetrics {
  readonly registry = new Registry();
  private readonly requests = new Float64Array(2 * 2 * 2 * NT);
  private readonly responses = new Float64Array(2 * NP * NR);
  private readonly buckets = new Float64Array(2 * NT * NB);
  private readonly durCount = new Float64Array(2 * NT);
  private readonly durSum = new Float64Array(2 * NT);
  /** Histogram slots of the responses of the batch being answered (reused: no allocation). */
  private readonly pending: number[] = [];
  private readonly cache = new Float64Array(3); // success hits, denial hits, misses

  constructor(opts: DnsMetricsOptions) {
    const server = opts.server;
    const zones = [opts.zone.endsWith('.') ? opts.zone : `${opts.zone}.`, '.'];
    const self = this;
    new Counter({
      name: 'coredns_dns_requests_total',
      help: 'Counter of DNS requests made per zone, protocol and family.',
      labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (let z = 0; z < 2; z++)
          for (let p = 0; p < 2; p++)
            for (let f = 0; f < 2; f++)
              for (let t = 0; t < NT; t++) {
                const v = self.requests[((z * 2 + p) * 2 + f) * NT + t]!;
                if (v > 0)
                  this.inc(
                    {
                      server,
                      zone: zones[z]!,
                      view: '',
                      proto: p === 0 ? 'udp' : 'tcp',
                      family: f === 0 ? '1' : '2',
                      type: TYPE_NAMES[t]!,
                    },
                    v,
                  );
              }
      },
    });
    new Counter({
      name: 'coredns_dns_responses_total',
      help: 'Counter of response status codes.',
      labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (let z = 0; z < 2; z++)
          for (let p = 0; p < NP; p++)
            for (let r = 0; r < NR; r++) {
              const v = self.responses[(z * NP + p) * NR + r]!;
              if (v > 0)
                this.inc(
                  {
                    server,
                    zone: zones[z]!,
                    view: '',
                    rcode: RCODE_NAMES[r] ?? String(r),
                    plugin: PLUGINS[p]!,
                  },
                  v,
                );
            }
      },
    });
    new Counter({
      name: 'coredns_cache_hits_total',
      help: 'The count of cache hits.',
      labelNames: ['server', 'type', 'zones', 'view'],
      registers: [this.registry],
      collect() {
        this.reset();
        if (self.cache[0]) this.inc({ server, type: 'success', zones: '.', view: '' }, self.cache[0]);
        if (self.cache[1]) this.inc({ server, type: 'denial', zones: '.', view: '' }, self.cache[1]);
      },
    });
    new Counter({
      name: 'coredns_cache_misses_total',
      help: 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.',
      labelNames: ['server', 'zones', 'view'],
      registers: [this.registry],
      collect() {
        this.reset();
        if (self.cache[2]) this.inc({ server, zones: '.', view: '' }, self.cache[2]);
      },
    });
    // A histogram fed from our own buckets: prom-client's Histogram cannot be set from outside.
    const name = 'coredns_dns_request_duration_seconds';
    this.registry.registerMetric({
      name,
      help: 'Histogram of the time (in seconds) each request took per zone.',
      type: 'histogram',
      aggregator: 'sum',
      reset() {},
      get: async () => {
        const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
        for (let z = 0; z < 2; z++)
          for (let t = 0; t < NT; t++) {
            const count = self.durCount[z * NT + t]!;
            if (!count) continue;
            const labels = { server, zone: zones[z]!, view: '', type: TYPE_NAMES[t]! };
            let cum = 0;
            for (let b = 0; b < NB; b++) {
              cum += self.buckets[(z * NT + t) * NB + b]!;
              values.push({
                labels: { ...labels, le: BUCKETS[b]! },
                value: cum,
                metricName: `${name}_bucket`,
              });
            }
            values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: `${name}_bucket` });
            values.push({ labels, value: self.durSum[z * NT + t]!, metricName: `${name}_sum` });
            values.push({ labels, value: count, metricName: `${name}_count` });
          }
        return {
          name,
          help: 'Histogram of the time (in seconds) each request took per zone.',
          type: 'histogram',
          values,
          aggregator: 'sum',
        };
      },
    } as any);
  }

  /** One request seen (zone: ZONE_*; tcp: proto; v6: family). */
  request(zone: number, tcp: boolean, v6: boolean, qtype: number): void {
    this.requests[((zone * 2 + (tcp ? 1 : 0)) * 2 + (v6 ? 1 : 0)) * NT + typeIndex(qtype)]!++;
  }

  /** One response sent, with the time it took (seconds). */
  response(zone: number, plugin: number, rcode: number, qtype: number, seconds: number): void {
    this.responses[(zone * NP + plugin) * NR + (rcode & 0x0f)]!++;
    const i = zone * NT + typeIndex(qtype);
    this.durCount[i]!++;
    this.durSum[i]! += seconds;
    let b = 0;
    while (b < NB && seconds > BUCKETS[b]!) b++;
    if (b < NB) this.buckets[i * NB + b]!++;
  }

  /**
   * One response sent at the end of the UDP batch being answered: counted now, its duration (the
   * batch's: all its answers leave together) recorded by `settleBatch`.
   */
  responseInBatch(zone: number, plugin: number, rcode: number, qtype: number): void {
    this.responses[(zone * NP + plugin) * NR + (rcode & 0x0f)]!++;
    this.pending.push(zone * NT + typeIndex(qtype));
  }

  /** The batch took `seconds` from reading to sending: record it for each of its responses. */
  settleBatch(seconds: number): void {
    let b = 0;
    while (b < NB && seconds > BUCKETS[b]!) b++;
    for (let k = 0; k < this.pending.length; k++) {
      const i = this.pending[k]!;
      this.durCount[i]!++;
      this.durSum[i]! += seconds;
      if (b < NB) this.buckets[i * NB + b]!++;
    }
    this.pending.length = 0;
  }

  cacheHit(negative: boolean): void {
    this.cache[negative ? 1 : 0]!++;
  }

  cacheMiss(): void {
    this.cache[2]!++;
  }
}
