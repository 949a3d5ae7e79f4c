/**
 * Ingress annotations -> RouteOptions, canary settings and the regex switch, accepted under
 * `k8ts.io/<name>` and `nginx.ingress.kubernetes.io/<name>` (the k8ts.io one wins when both are
 * set), with ingress-nginx's value syntax and defaults. Pure: a bad value becomes a warning (the
 * controller turns it into a Warning event on the Ingress) and the default is used, except for an
 * invalid allow list, which denies the Ingress's paths as ingress-nginx does (fail closed).
 */
import { isIP } from 'node:net';
import type { RouteOptions } from './route-table.js';

export const K8TS_PREFIX = 'k8ts.io/';
export const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';

/** nginx's client_max_body_size default, which ingress-nginx keeps: 1m. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_AFFINITY_COOKIE = 'INGRESSCOOKIE';

/** The options of a path whose Ingress sets no annotation. */
export const DEFAULT_ROUTE_OPTIONS: RouteOptions = Object.freeze({
  sslRedirect: true,
  forceSslRedirect: false,
  backendProtocol: 'HTTP',
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  connectTimeoutMs: 5_000,
  readTimeoutMs: 60_000,
  sendTimeoutMs: 60_000,
  allowSourceRanges: Object.freeze([]) as readonly string[],
  loadBalance: 'round_robin',
  retries: 3,
});

/** The canary settings of an Ingress annotated `canary: "true"` (its backend comes from its rules). */
export interface CanarySettings {
  weight: number;
  weightTotal: number;
  header?: string | undefined;
  headerValue?: string | undefined;
  cookie?: string | undefined;
}

export interface IngressAnnotations {
  options: RouteOptions;
  /** use-regex, or implied by rewrite-target (applies to every path of the Ingress's hosts). */
  useRegex: boolean;
  canary?: CanarySettings | undefined;
  /** Set when the paths must be denied (an allow list with no valid entry): the reason. */
  denied?: string | undefined;
  /** One line per annotation whose value was not usable. */
  warnings: string[];
}

type Annotations = Readonly<Record<string, string>> | undefined;

/** The value of an annotation under either prefix (k8ts.io first) and the full key it came from. */
function lookup(a: Annotations, name: string): { key: string; value: string } | undefined {
  if (!a) return undefined;
  const k = a[K8TS_PREFIX + name];
  if (k !== undefined) return { key: K8TS_PREFIX + name, value: k };
  const n = a[NGINX_PREFIX + name];
  return n !== undefined ? { key: NGINX_PREFIX + name, value: n } : undefined;
}

/** Go's strconv.ParseBool, which ingress-nginx uses for boolean annotations. */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(s)) return false;
  return undefined;
}

/** nginx size syntax (`0`, `512`, `8k`, `1m`, `2g`, optional `b`): bytes, or undefined when invalid. */
export function parseNginxSize(s: string): number | undefined {
  const m = /^(\d+)([bBkKmMgG]?)$/.exec(s.trim());
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}

/** An IPv4/IPv6 CIDR or a bare address (a host prefix), as Go's net.ParseCIDR / ParseIP accept. */
export function isCidrOrIp(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return isIP(s) !== 0;
  const ip = s.slice(0, slash);
  const len = s.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^\d{1,3}$/.test(len)) return false;
  return Number(len) <= (family === 4 ? 32 : 128);
}

