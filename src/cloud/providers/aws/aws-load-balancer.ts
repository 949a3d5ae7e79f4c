/**
 * Network Load Balancers for LoadBalancer Services on AWS (ELBv2), reconciled from what exists:
 * the NLB (named and tagged as cloud-provider-aws does), one target group per service port with
 * the nodes' instances on the NodePort (or pod IPs with nlb-target-type ip), one listener per port
 * (TLS with the ACM certificate from ssl-cert), health checks, attributes. Every step first reads,
 * then writes only the difference, so a second reconcile makes no changes; a reconcile that failed
 * halfway is finished by the next one (target groups are found again by their deterministic name).
 * Nothing without this cluster's `owned` tag is ever modified or deleted.
 */
import { DescribeInstancesCommand, DescribeSubnetsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type LoadBalancer as Nlb,
  RegisterTargetsCommand,
  type TargetDescription,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import { CloudConfigError, ForeignResourceError } from '../../errors.js';
import type {
  EndpointSource,
  ExistingLoadBalancer,
  LoadBalancer,
  LoadBalancerStatus,
} from '../../provider.js';
import { AWS_ANNOTATIONS, type AwsLbConfig, awsLbConfig, type PortMapping } from './aws-annotations.js';
import {
  clusterTagKey,
  defaultLoadBalancerName,
  fromTagList,
  instanceIdFromProviderId,
  ownedBy,
  resourceTags,
  targetGroupName,
  toTagList,
} from './aws-naming.js';
import { AwsSecurityGroups } from './aws-security-groups.js';

export interface AwsLoadBalancerOptions {
  elb: ElasticLoadBalancingV2Client;
  ec2: EC2Client;
  /** The cluster's VPC (default: the VPC of the first target node's instance). */
  vpcId?: string | undefined;
  /** Ready pod endpoints of a service port, for nlb-target-type ip (else installed by the controller). */
  endpoints?: EndpointSource | undefined;
}

function errName(e: unknown): string {
  return (e as { name?: string })?.name ?? '';
}

/** The ELBv2 / EC2 LoadBalancer implementation. */
export class AwsLoadBalancer implements LoadBalancer {
  private readonly elb: ElasticLoadBalancingV2Client;
  private readonly ec2: EC2Client;
  private vpcId: string | undefined;
  private readonly securityGroups: AwsSecurityGroups;
  private endpoints: EndpointSource | undefined;

  constructor(opts: AwsLoadBalancerOptions) {
    this.elb = opts.elb;
    this.ec2 = opts.ec2;
    this.vpcId = opts.vpcId;
    this.endpoints = opts.endpoints;
    this.securityGroups = new AwsSecurityGroups(opts.ec2);
  }

  usesEndpoints(svc: Service): boolean {
    return svc.metadata?.annotations?.[AWS_ANNOTATIONS.nlbTargetType] === 'ip';
  }

  setEndpointSource(source: EndpointSource): void {
    this.endpoints ??= source;
  }

  getLoadBalancerName(_clusterName: string, svc: Service): string {
    return defaultLoadBalancerName(svc);
  }

  /** Services of type external / nlb-ip belong to the AWS Load Balancer Controller. */
  implementedElsewhere(svc: Service): boolean {
    const t = svc.metadata?.annotations?.[AWS_ANNOTATIONS.type];
    return t === 'external' || t === 'nlb-ip';
  }

  async getLoadBalancer(clusterName: string, svc: Service): Promise<ExistingLoadBalancer> {
    const lb = await this.findLb(defaultLoadBalancerName(svc));
    if (!lb || !ownedBy(await this.tagsOf(lb.LoadBalancerArn!), clusterName)) return { exists: false };
    return { exists: true, status: statusOf(lb) };
  }

  async ensureLoadBalancer(clusterName: string, svc: Service, nodes: Node[]): Promise<LoadBalancerStatus> {
    const cfg = awsLbConfig(svc);
    if (cfg.implementedElsewhere)
      throw new CloudConfigError(
        'this service is handled by the AWS Load Balancer Controller (type external)',
      );
    if (cfg.mappings.length === 0)
      throw new CloudConfigError('a LoadBalancer service needs at least one port');
    const name = defaultLoadBalancerName(svc);
    const tags = resourceTags(clusterName, svc, cfg.additionalTags);
    const instances = instanceIds(nodes);
    let lb = await this.findLb(name);
    if (lb) {
      if (!ownedBy(await this.tagsOf(lb.LoadBalancerArn!), clusterName))
        throw new ForeignResourceError('load balancer', name, clusterName);
      const wantScheme = cfg.internal ? 'internal' : 'internet-facing';
      if (lb.Scheme !== wantScheme) {
        // The scheme of an NLB cannot be changed: replace it (the new one gets a new DNS name).
        await this.deleteOwned(clusterName, svc, lb);
        lb = undefined;
      }
    }
    if (!lb) lb = await this.createLb(clusterName, { name, cfg, tags, nodes });
    const vpcId = lb.VpcId!;
    const lbArn = lb.LoadBalancerArn!;

    const attached = await this.targetGroupsOf(lbArn);
    const listeners = await this.listenersOf(lbArn);
    const wanted = new Set<string>();
    for (const m of cfg.mappings) {
      const tgName = targetGroupName(clusterName, svc, m, cfg.targetType);
      wanted.add(tgName);
      const tg = await this.ensureTargetGroup(clusterName, { name: tgName, m, cfg, tags, vpcId, attached });
      const targets =
        cfg.targetType === 'ip'
          ? (this.endpoints?.(svc, m.servicePortName) ?? []).map((e) => ({ Id: e.ip, Port: e.port }))
          : instances.map((id) => ({ Id: id, Port: m.trafficPort }));
      await this.syncTargets(tg.TargetGroupArn!, targets);
      await this.ensureListener(lbArn, m, tg.TargetGroupArn!, listeners, tags);
    }
    // Listeners of ports that are gone, then their target groups (only ours).
    const ports = new Set(cfg.mappings.map((m) => m.frontendPort));
    for (const l of listeners)
      if (!ports.has(l.Port!))
        await this.elb.send(new DeleteListenerCommand({ ListenerArn: l.ListenerArn! }));
    // Target groups attached before this reconcile too: one detached by a listener change or
    // deletion above is no longer listed under the NLB but is still ours to delete.
    const candidates = new Map<string, TargetGroup>();
    for (const tg of [...attached, ...(await this.targetGroupsOf(lbArn))])
      candidates.set(tg.TargetGroupArn!, tg);
    for (const tg of candidates.values()) {
      if (wanted.has(tg.TargetGroupName!)) continue;
      if (!ownedBy(await this.tagsOf(tg.TargetGroupArn!), clusterName)) continue;
      await this.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn! }));
    }
    await this.ensureLbAttributes(lbArn, cfg);
    await this.securityGroups.ensure(clusterName, {
      lb: name,
      vpcId,
      cfg,
      instanceIds: cfg.targetType === 'instance' ? instances : [],
      sourceRanges: [...(svc.spec?.loadBalancerSourceRanges ?? [])].sort(),
    });
    return statusOf(lb);
  }

  /** For NLBs an update is a full ensure (as cloud-provider-aws does): cheap reads, writes only diffs. */
  async updateLoadBalancer(clusterName: string, svc: Service, nodes: Node[]): Promise<void> {
    await this.ensureLoadBalancer(clusterName, svc, nodes);
  }

  async ensureLoadBalancerDeleted(clusterName: string, svc: Service): Promise<void> {
    const lb = await this.findLb(defaultLoadBalancerName(svc));
    if (lb) {
      if (!ownedBy(await this.tagsOf(lb.LoadBalancerArn!), clusterName)) return; // not ours: leave it
      await this.deleteOwned(clusterName, svc, lb);
      await this.securityGroups.remove(clusterName, { lb: lb.LoadBalancerName!, vpcId: lb.VpcId! });
    }
    // Target groups left by a create that failed before the listener existed.
    let cfg: AwsLbConfig | undefined;
    try {
      cfg = awsLbConfig(svc);
    } catch {
      cfg = undefined;
    }
    for (const m of cfg?.mappings ?? []) {
      const tg = await this.findTargetGroupByName(targetGroupName(clusterName, svc, m, cfg!.targetType));
      if (tg && ownedBy(await this.tagsOf(tg.TargetGroupArn!), clusterName))
        await this.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn! }));
    }
  }

  /** Delete an owned NLB: listeners, the NLB, then its owned target groups. */
  private async deleteOwned(clusterName: string, _svc: Service, lb: Nlb): Promise<void> {
    const arn = lb.LoadBalancerArn!;
    const tgs = await this.targetGroupsOf(arn);
    for (const l of await this.listenersOf(arn))
      await this.elb.send(new DeleteListenerCommand({ ListenerArn: l.ListenerArn! }));
    await this.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }));
    for (const tg of tgs)
      if (ownedBy(await this.tagsOf(tg.TargetGroupArn!), clusterName))
        await this.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn! }));
  }

  private async findLb(name: string): Promise<Nlb | undefined> {
    try {
      const out = await this.elb.send(new DescribeLoadBalancersCommand({ Names: [name] }));
      return out.LoadBalancers?.[0];
    } catch (e) {
      if (errName(e) === 'LoadBalancerNotFoundException') return undefined;
      throw e;
    }
  }

  private async findTargetGroupByName(name: string): Promise<TargetGroup | undefined> {
    try {
      const out = await this.elb.send(new DescribeTargetGroupsCommand({ Names: [name] }));
      return out.TargetGroups?.[0];
    } catch (e) {
      if (errName(e) === 'TargetGroupNotFoundException') return undefined;
      throw e;
    }
  }

  private async tagsOf(arn: string): Promise<Record<string, string>> {
    const out = await this.elb.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
    return fromTagList(out.TagDescriptions?.find((d) => d.ResourceArn === arn)?.Tags);
  }

  private async targetGroupsOf(lbArn: string): Promise<TargetGroup[]> {
    const out = await this.elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lbArn }));
    return out.TargetGroups ?? [];
  }

  private async listenersOf(lbArn: string): Promise<Listener[]> {
    const out = await this.elb.send(new DescribeListenersCommand({ LoadBalancerArn: lbArn }));
    return out.Listeners ?? [];
  }

  private async createLb(
    clusterName: string,
    a: { name: string; cfg: AwsLbConfig; tags: Record<string, string>; nodes: Node[] },
  ): Promise<Nlb> {
    const { name, cfg, tags, nodes } = a;
    const vpcId = await this.clusterVpc(nodes);
    const subnets = await this.subnetsFor(cfg, vpcId, clusterName);
    if (cfg.eipAllocations && cfg.eipAllocations.length !== subnets.length)
      throw new CloudConfigError(
        `eip-allocations lists ${cfg.eipAllocations.length} allocations for ${subnets.length} subnets`,
      );
    const out = await this.elb.send(
      new CreateLoadBalancerCommand({
        Name: name,
        Type: 'network',
        Scheme: cfg.internal ? 'internal' : 'internet-facing',
        SubnetMappings: subnets.map((s, i) => ({
          SubnetId: s,
          ...(cfg.eipAllocations ? { AllocationId: cfg.eipAllocations[i]! } : {}),
        })),
        Tags: toTagList(tags),
      }),
    );
    const lb = out.LoadBalancers?.[0];
    if (!lb) throw new Error(`CreateLoadBalancer ${name} returned no load balancer`);
    return lb;
  }

  /** The cluster VPC: configured, else the VPC of the first target node's instance. */
  private async clusterVpc(nodes: Node[]): Promise<string> {
    if (this.vpcId) return this.vpcId;
    const id = instanceIds(nodes)[0];
    if (!id)
      throw new CloudConfigError(
        'cannot find the cluster VPC: no node has an aws:/// providerID and no --aws-vpc-id',
      );
    const out = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const vpc = out.Reservations?.[0]?.Instances?.[0]?.VpcId;
    if (!vpc) throw new Error(`instance ${id} has no VPC`);
    this.vpcId = vpc;
    return vpc;
  }

  /**
   * Subnets: from the annotation (IDs, or Name tags), else discovered as cloud-provider-aws does:
   * subnets of the VPC tagged for this cluster (owned or shared) or for no cluster, preferring the
   * role tag (kubernetes.io/role/elb, or /internal-elb for internal), one per zone, by ID.
   */
  private async subnetsFor(cfg: AwsLbConfig, vpcId: string, clusterName: string): Promise<string[]> {
    if (cfg.subnets) {
      const ids = cfg.subnets.filter((s) => s.startsWith('subnet-'));
      const names = cfg.subnets.filter((s) => !s.startsWith('subnet-'));
      if (names.length) {
        const out = await this.ec2.send(
          new DescribeSubnetsCommand({
            Filters: [
              { Name: 'vpc-id', Values: [vpcId] },
              { Name: 'tag:Name', Values: names },
            ],
          }),
        );
        for (const s of out.Subnets ?? []) if (s.SubnetId) ids.push(s.SubnetId);
        if (ids.length < cfg.subnets.length)
          throw new CloudConfigError(`subnets not found: ${names.join(',')}`);
      }
      return ids;
    }
    const out = await this.ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }),
    );
    const role = cfg.internal ? 'kubernetes.io/role/internal-elb' : 'kubernetes.io/role/elb';
    const byZone = new Map<string, { id: string; score: number }>();
    for (const s of out.Subnets ?? []) {
      const tags = fromTagList(s.Tags);
      const clusterTags = Object.keys(tags).filter((k) => k.startsWith('kubernetes.io/cluster/'));
      const ours =
        tags[clusterTagKey(clusterName)] === 'owned' || tags[clusterTagKey(clusterName)] === 'shared';
      if (clusterTags.length && !ours) continue; // another cluster's subnet
      const score = (role in tags ? 2 : 0) + (ours ? 1 : 0);
      const zone = s.AvailabilityZone ?? '';
      const prev = byZone.get(zone);
      if (!prev || score > prev.score || (score === prev.score && s.SubnetId! < prev.id))
        byZone.set(zone, { id: s.SubnetId!, score });
    }
    const ids = [...byZone.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v.id);
    if (!ids.length)
      throw new CloudConfigError(`no subnet for the load balancer in VPC ${vpcId} (tag them ${role})`);
    return ids;
  }

  private async ensureTargetGroup(
    clusterName: string,
    a: {
      name: string;
      m: PortMapping;
      cfg: AwsLbConfig;
      tags: Record<string, string>;
      vpcId: string;
      attached: TargetGroup[];
    },
  ): Promise<TargetGroup> {
    const { name, m, cfg } = a;
    let tg = a.attached.find((t) => t.TargetGroupName === name) ?? (await this.findTargetGroupByName(name));
    if (tg && !ownedBy(await this.tagsOf(tg.TargetGroupArn!), clusterName))
      throw new ForeignResourceError('target group', name, clusterName);
    const hc = m.healthCheck;
    if (!tg) {
      const out = await this.elb.send(
        new CreateTargetGroupCommand({
          Name: name,
          VpcId: a.vpcId,
          Port: m.trafficPort,
          Protocol: m.trafficProtocol,
          TargetType: cfg.targetType,
          HealthCheckProtocol: hc.protocol,
          HealthCheckPort: hc.port,
          ...(hc.path ? { HealthCheckPath: hc.path } : {}),
          HealthCheckIntervalSeconds: hc.intervalSeconds,
          HealthCheckTimeoutSeconds: hc.timeoutSeconds,
          HealthyThresholdCount: hc.healthyThreshold,
          UnhealthyThresholdCount: hc.unhealthyThreshold,
          Tags: toTagList(a.tags),
        }),
      );
      tg = out.TargetGroups?.[0];
      if (!tg) throw new Error(`CreateTargetGroup ${name} returned no target group`);
    } else if (
      tg.HealthCheckPort !== hc.port ||
      (hc.path !== undefined && tg.HealthCheckPath !== hc.path) ||
      tg.HealthCheckTimeoutSeconds !== hc.timeoutSeconds ||
      tg.HealthyThresholdCount !== hc.healthyThreshold ||
      tg.UnhealthyThresholdCount !== hc.unhealthyThreshold
    ) {
      await this.elb.send(
        new ModifyTargetGroupCommand({
          TargetGroupArn: tg.TargetGroupArn!,
          HealthCheckPort: hc.port,
          ...(hc.path ? { HealthCheckPath: hc.path } : {}),
          HealthCheckTimeoutSeconds: hc.timeoutSeconds,
          HealthyThresholdCount: hc.healthyThreshold,
          UnhealthyThresholdCount: hc.unhealthyThreshold,
        }),
      );
    }
    if (Object.keys(cfg.targetGroupAttributes).length) {
      const cur = await this.elb.send(
        new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn! }),
      );
      const have = new Map((cur.Attributes ?? []).map((x) => [x.Key, x.Value]));
      const diff = Object.entries(cfg.targetGroupAttributes).filter(([k, v]) => have.get(k) !== v);
      if (diff.length)
        await this.elb.send(
          new ModifyTargetGroupAttributesCommand({
            TargetGroupArn: tg.TargetGroupArn!,
            Attributes: diff.map(([Key, Value]) => ({ Key, Value })),
          }),
        );
    }
    return tg;
  }

  /** Register missing targets, deregister extra ones (ignoring those already draining). */
  private async syncTargets(tgArn: string, want: TargetDescription[]): Promise<void> {
    const out = await this.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }));
    const have = (out.TargetHealthDescriptions ?? [])
      .filter((d) => d.TargetHealth?.Reason !== 'Target.DeregistrationInProgress')
      .map((d) => d.Target!)
      .filter(Boolean);
    const k = (t: TargetDescription) => `${t.Id}:${t.Port}`;
    const haveKeys = new Set(have.map(k));
    const wantKeys = new Set(want.map(k));
    const add = want.filter((t) => !haveKeys.has(k(t)));
    const remove = have.filter((t) => !wantKeys.has(k(t)));
    for (let i = 0; i < add.length; i += 100)
      await this.elb.send(
        new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: add.slice(i, i + 100) }),
      );
    for (let i = 0; i < remove.length; i += 100)
      await this.elb.send(
        new DeregisterTargetsCommand({ TargetGroupArn: tgArn, Targets: remove.slice(i, i + 100) }),
      );
  }

  private async ensureListener(
    lbArn: string,
    m: PortMapping,
    tgArn: string,
    listeners: Listener[],
    tags: Record<string, string>,
  ): Promise<void> {
    const l = listeners.find((x) => x.Port === m.frontendPort);
    const certs = m.certificateArn ? [{ CertificateArn: m.certificateArn }] : undefined;
    if (!l) {
      await this.elb.send(
        new CreateListenerCommand({
          LoadBalancerArn: lbArn,
          Port: m.frontendPort,
          Protocol: m.frontendProtocol,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
          ...(certs ? { Certificates: certs, SslPolicy: m.sslPolicy } : {}),
          Tags: toTagList(tags),
        }),
      );
      return;
    }
    const same =
      l.Protocol === m.frontendProtocol &&
      l.DefaultActions?.[0]?.TargetGroupArn === tgArn &&
      (l.Certificates?.[0]?.CertificateArn ?? undefined) === m.certificateArn &&
      (m.frontendProtocol !== 'TLS' || l.SslPolicy === m.sslPolicy);
    if (same) return;
    await this.elb.send(
      new ModifyListenerCommand({
        ListenerArn: l.ListenerArn!,
        Port: m.frontendPort,
        Protocol: m.frontendProtocol,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
        ...(certs ? { Certificates: certs, SslPolicy: m.sslPolicy } : {}),
      }),
    );
  }

  /** Cross-zone load balancing, only when the annotation asks (otherwise the NLB's own setting stays). */
  private async ensureLbAttributes(lbArn: string, cfg: AwsLbConfig): Promise<void> {
    if (cfg.crossZone === undefined) return;
    const key = 'load_balancing.cross_zone.enabled';
    const cur = await this.elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lbArn }));
    const want = String(cfg.crossZone);
    if ((cur.Attributes ?? []).find((a) => a.Key === key)?.Value === want) return;
    await this.elb.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: lbArn,
        Attributes: [{ Key: key, Value: want }],
      }),
    );
  }
}

/** Instance IDs of nodes with an aws:/// providerID, sorted. */
export function instanceIds(nodes: Node[]): string[] {
  const ids = new Set<string>();
  for (const n of nodes) {
    const id = instanceIdFromProviderId(n.spec?.providerID);
    if (id) ids.add(id);
  }
  return [...ids].sort();
}

function statusOf(lb: Nlb): LoadBalancerStatus {
  return { ingress: lb.DNSName ? [{ hostname: lb.DNSName }] : [] };
}
