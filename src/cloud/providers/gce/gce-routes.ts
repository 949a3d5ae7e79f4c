/**
 * Pod CIDR routes in the VPC network: one route per node podCIDR with the node's instance as next
 * hop, named `k8s-<cluster>-<node uid>` and marked as the cluster's in the description (only
 * those are listed, so only those can be deleted).
 */
import type { Route, Routes } from '../../provider.js';
import type { GceApi } from './gce-api.js';
import {
  GCE_API_BASE,
  lastSegment,
  ownedBy,
  ownerDescription,
  parseGceProviderId,
  routeName,
} from './gce-naming.js';

export class GceRoutes implements Routes {
  private readonly api: GceApi;
  private readonly project: string;
  private readonly zone: string;
  private readonly network: string;

  constructor(api: GceApi, opts: { project: string; zone: string; network?: string | undefined }) {
    this.api = api;
    this.project = opts.project;
    this.zone = opts.zone;
    const n = opts.network ?? 'default';
    this.network = n.includes('/') ? n : `${GCE_API_BASE}projects/${opts.project}/global/networks/${n}`;
  }

  async listRoutes(clusterName: string): Promise<Route[]> {
    const [items] = (await this.api.routes.list({ project: this.project })) as unknown as [
      Record<string, any>[],
    ];
    return (items ?? [])
      .filter((r) => ownedBy(r.description, clusterName) && r.nextHopInstance)
      .map((r) => ({
        name: r.name,
        targetNode: '',
        targetInstance: lastSegment(r.nextHopInstance),
        destinationCIDR: r.destRange,
      }));
  }

  async createRoute(
    clusterName: string,
    nameHint: string,
    route: Omit<Route, 'name'> & { targetProviderID?: string | undefined },
  ): Promise<void> {
    const zone = parseGceProviderId(route.targetProviderID)?.zone ?? this.zone;
    await this.api.waitOp(
      this.api.routes.insert({
        project: this.project,
        routeResource: {
          name: routeName(clusterName, nameHint),
          description: ownerDescription(clusterName),
          network: this.network,
          destRange: route.destinationCIDR,
          nextHopInstance: `${GCE_API_BASE}projects/${this.project}/zones/${zone}/instances/${lastSegment(route.targetInstance)}`,
          priority: 1000,
        },
      }),
      this.project,
    );
  }

  async deleteRoute(clusterName: string, route: Route): Promise<void> {
    const [cur] = (await this.api.routes.get({ project: this.project, route: route.name })) as unknown as [
      Record<string, any>,
    ];
    if (!ownedBy(cur?.description, clusterName)) return;
    await this.api.waitOp(this.api.routes.delete({ project: this.project, route: route.name }), this.project);
  }
}
