/**
 * The pure compiler: IngressClasses, Ingresses, Services, EndpointSlices and Secrets -> one
 * immutable RouteTable, plus the Warning events to emit and the Ingresses whose status we own.
 *
 * Rules (documented in docs/architecture.md, Ingress):
 * - Every Ingress of our classes is merged, oldest first (creationTimestamp, then namespace/name).
 *   Two paths with the same host, path and pathType (Prefix and ImplementationSpecific compare by
 *   their path without a trailing slash, and count as the same kind) conflict: the oldest wins,
 *   the other Ingress gets a Warning `RouteConflict`.
 * - ImplementationSpecific is Prefix, unless the host is in regex mode: `use-regex` or
 *   `rewrite-target` on any Ingress with that host turns every non-Exact path of the host into a
 *   case-insensitive regex anchored at the start (nginx `~* ^path`), as ingress-nginx does.
 * - The cluster default backend is the oldest Ingress's spec.defaultBackend.
 * - Canary Ingresses (`canary: "true"`) add their backend to the main route with the same host and
 *   path; their other annotations are ignored, as ingress-nginx ignores them.
 * - Backends resolve like kube-proxy: the Ingress names a Service port by number (spec port) or
 *   name; its endpoints are the EndpointSlice ports with that Service port's name; ready endpoints,
 *   serving+terminating ones only when none is ready, deduplicated. ExternalName Services use the
 *   addresses the caller resolved for the name (`resolveName`), on the Service port's target port.
 */
import type { X509Certificate } from 'node:crypto';
import type { Secret, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressBackend, IngressClass } from 'kubernetes-types/networking/v1.js';
import { mergeSlices, type SlimSlice, slimSlice } from '../service-proxy/endpoints.js';
import { usableEndpoints } from '../service-proxy/iptables-render.js';
import { type EndpointInfo, type Protocol, servicePortKey } from '../service-proxy/model.js';
import { servicePortName } from '../service-proxy/service-port.js';
import { type IngressAnnotations, parseAnnotations } from './annotations.js';
import { CONTROLLER_NAME, isOurIngress, ourClasses } from './ingress-class.js';
import { buildRouteTable, prefixKey } from './route-index.js';
import type {
  Backend,
  PathType,
  Route,
  RouteTable,
  TlsCertificate,
  UpstreamEndpoint,
} from './route-table.js';
import { certificateFromSecret, tlsHostCovers } from './tls.js';

/** Read access to the cluster objects the compiler needs (informer caches in production). */
export interface CompileSources {
  ingressClasses: Iterable<IngressClass>;
  ingresses: Iterable<Ingress>;
  service(namespace: string, name: string): Service | undefined;
  /** EndpointSlices labelled kubernetes.io/service-name=<name> in the namespace. */
  endpointSlices(namespace: string, service: string): Iterable<EndpointSlice>;
  secret(namespace: string, name: string): Secret | undefined;
  /** Addresses of an ExternalName target (undefined: not resolved yet). */
  resolveName?: ((hostname: string) => readonly string[] | undefined) | undefined;
}

export interface CompileOptions {
  /** spec.controller of the classes we own (default k8ts.io/ingress). */
  controller?: string | undefined;
  /** Results of the previous compile to reuse for objects that did not change (see CompileMemo). */
  memo?: CompileMemo | undefined;
}

/**
 * What a compile may reuse from the previous one, keyed by object identity (informer caches
 * replace an object on every change, never mutate it): the parsed annotations of an Ingress, and a
 * Backend whose Service, EndpointSlices and resolved ExternalName addresses are the very same
 * objects as last time. Reusing them gives the same table as compiling from scratch, without
 * re-merging every Service's slices on each change (and keeps Backend objects stable for the
 * data plane).
 */
export class CompileMemo {
  readonly annotations = new WeakMap<Ingress, IngressAnnotations>();
  backends = new Map<string, MemoBackend>();
}

interface MemoBackend {
  svc: Service | undefined;
  slices: readonly EndpointSlice[];
  ips: readonly string[] | undefined;
  backend: Backend;
}

