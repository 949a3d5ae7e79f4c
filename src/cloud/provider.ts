/**
 * The cloud provider interface, in the shape of k8s.io/cloud-provider's `Interface`: a provider
 * offers some of load balancers, instances (InstancesV2), zones and routes; the controllers use
 * only what it offers. Every method is given the cluster name so that resources are named and
 * tagged per cluster, and nothing of another cluster is ever touched.
 */
import type { Node, Service } from 'kubernetes-types/core/v1.js';

/** One entry of status.loadBalancer.ingress. */
export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
  ipMode?: 'VIP' | 'Proxy';
}

export interface LoadBalancerStatus {
  ingress: LoadBalancerIngress[];
}

/** What `getLoadBalancer` found. */
export interface ExistingLoadBalancer {
  exists: boolean;
  status?: LoadBalancerStatus | undefined;
}

/** Ready endpoints (pod IP and port) of one port of a service, by the service port's name. */
export type EndpointSource = (service: Service, servicePortName: string) => { ip: string; port: number }[];

/** Load balancers for `type: LoadBalancer` Services (cloudprovider.LoadBalancer). */
export interface LoadBalancer {
  /** Whether the service's load balancer exists and, if so, its status. */
  getLoadBalancer(clusterName: string, service: Service): Promise<ExistingLoadBalancer>;
  /** The name the provider gives the service's load balancer. */
  getLoadBalancerName(clusterName: string, service: Service): string;
  /** Create or converge the load balancer to the service and nodes; returns the status to publish. */
  ensureLoadBalancer(clusterName: string, service: Service, nodes: Node[]): Promise<LoadBalancerStatus>;
  /** Only the set of target nodes changed (the service spec is what was last ensured). */
  updateLoadBalancer(clusterName: string, service: Service, nodes: Node[]): Promise<void>;
  /** Delete everything the service's load balancer owns; succeeds if already gone. */
  ensureLoadBalancerDeleted(clusterName: string, service: Service): Promise<void>;
  /**
   * Optional (k8ts): called once, before the first sync, with every LoadBalancer service, so that
   * a provider that allocates addresses itself (local) keeps the ones already published.
   */
  restore?(clusterName: string, services: Service[]): void;
  /**
   * Optional: the published status depends on the nodes (the local provider without a pool), so a
   * node change re-ensures and rewrites the status instead of only updating hosts.
   */
  readonly nodesInStatus?: boolean;
  /**
   * Optional: the provider targets pods directly for some services (AWS nlb-target-type ip). The
   * service controller then installs a source of ready endpoints and treats their changes like
   * node changes.
   */
  usesEndpoints?(service: Service): boolean;
  setEndpointSource?(source: EndpointSource): void;
  /** Optional: the service belongs to another controller (e.g. AWS type `external`); skip it. */
  implementedElsewhere?(service: Service): boolean;
}

export interface NodeAddress {
  type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS';
  address: string;
}

/** What the node controller writes on a node (cloudprovider.InstanceMetadata). */
export interface InstanceMetadata {
  providerID: string;
  instanceType: string;
  nodeAddresses: NodeAddress[];
  zone: string;
  region: string;
}

/** Instances behind nodes (cloudprovider.InstancesV2). */
export interface Instances {
  /** False when the instance is gone for good (the node controller then deletes the Node). */
  instanceExists(node: Node): Promise<boolean>;
  instanceShutdown(node: Node): Promise<boolean>;
  instanceMetadata(node: Node): Promise<InstanceMetadata>;
}

export interface Zone {
  failureDomain: string;
  region: string;
}

/** The zone of this machine (cloudprovider.Zones). */
export interface Zones {
  getZone(): Promise<Zone>;
}

export interface Route {
  /** Provider's name of the route. */
  name: string;
  /** The node whose pods the route leads to ('' when the provider knows only the instance). */
  targetNode: string;
  /** The instance the route leads to: the last segment of the node's providerID (id or name). */
  targetInstance: string;
  destinationCIDR: string;
}

/** Routes to node pod CIDRs (cloudprovider.Routes). */
export interface Routes {
  /** Routes of this cluster only (owned by it). */
  listRoutes(clusterName: string): Promise<Route[]>;
  createRoute(
    clusterName: string,
    nameHint: string,
    route: Omit<Route, 'name'> & { targetProviderID?: string | undefined },
  ): Promise<void>;
  deleteRoute(clusterName: string, route: Route): Promise<void>;
}

/** A cloud provider; each part is optional, as upstream's `(X, bool)` accessors. */
export interface CloudProvider {
  readonly name: string;
  loadBalancer(): LoadBalancer | undefined;
  instances(): Instances | undefined;
  zones(): Zones | undefined;
  routes(): Routes | undefined;
  /** Prefix of providerIDs of this provider's nodes (`aws://`, `gce://`), if any. */
  readonly providerIdPrefix?: string | undefined;
}

/** The providers `--cloud-provider` accepts. */
export const PROVIDER_NAMES = ['aws', 'gce', 'local', 'none'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
