/**
 * A small RouteTable built from a list, for the data plane's tests and benches (the real one is
 * compiled by the controller). Matching: exact host, then `*.` wildcard, then ''; then regex
 * routes in order, then the longest Exact/Prefix path.
 */
import type {
  Backend,
  Route,
  RouteMatch,
  RouteOptions,
  RouteTable,
  TlsCertificate,
  UpstreamEndpoint,
} from '../route-table.js';

/** ingress-nginx's defaults for a route without annotations. */
export const DEFAULT_ROUTE_OPTIONS: RouteOptions = {
  sslRedirect: true,
  forceSslRedirect: false,
  backendProtocol: 'HTTP',
  maxBodyBytes: 1024 * 1024,
  connectTimeoutMs: 5_000,
  readTimeoutMs: 60_000,
  sendTimeoutMs: 60_000,
  allowSourceRanges: [],
  loadBalance: 'round_robin',
  retries: 3,
};

/** A Backend for `namespace/service:port` with the given endpoints (`ip:port` strings or objects). */
export function backend(
  key: string,
  endpoints: readonly (string | UpstreamEndpoint)[],
  extra: Partial<Backend> = {},
): Backend {
  const [ns, rest] = key.split('/') as [string, string];
  const [service, port] = rest.split(':') as [string, string];
  return {
    key,
    namespace: ns,
    service,
    servicePort: /^\d+$/.test(port) ? Number(port) : port,
    endpoints: endpoints.map((e) => {
      if (typeof e !== 'string') return e;
      const i = e.lastIndexOf(':');
      return { ip: e.slice(0, i), port: Number(e.slice(i + 1)) };
    }),
    ...extra,
  };
}

/** A Route with defaults: Prefix path, no TLS, default options. */
export function route(r: Partial<Route> & { backend: Backend }, options: Partial<RouteOptions> = {}): Route {
  return {
    host: '',
    path: '/',
    pathType: 'Prefix',
    ingress: `${r.backend.namespace}/ing`,
    tls: false,
    ...r,
    options: { ...DEFAULT_ROUTE_OPTIONS, ...options },
  };
}

function hostMatches(pattern: string, host: string): number {
  if (pattern === host) return 3;
  if (pattern.startsWith('*.')) {
    const dot = host.indexOf('.');
    if (dot > 0 && host.slice(dot + 1) === pattern.slice(2)) return 2;
  }
  return pattern === '' ? 1 : 0;
}

function pathMatches(r: Route, path: string): boolean {
  if (r.pathType === 'Exact') return path === r.path;
  if (r.path === '/' || path === r.path) return true;
  const p = r.path.endsWith('/') ? r.path.slice(0, -1) : r.path;
  return path === p || path.startsWith(`${p}/`);
}

/** An immutable table over `routes` and `certs` (by host; `*.x` wildcards allowed). */
export class StaticRouteTable implements RouteTable {
  readonly routes: readonly Route[];
  readonly certs: ReadonlyMap<string, TlsCertificate>;
  constructor(routes: readonly Route[], certs: ReadonlyMap<string, TlsCertificate> = new Map()) {
    this.routes = routes;
    this.certs = certs;
  }

  match(host: string, path: string): RouteMatch | undefined {
    let best: RouteMatch | undefined;
    let bestScore = -1;
    for (const r of this.routes) {
      const h = hostMatches(r.host, host);
      if (h === 0) continue;
      if (r.regex) {
        const m = r.regex.exec(path);
        if (m?.index !== 0) continue;
        const score = h * 1_000_000 + 500_000;
        if (score > bestScore) {
          bestScore = score;
          best = { route: r, captures: m.map((x) => x ?? '') };
        }
        continue;
      }
      if (!pathMatches(r, path)) continue;
      const score = h * 1_000_000 + r.path.length * 2 + (r.pathType === 'Exact' ? 1 : 0);
      if (score > bestScore) {
        bestScore = score;
        best = { route: r };
      }
    }
    return best;
  }

  certificateFor(serverName: string): TlsCertificate | undefined {
    const exact = this.certs.get(serverName);
    if (exact) return exact;
    const dot = serverName.indexOf('.');
    return dot > 0 ? this.certs.get(`*.${serverName.slice(dot + 1)}`) : undefined;
  }

  *backends(): Iterable<Backend> {
    const seen = new Set<string>();
    for (const r of this.routes)
      for (const b of r.canary ? [r.backend, r.canary.backend] : [r.backend])
        if (!seen.has(b.key)) {
          seen.add(b.key);
          yield b;
        }
  }
}
