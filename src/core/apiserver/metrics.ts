/**
 * The API server's Prometheus metrics, with upstream kube-apiserver names, labels and buckets so
 * that existing dashboards and alerts read them unchanged. One registry per server (no global
 * state), plus prom-client's default process metrics.
 *
 * Storage latency keeps upstream's name `etcd_request_duration_seconds{operation,type}` even over
 * SQLite: dashboards key off that name, and kine (k3s's SQL shim) is observed the same way.
 */

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Upstream's apiserver_request_duration_seconds buckets. */
export const REQUEST_DURATION_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
];
/** Upstream's etcd_request_duration_seconds buckets. */
export const STORAGE_DURATION_BUCKETS = REQUEST_DURATION_BUCKETS;

/** The `component` label value of requests served by this server. */
const COMPONENT = 'apiserver';

/** Verbs upstream reports as they are; anything else becomes `other`. */
const VALID_VERBS = new Set([
  'APPLY',
  'CONNECT',
  'CREATE',
  'DELETE',
  'DELETECOLLECTION',
  'GET',
  'LIST',
  'PATCH',
  'POST',
  'PROXY',
  'PUT',
  'UPDATE',
  'WATCH',
  'WATCHLIST',
]);

/** Kubernetes request verbs as the metrics report them (create is POST, update is PUT). */
const K8S_TO_METRIC_VERB: Record<string, string> = {
  get: 'GET',
  list: 'LIST',
  watch: 'WATCH',
  create: 'POST',
  update: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
  deletecollection: 'DELETECOLLECTION',
  connect: 'CONNECT',
  proxy: 'PROXY',
};

/**
 * The `verb` label for a request: a Kubernetes verb (`create` -> POST, `update` -> PUT, ...), a
 * server-side apply patch -> APPLY, an HTTP method as is; unknown values -> `other`.
 */
export function metricsVerb(verb: string, options: { apply?: boolean } = {}): string {
  const mapped = K8S_TO_METRIC_VERB[verb] ?? verb.toUpperCase();
  if (mapped === 'PATCH' && options.apply) return 'APPLY';
  if (mapped === 'WATCHLIST') return 'WATCH';
  return VALID_VERBS.has(mapped) ? mapped : 'other';
}

/** The `scope` label as upstream computes it: namespace, else resource (named), else cluster; '' for non-resource paths. */
export function metricsScope(request: {
  resourceRequest: boolean;
  namespace?: string | undefined;
  name?: string | undefined;
}): string {
  if (request.namespace) return 'namespace';
  if (request.name) return 'resource';
  return request.resourceRequest ? 'cluster' : '';
}

export interface RequestObservation {
  /** Already a metrics verb (see metricsVerb()); upper-cased here. */
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
  /** HTTP status code of the response. */
  code: number;
  dryRun: boolean;
  seconds: number;
}

export interface RequestLabels {
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
}

export interface ApiserverMetrics {
  readonly registry: Registry;
  /** Content type of render()'s body (Prometheus text format). */
  readonly contentType: string;
  /** Counts a finished request and records its duration. */
  observeRequest(o: RequestObservation): void;
  /** Changes the in-flight count of `readOnly` or `mutating` requests by delta (+1 when a request starts, -1 when it ends). */
  inflight(kind: 'readOnly' | 'mutating', delta: number): void;
  /** Marks a long-running request (watch, exec, logs -f) as started; call the returned function when it ends. */
  startLongRunning(labels: RequestLabels): () => void;
  /** Changes the number of registered watchers of a kind by delta. */
  watchers(info: { group: string; version: string; kind: string }, delta: number): void;
  /** Sets the number of stored objects of a resource (`pods`, `deployments.apps`). */
  setStorageObjects(resource: string, count: number): void;
  /** Records one storage operation (`get`, `list`, `create`, `update`, `delete`, `watch`) on an object type. */
  observeStorage(o: { operation: string; type: string; seconds: number }): void;
  /** The metrics in Prometheus text format. */
  render(): Promise<{ body: string; contentType: string }>;
}

/** Creates a registry with the API server metrics and the default process metrics. */
export function createApiserverMetrics(): ApiserverMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requestLabels = [
    'verb',
    'dry_run',
    'group',
    'version',
    'resource',
    'subresource',
    'scope',
    'component',
  ] as const;
  // Requests are counted here and handed to the counter when it is read: prom-client validates
  // and hashes the labels on every inc (~3 µs a request), a Map keyed by the joined values is cheap.
  const pendingTotals = new Map<string, { labels: Record<string, string>; n: number }>();
  new Counter({
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
    labelNames: [...requestLabels, 'code'],
    registers,
    collect() {
      for (const { labels, n } of pendingTotals.values()) this.inc(labels, n);
      pendingTotals.clear();
    },
  });
  const requestDuration = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
    labelNames: requestLabels,
    buckets: REQUEST_DURATION_BUCKETS,
    registers,
  });
  const inflightRequests = new Gauge({
    name: 'apiserver_current_inflight_requests',
    help: 'Number of requests currently being served, by request kind (readOnly or mutating).',
    labelNames: ['request_kind'],
    registers,
  });
  const longRunning = new Gauge({
    name: 'apiserver_longrunning_requests',
    help: 'Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.',
    labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'component'],
    registers,
  });
  const registeredWatchers = new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Number of currently registered watchers for a given resource.',
    labelNames: ['group', 'version', 'kind'],
    registers,
  });
  const storageObjects = new Gauge({
    name: 'apiserver_storage_objects',
    help: 'Number of stored objects at the time of last check split by kind.',
    labelNames: ['resource'],
    registers,
  });
  const storageDuration = new Histogram({
    name: 'etcd_request_duration_seconds',
    help: 'Storage request latency in seconds for each operation and object type.',
    labelNames: ['operation', 'type'],
    buckets: STORAGE_DURATION_BUCKETS,
    registers,
  });
  // Both kinds are always exported, as upstream does, so a dashboard sees 0 rather than no series.
  inflightRequests.set({ request_kind: 'readOnly' }, 0);
  inflightRequests.set({ request_kind: 'mutating' }, 0);

  return {
    registry,
    contentType: registry.contentType,
    observeRequest(o) {
      const labels = {
        verb: o.verb.toUpperCase(),
        dry_run: o.dryRun ? 'All' : '',
        group: o.group,
        version: o.version,
        resource: o.resource,
        subresource: o.subresource,
        scope: o.scope,
        component: COMPONENT,
      };
      const code = String(o.code);
      const key = JSON.stringify([
        labels.verb,
        labels.dry_run,
        o.group,
        o.version,
        o.resource,
        o.subresource,
        o.scope,
        code,
      ]);
      const pending = pendingTotals.get(key);
      if (pending !== undefined) pending.n++;
      else pendingTotals.set(key, { labels: { ...labels, code }, n: 1 });
      requestDuration.observe(labels, Math.max(0, o.seconds));
    },
    inflight(kind, delta) {
      inflightRequests.inc({ request_kind: kind }, delta);
    },
    startLongRunning(labels) {
      const full = { ...labels, verb: labels.verb.toUpperCase(), component: COMPONENT };
      longRunning.inc(full);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        longRunning.dec(full);
      };
    },
    watchers(info, delta) {
      registeredWatchers.inc({ group: info.group, version: info.version, kind: info.kind }, delta);
    },
    setStorageObjects(resource, count) {
      storageObjects.set({ resource }, count);
    },
    observeStorage(o) {
      storageDuration.observe({ operation: o.operation, type: o.type }, Math.max(0, o.seconds));
    },
    async render() {
      return { body: await registry.metrics(), contentType: registry.contentType };
    },
  };
}
