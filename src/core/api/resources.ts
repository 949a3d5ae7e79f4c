/**
 * The built-in resource kinds the API server serves: names, scope and subresources. Discovery,
 * OpenAPI, storage keys, tables and validation all key off this one list.
 */

export interface ResourceInfo {
  /** API group; '' for the legacy core group. */
  group: string;
  version: string;
  kind: string;
  /** Plural resource name used in URLs (`pods`). */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Subresources served: `status`, `scale`, `binding`, and the kubelet's (`log`, `exec`, `proxy`, ...). */
  subresources: string[];
  /** Kind of the list type (`PodList`). */
  listKind: string;
}

const all = ['all'];

function res(
  group: string,
  version: string,
  kind: string,
  opts: {
    plural?: string;
    namespaced?: boolean;
    shortNames?: string[];
    categories?: string[];
    sub?: string[];
  },
): ResourceInfo {
  const plural = opts.plural ?? `${kind.toLowerCase()}s`;
  return {
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced: opts.namespaced ?? true,
    shortNames: opts.shortNames ?? [],
    categories: opts.categories ?? [],
    subresources: opts.sub ?? [],
    listKind: `${kind}List`,
  };
}

/** Every served resource, in discovery order. */
export const RESOURCES: readonly ResourceInfo[] = [
  res('', 'v1', 'Namespace', { namespaced: false, shortNames: ['ns'], sub: ['status', 'finalize'] }),
  res('', 'v1', 'Pod', {
    shortNames: ['po'],
    categories: all,
    sub: ['status', 'binding', 'log', 'exec', 'attach', 'portforward'],
  }),
  res('', 'v1', 'Service', { shortNames: ['svc'], categories: all, sub: ['status'] }),
  res('', 'v1', 'Endpoints', { plural: 'endpoints', shortNames: ['ep'] }),
  res('', 'v1', 'Node', { namespaced: false, shortNames: ['no'], sub: ['status', 'proxy'] }),
  res('', 'v1', 'ConfigMap', { shortNames: ['cm'] }),
  res('', 'v1', 'Secret', {}),
  res('', 'v1', 'ServiceAccount', { shortNames: ['sa'] }),
  res('', 'v1', 'Event', { shortNames: ['ev'] }),
  res('apps', 'v1', 'Deployment', { shortNames: ['deploy'], categories: all, sub: ['status', 'scale'] }),
  res('apps', 'v1', 'ReplicaSet', { shortNames: ['rs'], categories: all, sub: ['status', 'scale'] }),
  res('apps', 'v1', 'DaemonSet', { shortNames: ['ds'], categories: all, sub: ['status'] }),
  res('apps', 'v1', 'StatefulSet', { shortNames: ['sts'], categories: all, sub: ['status', 'scale'] }),
  res('apps', 'v1', 'ControllerRevision', {}),
  res('batch', 'v1', 'Job', { categories: all, sub: ['status'] }),
  res('batch', 'v1', 'CronJob', { shortNames: ['cj'], categories: all, sub: ['status'] }),
  res('networking.k8s.io', 'v1', 'Ingress', { plural: 'ingresses', shortNames: ['ing'], sub: ['status'] }),
  res('networking.k8s.io', 'v1', 'IngressClass', { plural: 'ingressclasses', namespaced: false }),
  res('discovery.k8s.io', 'v1', 'EndpointSlice', {}),
  res('coordination.k8s.io', 'v1', 'Lease', {}),
  res('certificates.k8s.io', 'v1', 'CertificateSigningRequest', {
    namespaced: false,
    shortNames: ['csr'],
    sub: ['status', 'approval'],
  }),
];

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOf(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

const byKind = new Map<string, ResourceInfo>();
const byPlural = new Map<string, ResourceInfo>();
for (const r of RESOURCES) {
  byKind.set(`${apiVersionOf(r)}/${r.kind}`, r);
  byPlural.set(`${r.group}/${r.version}/${r.plural}`, r);
}

/** Look a resource up by apiVersion (`apps/v1`) and kind. */
export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return byKind.get(`${apiVersion}/${kind}`);
}

/** Look a resource up by group, version and plural name. */
export function resourceForPlural(group: string, version: string, plural: string): ResourceInfo | undefined {
  return byPlural.get(`${group}/${version}/${plural}`);
}

/** All group/version pairs, core first, in discovery order. */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Set<string>();
  const out: { group: string; version: string }[] = [];
  for (const r of RESOURCES) {
    const k = `${r.group}/${r.version}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ group: r.group, version: r.version });
    }
  }
  return out;
}
