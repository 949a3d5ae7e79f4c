/**
 * Builders of API objects for the ingress unit tests, and CompileSources over plain lists.
 */
import type { Secret, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass, IngressRule } from 'kubernetes-types/networking/v1.js';
import type { CompileSources } from '../compile.js';
import { defaultIngressClass } from '../ingress-class.js';

export interface PathSpec {
  path: string;
  pathType?: 'Exact' | 'Prefix' | 'ImplementationSpecific';
  service: string;
  port?: number | string;
}

/** An Ingress; `rules` maps host ('' for none) to its paths. */
export function ingress(
  name: string,
  opts: {
    namespace?: string;
    created?: string;
    className?: string | null;
    annotations?: Record<string, string>;
    rules?: Record<string, PathSpec[]>;
    defaultBackend?: { service: string; port?: number | string };
    tls?: { hosts?: string[]; secretName?: string }[];
  } = {},
): Ingress {
  const rules: IngressRule[] = Object.entries(opts.rules ?? {}).map(([host, paths]) => ({
    ...(host ? { host } : {}),
    http: {
      paths: paths.map((p) => ({
        path: p.path,
        pathType: p.pathType ?? 'Prefix',
        backend: { service: { name: p.service, port: portOf(p.port ?? 80) } },
      })),
    },
  }));
  const ing: Ingress = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace: opts.namespace ?? 'default',
      uid: `uid-${name}`,
      creationTimestamp: opts.created ?? '2026-01-01T00:00:00Z',
      annotations: opts.annotations ?? {},
    },
    spec: { rules },
  };
  if (opts.className !== null) ing.spec!.ingressClassName = opts.className ?? 'k8ts';
  if (opts.defaultBackend)
    ing.spec!.defaultBackend = {
      service: { name: opts.defaultBackend.service, port: portOf(opts.defaultBackend.port ?? 80) },
    };
  if (opts.tls) ing.spec!.tls = opts.tls;
  return ing;
}

function portOf(p: number | string): { number: number } | { name: string } {
  return typeof p === 'number' ? { number: p } : { name: p };
}

/** A ClusterIP Service with ports `{name, port, targetPort}`. */
export function service(
  name: string,
  ports: { name?: string; port: number; targetPort?: number | string }[] = [{ name: 'http', port: 80 }],
  opts: { namespace?: string; type?: string; externalName?: string } = {},
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: opts.namespace ?? 'default' },
    spec: {
      type: opts.type ?? 'ClusterIP',
      ...(opts.externalName ? { externalName: opts.externalName } : {}),
      ports: ports.map((p) => ({ ...p, protocol: 'TCP' })),
    },
  };
}

/** An EndpointSlice of a Service: ports by name, endpoints `{ip, ready?, serving?, terminating?}`. */
export function slice(
  svc: string,
  ports: { name?: string; port: number }[],
  endpoints: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean }[],
  opts: { namespace?: string; name?: string } = {},
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: opts.name ?? `${svc}-abc`,
      namespace: opts.namespace ?? 'default',
      labels: { 'kubernetes.io/service-name': svc },
    },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ ...p, protocol: 'TCP' })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: {
        ready: e.ready ?? true,
        ...(e.serving === undefined ? {} : { serving: e.serving }),
        ...(e.terminating === undefined ? {} : { terminating: e.terminating }),
      },
    })),
  };
}

/** A kubernetes.io/tls Secret. */
export function tlsSecret(name: string, certPem: string, keyPem: string, namespace = 'default'): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(certPem).toString('base64'),
      'tls.key': Buffer.from(keyPem).toString('base64'),
    },
  };
}

/** CompileSources over lists (the `k8ts` default class unless `classes` is given). */
export function sources(o: {
  classes?: IngressClass[];
  ingresses: Ingress[];
  services?: Service[];
  slices?: EndpointSlice[];
  secrets?: Secret[];
  resolve?: Record<string, string[]>;
}): CompileSources {
  const find = <T extends { metadata?: { namespace?: string; name?: string } }>(
    list: T[] | undefined,
    ns: string,
    name: string,
  ) => list?.find((x) => x.metadata?.namespace === ns && x.metadata?.name === name);
  return {
    ingressClasses: o.classes ?? [defaultIngressClass()],
    ingresses: o.ingresses,
    service: (ns, name) => find(o.services, ns, name),
    endpointSlices: (ns, svc) =>
      (o.slices ?? []).filter(
        (s) => s.metadata?.namespace === ns && s.metadata?.labels?.['kubernetes.io/service-name'] === svc,
      ),
    secret: (ns, name) => find(o.secrets, ns, name),
    resolveName: (h) => o.resolve?.[h],
  };
}
