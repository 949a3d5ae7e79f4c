/**
 * Request metrics under ingress-nginx's names. Recording is a plain-object update per request
 * (no label hashing or validation on the hot path, which prom-client's `labels()` children
 * still do per call): each label set is a `SeriesStats` found once per (route, method, status)
 * and the Prometheus text is produced from these accumulators at scrape time, through metric
 * objects registered in a prom-client Registry.
 */
import { type Metric, Registry } from 'prom-client';

/** Buckets as ingress-nginx: prometheus.DefBuckets for durations, linear/exponential for sizes. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const REQUEST_SIZE_BUCKETS = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
const RESPONSE_SIZE_BUCKETS = [10, 100, 1000, 10000, 100000, 1000000, 10000000];

const LABEL_NAMES = ['ingress', 'namespace', 'service', 'status', 'method', 'host'] as const;
type Labels = Record<(typeof LABEL_NAMES)[number], string>;

class Hist {
  readonly counts: number[];
  sum = 0;
  count = 0;
  readonly bounds: readonly number[];
  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length).fill(0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++)
      if (v <= b[i]!) {
        this.counts[i]!++;
        return;
      }
  }
}

/** The accumulators of one label set. */
export class SeriesStats {
  readonly labels: Labels;
  requests = 0;
  readonly requestDuration = new Hist(DURATION_BUCKETS);
  readonly responseDuration = new Hist(DURATION_BUCKETS);
  readonly requestSize = new Hist(REQUEST_SIZE_BUCKETS);
  readonly responseSize = new Hist(RESPONSE_SIZE_BUCKETS);
  constructor(labels: Labels) {
    this.labels = labels;
  }
}

/** What a finished request reports. */
export interface RequestSample {
  /** `namespace/name` of the Ingress ('' when no route matched). */
  ingress: string;
  namespace: string;
  service: string;
  /** The rule's host ('' for the catch-all), never the raw Host header (cardinality). */
  host: string;
  method: string;
  status: number;
  requestSeconds: number;
  /** Upstream response time; undefined when no upstream answered. */
  upstreamSeconds: number | undefined;
  requestBytes: number;
  responseBytes: number;
}

type Value = { labels: Record<string, string | number>; value: number; metricName?: string };

function histValues(name: string, series: Iterable<SeriesStats>, pick: (s: SeriesStats) => Hist): Value[] {
  const out: Value[] = [];
  for (const s of series) {
    const h = pick(s);
    if (h.count === 0) continue;
    let acc = 0;
    for (let i = 0; i < h.bounds.length; i++) {
      acc += h.counts[i]!;
      out.push({ labels: { ...s.labels, le: h.bounds[i]! }, value: acc, metricName: `${name}_bucket` });
    }
    out.push({ labels: { ...s.labels, le: '+Inf' }, value: h.count, metricName: `${name}_bucket` });
    out.push({ labels: s.labels, value: h.sum, metricName: `${name}_sum` });
    out.push({ labels: s.labels, value: h.count, metricName: `${name}_count` });
  }
  return out;
}

/** The data plane's metrics; `registry` is what a /metrics handler serves. */
export class IngressMetrics {
  readonly registry: Registry;
  private readonly series = new Map<string, SeriesStats>();
  /** Per route object (identity), per `method status`: the series, so the hot path skips key building. */
  private readonly byRoute = new WeakMap<object, Map<string, SeriesStats>>();

  constructor(registry?: Registry) {
    this.registry = registry ?? new Registry();
    const all = () => this.series.values();
    const metric = (name: string, help: string, type: 'counter' | 'histogram', values: () => Value[]) =>
      this.registry.registerMetric({
        name,
        help,
        type,
        get: async () => ({ name, help, type, values: values(), aggregator: 'sum' }),
      } as unknown as Metric);
    metric('nginx_ingress_controller_requests', 'The total number of client requests', 'counter', () =>
      [...all()].map((s) => ({ labels: s.labels, value: s.requests })),
    );
    metric(
      'nginx_ingress_controller_request_duration_seconds',
      'The request processing time in seconds',
      'histogram',
      () => histValues('nginx_ingress_controller_request_duration_seconds', all(), (s) => s.requestDuration),
    );
    metric(
      'nginx_ingress_controller_response_duration_seconds',
      'The time spent on receiving the response from the upstream server in seconds',
      'histogram',
      () =>
        histValues('nginx_ingress_controller_response_duration_seconds', all(), (s) => s.responseDuration),
    );
    metric(
      'nginx_ingress_controller_request_size',
      'The request length (including request line, header, and request body)',
      'histogram',
      () => histValues('nginx_ingress_controller_request_size', all(), (s) => s.requestSize),
    );
    metric(
      'nginx_ingress_controller_response_size',
      'The response length (including request line, header, and request body)',
      'histogram',
      () => histValues('nginx_ingress_controller_response_size', all(), (s) => s.responseSize),
    );
  }

  /** Record one finished request; `routeKey` is any object stable per route (the Route itself). */
  record(routeKey: object, s: RequestSample): void {
    let perRoute = this.byRoute.get(routeKey);
    if (!perRoute) {
      perRoute = new Map();
      this.byRoute.set(routeKey, perRoute);
    }
    const k = s.status < 1000 ? s.method + s.status : `${s.method} ${s.status}`;
    let st = perRoute.get(k);
    if (!st) {
      const labels: Labels = {
        ingress: s.ingress.slice(s.ingress.indexOf('/') + 1),
        namespace: s.namespace,
        service: s.service,
        status: String(s.status),
        method: s.method,
        host: s.host,
      };
      const key = LABEL_NAMES.map((n) => labels[n]).join('\u0000');
      st = this.series.get(key);
      if (!st) {
        st = new SeriesStats(labels);
        this.series.set(key, st);
      }
      perRoute.set(k, st);
    }
    st.requests++;
    st.requestDuration.observe(s.requestSeconds);
    if (s.upstreamSeconds !== undefined) st.responseDuration.observe(s.upstreamSeconds);
    st.requestSize.observe(s.requestBytes);
    st.responseSize.observe(s.responseBytes);
  }
}
