/**
 * The `gce` cloud provider: L4 load balancers, instances and VPC routes. Project, zone and region
 * come from the flags or the metadata server; credentials from Application Default Credentials
 * (on a VM: its service account, see deploy/gce/README.md for the roles).
 */
import { GceMetadata } from '../../gce-metadata.js';
import type { CloudProvider } from '../../provider.js';
import { GceApi, type GceClientOptions } from './gce-api.js';
import { GceInstances } from './gce-instances.js';
import { GceLoadBalancer } from './gce-load-balancer.js';
import { GceRoutes } from './gce-routes.js';

export interface GceProviderOptions extends GceClientOptions {
  project?: string | undefined;
  zone?: string | undefined;
  network?: string | undefined;
  subnetwork?: string | undefined;
  nodeTags?: string[] | undefined;
  metadataEndpoint?: string | undefined;
}

/** Build the GCE provider (asks the metadata server for what is not given). */
export async function createGceProvider(opts: GceProviderOptions = {}): Promise<CloudProvider> {
  let { project, zone } = opts;
  if (!project || !zone) {
    const id = await new GceMetadata({ endpoint: opts.metadataEndpoint }).identity();
    project ??= id.project;
    zone ??= id.zone;
  }
  const region = zone.replace(/-[a-z]$/, '');
  const api = new GceApi(opts);
  const lb = new GceLoadBalancer({
    api,
    project,
    region,
    network: opts.network,
    subnetwork: opts.subnetwork,
    nodeTags: opts.nodeTags,
  });
  const instances = new GceInstances(api, { project, zone });
  const routes = new GceRoutes(api, { project, zone, network: opts.network });
  return {
    name: 'gce',
    providerIdPrefix: 'gce://',
    loadBalancer: () => lb,
    instances: () => instances,
    zones: () => ({ getZone: async () => ({ failureDomain: zone!, region }) }),
    routes: () => routes,
  };
}