/** An event the controller should record on an Ingress. */
export interface IngressEvent {
  ingress: Ingress;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface CompileResult {
  table: RouteTable;
  /** Every Ingress this controller serves (status.loadBalancer is ours to write). */
  served: Ingress[];
  events: IngressEvent[];
  /** ExternalName targets the table refers to (the caller resolves them and recompiles). */
  externalNames: string[];
}

function keyOf(o: { metadata?: { namespace?: string; name?: string } | undefined }): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** Oldest first, then namespace/name: the order conflicts are decided in. */
export function compareIngressAge(a: Ingress, b: Ingress): number {
  const ta = a.metadata?.creationTimestamp ?? '';
  const tb = b.metadata?.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = keyOf(a);
  const kb = keyOf(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

interface Candidate {
  ing: Ingress;
  ann: IngressAnnotations;
  host: string;
  path: string;
  pathType: PathType;
  backend: IngressBackend;
}

/** Compile the whole desired state (pure: the same sources give an equal table). */
export function compileRoutes(src: CompileSources, opts: CompileOptions = {}): CompileResult {
  const events: IngressEvent[] = [];
  const warn = (ingress: Ingress, reason: string, message: string) =>
    events.push({ ingress, type: 'Warning', reason, message });
  const sel = ourClasses(src.ingressClasses, opts.controller ?? CONTROLLER_NAME);
  const served = [...src.ingresses].filter((i) => isOurIngress(i, sel)).sort(compareIngressAge);
  const backends = new BackendResolver(src, opts.memo);

  const annotations = new Map<Ingress, IngressAnnotations>();
  const mains: Candidate[] = [];
  const canaries: Candidate[] = [];
  const regexHosts = new Set<string>();
  for (const ing of served) {
    let ann = opts.memo?.annotations.get(ing);
    if (!ann) {
      ann = parseAnnotations(ing.metadata?.annotations);
      opts.memo?.annotations.set(ing, ann);
    }
    annotations.set(ing, ann);
    for (const w of ann.warnings) warn(ing, 'InvalidAnnotation', w);
    for (const rule of ing.spec?.rules ?? []) {
      const host = (rule.host ?? '').toLowerCase();
      if (ann.useRegex && !ann.canary) regexHosts.add(host);
      for (const p of rule.http?.paths ?? []) {
        if (p.backend?.resource) {
          warn(
            ing,
            'UnsupportedBackend',
            `resource backend ${p.backend.resource.kind} "${p.backend.resource.name}" for path "${p.path ?? ''}" is not supported by k8ts; the path is not served`,
          );
          continue;
        }
        if (!p.backend?.service) continue;
        const c: Candidate = {
          ing,
          ann,
          host,
          path: p.path || '/',
          pathType: (p.pathType ?? 'ImplementationSpecific') as PathType,
          backend: p.backend,
        };
        (ann.canary ? canaries : mains).push(c);
      }
    }
  }

  // Main routes, oldest Ingress first; a later duplicate loses with a Warning.
  const routes: Route[] = [];
  const byKey = new Map<string, Route>();
  const byHostPath = new Map<string, Route[]>();
  const tlsOf = tlsIndex(served, src, warn);
  for (const c of mains) {
    const regexMode = regexHosts.has(c.host) && c.pathType !== 'Exact';
    const kind = c.pathType === 'Exact' ? 'exact' : regexMode ? 'regex' : 'prefix';
    const key = `${c.host}\0${kind}\0${kind === 'prefix' ? prefixKey(c.path) : c.path}`;
    const owner = keyOf(c.ing);
    const prev = byKey.get(key);
    if (prev) {
      if (prev.ingress !== owner)
        warn(
          c.ing,
          'RouteConflict',
          `host "${c.host || '*'}" path "${c.path}" (${c.pathType}) is already served by Ingress ${prev.ingress} (older); this path is ignored`,
        );
      continue;
    }
    let regex: RegExp | undefined;
    if (regexMode) {
      try {
        regex = new RegExp(`^${c.path}`, 'i');
      } catch (e) {
        warn(
          c.ing,
          'InvalidPath',
          `path "${c.path}" is not a valid regular expression: ${(e as Error).message}`,
        );
        continue;
      }
    }
    const route: Route = {
      host: c.host,
      path: c.path,
      pathType: c.pathType,
      regex,
      backend: c.ann.denied
        ? deniedBackend(backends.resolve(c.ing, c.backend), c.ann.denied)
        : backends.resolve(c.ing, c.backend),
      options: c.ann.options,
      ingress: owner,
      tls: tlsOf.covers(c.host),
    };
    byKey.set(key, route);
    routes.push(route);
    const hp = `${c.host}\0${c.path}`;
    const list = byHostPath.get(hp);
    if (list) list.push(route);
    else byHostPath.set(hp, [route]);
  }

  // Canaries join the main route(s) with the same host and path.
  for (const c of canaries) {
    const targets = byHostPath.get(`${c.host}\0${c.path}`);
    const owner = keyOf(c.ing);
    if (!targets) {
      warn(
        c.ing,
        'CanaryWithoutMain',
        `canary path "${c.path}" on host "${c.host || '*'}" has no main Ingress with the same host and path; ignored`,
      );
      continue;
    }
    const taken = targets.find((t) => t.canary && t.canary.ingress !== owner);
    if (taken) {
      warn(
        c.ing,
        'RouteConflict',
        `host "${c.host || '*'}" path "${c.path}" already has the canary of Ingress ${taken.canary!.ingress} (older); ignored`,
      );
      continue;
    }
    for (const t of targets) {
      if (t.canary) continue;
      const s = c.ann.canary!;
      t.canary = {
        backend: c.ann.denied
          ? deniedBackend(backends.resolve(c.ing, c.backend), c.ann.denied)
          : backends.resolve(c.ing, c.backend),
        weight: s.weight,
        weightTotal: s.weightTotal,
        header: s.header,
        headerValue: s.headerValue,
        cookie: s.cookie,
        ingress: owner,
      };
    }
  }

  // The default backend: the oldest Ingress that has one.
  let defaultRoute: Route | undefined;
  for (const ing of served) {
    const db = ing.spec?.defaultBackend;
    if (!db) continue;
    const ann = annotations.get(ing)!;
    if (ann.canary) continue;
    if (db.resource) {
      warn(
        ing,
        'UnsupportedBackend',
        `resource backend ${db.resource.kind} "${db.resource.name}" is not supported`,
      );
      continue;
    }
    if (defaultRoute) {
      warn(
        ing,
        'DefaultBackendConflict',
        `the default backend of Ingress ${defaultRoute.ingress} (older) is used; this one is ignored`,
      );
      continue;
    }
    const backend = backends.resolve(ing, db);
    defaultRoute = {
      host: '',
      path: '/',
      pathType: 'Prefix',
      backend: ann.denied ? deniedBackend(backend, ann.denied) : backend,
      options: ann.options,
      ingress: keyOf(ing),
      tls: false,
    };
  }

  backends.finish();
  return {
    table: buildRouteTable({ routes, defaultRoute, certificates: tlsOf.certificates }),
    served,
    events,
    externalNames: backends.externalNames(),
  };
}

/** A backend whose paths are denied (invalid allow list): no endpoints, so the data plane answers 503. */
function deniedBackend(b: Backend, reason: string): Backend {
  return { ...b, key: `${b.key}#denied`, endpoints: [], unavailableReason: `access denied: ${reason}` };
}

/**
 * TLS hosts -> certificates, oldest Ingress first: a host listed in a TLS section uses that
 * section's Secret; a rule host listed nowhere uses a Secret of its Ingress whose certificate is
 * valid for it (as ingress-nginx does for TLS sections without hosts). A bad or missing Secret is a
 * Warning and the host keeps the default certificate.
 */
function tlsIndex(
  served: readonly Ingress[],
  src: CompileSources,
  warn: (ing: Ingress, reason: string, msg: string) => void,
): { certificates: Map<string, TlsCertificate>; covers(host: string): boolean } {
  const certificates = new Map<string, TlsCertificate>();
  const listed = new Set<string>();
  for (const ing of served) {
    const ns = ing.metadata?.namespace ?? 'default';
    const loaded: { x509: X509Certificate; cert: TlsCertificate }[] = [];
    for (const t of ing.spec?.tls ?? []) {
      let cert: TlsCertificate | undefined;
      if (t.secretName) {
        const secret = src.secret(ns, t.secretName);
        if (!secret)
          warn(
            ing,
            'TLSSecretNotFound',
            `secret "${ns}/${t.secretName}" not found; using the default certificate`,
          );
        else {
          const r = certificateFromSecret(secret);
          if (r.ok) {
            cert = r.cert;
            loaded.push(r);
          } else warn(ing, 'InvalidTLSSecret', `${r.reason}; using the default certificate`);
        }
      }
      for (const h of t.hosts ?? []) {
        const host = h.toLowerCase();
        listed.add(host);
        if (cert && !certificates.has(host)) certificates.set(host, cert);
      }
    }
    for (const rule of ing.spec?.rules ?? []) {
      const host = (rule.host ?? '').toLowerCase();
      if (!host || host.startsWith('*.') || certificates.has(host) || listed.has(host)) continue;
      const fit = loaded.find((l) => l.x509.checkHost(host) !== undefined);
      if (fit) {
        certificates.set(host, fit.cert);
        listed.add(host);
      }
    }
  }
  const tlsHosts = [...listed];
  return {
    certificates,
    covers: (host) => host !== '' && tlsHosts.some((t) => tlsHostCovers(t, host)),
  };
}

/** Resolves Ingress backends to endpoints, once per Service port within one compile. */
class BackendResolver {
  private readonly src: CompileSources;
  private readonly cache = new Map<string, Backend>();
  private readonly merged = new Map<string, Map<string, EndpointInfo[]>>();
  private readonly names = new Set<string>();
  private readonly memo: CompileMemo | undefined;
  private readonly used = new Map<string, MemoBackend>();

  constructor(src: CompileSources, memo: CompileMemo | undefined) {
    this.src = src;
    this.memo = memo;
  }

  /** Keep only the backends this compile used for the next one. */
  finish(): void {
    if (this.memo) this.memo.backends = this.used;
  }

  externalNames(): string[] {
    return [...this.names].sort();
  }

  resolve(ing: Ingress, b: IngressBackend): Backend {
    const ns = ing.metadata?.namespace ?? 'default';
    const svcName = b.service!.name;
    const portRef: number | string = b.service!.port?.name || (b.service!.port?.number ?? 0);
    const key = `${ns}/${svcName}:${portRef}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    let backend: Backend;
    if (this.memo) {
      const svc = this.src.service(ns, svcName);
      const slices = [...this.src.endpointSlices(ns, svcName)];
      const target = svc?.spec?.type === 'ExternalName' ? (svc.spec.externalName ?? '') : undefined;
      const ips = target === undefined ? undefined : this.src.resolveName?.(target);
      if (target !== undefined) this.names.add(target);
      const prev = this.memo.backends.get(key);
      if (prev && prev.svc === svc && prev.ips === ips && sameRefs(prev.slices, slices))
        backend = prev.backend;
      else backend = this.build(ns, svcName, portRef, key);
      this.used.set(key, { svc, slices, ips, backend });
    } else backend = this.build(ns, svcName, portRef, key);
    this.cache.set(key, backend);
    return backend;
  }

  private build(ns: string, name: string, portRef: number | string, key: string): Backend {
    const base = { key, namespace: ns, service: name, servicePort: portRef };
    const unavailable = (reason: string): Backend => ({ ...base, endpoints: [], unavailableReason: reason });
    const svc = this.src.service(ns, name);
    if (!svc) return unavailable(`service "${ns}/${name}" not found`);
    const ports = svc.spec?.ports ?? [];
    const sp = ports.find((p) => (typeof portRef === 'number' ? p.port === portRef : p.name === portRef));
    if (svc.spec?.type === 'ExternalName') {
      const target = svc.spec.externalName ?? '';
      let port = typeof portRef === 'number' ? portRef : 0;
      if (sp) port = typeof sp.targetPort === 'number' && sp.targetPort > 0 ? sp.targetPort : sp.port;
      if (!port) return unavailable(`service "${ns}/${name}" has no port named "${portRef}"`);
      this.names.add(target);
      const ips = this.src.resolveName?.(target);
      if (!ips || ips.length === 0)
        return unavailable(`ExternalName "${target}" of service "${ns}/${name}" has no address (yet)`);
      return { ...base, endpoints: ips.map((ip) => ({ ip, port })) };
    }
    if (!sp)
      return unavailable(
        typeof portRef === 'number'
          ? `service "${ns}/${name}" has no port ${portRef}`
          : `service "${ns}/${name}" has no port named "${portRef}"`,
      );
    const all = this.endpointsOf(ns, name);
    const eps = all.get(
      servicePortKey(servicePortName(`${ns}/${name}`, sp.name ?? ''), (sp.protocol ?? 'TCP') as Protocol),
    );
    const usable = usableEndpoints(eps ?? []);
    if (usable.length === 0)
      return unavailable(`no ready endpoints for service "${ns}/${name}" port ${sp.name || sp.port}`);
    const endpoints: UpstreamEndpoint[] = usable.map((e) => ({ ip: e.ip, port: e.port }));
    return { ...base, endpoints };
  }

  private endpointsOf(ns: string, name: string) {
    const k = `${ns}/${name}`;
    let m = this.merged.get(k);
    if (!m) {
      const slims: SlimSlice[] = [];
      for (const s of this.src.endpointSlices(ns, name)) {
        const slim = slimSlice(s);
        if (slim) slims.push(slim);
      }
      m = mergeSlices(slims);
      this.merged.set(k, m);
    }
    return m;
  }
}

function sameRefs<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
