/**
 * The immutable RouteTable the controller hands to the data plane: routes bucketed by host (exact
 * names in a map, `*.suffix` wildcards in a map keyed by the suffix, one bucket for rules without a
 * host), and inside a bucket Exact paths in a map, Prefix paths in a map keyed by their
 * normalized path (looked up from the longest element-wise prefix of the request down to `/`), and
 * regex paths in a list, longest path first. A request costs one or two host lookups and at most
 * one map lookup per path element: never a scan over every route.
 *
 * Host precedence as nginx selects a server block: the exact host's bucket, else the wildcard one
 * (one label), else the host-less one. A request whose host bucket has no matching path gets the
 * default backend; it does not fall back to a less specific host (as ingress-nginx).
 */
import type { Backend, Route, RouteMatch, RouteTable, TlsCertificate } from './route-table.js';

export interface RouteTableInput {
  routes: readonly Route[];
  /** Served when nothing matches (a host-less `Prefix /` route built from spec.defaultBackend). */
  defaultRoute?: Route | undefined;
  /** Certificate per TLS host as written (`a.example.com` or `*.example.com`). */
  certificates?: ReadonlyMap<string, TlsCertificate> | undefined;
}

interface Bucket {
  exact: Map<string, RouteMatch>;
  prefix: Map<string, RouteMatch>;
  /** Regex routes, longest path first (nginx tries regex locations in order, ingress-nginx sorts them so). */
  regex: Route[];
}

/** The key a Prefix (or ImplementationSpecific) path is stored under: its path without a trailing slash. */
export function prefixKey(path: string): string {
  if (path === '' || path === '/') return '/';
  return path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * The request path the rules are matched against, as nginx normalizes `$uri`: percent-decoded,
 * `//` merged, `.` and `..` segments resolved. The common path (nothing to normalize) is returned as is.
 */
export function normalizeRequestPath(raw: string): string {
  if (raw === '' || raw[0] !== '/') raw = `/${raw}`;
  if (!/%|\/\/|\/\.\.?(\/|$)/.test(raw)) return raw;
  let p = raw;
  if (p.includes('%')) {
    try {
      p = decodeURIComponent(p);
    } catch {
      // Not valid percent-encoding: match the raw bytes.
    }
  }
  const out: string[] = [];
  const parts = p.split('/');
  for (let i = 1; i < parts.length; i++) {
    const s = parts[i]!;
    const last = i === parts.length - 1;
    if (s === '' && !last) continue;
    if (s === '.') {
      if (last) out.push('');
      continue;
    }
    if (s === '..') {
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  return `/${out.join('/')}`;
}

/** The bucket key of a host written in a rule: exact name, `.suffix` of a wildcard, '' for any. */
function bucketOf(host: string): { kind: 'exact' | 'wildcard' | 'any'; key: string } {
  if (host === '') return { kind: 'any', key: '' };
  if (host.startsWith('*.')) return { kind: 'wildcard', key: host.slice(1).toLowerCase() };
  return { kind: 'exact', key: host.toLowerCase() };
}

class CompiledRouteTable implements RouteTable {
  private readonly exactHosts = new Map<string, Bucket>();
  private readonly wildcardHosts = new Map<string, Bucket>();
  private anyHost: Bucket | undefined;
  private readonly defaultMatch: RouteMatch | undefined;
  private readonly certs: ReadonlyMap<string, TlsCertificate>;
  private readonly allBackends: Backend[];

  constructor(input: RouteTableInput) {
    const backends = new Map<string, Backend>();
    const keep = (b: Backend) => {
      if (!backends.has(b.key)) backends.set(b.key, b);
    };
    for (const r of input.routes) {
      const { kind, key } = bucketOf(r.host);
      let bucket: Bucket | undefined;
      if (kind === 'any') bucket = this.anyHost ??= newBucket();
      else {
        const map = kind === 'exact' ? this.exactHosts : this.wildcardHosts;
        bucket = map.get(key);
        if (!bucket) map.set(key, (bucket = newBucket()));
      }
      // The first route of a key wins: the compiler has already ordered conflicting routes.
      if (r.pathType === 'Exact') {
        if (!bucket.exact.has(r.path)) bucket.exact.set(r.path, { route: r });
      } else if (r.regex) bucket.regex.push(r);
      else {
        const k = prefixKey(r.path);
        if (!bucket.prefix.has(k)) bucket.prefix.set(k, { route: r });
      }
      keep(r.backend);
      if (r.canary) keep(r.canary.backend);
    }
    for (const b of [...this.exactHosts.values(), ...this.wildcardHosts.values(), this.anyHost]) {
      b?.regex.sort((x, y) => y.path.length - x.path.length);
    }
    if (input.defaultRoute) {
      this.defaultMatch = { route: input.defaultRoute };
      keep(input.defaultRoute.backend);
    }
    this.certs = input.certificates ?? new Map();
    this.allBackends = [...backends.values()];
  }

  match(host: string, path: string): RouteMatch | undefined {
    const h = host.endsWith('.') ? host.slice(0, -1) : host;
    let bucket = this.exactHosts.get(h);
    if (!bucket && this.wildcardHosts.size > 0) {
      const dot = h.indexOf('.');
      if (dot > 0) bucket = this.wildcardHosts.get(h.slice(dot));
    }
    bucket ??= this.anyHost;
    if (!bucket) return this.defaultMatch;
    return matchInBucket(bucket, normalizeRequestPath(path)) ?? this.defaultMatch;
  }

  certificateFor(serverName: string): TlsCertificate | undefined {
    const n = serverName.toLowerCase();
    const exact = this.certs.get(n);
    if (exact) return exact;
    const dot = n.indexOf('.');
    return dot > 0 ? this.certs.get(`*${n.slice(dot)}`) : undefined;
  }

  backends(): Iterable<Backend> {
    return this.allBackends;
  }
}

function newBucket(): Bucket {
  return { exact: new Map(), prefix: new Map(), regex: [] };
}

function matchInBucket(b: Bucket, path: string): RouteMatch | undefined {
  // An Exact match covers the whole request path: no Prefix match can be longer.
  const exact = b.exact.get(path);
  if (exact) return exact;
  for (const r of b.regex) {
    const m = r.regex!.exec(path);
    if (m) return { route: r, captures: Array.from(m, (c) => c ?? '') };
  }
  if (b.prefix.size === 0) return undefined;
  // Element-wise prefixes of the request, longest first: /a/b/c, /a/b, /a, /.
  let p = prefixKey(path);
  for (;;) {
    const hit = b.prefix.get(p);
    if (hit) return hit;
    if (p === '/') return undefined;
    const slash = p.lastIndexOf('/');
    p = slash <= 0 ? '/' : p.slice(0, slash);
  }
}

/** Build the immutable table (pure; the routes must already be conflict-free and ordered). */
export function buildRouteTable(input: RouteTableInput): RouteTable {
  return new CompiledRouteTable(input);
}
