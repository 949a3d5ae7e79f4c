/**
 * L4 passthrough load balancers on Compute Engine for LoadBalancer Services: per protocol a
 * regional backend service (EXTERNAL, or INTERNAL with the `networking.gke.io/load-balancer-type:
 * Internal` annotation) over the cluster's zonal instance groups, and a forwarding rule on the
 * service ports; an HTTP health check on the service proxy's 10256/healthz (shared by the
 * cluster) or, for externalTrafficPolicy Local, on the service's healthCheckNodePort; firewall
 * rules for the service ports and for Google's health-check ranges. The address is
 * spec.loadBalancerIP, or ephemeral (kept across forwarding-rule re-creation by reserving it for
 * the moment), or a reserved one owned by the service when several protocols must share it.
 *
 * Why backend services and not target pools: target pools take only legacy HTTP health checks,
 * and @google-cloud/compute 6 has no client for those; a target pool without a health check
 * would send traffic to nodes without local endpoints under externalTrafficPolicy Local.
 *
 * Every step reads first and writes only the difference (a second reconcile is a no-op); nothing
 * whose description does not mark it as this cluster's is changed or deleted.
 */
import type { Node, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { CloudConfigError, ForeignResourceError } from '../../errors.js';
import type { ExistingLoadBalancer, LoadBalancer, LoadBalancerStatus } from '../../provider.js';
import { type GceApi, gceErrorCode, gceErrorReason } from './gce-api.js';
import {
  GCE_API_BASE,
  GCE_HEALTH_CHECK_RANGES,
  healthCheckFirewallName,
  instanceGroupName,
  instancePath,
  lastSegment,
  lbName,
  NODE_HEALTH_PORT,
  ownedBy,
  ownerDescription,
  parseGceProviderId,
  perProtocolName,
  sharedHealthCheckName,
  trafficFirewallName,
} from './gce-naming.js';

export const GCE_LB_TYPE_ANNOTATIONS = [
  'networking.gke.io/load-balancer-type',
  'cloud.google.com/load-balancer-type',
];

export interface GceLoadBalancerOptions {
  api: GceApi;
  project: string;
  region: string;
  /** VPC network name or URL (default `default`). */
  network?: string | undefined;
  /** Subnetwork for internal load balancers (name or URL; default: the network's in the region). */
  subnetwork?: string | undefined;
  /** Network tags of the nodes, targets of the firewall rules (default: the instances' own tags). */
  nodeTags?: string[] | undefined;
}

type Res = Record<string, any>;

/** Internal load balancer requested by annotation? */
export function isInternal(svc: Service): boolean {
  const a = svc.metadata?.annotations ?? {};
  return GCE_LB_TYPE_ANNOTATIONS.some((k) => a[k]?.toLowerCase() === 'internal');
}

/** Service ports grouped by protocol, TCP first. */
function byProtocol(svc: Service): [string, ServicePort[]][] {
  const m = new Map<string, ServicePort[]>();
  for (const p of svc.spec?.ports ?? []) {
    const proto = (p.protocol ?? 'TCP').toUpperCase();
    if (proto === 'SCTP')
      throw new CloudConfigError(`port ${p.name ?? p.port}: GCE L4 load balancers do not support SCTP`);
    m.set(proto, [...(m.get(proto) ?? []), p]);
  }
  return [...m.entries()].sort(([a], [b]) => (a === 'TCP' ? -1 : b === 'TCP' ? 1 : a < b ? -1 : 1));
}

function sortedPorts(ps: ServicePort[]): string[] {
  return [...new Set(ps.map((p) => String(p.port)))].sort((a, b) => Number(a) - Number(b));
}

export class GceLoadBalancer implements LoadBalancer {
  private readonly api: GceApi;
  private readonly project: string;
  private readonly region: string;
  private readonly opts: GceLoadBalancerOptions;
  private readonly tagCache = new Map<string, string[]>();

  constructor(opts: GceLoadBalancerOptions) {
    this.api = opts.api;
    this.project = opts.project;
    this.region = opts.region;
    this.opts = opts;
  }

  private get networkUrl(): string {
    const n = this.opts.network ?? 'default';
    return n.includes('/') ? n : `${GCE_API_BASE}projects/${this.project}/global/networks/${n}`;
  }

  private link(scope: string, collection: string, name: string): string {
    return `${GCE_API_BASE}projects/${this.project}/${scope}/${collection}/${name}`;
  }

  getLoadBalancerName(_clusterName: string, svc: Service): string {
    return lbName(svc);
  }

  async getLoadBalancer(clusterName: string, svc: Service): Promise<ExistingLoadBalancer> {
    const fr = await this.get(
      this.api.forwardingRules.get({
        project: this.project,
        region: this.region,
        forwardingRule: lbName(svc),
      }),
    );
    const first = fr ?? (await this.firstRule(svc));
    if (!first || !ownedBy(first.description, clusterName)) return { exists: false };
    return { exists: true, status: { ingress: [{ ip: first.IPAddress }] } };
  }

  private async firstRule(svc: Service): Promise<Res | undefined> {
    for (const [proto] of byProtocol(svc).slice(1)) {
      const r = await this.get(
        this.api.forwardingRules.get({
          project: this.project,
          region: this.region,
          forwardingRule: perProtocolName(lbName(svc), proto, false),
        }),
      );
      if (r) return r;
    }
    return undefined;
  }

  async ensureLoadBalancer(clusterName: string, svc: Service, nodes: Node[]): Promise<LoadBalancerStatus> {
    const lb = lbName(svc);
    const groups = byProtocol(svc);
    if (!groups.length) throw new CloudConfigError('a LoadBalancer service needs at least one port');
    const internal = isInternal(svc);
    const scheme = internal ? 'INTERNAL' : 'EXTERNAL';
    const local = svc.spec?.externalTrafficPolicy === 'Local' && !!svc.spec.healthCheckNodePort;
    const desc = ownerDescription(clusterName, svc);

    // Refuse early if the first forwarding rule exists but is not ours.
    const existingFirst = await this.get(
      this.api.forwardingRules.get({ project: this.project, region: this.region, forwardingRule: lb }),
    );
    if (existingFirst && !ownedBy(existingFirst.description, clusterName))
      throw new ForeignResourceError('forwarding rule', lb, clusterName);

    const igs = await this.ensureInstanceGroups(clusterName, nodes, lb);
    const tags = await this.nodeTags(nodes);
    const hcPort = local ? svc.spec!.healthCheckNodePort! : NODE_HEALTH_PORT;
    const hcName = local ? lb : sharedHealthCheckName(clusterName);
    const hcUrl = await this.ensureHealthCheck(clusterName, {
      name: hcName,
      port: hcPort,
      description: local ? desc : ownerDescription(clusterName),
    });
    await this.ensureFirewall(clusterName, {
      name: trafficFirewallName(lb),
      description: desc,
      sourceRanges: svc.spec?.loadBalancerSourceRanges?.length
        ? [...svc.spec.loadBalancerSourceRanges].sort()
        : ['0.0.0.0/0'],
      allowed: groups.map(([proto, ps]) => ({ IPProtocol: proto.toLowerCase(), ports: sortedPorts(ps) })),
      targetTags: tags,
    });
    await this.ensureFirewall(clusterName, {
      name: healthCheckFirewallName(clusterName, local ? lb : undefined),
      description: local ? desc : ownerDescription(clusterName),
      sourceRanges: [...GCE_HEALTH_CHECK_RANGES].sort(),
      allowed: [{ IPProtocol: 'tcp', ports: [String(hcPort)] }],
      targetTags: tags,
    });

    // The address: requested, or a reserved one when several protocols share it, else ephemeral.
    let ip = svc.spec?.loadBalancerIP || undefined;
    const sharedAddress = !ip && groups.length > 1;
    if (sharedAddress) ip = await this.ensureAddress(clusterName, { name: lb, description: desc, internal });
    else if (!ip && existingFirst?.IPAddress && existingFirst.loadBalancingScheme === scheme)
      ip = existingFirst.IPAddress;

    let published: string | undefined;
    for (const [i, [proto, ps]] of groups.entries()) {
      const name = perProtocolName(lb, proto, i === 0);
      const bs = await this.ensureBackendService(clusterName, {
        name,
        description: desc,
        protocol: proto,
        scheme,
        hcUrl,
        groups: igs,
        affinity: svc.spec?.sessionAffinity === 'ClientIP' ? 'CLIENT_IP' : 'NONE',
      });
      const got = await this.ensureForwardingRule(clusterName, {
        name,
        description: desc,
        protocol: proto,
        ports: sortedPorts(ps),
        scheme,
        backendService: bs,
        ip,
        ephemeral: !svc.spec?.loadBalancerIP && !sharedAddress,
        internal,
      });
      published ??= got;
      ip ??= got;
    }
    // Protocols no longer served, and health check resources of the policy no longer used.
    for (const proto of ['UDP', 'TCP']) {
      if (groups.some(([p]) => p === proto) || proto === groups[0]![0]) continue;
      const name = perProtocolName(lb, proto, false);
      await this.deleteOwned(clusterName, 'forwardingRules', name);
      await this.deleteOwned(clusterName, 'backendServices', name);
    }
    if (!sharedAddress) await this.deleteOwned(clusterName, 'addresses', lb);
    if (!local) {
      await this.deleteOwned(clusterName, 'healthChecks', lb);
      await this.deleteOwned(clusterName, 'firewalls', healthCheckFirewallName(clusterName, lb));
    }
    return { ingress: published ? [{ ip: published }] : [] };
  }

  /** Only the nodes changed: instance group membership (and firewall targets) follow them. */
  async updateLoadBalancer(clusterName: string, svc: Service, nodes: Node[]): Promise<void> {
    await this.ensureLoadBalancer(clusterName, svc, nodes);
  }

  async ensureLoadBalancerDeleted(clusterName: string, svc: Service): Promise<void> {
    const lb = lbName(svc);
    for (const proto of ['TCP', 'UDP']) {
      for (const name of [lb, perProtocolName(lb, proto, false)]) {
        await this.deleteOwned(clusterName, 'forwardingRules', name);
        await this.deleteOwned(clusterName, 'backendServices', name);
      }
    }
    await this.deleteOwned(clusterName, 'addresses', lb);
    await this.deleteOwned(clusterName, 'healthChecks', lb);
    await this.deleteOwned(clusterName, 'firewalls', trafficFirewallName(lb));
    await this.deleteOwned(clusterName, 'firewalls', healthCheckFirewallName(clusterName, lb));
    // Shared resources go with the last load balancer that uses them (in use: left for later).
    await this.deleteOwned(clusterName, 'healthChecks', sharedHealthCheckName(clusterName), { shared: true });
  }

  // ---- pieces ----

  private async get(p: Promise<unknown>): Promise<Res | undefined> {
    try {
      const [r] = (await p) as [Res];
      return r;
    } catch (e) {
      if (gceErrorCode(e) === 404) return undefined;
      throw e;
    }
  }

  private async deleteOwned(
    clusterName: string,
    kind:
      | 'forwardingRules'
      | 'backendServices'
      | 'addresses'
      | 'healthChecks'
      | 'firewalls'
      | 'instanceGroups',
    name: string,
    opts: { shared?: boolean; zone?: string } = {},
  ): Promise<void> {
    const p = this.project;
    const r = this.region;
    const a = this.api;
    const get: Record<typeof kind, () => Promise<unknown>> = {
      forwardingRules: () => a.forwardingRules.get({ project: p, region: r, forwardingRule: name }),
      backendServices: () => a.backendServices.get({ project: p, region: r, backendService: name }),
      addresses: () => a.addresses.get({ project: p, region: r, address: name }),
      healthChecks: () => a.healthChecks.get({ project: p, region: r, healthCheck: name }),
      firewalls: () => a.firewalls.get({ project: p, firewall: name }),
      instanceGroups: () => a.instanceGroups.get({ project: p, zone: opts.zone!, instanceGroup: name }),
    };
    const del: Record<typeof kind, () => Promise<unknown>> = {
      forwardingRules: () => a.forwardingRules.delete({ project: p, region: r, forwardingRule: name }),
      backendServices: () => a.backendServices.delete({ project: p, region: r, backendService: name }),
      addresses: () => a.addresses.delete({ project: p, region: r, address: name }),
      healthChecks: () => a.healthChecks.delete({ project: p, region: r, healthCheck: name }),
      firewalls: () => a.firewalls.delete({ project: p, firewall: name }),
      instanceGroups: () => a.instanceGroups.delete({ project: p, zone: opts.zone!, instanceGroup: name }),
    };
    const cur = await this.get(get[kind]());
    if (!cur || !ownedBy(cur.description, clusterName)) return;
    try {
      await this.api.waitOp(del[kind](), p);
    } catch (e) {
      if (gceErrorCode(e) === 404) return;
      if (opts.shared && gceErrorReason(e, 'resourceInUseByAnotherResource')) return;
      throw e;
    }
  }

  /** The instances of the nodes, from their gce:// providerIDs. */
  private nodeInstances(nodes: Node[]): { zone: string; name: string; link: string }[] {
    const out: { zone: string; name: string; link: string }[] = [];
    for (const n of nodes) {
      const id = parseGceProviderId(n.spec?.providerID);
      if (id)
        out.push({ zone: id.zone, name: id.name, link: this.link(`zones/${id.zone}`, 'instances', id.name) });
    }
    return out.sort((a, b) => (a.link < b.link ? -1 : 1));
  }

  /** Firewall target tags: configured, else the union of the node instances' tags. */
  private async nodeTags(nodes: Node[]): Promise<string[]> {
    if (this.opts.nodeTags) return [...this.opts.nodeTags].sort();
    const tags = new Set<string>();
    for (const i of this.nodeInstances(nodes)) {
      let t = this.tagCache.get(i.link);
      if (!t) {
        const inst = await this.get(
          this.api.instances.get({ project: this.project, zone: i.zone, instance: i.name }),
        );
        t = (inst?.tags?.items ?? []) as string[];
        this.tagCache.set(i.link, t);
      }
      for (const x of t) tags.add(x);
    }
    return [...tags].sort();
  }

  /** One unmanaged instance group per zone with the zone's nodes; returns zone -> group URL. */
  private async ensureInstanceGroups(clusterName: string, nodes: Node[], lb: string): Promise<string[]> {
    const name = instanceGroupName(clusterName);
    const byZone = new Map<string, string[]>();
    for (const i of this.nodeInstances(nodes)) byZone.set(i.zone, [...(byZone.get(i.zone) ?? []), i.link]);
    // Zones that had nodes before (from the backend service) are synced too, possibly to empty.
    const bs = await this.get(
      this.api.backendServices.get({ project: this.project, region: this.region, backendService: lb }),
    );
    for (const b of (bs?.backends ?? []) as Res[]) {
      const z = /zones\/([^/]+)\/instanceGroups/.exec(b.group ?? '')?.[1];
      if (z && !byZone.has(z)) byZone.set(z, []);
    }
    const urls: string[] = [];
    for (const [zone, want] of [...byZone.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      let ig = await this.get(
        this.api.instanceGroups.get({ project: this.project, zone, instanceGroup: name }),
      );
      if (ig && !ownedBy(ig.description, clusterName))
        throw new ForeignResourceError('instance group', `${zone}/${name}`, clusterName);
      if (!ig) {
        if (!want.length) continue;
        await this.api.waitOp(
          this.api.instanceGroups.insert({
            project: this.project,
            zone,
            instanceGroupResource: {
              name,
              description: ownerDescription(clusterName),
              network: this.networkUrl,
            },
          }),
          this.project,
        );
        ig = { selfLink: this.link(`zones/${zone}`, 'instanceGroups', name) };
      }
      const [members] = (await this.api.instanceGroups.listInstances({
        project: this.project,
        zone,
        instanceGroup: name,
        instanceGroupsListInstancesRequestResource: { instanceState: 'ALL' },
      })) as unknown as [Res[]];
      const have = new Set((members ?? []).map((m) => instancePath(m.instance)));
      const wantSet = new Set(want.map(instancePath));
      const add = want.filter((l) => !have.has(instancePath(l)));
      const remove = (members ?? [])
        .map((m) => m.instance as string)
        .filter((l) => !wantSet.has(instancePath(l)));
      if (add.length)
        await this.api.waitOp(
          this.api.instanceGroups.addInstances({
            project: this.project,
            zone,
            instanceGroup: name,
            instanceGroupsAddInstancesRequestResource: { instances: add.map((instance) => ({ instance })) },
          }),
          this.project,
        );
      if (remove.length)
        await this.api.waitOp(
          this.api.instanceGroups.removeInstances({
            project: this.project,
            zone,
            instanceGroup: name,
            instanceGroupsRemoveInstancesRequestResource: {
              instances: remove.map((instance) => ({ instance })),
            },
          }),
          this.project,
        );
      if (want.length) urls.push(ig.selfLink ?? this.link(`zones/${zone}`, 'instanceGroups', name));
    }
    return urls;
  }

  private async ensureHealthCheck(
    clusterName: string,
    a: { name: string; port: number; description: string },
  ): Promise<string> {
    const want = {
      name: a.name,
      description: a.description,
      type: 'HTTP',
      httpHealthCheck: { port: a.port, requestPath: '/healthz' },
      checkIntervalSec: 8,
      timeoutSec: 1,
      healthyThreshold: 1,
      unhealthyThreshold: 3,
    };
    const cur = await this.get(
      this.api.healthChecks.get({ project: this.project, region: this.region, healthCheck: a.name }),
    );
    if (cur && !ownedBy(cur.description, clusterName))
      throw new ForeignResourceError('health check', a.name, clusterName);
    if (!cur) {
      await this.api.waitOp(
        this.api.healthChecks.insert({
          project: this.project,
          region: this.region,
          healthCheckResource: want,
        }),
        this.project,
      );
    } else if (
      cur.type !== 'HTTP' ||
      cur.httpHealthCheck?.port !== a.port ||
      cur.httpHealthCheck?.requestPath !== '/healthz'
    ) {
      await this.api.waitOp(
        this.api.healthChecks.patch({
          project: this.project,
          region: this.region,
          healthCheck: a.name,
          healthCheckResource: want,
        }),
        this.project,
      );
    }
    return this.link(`regions/${this.region}`, 'healthChecks', a.name);
  }

  private async ensureFirewall(
    clusterName: string,
    a: {
      name: string;
      description: string;
      sourceRanges: string[];
      allowed: { IPProtocol: string; ports: string[] }[];
      targetTags: string[];
    },
  ): Promise<void> {
    const want = {
      name: a.name,
      description: a.description,
      network: this.networkUrl,
      direction: 'INGRESS',
      sourceRanges: a.sourceRanges,
      allowed: a.allowed,
      ...(a.targetTags.length ? { targetTags: a.targetTags } : {}),
    };
    const cur = await this.get(this.api.firewalls.get({ project: this.project, firewall: a.name }));
    if (cur && !ownedBy(cur.description, clusterName))
      throw new ForeignResourceError('firewall', a.name, clusterName);
    if (!cur) {
      await this.api.waitOp(
        this.api.firewalls.insert({ project: this.project, firewallResource: want }),
        this.project,
      );
      return;
    }
    const norm = (xs: { IPProtocol?: string; ports?: string[] }[] | undefined) =>
      JSON.stringify((xs ?? []).map((x) => [x.IPProtocol, [...(x.ports ?? [])].sort()]).sort());
    const same =
      norm(cur.allowed) === norm(a.allowed) &&
      JSON.stringify([...(cur.sourceRanges ?? [])].sort()) === JSON.stringify(a.sourceRanges) &&
      JSON.stringify([...(cur.targetTags ?? [])].sort()) === JSON.stringify(a.targetTags);
    if (!same)
      await this.api.waitOp(
        this.api.firewalls.patch({ project: this.project, firewall: a.name, firewallResource: want }),
        this.project,
      );
  }

  private async ensureAddress(
    clusterName: string,
    a: { name: string; description: string; internal: boolean; ip?: string },
  ): Promise<string> {
    const cur = await this.get(
      this.api.addresses.get({ project: this.project, region: this.region, address: a.name }),
    );
    if (cur) {
      if (!ownedBy(cur.description, clusterName))
        throw new ForeignResourceError('address', a.name, clusterName);
      return cur.address;
    }
    await this.api.waitOp(
      this.api.addresses.insert({
        project: this.project,
        region: this.region,
        addressResource: {
          name: a.name,
          description: a.description,
          ...(a.ip ? { address: a.ip } : {}),
          ...(a.internal
            ? {
                addressType: 'INTERNAL',
                ...(this.opts.subnetwork ? { subnetwork: this.opts.subnetwork } : {}),
              }
            : {}),
        },
      }),
      this.project,
    );
    const made = await this.get(
      this.api.addresses.get({ project: this.project, region: this.region, address: a.name }),
    );
    return made!.address;
  }

  private async ensureBackendService(
    clusterName: string,
    a: {
      name: string;
      description: string;
      protocol: string;
      scheme: string;
      hcUrl: string;
      groups: string[];
      affinity: string;
    },
  ): Promise<string> {
    const want = {
      name: a.name,
      description: a.description,
      protocol: a.protocol,
      loadBalancingScheme: a.scheme,
      healthChecks: [a.hcUrl],
      sessionAffinity: a.affinity,
      backends: a.groups.map((group) => ({ group, balancingMode: 'CONNECTION' })),
      ...(a.scheme === 'INTERNAL' ? { network: this.networkUrl } : {}),
    };
    const cur = await this.get(
      this.api.backendServices.get({ project: this.project, region: this.region, backendService: a.name }),
    );
    if (cur && !ownedBy(cur.description, clusterName))
      throw new ForeignResourceError('backend service', a.name, clusterName);
    if (!cur) {
      await this.api.waitOp(
        this.api.backendServices.insert({
          project: this.project,
          region: this.region,
          backendServiceResource: want,
        }),
        this.project,
      );
    } else {
      const groups = JSON.stringify(((cur.backends ?? []) as Res[]).map((b) => b.group).sort());
      const same =
        cur.protocol === a.protocol &&
        cur.loadBalancingScheme === a.scheme &&
        JSON.stringify(cur.healthChecks ?? []) === JSON.stringify([a.hcUrl]) &&
        (cur.sessionAffinity ?? 'NONE') === a.affinity &&
        groups === JSON.stringify([...a.groups].sort());
      if (!same)
        await this.api.waitOp(
          this.api.backendServices.patch({
            project: this.project,
            region: this.region,
            backendService: a.name,
            backendServiceResource: want,
          }),
          this.project,
        );
    }
    return this.link(`regions/${this.region}`, 'backendServices', a.name);
  }

  /** Ensure the forwarding rule; its ports are immutable, so a change re-creates it on the same IP. */
  private async ensureForwardingRule(
    clusterName: string,
    a: {
      name: string;
      description: string;
      protocol: string;
      ports: string[];
      scheme: string;
      backendService: string;
      ip: string | undefined;
      ephemeral: boolean;
      internal: boolean;
    },
  ): Promise<string> {
    const get = () =>
      this.get(
        this.api.forwardingRules.get({ project: this.project, region: this.region, forwardingRule: a.name }),
      );
    let cur = await get();
    if (cur && !ownedBy(cur.description, clusterName))
      throw new ForeignResourceError('forwarding rule', a.name, clusterName);
    const portsOf = (r: Res) =>
      r.ports?.length
        ? [...r.ports].sort((x: string, y: string) => Number(x) - Number(y))
        : r.allPorts
          ? ['all']
          : [r.portRange];
    const wantPorts =
      a.ports.length <= 5 ? a.ports : a.internal ? ['all'] : [`${a.ports[0]}-${a.ports.at(-1)}`];
    let promoted = false;
    if (cur) {
      const same =
        cur.IPProtocol === a.protocol &&
        cur.loadBalancingScheme === a.scheme &&
        cur.backendService === a.backendService &&
        JSON.stringify(portsOf(cur)) === JSON.stringify(wantPorts) &&
        (!a.ip || cur.IPAddress === a.ip);
      if (same) return cur.IPAddress;
      // Keep an ephemeral address across the re-creation by reserving it for the moment (not
      // across a scheme change: an external address cannot become internal, nor back).
      const sameScheme = cur.loadBalancingScheme === a.scheme;
      if (a.ephemeral && sameScheme && cur.IPAddress) {
        await this.ensureAddress(clusterName, {
          name: lastSegment(a.name),
          description: a.description,
          internal: a.internal,
          ip: cur.IPAddress,
        });
        promoted = true;
      }
      if (sameScheme) a.ip ??= cur.IPAddress;
      await this.api.waitOp(
        this.api.forwardingRules.delete({
          project: this.project,
          region: this.region,
          forwardingRule: a.name,
        }),
        this.project,
      );
      cur = undefined;
    }
    await this.api.waitOp(
      this.api.forwardingRules.insert({
        project: this.project,
        region: this.region,
        forwardingRuleResource: {
          name: a.name,
          description: a.description,
          IPProtocol: a.protocol,
          loadBalancingScheme: a.scheme,
          backendService: a.backendService,
          ...(wantPorts[0] === 'all'
            ? { allPorts: true }
            : a.ports.length <= 5
              ? { ports: a.ports }
              : { portRange: wantPorts[0]! }),
          ...(a.ip ? { IPAddress: a.ip } : {}),
          ...(a.internal
            ? {
                network: this.networkUrl,
                ...(this.opts.subnetwork ? { subnetwork: this.opts.subnetwork } : {}),
              }
            : {}),
        },
      }),
      this.project,
    );
    if (promoted) await this.deleteOwned(clusterName, 'addresses', a.name);
    const made = await get();
    return made!.IPAddress;
  }
}
