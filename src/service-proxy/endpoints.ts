/**
 * EndpointSlice -> slim slice, and the merge of a service's slices into endpoints per service
 * port (deduplicated by ip:port, sorted so that rendering is deterministic). Upstream reads only
 * the first address of an endpoint; FQDN slices are ignored.
 */
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { type EndpointInfo, endpointString, type Protocol, servicePortKey } from './model.js';
import { servicePortName } from './service-port.js';

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

/** What the proxy keeps of one EndpointSlice. */
export interface SlimSlice {
  /** `namespace/name` of the owning Service. */
  readonly service: string;
  readonly name: string;
  readonly ports: readonly { name: string; port: number; protocol: Protocol }[];
  readonly endpoints: readonly EndpointInfoNoPort[];
  /** ms since epoch, from the last-change-trigger-time annotation, if any. */
  readonly triggerTime: number | undefined;
}

type EndpointInfoNoPort = Omit<EndpointInfo, 'port'>;

/** The owning service (`namespace/name`) of a slice, or undefined when it has none. */
export function sliceServiceKey(slice: EndpointSlice): string | undefined {
  const svc = slice.metadata?.labels?.[LABEL_SERVICE_NAME];
  return svc ? `${slice.metadata?.namespace ?? 'default'}/${svc}` : undefined;
}

/** The slim copy of a slice, or undefined for slices the proxy ignores (FQDN, no service label). */
export function slimSlice(slice: EndpointSlice): SlimSlice | undefined {
  const service = sliceServiceKey(slice);
  if (!service || slice.addressType === 'FQDN') return undefined;
  const ports = (slice.ports ?? [])
    .filter((p) => typeof p.port === 'number')
    .map((p) => ({ name: p.name ?? '', port: p.port!, protocol: (p.protocol ?? 'TCP') as Protocol }));
  const endpoints: EndpointInfoNoPort[] = [];
  for (const e of slice.endpoints ?? []) {
    const ip = e.addresses?.[0];
    if (!ip) continue;
    const ready = e.conditions?.ready ?? true;
    endpoints.push({
      ip,
      ready,
      serving: e.conditions?.serving ?? ready,
      terminating: e.conditions?.terminating ?? false,
      nodeName: e.nodeName ?? '',
    });
  }
  const t = slice.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
  const parsed = t ? Date.parse(t) : Number.NaN;
  return {
    service,
    name: slice.metadata?.name ?? '',
    ports,
    endpoints,
    triggerTime: Number.isNaN(parsed) ? undefined : parsed,
  };
}

/** Endpoints per servicePortKey of one service, merged from all its slices. */
export function mergeSlices(slices: Iterable<SlimSlice>): Map<string, EndpointInfo[]> {
  const byPort = new Map<string, Map<string, EndpointInfo>>();
  for (const s of slices) {
    for (const p of s.ports) {
      const key = servicePortKey(servicePortName(s.service, p.name), p.protocol);
      let eps = byPort.get(key);
      if (!eps) byPort.set(key, (eps = new Map()));
      for (const e of s.endpoints) {
        const ep: EndpointInfo = { ...e, port: p.port };
        const id = endpointString(ep);
        // A duplicate across slices (a pod moving between slices): prefer the ready copy.
        const prev = eps.get(id);
        if (!prev || (!prev.ready && ep.ready)) eps.set(id, ep);
      }
    }
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [k, eps] of byPort) {
    const list = [...eps.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
    out.set(k, list);
  }
  return out;
}

/** Deep equality of two endpoint lists (same order). */
export function sameEndpoints(a: readonly EndpointInfo[], b: readonly EndpointInfo[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (
      x.ip !== y.ip ||
      x.port !== y.port ||
      x.ready !== y.ready ||
      x.serving !== y.serving ||
      x.terminating !== y.terminating ||
      x.nodeName !== y.nodeName
    )
      return false;
  }
  return true;
}
