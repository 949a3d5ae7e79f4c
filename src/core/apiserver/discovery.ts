/**
 * API discovery documents: the legacy ones (/api, /apis, /apis/<g>, /api/v1, /apis/<g>/<v>) and the
 * aggregated ones (apidiscovery.k8s.io v2 and v2beta1) that kubectl >= 1.26 asks for first.
 * Built once from the resource list; the server serves the cached strings.
 */
import { createHash } from 'node:crypto';
import { apiVersionOf, groupVersions, RESOURCES, type ResourceInfo } from '../api/resources.js';

const RESOURCE_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const SUBRESOURCE_VERBS = ['get', 'patch', 'update'];

interface SubresourceDoc {
  name: string;
  kind: string;
  group?: string;
  version?: string;
  verbs: string[];
}

function subresourceDocs(r: ResourceInfo): SubresourceDoc[] {
  return r.subresources.map((s) => {
    if (s === 'scale')
      return { name: s, kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: SUBRESOURCE_VERBS };
    if (s === 'binding') return { name: s, kind: 'Binding', verbs: ['create'] };
    if (s === 'finalize') return { name: s, kind: r.kind, verbs: ['update'] };
    // The kubelet's subresources, with upstream's kinds and connect verbs.
    if (s === 'log') return { name: s, kind: 'Pod', verbs: ['get'] };
    if (s === 'exec') return { name: s, kind: 'PodExecOptions', verbs: ['create', 'get'] };
    if (s === 'attach') return { name: s, kind: 'PodAttachOptions', verbs: ['create', 'get'] };
    if (s === 'portforward') return { name: s, kind: 'PodPortForwardOptions', verbs: ['create', 'get'] };
    if (s === 'proxy')
      return { name: s, kind: 'NodeProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] };
    return { name: s, kind: r.kind, verbs: SUBRESOURCE_VERBS };
  });
}

function storageVersionHash(r: ResourceInfo): string {
  return createHash('sha256').update(`${r.group}/${r.version}/${r.kind}`).digest('base64').slice(0, 11);
}

/** The APIResourceList of one group/version. */
export function apiResourceList(group: string, version: string): object | undefined {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const resources: object[] = [];
  for (const r of rs) {
    const doc: Record<string, unknown> = {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: RESOURCE_VERBS,
    };
    if (r.shortNames.length) doc.shortNames = r.shortNames;
    if (r.categories.length) doc.categories = r.categories;
    doc.storageVersionHash = storageVersionHash(r);
    resources.push(doc);
    for (const s of subresourceDocs(r)) {
      const sd: Record<string, unknown> = {
        name: `${r.plural}/${s.name}`,
        singularName: '',
        namespaced: r.namespaced,
      };
      if (s.group !== undefined) sd.group = s.group;
      if (s.version !== undefined) sd.version = s.version;
      sd.kind = s.kind;
      sd.verbs = s.verbs;
      resources.push(sd);
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group, version }),
    resources,
  };
}

/** /api */
export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDoc(name: string): object {
  const versions = groupVersions()
    .filter((gv) => gv.group === name)
    .map((gv) => ({ groupVersion: `${name}/${gv.version}`, version: gv.version }));
  return { name, versions, preferredVersion: versions[0] };
}

/** /apis */
export function apiGroupList(): object {
  const names = [...new Set(groupVersions().map((gv) => gv.group))].filter((g) => g !== '');
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: names.map(groupDoc) };
}

/** /apis/<group> */
export function apiGroup(name: string): object | undefined {
  if (name === '' || !groupVersions().some((gv) => gv.group === name)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(name) };
}

/** Aggregated discovery for /api (legacy core group) or /apis (all named groups). */
export function aggregatedDiscovery(which: 'api' | 'apis', apiVersion: 'v2' | 'v2beta1'): object {
  const groups = [...new Set(groupVersions().map((gv) => gv.group))].filter((g) =>
    which === 'api' ? g === '' : g !== '',
  );
  const items = groups.map((g) => ({
    metadata: g === '' ? { creationTimestamp: null } : { name: g, creationTimestamp: null },
    versions: groupVersions()
      .filter((gv) => gv.group === g)
      .map((gv) => ({
        version: gv.version,
        resources: RESOURCES.filter((r) => r.group === g && r.version === gv.version).map((r) => {
          const doc: Record<string, unknown> = {
            resource: r.plural,
            responseKind: { group: r.group, version: r.version, kind: r.kind },
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.singular,
            verbs: RESOURCE_VERBS,
          };
          if (r.shortNames.length) doc.shortNames = r.shortNames;
          if (r.categories.length) doc.categories = r.categories;
          const subs = subresourceDocs(r);
          if (subs.length)
            doc.subresources = subs.map((s) => ({
              subresource: s.name,
              responseKind: { group: s.group ?? r.group, version: s.version ?? r.version, kind: s.kind },
              verbs: s.verbs,
            }));
          return doc;
        }),
        freshness: 'Current',
      })),
  }));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
    metadata: {},
    items,
  };
}

/** The content type of an aggregated discovery answer. */
export function aggregatedContentType(apiVersion: 'v2' | 'v2beta1'): string {
  return `application/json;g=apidiscovery.k8s.io;v=${apiVersion};as=APIGroupDiscoveryList`;
}
