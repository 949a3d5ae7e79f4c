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
  // Per port: (id, endpoint) pairs, sorted by id, then adjacent duplicates dropped (a pod moving
  // between slices appears twice: the ready copy wins). No map per port: a full sync merges every
  // slice of every service, and this is most of the proxy's checkout time at 10,000 services.
  const byPort = new Map<string, { id: string; ep: EndpointInfo }[]>();
  for (const s of slices) {
    for (const p of s.ports) {
      const key = servicePortKey(servicePortName(s.service, p.name), p.protocol);
      let list = byPort.get(key);
      if (!list) byPort.set(key, (list = []));
      for (const e of s.endpoints) {
        const ep: EndpointInfo = {
          ip: e.ip,
          port: p.port,
          ready: e.ready,
          serving: e.serving,
          terminating: e.terminating,
          nodeName: e.nodeName,
        };
        list.push({ id: endpointString(ep), ep });
      }
    }
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [k, list] of byPort) {
    list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const eps: EndpointInfo[] = [];
    for (let i = 0; i < list.length; i++) {
      const cur = list[i]!;
      if (i > 0 && list[i - 1]!.id === cur.id) {
        const prev = eps[eps.length - 1]!;
        if (!prev.ready && cur.ep.ready) eps[eps.length - 1] = cur.ep;
        continue;
      }
      eps.push(cur.ep);
    }
    out.set(k, eps);
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