function nonNegativeInt(s: string): number | undefined {
  const t = s.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** Parse every supported annotation of one Ingress. */
export function parseAnnotations(a: Annotations): IngressAnnotations {
  const warnings: string[] = [];
  const o: RouteOptions = { ...DEFAULT_ROUTE_OPTIONS };
  const bad = (key: string, value: string, why: string, fallback?: string) =>
    warnings.push(
      `annotation ${key}: ${why}, got "${value}"${fallback === undefined ? '' : `; using ${fallback}`}`,
    );

  const bool = (name: string, def: boolean): boolean => {
    const v = lookup(a, name);
    if (!v) return def;
    const b = parseGoBool(v.value.trim());
    if (b === undefined) {
      bad(v.key, v.value, 'expected "true" or "false"', String(def));
      return def;
    }
    return b;
  };
  const seconds = (name: string, defMs: number): number => {
    const v = lookup(a, name);
    if (!v) return defMs;
    const n = nonNegativeInt(v.value);
    if (n === undefined) {
      bad(v.key, v.value, 'expected a whole number of seconds', `${defMs / 1000}`);
      return defMs;
    }
    return n * 1000;
  };

  const rewrite = lookup(a, 'rewrite-target');
  if (rewrite && rewrite.value !== '') o.rewriteTarget = rewrite.value;
  const useRegex = bool('use-regex', false) || o.rewriteTarget !== undefined;
  o.sslRedirect = bool('ssl-redirect', true);
  o.forceSslRedirect = bool('force-ssl-redirect', false);

  const proto = lookup(a, 'backend-protocol');
  if (proto) {
    const p = proto.value.trim().toUpperCase();
    if (p === 'HTTP' || p === 'HTTPS') o.backendProtocol = p;
    else if (['GRPC', 'GRPCS', 'AUTO_HTTP', 'FCGI'].includes(p))
      bad(proto.key, proto.value, 'not supported by k8ts (HTTP and HTTPS are)', 'HTTP');
    else bad(proto.key, proto.value, 'expected HTTP or HTTPS', 'HTTP');
  }

  const size = lookup(a, 'proxy-body-size');
  if (size) {
    const n = parseNginxSize(size.value);
    if (n === undefined) bad(size.key, size.value, 'expected a size such as 0, 8k, 1m or 1g', '1m');
    else o.maxBodyBytes = n;
  }
  o.connectTimeoutMs = seconds('proxy-connect-timeout', o.connectTimeoutMs);
  o.readTimeoutMs = seconds('proxy-read-timeout', o.readTimeoutMs);
  o.sendTimeoutMs = seconds('proxy-send-timeout', o.sendTimeoutMs);

  const affinity = lookup(a, 'affinity');
  if (affinity && affinity.value.trim() !== '') {
    if (affinity.value.trim() !== 'cookie')
      bad(affinity.key, affinity.value, 'only "cookie" is supported', 'none');
    else {
      const name = lookup(a, 'session-cookie-name')?.value.trim();
      const maxAge = lookup(a, 'session-cookie-max-age');
      const path = lookup(a, 'session-cookie-path')?.value.trim();
      let maxAgeSeconds: number | undefined;
      if (maxAge) {
        maxAgeSeconds = nonNegativeInt(maxAge.value);
        if (maxAgeSeconds === undefined)
          bad(maxAge.key, maxAge.value, 'expected a whole number of seconds', 'a session cookie');
      }
      o.affinity = { cookieName: name || DEFAULT_AFFINITY_COOKIE };
      if (maxAgeSeconds !== undefined) o.affinity.maxAgeSeconds = maxAgeSeconds;
      if (path) o.affinity.path = path;
    }
  }

  let denied: string | undefined;
  const allow = lookup(a, 'allowlist-source-range') ?? lookup(a, 'whitelist-source-range');
  if (allow) {
    const entries = allow.value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const valid = entries.filter(isCidrOrIp);
    const invalid = entries.filter((e) => !isCidrOrIp(e));
    if (valid.length === 0) {
      // ingress-nginx denies the location (503) when no entry parses: never open it to everyone.
      denied = `annotation ${allow.key} has no valid IP address or network ("${allow.value}")`;
      warnings.push(`${denied}; the paths of this Ingress answer 503 until it is fixed`);
    } else {
      if (invalid.length > 0)
        bad(
          allow.key,
          allow.value,
          `invalid entries ${invalid.map((e) => `"${e}"`).join(', ')}`,
          'the valid ones',
        );
      o.allowSourceRanges = [...new Set(valid)].sort();
    }
  }

  const lb = lookup(a, 'load-balance');
  if (lb) {
    const v = lb.value.trim();
    if (v === 'round_robin' || v === 'ewma') o.loadBalance = v;
    else bad(lb.key, lb.value, 'expected round_robin or ewma', 'round_robin');
  }
  const tries = lookup(a, 'proxy-next-upstream-tries');
  if (tries) {
    const n = nonNegativeInt(tries.value);
    if (n === undefined) bad(tries.key, tries.value, 'expected a whole number', '3');
    else o.retries = n;
  }

  const canary = bool('canary', false) ? parseCanary(a, warnings) : undefined;
  return { options: o, useRegex, canary, denied, warnings };
}

function parseCanary(a: Annotations, warnings: string[]): CanarySettings {
  const int = (name: string, def: number): number => {
    const v = lookup(a, name);
    if (!v) return def;
    const n = nonNegativeInt(v.value);
    if (n === undefined) {
      warnings.push(`annotation ${v.key}: expected a whole number, got "${v.value}"; using ${def}`);
      return def;
    }
    return n;
  };
  const weightTotal = int('canary-weight-total', 100) || 100;
  let weight = int('canary-weight', 0);
  if (weight > weightTotal) {
    warnings.push(`canary weight ${weight} is above the total ${weightTotal}; using ${weightTotal}`);
    weight = weightTotal;
  }
  const out: CanarySettings = { weight, weightTotal };
  const header = lookup(a, 'canary-by-header')?.value.trim();
  const headerValue = lookup(a, 'canary-by-header-value')?.value;
  const cookie = lookup(a, 'canary-by-cookie')?.value.trim();
  if (header) out.header = header;
  if (header && headerValue) out.headerValue = headerValue;
  if (cookie) out.cookie = cookie;
  return out;
}
