/**
 * What to do with a request, decided from its head and the route table alone (no I/O): the
 * route, ssl redirect, allow-list, body limit, canary, rewrite-target and the forwarded headers.
 * Shared by every data-path candidate so they differ only in how bytes move.
 */
import { parseIp } from '../../service-proxy/cidr.js';
import type { Backend, Route, RouteMatch, RouteTable } from '../route-table.js';

/** What the policy needs to know about a request (any candidate can fill it). */
export interface RequestFacts {
  method: string;
  /** Request target as received. */
  target: string;
  /** Host header as received ('' when absent). */
  hostHeader: string;
  contentLength: number;
  /** Header lookup by lower-case name. */
  header(lower: string): string | undefined;
  remoteIp: string;
  secure: boolean;
}

export type Decision =
  | {
      kind: 'local';
      status: number;
      reason: string;
      location?: string | undefined;
      route?: Route | undefined;
    }
  | {
      kind: 'proxy';
      route: Route;
      backend: Backend;
      canary: boolean;
      /** The target sent upstream (after rewrite-target), with the query. */
      target: string;
    };

/** Host header -> lower-case host without port (as RouteTable.match expects). */
export function hostOnly(hostHeader: string): string {
  let h = hostHeader;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(0, end + 1) : h;
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}

/** `::ffff:1.2.3.4` -> `1.2.3.4`; other addresses as they are. */
export function plainIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

interface ParsedCidr {
  value: bigint;
  bits: 32 | 128;
  shift: bigint;
}
const cidrCache = new WeakMap<readonly string[], ParsedCidr[]>();

function parsedRanges(ranges: readonly string[]): ParsedCidr[] {
  let out = cidrCache.get(ranges);
  if (out) return out;
  out = [];
  for (const r of ranges) {
    const [base, len] = r.trim().split('/') as [string, string | undefined];
    const p = parseIp(base);
    if (!p) continue;
    const n = len === undefined ? p.bits : Number(len);
    if (!Number.isInteger(n) || n < 0 || n > p.bits) continue;
    const shift = BigInt(p.bits - n);
    out.push({ value: p.value >> shift, bits: p.bits, shift });
  }
  cidrCache.set(ranges, out);
  return out;
}

/** True when `ip` is in one of `ranges` (CIDRs or bare addresses); unparsable ranges match nothing. */
export function allowed(ranges: readonly string[], ip: string): boolean {
  const a = parseIp(ip);
  if (!a) return false;
  for (const r of parsedRanges(ranges)) if (r.bits === a.bits && a.value >> r.shift === r.value) return true;
  return false;
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** ingress-nginx's canary order: header, then cookie, then weight. */
export function useCanary(route: Route, facts: RequestFacts, random: () => number): boolean {
  const c = route.canary;
  if (!c || c.backend.endpoints.length === 0) return false;
  if (c.header) {
    const v = facts.header(c.header.toLowerCase());
    if (v !== undefined) {
      if (c.headerValue !== undefined && c.headerValue !== '') {
        if (v === c.headerValue) return true;
      } else if (v === 'always') return true;
      else if (v === 'never') return false;
    }
  }
  if (c.cookie) {
    const v = cookieValue(facts.header('cookie'), c.cookie);
    if (v === 'always') return true;
    if (v === 'never') return false;
  }
  return c.weight > 0 && random() * (c.weightTotal || 100) < c.weight;
}

/** rewrite-target with `$1`..`$9` from the captures; the original query is kept as nginx does. */
export function rewrite(
  target: string,
  rewriteTarget: string,
  captures: readonly string[] | undefined,
): string {
  const q = target.indexOf('?');
  const query = q >= 0 ? target.slice(q + 1) : '';
  let t = rewriteTarget.replace(/\$(\d)/g, (_, d: string) => captures?.[Number(d)] ?? '');
  if (!t.startsWith('/')) t = `/${t}`;
  if (query === '') return t;
  return t.includes('?') ? `${t}&${query}` : `${t}?${query}`;
}

/** A request target in origin-form (`/path?query`), also from absolute-form. */
export function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  const scheme = target.indexOf('://');
  if (scheme <= 0) return target;
  const slash = target.indexOf('/', scheme + 3);
  if (slash >= 0) return target.slice(slash);
  const q = target.indexOf('?', scheme + 3);
  return q >= 0 ? `/${target.slice(q)}` : '/';
}

/** The path of a request target, without the query. */
export function targetPath(target: string): string {
  const t = originForm(target);
  const q = t.indexOf('?');
  return q >= 0 ? t.slice(0, q) : t;
}

export interface DecideOptions {
  /** The port HTTPS is reachable on, for redirects (443 is omitted from the URL). */
  httpsPort: number;
  random: () => number;
}

/** Decide what to do with a request. */
export function decide(table: RouteTable | undefined, facts: RequestFacts, options: DecideOptions): Decision {
  const host = hostOnly(facts.hostHeader);
  const path = targetPath(facts.target);
  const m: RouteMatch | undefined = table?.match(host, path);
  if (!m)
    return { kind: 'local', status: 404, reason: `no Ingress rule matches host "${host}" path "${path}"` };
  const route = m.route;
  const o = route.options;
  if (o.allowSourceRanges.length > 0 && !allowed(o.allowSourceRanges, facts.remoteIp))
    return {
      kind: 'local',
      status: 403,
      reason: `client ${facts.remoteIp} is not in the allowed source ranges of Ingress ${route.ingress}`,
      route,
    };
  if (!facts.secure && (o.forceSslRedirect || (route.tls && o.sslRedirect))) {
    const port = options.httpsPort === 443 ? '' : `:${options.httpsPort}`;
    const h = facts.hostHeader.startsWith('[') ? hostOnly(facts.hostHeader) : host;
    return {
      kind: 'local',
      status: 308,
      reason: `Ingress ${route.ingress} redirects HTTP to HTTPS`,
      location: `https://${h}${port}${originForm(facts.target)}`,
      route,
    };
  }
  if (o.maxBodyBytes > 0 && facts.contentLength > o.maxBodyBytes)
    return {
      kind: 'local',
      status: 413,
      reason: `request body of ${facts.contentLength} bytes is over the limit of ${o.maxBodyBytes} bytes (proxy-body-size) of Ingress ${route.ingress}`,
      route,
    };
  const canary = useCanary(route, facts, options.random);
  const backend = canary ? route.canary!.backend : route.backend;
  let target = originForm(facts.target);
  if (o.rewriteTarget !== undefined && o.rewriteTarget !== '')
    target = rewrite(target, o.rewriteTarget, m.captures);
  if (backend.endpoints.length === 0)
    return {
      kind: 'local',
      status: 503,
      reason: `no endpoints available for service "${backend.namespace}/${backend.service}" port ${backend.servicePort}${backend.unavailableReason ? ` (${backend.unavailableReason})` : ''}`,
      route,
    };
  return { kind: 'proxy', route, backend, canary, target };
}
