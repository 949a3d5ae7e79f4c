/**
 * An in-memory model of the ELBv2 and EC2 APIs the k8ts AWS provider calls, behind the REAL SDK
 * clients (their `send` is intercepted by aws-sdk-client-mock, so the commands, inputs and
 * the SDK's own exception classes are the real ones). It enforces what AWS enforces and the
 * reconciler must respect: unique names, a target group in use by a listener cannot be deleted,
 * deleting a load balancer deletes its listeners. Every mutating call is logged.
 */
import * as ec2sdk from '@aws-sdk/client-ec2';
import * as elb from '@aws-sdk/client-elastic-load-balancing-v2';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';

type Tags = { Key?: string | undefined; Value?: string | undefined }[];

export interface Call {
  cmd: string;
  input: any;
}

const MUTATING = /^(Create|Delete|Modify|Register|Deregister|Add|Remove|Set|Authorize|Revoke)/;

export interface FakeInstance {
  InstanceId: string;
  PrivateDnsName: string;
  PrivateIpAddress: string;
  PublicIpAddress?: string;
  InstanceType: string;
  AvailabilityZone: string;
  VpcId: string;
  state?: 'running' | 'stopped' | 'terminated';
  SecurityGroupIds?: string[];
}

export class FakeAws {
  readonly elb = new elb.ElasticLoadBalancingV2Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake' },
  });
  readonly ec2 = new ec2sdk.EC2Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake' },
  });
  readonly elbMock: AwsStub<any, any, any>;
  readonly ec2Mock: AwsStub<any, any, any>;
  calls: Call[] = [];
  lbs = new Map<string, elb.LoadBalancer>();
  tgs = new Map<string, elb.TargetGroup>();
  listeners = new Map<string, elb.Listener>();
  tags = new Map<string, Tags>();
  targets = new Map<string, elb.TargetDescription[]>();
  tgAttrs = new Map<string, Record<string, string>>();
  lbAttrs = new Map<string, Record<string, string>>();
  subnets: ec2sdk.Subnet[] = [];
  instances: FakeInstance[] = [];
  routeTables: ec2sdk.RouteTable[] = [];
  securityGroups: ec2sdk.SecurityGroup[] = [];
  vpcs: ec2sdk.Vpc[] = [{ VpcId: 'vpc-1', CidrBlock: '10.0.0.0/16' }];
  /** Command name -> how many next calls of it fail. */
  private failures = new Map<string, number>();
  private seq = 0;

  constructor() {
    this.elbMock = mockClient(this.elb);
    this.ec2Mock = mockClient(this.ec2);
    const E = elb as any;
    for (const name of Object.keys(elb)) {
      if (!name.endsWith('Command') || typeof E[name] !== 'function') continue;
      const op = name.slice(0, -'Command'.length);
      const impl = (this as any)[`elb${op}`];
      if (impl)
        this.elbMock.on(E[name]).callsFake((input: any) => this.run(op, input, () => impl.call(this, input)));
    }
    const C = ec2sdk as any;
    for (const op of [
      'DescribeSubnets',
      'DescribeInstances',
      'DescribeRouteTables',
      'CreateRoute',
      'DeleteRoute',
      'ModifyInstanceAttribute',
      'DescribeSecurityGroups',
      'DescribeVpcs',
      'AuthorizeSecurityGroupIngress',
      'RevokeSecurityGroupIngress',
    ]) {
      const impl = (this as any)[`ec2${op}`];
      this.ec2Mock
        .on(C[`${op}Command`])
        .callsFake((input: any) => this.run(op, input, () => impl.call(this, input)));
    }
  }

  /** Make the next `times` calls of `cmd` (e.g. 'CreateListener') fail. */
  failNext(cmd: string, times = 1): void {
    this.failures.set(cmd, times);
  }

  /** Mutating calls so far (and clear the log). */
  takeMutations(): Call[] {
    const m = this.calls.filter((c) => MUTATING.test(c.cmd));
    this.calls = [];
    return m;
  }

  restore(): void {
    this.elbMock.restore();
    this.ec2Mock.restore();
  }

  /** Async like the real client's send: errors arrive as rejections, never synchronously. */
  private async run(op: string, input: any, fn: () => unknown): Promise<unknown> {
    this.calls.push({ cmd: op, input: structuredClone(input) });
    const f = this.failures.get(op) ?? 0;
    if (f > 0) {
      this.failures.set(op, f - 1);
      throw new elb.ElasticLoadBalancingV2ServiceException({
        name: 'InternalFailure',
        $fault: 'server',
        $metadata: {},
        message: `injected failure of ${op}`,
      });
    }
    return fn();
  }

  private arn(kind: string, name: string): string {
    return `arn:aws:elasticloadbalancing:eu-west-1:123456789012:${kind}/${name}/${(++this.seq).toString(16).padStart(16, '0')}`;
  }

  // ---- ELBv2 ----
  elbDescribeLoadBalancers(i: elb.DescribeLoadBalancersInput) {
    const all = [...this.lbs.values()];
    if (i.Names) {
      const found = all.filter((l) => i.Names!.includes(l.LoadBalancerName!));
      if (found.length < i.Names.length)
        throw new elb.LoadBalancerNotFoundException({
          $metadata: {},
          message: 'One or more load balancers not found',
        });
      return { LoadBalancers: found };
    }
    if (i.LoadBalancerArns)
      return { LoadBalancers: all.filter((l) => i.LoadBalancerArns!.includes(l.LoadBalancerArn!)) };
    return { LoadBalancers: all };
  }
  elbCreateLoadBalancer(i: elb.CreateLoadBalancerInput) {
    if ([...this.lbs.values()].some((l) => l.LoadBalancerName === i.Name))
      throw new elb.DuplicateLoadBalancerNameException({
        $metadata: {},
        message: 'A load balancer with the same name exists',
      });
    const subnetIds = (i.SubnetMappings ?? []).map((m) => m.SubnetId!);
    const vpc = this.subnets.find((s) => s.SubnetId === subnetIds[0])?.VpcId ?? 'vpc-unknown';
    const arn = this.arn('loadbalancer/net', i.Name!);
    const lb: elb.LoadBalancer = {
      LoadBalancerArn: arn,
      LoadBalancerName: i.Name!,
      DNSName: `${i.Name}-${this.seq}.elb.eu-west-1.amazonaws.com`,
      Scheme: i.Scheme ?? 'internet-facing',
      Type: i.Type ?? 'application',
      VpcId: vpc,
      AvailabilityZones: subnetIds.map((s) => ({ SubnetId: s })),
    };
    this.lbs.set(arn, lb);
    this.tags.set(arn, i.Tags ?? []);
    this.lbAttrs.set(arn, { 'load_balancing.cross_zone.enabled': 'false' });
    return { LoadBalancers: [lb] };
  }
  elbDeleteLoadBalancer(i: elb.DeleteLoadBalancerInput) {
    for (const [a, l] of this.listeners)
      if (l.LoadBalancerArn === i.LoadBalancerArn) this.elbDeleteListener({ ListenerArn: a });
    this.lbs.delete(i.LoadBalancerArn!);
    this.tags.delete(i.LoadBalancerArn!);
    return {};
  }
  elbDescribeTags(i: elb.DescribeTagsInput) {
    return {
      TagDescriptions: (i.ResourceArns ?? []).map((a) => ({ ResourceArn: a, Tags: this.tags.get(a) ?? [] })),
    };
  }
  elbDescribeTargetGroups(i: elb.DescribeTargetGroupsInput) {
    const all = [...this.tgs.values()];
    if (i.Names) {
      const found = all.filter((t) => i.Names!.includes(t.TargetGroupName!));
      if (found.length < i.Names.length)
        throw new elb.TargetGroupNotFoundException({
          $metadata: {},
          message: 'One or more target groups not found',
        });
      return { TargetGroups: found };
    }
    if (i.LoadBalancerArn) {
      if (!this.lbs.has(i.LoadBalancerArn))
        throw new elb.LoadBalancerNotFoundException({ $metadata: {}, message: 'load balancer not found' });
      return { TargetGroups: all.filter((t) => t.LoadBalancerArns?.includes(i.LoadBalancerArn!)) };
    }
    return { TargetGroups: all };
  }
  elbCreateTargetGroup(i: elb.CreateTargetGroupInput) {
    if ([...this.tgs.values()].some((t) => t.TargetGroupName === i.Name))
      throw new elb.DuplicateTargetGroupNameException({
        $metadata: {},
        message: 'A target group with the same name exists',
      });
    if (i.Name!.length > 32) throw new Error(`target group name too long: ${i.Name}`);
    const arn = this.arn('targetgroup', i.Name!);
    const { Tags, Name, ...rest } = i;
    const tg: elb.TargetGroup = {
      ...rest,
      TargetGroupArn: arn,
      TargetGroupName: Name!,
      LoadBalancerArns: [],
    };
    this.tgs.set(arn, tg);
    this.tags.set(arn, Tags ?? []);
    this.targets.set(arn, []);
    return { TargetGroups: [structuredClone(tg)] };
  }
  elbModifyTargetGroup(i: elb.ModifyTargetGroupInput) {
    const tg = this.tgs.get(i.TargetGroupArn!)!;
    Object.assign(tg, Object.fromEntries(Object.entries(i).filter(([k]) => k !== 'TargetGroupArn')));
    return { TargetGroups: [tg] };
  }
  elbDeleteTargetGroup(i: elb.DeleteTargetGroupInput) {
    const tg = this.tgs.get(i.TargetGroupArn!);
    if (!tg) return {};
    if ([...this.listeners.values()].some((l) => l.DefaultActions?.[0]?.TargetGroupArn === i.TargetGroupArn))
      throw new elb.ResourceInUseException({
        $metadata: {},
        message: `Target group '${i.TargetGroupArn}' is currently in use by a listener`,
      });
    this.tgs.delete(i.TargetGroupArn!);
    this.tags.delete(i.TargetGroupArn!);
    return {};
  }
  elbDescribeTargetHealth(i: elb.DescribeTargetHealthInput) {
    return {
      TargetHealthDescriptions: (this.targets.get(i.TargetGroupArn!) ?? []).map((t) => ({
        Target: t,
        TargetHealth: { State: 'healthy' },
      })),
    };
  }
  elbRegisterTargets(i: elb.RegisterTargetsInput) {
    const cur = this.targets.get(i.TargetGroupArn!)!;
    for (const t of i.Targets ?? []) if (!cur.some((c) => c.Id === t.Id && c.Port === t.Port)) cur.push(t);
    return {};
  }
  elbDeregisterTargets(i: elb.DeregisterTargetsInput) {
    const cur = this.targets.get(i.TargetGroupArn!)!;
    this.targets.set(
      i.TargetGroupArn!,
      cur.filter((c) => !(i.Targets ?? []).some((t) => t.Id === c.Id && t.Port === c.Port)),
    );
    return {};
  }
  elbDescribeListeners(i: elb.DescribeListenersInput) {
    return { Listeners: [...this.listeners.values()].filter((l) => l.LoadBalancerArn === i.LoadBalancerArn) };
  }
  private attach(tgArn: string | undefined, lbArn: string, on: boolean): void {
    const tg = tgArn ? this.tgs.get(tgArn) : undefined;
    if (!tg) return;
    const set = new Set(tg.LoadBalancerArns ?? []);
    if (on) set.add(lbArn);
    else if (
      ![...this.listeners.values()].some(
        (l) => l.LoadBalancerArn === lbArn && l.DefaultActions?.[0]?.TargetGroupArn === tgArn,
      )
    )
      set.delete(lbArn);
    tg.LoadBalancerArns = [...set];
  }
  elbCreateListener(i: elb.CreateListenerInput) {
    if (
      [...this.listeners.values()].some((l) => l.LoadBalancerArn === i.LoadBalancerArn && l.Port === i.Port)
    )
      throw new elb.DuplicateListenerException({
        $metadata: {},
        message: 'A listener already exists on this port',
      });
    if (!this.tgs.has(i.DefaultActions?.[0]?.TargetGroupArn ?? ''))
      throw new elb.TargetGroupNotFoundException({ $metadata: {}, message: 'target group not found' });
    const arn = this.arn('listener/net', String(i.Port));
    const { Tags, ...rest } = i;
    this.listeners.set(arn, { ...rest, ListenerArn: arn });
    this.tags.set(arn, Tags ?? []);
    this.attach(i.DefaultActions?.[0]?.TargetGroupArn, i.LoadBalancerArn!, true);
    return { Listeners: [this.listeners.get(arn)] };
  }
  elbModifyListener(i: elb.ModifyListenerInput) {
    const l = this.listeners.get(i.ListenerArn!)!;
    const oldTg = l.DefaultActions?.[0]?.TargetGroupArn;
    Object.assign(l, Object.fromEntries(Object.entries(i).filter(([, v]) => v !== undefined)));
    if (i.Protocol && i.Protocol !== 'TLS') {
      delete l.Certificates;
      delete l.SslPolicy;
    }
    this.attach(l.DefaultActions?.[0]?.TargetGroupArn, l.LoadBalancerArn!, true);
    this.attach(oldTg, l.LoadBalancerArn!, false);
    return { Listeners: [l] };
  }
  elbDeleteListener(i: elb.DeleteListenerInput) {
    const l = this.listeners.get(i.ListenerArn!);
    if (!l) return {};
    this.listeners.delete(i.ListenerArn!);
    this.tags.delete(i.ListenerArn!);
    this.attach(l.DefaultActions?.[0]?.TargetGroupArn, l.LoadBalancerArn!, false);
    return {};
  }
  elbDescribeTargetGroupAttributes(i: elb.DescribeTargetGroupAttributesInput) {
    return {
      Attributes: Object.entries(this.tgAttrs.get(i.TargetGroupArn!) ?? {}).map(([Key, Value]) => ({
        Key,
        Value,
      })),
    };
  }
  elbModifyTargetGroupAttributes(i: elb.ModifyTargetGroupAttributesInput) {
    const cur = this.tgAttrs.get(i.TargetGroupArn!) ?? {};
    for (const a of i.Attributes ?? []) cur[a.Key!] = a.Value!;
    this.tgAttrs.set(i.TargetGroupArn!, cur);
    return { Attributes: i.Attributes };
  }
  elbDescribeLoadBalancerAttributes(i: elb.DescribeLoadBalancerAttributesInput) {
    return {
      Attributes: Object.entries(this.lbAttrs.get(i.LoadBalancerArn!) ?? {}).map(([Key, Value]) => ({
        Key,
        Value,
      })),
    };
  }
  elbModifyLoadBalancerAttributes(i: elb.ModifyLoadBalancerAttributesInput) {
    const cur = this.lbAttrs.get(i.LoadBalancerArn!) ?? {};
    for (const a of i.Attributes ?? []) cur[a.Key!] = a.Value!;
    this.lbAttrs.set(i.LoadBalancerArn!, cur);
    return { Attributes: i.Attributes };
  }

  // ---- EC2 ----
  private filtered<T extends { Tags?: Tags | undefined }>(
    items: T[],
    filters: ec2sdk.Filter[] | undefined,
    field: (t: T, name: string) => string | undefined,
  ): T[] {
    return items.filter((it) =>
      (filters ?? []).every((f) => {
        if (f.Name?.startsWith('tag:')) {
          const k = f.Name.slice(4);
          return (it.Tags ?? []).some((t) => t.Key === k && f.Values!.includes(t.Value ?? ''));
        }
        if (f.Name === 'tag-key') return (it.Tags ?? []).some((t) => f.Values!.includes(t.Key ?? ''));
        const v = field(it, f.Name!);
        return v !== undefined && f.Values!.includes(v);
      }),
    );
  }
  ec2DescribeSubnets(i: ec2sdk.DescribeSubnetsCommandInput) {
    return {
      Subnets: this.filtered(this.subnets, i.Filters, (s, n) => (n === 'vpc-id' ? s.VpcId : undefined)),
    };
  }
  ec2DescribeInstances(i: ec2sdk.DescribeInstancesCommandInput) {
    let found = this.instances.filter((x) => !i.InstanceIds || i.InstanceIds.includes(x.InstanceId));
    if (i.InstanceIds && found.length < i.InstanceIds.length) {
      const e = new ec2sdk.EC2ServiceException({
        name: 'InvalidInstanceID.NotFound',
        $fault: 'client',
        $metadata: {},
        message: `The instance IDs '${i.InstanceIds.join(', ')}' do not exist`,
      });
      throw e;
    }
    found = found.filter((x) =>
      (i.Filters ?? []).every((f) => {
        const v =
          f.Name === 'private-dns-name'
            ? x.PrivateDnsName
            : f.Name === 'private-ip-address'
              ? x.PrivateIpAddress
              : undefined;
        return v !== undefined && f.Values!.includes(v);
      }),
    );
    return {
      Reservations: found.length
        ? [
            {
              Instances: found.map((x) => ({
                InstanceId: x.InstanceId,
                PrivateDnsName: x.PrivateDnsName,
                PrivateIpAddress: x.PrivateIpAddress,
                PublicIpAddress: x.PublicIpAddress,
                InstanceType: x.InstanceType,
                Placement: { AvailabilityZone: x.AvailabilityZone },
                VpcId: x.VpcId,
                State: { Name: x.state ?? 'running' },
                SecurityGroups: (x.SecurityGroupIds ?? []).map((GroupId) => ({ GroupId })),
              })),
            },
          ]
        : [],
    };
  }
  ec2DescribeRouteTables(i: ec2sdk.DescribeRouteTablesCommandInput) {
    return {
      RouteTables: this.filtered(this.routeTables, i.Filters, (r, n) =>
        n === 'vpc-id' ? r.VpcId : undefined,
      ),
    };
  }
  ec2CreateRoute(i: ec2sdk.CreateRouteCommandInput) {
    const rt = this.routeTables.find((r) => r.RouteTableId === i.RouteTableId)!;
    if ((rt.Routes ?? []).some((r) => r.DestinationCidrBlock === i.DestinationCidrBlock))
      throw new ec2sdk.EC2ServiceException({
        name: 'RouteAlreadyExists',
        $fault: 'client',
        $metadata: {},
        message: 'route exists',
      });
    rt.Routes = [
      ...(rt.Routes ?? []),
      { DestinationCidrBlock: i.DestinationCidrBlock, InstanceId: i.InstanceId, State: 'active' },
    ];
    return { Return: true };
  }
  ec2DescribeVpcs(i: ec2sdk.DescribeVpcsCommandInput) {
    return { Vpcs: this.vpcs.filter((v) => !i.VpcIds || i.VpcIds.includes(v.VpcId!)) };
  }
  ec2DescribeSecurityGroups(i: ec2sdk.DescribeSecurityGroupsCommandInput) {
    return {
      SecurityGroups: structuredClone(
        this.filtered(this.securityGroups, i.Filters, (g, n) => (n === 'vpc-id' ? g.VpcId : undefined)),
      ),
    };
  }
  private sg(id: string): ec2sdk.SecurityGroup {
    const g = this.securityGroups.find((x) => x.GroupId === id);
    if (!g)
      throw new ec2sdk.EC2ServiceException({
        name: 'InvalidGroup.NotFound',
        $fault: 'client',
        $metadata: {},
        message: id,
      });
    return g;
  }
  ec2AuthorizeSecurityGroupIngress(i: ec2sdk.AuthorizeSecurityGroupIngressCommandInput) {
    const g = this.sg(i.GroupId!);
    const add: ec2sdk.IpPermission[] = [];
    for (const p of i.IpPermissions ?? [])
      for (const r of p.IpRanges ?? []) {
        const same = (x: ec2sdk.IpPermission) =>
          x.IpProtocol === p.IpProtocol &&
          x.FromPort === p.FromPort &&
          (x.IpRanges ?? []).some((y) => y.CidrIp === r.CidrIp);
        // All or nothing, as AWS: one duplicate fails the whole call.
        if ((g.IpPermissions ?? []).some(same) || add.some(same))
          throw new ec2sdk.EC2ServiceException({
            name: 'InvalidPermission.Duplicate',
            $fault: 'client',
            $metadata: {},
            message: 'duplicate rule',
          });
        add.push({ IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort, IpRanges: [r] });
      }
    g.IpPermissions = [...(g.IpPermissions ?? []), ...add];
    return { Return: true };
  }
  ec2RevokeSecurityGroupIngress(i: ec2sdk.RevokeSecurityGroupIngressCommandInput) {
    const g = this.sg(i.GroupId!);
    for (const p of i.IpPermissions ?? [])
      for (const r of p.IpRanges ?? [])
        g.IpPermissions = (g.IpPermissions ?? []).filter(
          (x) =>
            !(
              x.IpProtocol === p.IpProtocol &&
              x.FromPort === p.FromPort &&
              (x.IpRanges ?? []).some((y) => y.CidrIp === r.CidrIp)
            ),
        );
    return { Return: true };
  }
  ec2ModifyInstanceAttribute(_i: ec2sdk.ModifyInstanceAttributeCommandInput) {
    return {};
  }
  ec2DeleteRoute(i: ec2sdk.DeleteRouteCommandInput) {
    const rt = this.routeTables.find((r) => r.RouteTableId === i.RouteTableId)!;
    rt.Routes = (rt.Routes ?? []).filter((r) => r.DestinationCidrBlock !== i.DestinationCidrBlock);
    return {};
  }
}
