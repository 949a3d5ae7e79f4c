/**
 * The contract between the ingress controller (which compiles Ingresses, Services, EndpointSlices
 * and Secrets into a RouteTable) and the data plane (which serves HTTP/HTTPS from the table it was
 * last given). The controller builds a new immutable table on every change and hands it over with
 * `DataPlane.update`; the data plane never reads the API and never mutates a table.
 *
 * State that must outlive a table swap (keep-alive upstream sockets, round-robin / EWMA state,
 * TLS secure contexts) is kept by the data plane keyed by the stable keys below
 * (`Backend.key`, `Endpoint.ip:port`, `TlsCertificate.key + version`).
 */

/** One ready (or serving) endpoint of a backend: an address the proxy connects to directly. */
export interface UpstreamEndpoint {
  ip: string;
  port: number;
  /** The pod behind it, `namespace/name`, for logs and errors (when the slice says). */
  podRef?: string | undefined;
}

/** A Service port resolved to endpoints (ready ones; serving+terminating only when none is ready). */
export interface Backend {
  /** Stable identity across tables: `namespace/service:port` with the port as written in the Ingress. */
  key: string;
  namespace: string;
  service: string;
  /** The service port as the Ingress named it (number or name). */
  servicePort: number | string;
  endpoints: readonly UpstreamEndpoint[];
  /** Why there are no endpoints, for the 503 page (e.g. `service "web" not found`). */
  unavailableReason?: string | undefined;
}

/** Per-route behaviour from annotations (`k8ts.io/*` or `nginx.ingress.kubernetes.io/*`). */
export interface RouteOptions {
  /** rewrite-target; may contain `$1`..`$9` referring to the captures of a regex path. */
  rewriteTarget?: string | undefined;
  /** Redirect HTTP to HTTPS (308) when the host has TLS; default true as ingress-nginx. */
  sslRedirect: boolean;
  /** force-ssl-redirect: redirect even when the host has no TLS section. */
  forceSslRedirect: boolean;
  /** backend-protocol: HTTPS connects to pods over TLS (certificate not verified, as nginx). */
  backendProtocol: 'HTTP' | 'HTTPS';
  /** proxy-body-size in bytes; 0 = unlimited. Default 1 MiB (nginx's client_max_body_size). */
  maxBodyBytes: number;
  /** proxy-connect-timeout / proxy-read-timeout / proxy-send-timeout in ms (defaults 5 s, 60 s, 60 s). */
  connectTimeoutMs: number;
  readTimeoutMs: number;
  sendTimeoutMs: number;
  /** affinity: cookie (session-cookie-name default INGRESSCOOKIE, -max-age, -path). */
  affinity?:
    | { cookieName: string; maxAgeSeconds?: number | undefined; path?: string | undefined }
    | undefined;
  /** whitelist-source-range / allowlist-source-range: CIDRs; empty = everyone. */
  allowSourceRanges: readonly string[];
  /** load-balance: round_robin (default) or ewma. */
  loadBalance: 'round_robin' | 'ewma';
  /** proxy-next-upstream-tries: attempts on connection failure (default 3). */
  retries: number;
}

/** A canary backend merged from an Ingress annotated `canary: "true"` with the same host and path. */
export interface Canary {
  backend: Backend;
  /** canary-weight out of canary-weight-total (default 100); 0 = none by weight. */
  weight: number;
  weightTotal: number;
  /** canary-by-header: `always` routes to the canary, `never` never, else weight decides;
   *  with canary-by-header-value, only that value routes to the canary. */
  header?: string | undefined;
  headerValue?: string | undefined;
  /** canary-by-cookie: cookie value `always` / `never`. */
  cookie?: string | undefined;
  /** The canary Ingress, `namespace/name`. */
  ingress: string;
}

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

/** One rule path after merging every Ingress of our class. */
export interface Route {
  /** Host as written: exact `a.example.com`, wildcard `*.example.com`, or '' for any host. */
  host: string;
  path: string;
  pathType: PathType;
  /** A regex path (use-regex, or rewrite-target present): matched case-insensitively as nginx's `~*`. */
  regex?: RegExp | undefined;
  backend: Backend;
  canary?: Canary | undefined;
  options: RouteOptions;
  /** The Ingress that owns this route, `namespace/name` (metrics labels, logs). */
  ingress: string;
  /** True when the host is listed in a TLS section of an Ingress of the class (ssl-redirect). */
  tls: boolean;
}

/** The result of matching a request: the route and the regex captures (for rewrite-target). */
export interface RouteMatch {
  route: Route;
  /** captures[0] is the whole match; only for regex routes. */
  captures?: readonly string[] | undefined;
}

/** A kubernetes.io/tls Secret usable for SNI. `version` changes whenever its bytes change. */
export interface TlsCertificate {
  /** `namespace/secret` */
  key: string;
  version: string;
  certPem: string;
  keyPem: string;
}

/** An immutable snapshot: everything the data plane needs to serve requests. */
export interface RouteTable {
  /**
   * The route for a request. `host` is lower-cased and without port; `path` is the raw path
   * without the query string. Precedence follows the Ingress spec (exact host before wildcard,
   * then longest path, Exact before Prefix at equal length); the default backend when nothing
   * matches (undefined when there is none: the data plane answers 404).
   */
  match(host: string, path: string): RouteMatch | undefined;
  /** The certificate for an SNI name (exact host, then `*.` wildcard); undefined = default cert. */
  certificateFor(serverName: string): TlsCertificate | undefined;
  /** Every backend referenced by the table (to prune pools and balancer state of gone ones). */
  backends(): Iterable<Backend>;
}

/** What the controller drives; implemented by the chosen data path. */
export interface DataPlane {
  /** Swap in a new table; requests already routed finish on the old one. Single writer. */
  update(table: RouteTable): void;
  close(): Promise<void>;
}
