/**
 * Objects every cluster has from the first start: the system namespaces and the `kubernetes`
 * Service in `default` with its Endpoints and EndpointSlice pointing at this API server. Written
 * through the registry (the API server's own store) and idempotent across restarts.
 */
import { resourceForPlural } from '../api/resources.js';
import { ApiError } from './errors.js';
import type { KObj, Registry, WriteContext } from './registry.js';

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const CTX: WriteContext = { manager: 'kube-apiserver', dryRun: false };

async function ensure(registry: Registry, plural: string, group: string, obj: KObj): Promise<void> {
  const info = resourceForPlural(group, 'v1', plural)!;
  const ns = obj.metadata.namespace as string | undefined;
  try {
    const cur = await registry.get(info, ns, obj.metadata.name);
    const want: KObj = {
      ...cur,
      ...obj,
      metadata: { ...cur.metadata, labels: obj.metadata.labels ?? cur.metadata.labels },
    };
    if (plural === 'services') want.spec = { ...cur.spec, ports: obj.spec.ports };
    if (plural !== 'namespaces') await registry.update(info, ns, obj.metadata.name, want, CTX);
  } catch (e) {
    if (!(e instanceof ApiError && e.httpCode === 404)) throw e;
    await registry.create(info, ns, structuredClone(obj), CTX);
  }
}

/** Create or refresh the bootstrap objects. */
export async function ensureBootstrapObjects(
  registry: Registry,
  opts: { advertiseAddress: string; port: number; serviceIp?: string },
): Promise<void> {
  for (const name of SYSTEM_NAMESPACES) await ensure(registry, 'namespaces', '', { metadata: { name } });
  const labels = { component: 'apiserver', provider: 'kubernetes' };
  await ensure(registry, 'services', '', {
    metadata: { name: 'kubernetes', namespace: 'default', labels },
    spec: {
      type: 'ClusterIP',
      clusterIP: opts.serviceIp ?? '10.43.0.1',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: opts.port }],
      sessionAffinity: 'None',
    },
  });
  await ensure(registry, 'endpoints', '', {
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
    },
    subsets: [
      {
        addresses: [{ ip: opts.advertiseAddress }],
        ports: [{ name: 'https', port: opts.port, protocol: 'TCP' }],
      },
    ],
  });
  await ensure(registry, 'endpointslices', 'discovery.k8s.io', {
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: {
        'kubernetes.io/service-name': 'kubernetes',
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [opts.advertiseAddress], conditions: { ready: true } }],
    ports: [{ name: 'https', port: opts.port, protocol: 'TCP' }],
  });
}
