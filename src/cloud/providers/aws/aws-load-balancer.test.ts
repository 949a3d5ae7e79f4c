/**
 * The AWS load balancer reconciler against the real ELBv2/EC2 SDK clients with their transport
 * faked (aws-sdk-client-mock over an in-memory model, test/helpers/fake-aws.ts): every reconcile
 * path, the exact mutating calls, idempotency, and that nothing foreign is ever deleted.
 */
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Call, FakeAws } from '../../../../test/helpers/fake-aws.js';
import { ForeignResourceError } from '../../errors.js';
import { AwsLoadBalancer } from './aws-load-balancer.js';

const CLUSTER = 'prod';
const UID = '6f1e2d3c-aaaa-bbbb-cccc-0123456789ab';
const LB_NAME = 'a6f1e2d3caaaabbbbcccc0123456789a';

let aws: FakeAws;
let lb: AwsLoadBalancer;

function node(name: string, id: string, zone = 'eu-west-1a'): Node {
  return { metadata: { name }, spec: { providerID: `aws:///${zone}/${id}` } };
}
function svc(
  opts: {
    ports?: { port: number; nodePort: number; name?: string; protocol?: string }[];
    ann?: Record<string, string>;
    spec?: Service['spec'];
  } = {},
): Service {
  return {
    metadata: { name: 'web', namespace: 'shop', uid: UID, annotations: opts.ann ?? {} },
    spec: {
      type: 'LoadBalancer',
      ports: (opts.ports ?? [{ port: 80, nodePort: 30080, name: 'http' }]).map((p) => ({
        protocol: 'TCP',
        targetPort: p.port,
        ...p,
      })),
      ...(opts.spec ?? {}),
    },
  };
}
const cmds = (calls: Call[]) => calls.map((c) => c.cmd);
const NODES = [node('n1', 'i-0000000000000001'), node('n2', 'i-0000000000000002', 'eu-west-1b')];

beforeEach(() => {
  aws = new FakeAws();
  const tag = (Key: string, Value = '') => ({ Key, Value });
  aws.instances = [
    {
      InstanceId: 'i-0000000000000001',
      PrivateDnsName: 'n1',
      PrivateIpAddress: '10.0.1.10',
      InstanceType: 'm5.large',
      AvailabilityZone: 'eu-west-1a',
      VpcId: 'vpc-1',
      SecurityGroupIds: ['sg-nodes', 'sg-untagged'],
    },
    {
      InstanceId: 'i-0000000000000002',
      PrivateDnsName: 'n2',
      PrivateIpAddress: '10.0.2.10',
      InstanceType: 'm5.large',
      AvailabilityZone: 'eu-west-1b',
      VpcId: 'vpc-1',
      SecurityGroupIds: ['sg-nodes'],
    },
  ];
  aws.securityGroups = [
    {
      GroupId: 'sg-nodes',
      VpcId: 'vpc-1',
      Tags: [tag('kubernetes.io/cluster/prod', 'owned')],
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'ssh' }],
        },
      ],
    },
    { GroupId: 'sg-untagged', VpcId: 'vpc-1', Tags: [], IpPermissions: [] },
    {
      GroupId: 'sg-other',
      VpcId: 'vpc-1',
      Tags: [tag('kubernetes.io/cluster/other', 'owned')],
      IpPermissions: [],
    },
  ];
  aws.subnets = [
    {
      SubnetId: 'subnet-a-private',
      VpcId: 'vpc-1',
      AvailabilityZone: 'eu-west-1a',
      Tags: [tag('kubernetes.io/role/internal-elb', '1'), tag('kubernetes.io/cluster/prod', 'shared')],
    },
    {
      SubnetId: 'subnet-a-public',
      VpcId: 'vpc-1',
      AvailabilityZone: 'eu-west-1a',
      Tags: [tag('kubernetes.io/role/elb', '1'), tag('kubernetes.io/cluster/prod', 'owned')],
    },
    {
      SubnetId: 'subnet-b-public',
      VpcId: 'vpc-1',
      AvailabilityZone: 'eu-west-1b',
      Tags: [tag('kubernetes.io/role/elb', '1')],
    },
    {
      SubnetId: 'subnet-b-other',
      VpcId: 'vpc-1',
      AvailabilityZone: 'eu-west-1b',
      Tags: [tag('kubernetes.io/role/elb', '1'), tag('kubernetes.io/cluster/other', 'owned')],
    },
    {
      SubnetId: 'subnet-c-othervpc',
      VpcId: 'vpc-2',
      AvailabilityZone: 'eu-west-1c',
      Tags: [tag('kubernetes.io/role/elb', '1')],
    },
  ];
  lb = new AwsLoadBalancer({ elb: aws.elb, ec2: aws.ec2 });
});
afterEach(() => aws.restore());

async function ensure(s: Service, nodes = NODES) {
  return lb.ensureLoadBalancer(CLUSTER, s, nodes);
}

async function expectNoop(s: Service, nodes = NODES) {
  aws.takeMutations();
  await ensure(s, nodes);
  expect(cmds(aws.takeMutations())).toEqual([]);
}

describe('AWS NLB reconcile', () => {
  it('create: NLB in discovered subnets, a target group per port with the instances, listeners; then a no-op', async () => {
    const s = svc({
      ports: [
        { port: 80, nodePort: 30080, name: 'http' },
        { port: 53, nodePort: 30053, name: 'dns', protocol: 'UDP' },
      ],
    });
    const status = await ensure(s);
    const m = aws.takeMutations();
    expect(cmds(m)).toEqual([
      'CreateLoadBalancer',
      'CreateTargetGroup',
      'RegisterTargets',
      'CreateListener',
      'CreateTargetGroup',
      'RegisterTargets',
      'CreateListener',
      'AuthorizeSecurityGroupIngress',
    ]);
    const create = m[0]!.input;
    expect(create).toMatchObject({ Name: LB_NAME, Type: 'network', Scheme: 'internet-facing' });
    // One subnet per zone, role-tagged for public ELBs, never another cluster's or another VPC's.
    expect(create.SubnetMappings).toEqual([{ SubnetId: 'subnet-a-public' }, { SubnetId: 'subnet-b-public' }]);
    expect(create.Tags).toEqual([
      { Key: 'kubernetes.io/cluster/prod', Value: 'owned' },
      { Key: 'kubernetes.io/service-name', Value: 'shop/web' },
    ]);
    const tg = m[1]!.input;
    expect(tg.Name).toMatch(/^k8s-shop-web-[0-9a-f]{10}$/);
    expect(tg).toMatchObject({
      Port: 30080,
      Protocol: 'TCP',
      TargetType: 'instance',
      VpcId: 'vpc-1',
      HealthCheckProtocol: 'TCP',
      HealthCheckPort: 'traffic-port',
    });
    expect(m[2]!.input.Targets).toEqual([
      { Id: 'i-0000000000000001', Port: 30080 },
      { Id: 'i-0000000000000002', Port: 30080 },
    ]);
    expect(m[3]!.input).toMatchObject({
      Port: 80,
      Protocol: 'TCP',
      DefaultActions: [{ Type: 'forward', TargetGroupArn: aws.tgs.values().next().value!.TargetGroupArn }],
    });
    expect(m[4]!.input).toMatchObject({ Port: 30053, Protocol: 'UDP' });
    expect(m[6]!.input).toMatchObject({ Port: 53, Protocol: 'UDP' });
    expect(status.ingress).toEqual([
      { hostname: expect.stringMatching(/\.elb\.eu-west-1\.amazonaws\.com$/) },
    ]);
    expect(await lb.getLoadBalancer(CLUSTER, s)).toEqual({ exists: true, status });
    await expectNoop(s);
  });

  it('node added and removed: only RegisterTargets / DeregisterTargets', async () => {
    const s = svc();
    await ensure(s, NODES.slice(0, 1));
    aws.takeMutations();
    await lb.updateLoadBalancer(CLUSTER, s, NODES);
    let m = aws.takeMutations();
    expect(cmds(m)).toEqual(['RegisterTargets']);
    expect(m[0]!.input.Targets).toEqual([{ Id: 'i-0000000000000002', Port: 30080 }]);
    await lb.updateLoadBalancer(CLUSTER, s, NODES.slice(1));
    m = aws.takeMutations();
    expect(cmds(m)).toEqual(['DeregisterTargets']);
    expect(m[0]!.input.Targets).toEqual([{ Id: 'i-0000000000000001', Port: 30080 }]);
    await expectNoop(s, NODES.slice(1));
  });

  it('port change: a new port adds a target group + listener; a removed port deletes them; a nodePort change swaps the target group', async () => {
    await ensure(svc());
    aws.takeMutations();
    const two = svc({
      ports: [
        { port: 80, nodePort: 30080, name: 'http' },
        { port: 8443, nodePort: 30443, name: 'alt' },
      ],
    });
    await ensure(two);
    expect(cmds(aws.takeMutations())).toEqual([
      'CreateTargetGroup',
      'RegisterTargets',
      'CreateListener',
      'AuthorizeSecurityGroupIngress',
    ]);
    await ensure(svc({ ports: [{ port: 8443, nodePort: 30443, name: 'alt' }] }));
    expect(cmds(aws.takeMutations())).toEqual([
      'DeleteListener',
      'DeleteTargetGroup',
      'RevokeSecurityGroupIngress',
    ]);
    await ensure(svc({ ports: [{ port: 8443, nodePort: 31443, name: 'alt' }] }));
    const m = aws.takeMutations();
    expect(cmds(m)).toEqual([
      'CreateTargetGroup',
      'RegisterTargets',
      'ModifyListener',
      'DeleteTargetGroup',
      'RevokeSecurityGroupIngress',
      'AuthorizeSecurityGroupIngress',
    ]);
    expect(aws.tgs.size).toBe(1);
    expect([...aws.tgs.values()][0]!.Port).toBe(31443);
    await expectNoop(svc({ ports: [{ port: 8443, nodePort: 31443, name: 'alt' }] }));
  });

  it('annotation change: externalTrafficPolicy Local health check, TLS with an ACM cert, attributes, tags', async () => {
    await ensure(svc());
    aws.takeMutations();
    const local = svc({ spec: { externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 } });
    await ensure(local);
    let m = aws.takeMutations();
    // Health check protocol is immutable on a target group: a new one replaces it.
    expect(cmds(m)).toEqual([
      'CreateTargetGroup',
      'RegisterTargets',
      'ModifyListener',
      'DeleteTargetGroup',
      'RevokeSecurityGroupIngress',
      'AuthorizeSecurityGroupIngress',
    ]);
    expect(m[0]!.input).toMatchObject({
      HealthCheckProtocol: 'HTTP',
      HealthCheckPort: '32000',
      HealthCheckPath: '/healthz',
    });
    await expectNoop(local);

    const cert = 'arn:aws:acm:eu-west-1:123456789012:certificate/abc';
    const tls = svc({
      spec: { externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 },
      ann: {
        'service.beta.kubernetes.io/aws-load-balancer-ssl-cert': cert,
        'service.beta.kubernetes.io/aws-load-balancer-ssl-ports': 'http',
        'service.beta.kubernetes.io/aws-load-balancer-target-group-attributes':
          'deregistration_delay.timeout_seconds=15,preserve_client_ip.enabled=true',
        'service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled': 'true',
        'service.beta.kubernetes.io/aws-load-balancer-healthcheck-healthy-threshold': '4',
      },
    });
    await ensure(tls);
    m = aws.takeMutations();
    expect(cmds(m)).toEqual([
      'ModifyTargetGroup',
      'ModifyTargetGroupAttributes',
      'ModifyListener',
      'ModifyLoadBalancerAttributes',
    ]);
    expect(m[0]!.input).toMatchObject({ HealthyThresholdCount: 4 });
    expect(m[2]!.input).toMatchObject({
      Protocol: 'TLS',
      Certificates: [{ CertificateArn: cert }],
      SslPolicy: 'ELBSecurityPolicy-2016-08',
    });
    expect(m[3]!.input.Attributes).toEqual([{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }]);
    await expectNoop(tls);
  });

  it('annotation change to internal: the NLB is replaced (its scheme cannot change), in internal subnets', async () => {
    await ensure(svc());
    const first = [...aws.lbs.values()][0]!.LoadBalancerArn;
    aws.takeMutations();
    const internal = svc({ ann: { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' } });
    await ensure(internal);
    const m = aws.takeMutations();
    expect(cmds(m)).toEqual([
      'DeleteListener',
      'DeleteLoadBalancer',
      'DeleteTargetGroup',
      'CreateLoadBalancer',
      'CreateTargetGroup',
      'RegisterTargets',
      'CreateListener',
      'RevokeSecurityGroupIngress',
      'AuthorizeSecurityGroupIngress',
    ]);
    expect(m[3]!.input).toMatchObject({
      Scheme: 'internal',
      SubnetMappings: [{ SubnetId: 'subnet-a-private' }, { SubnetId: 'subnet-b-public' }],
    });
    expect(aws.lbs.has(first!)).toBe(false);
    await expectNoop(internal);
  });

  it('subnets and extra tags from annotations', async () => {
    aws.subnets.push({
      SubnetId: 'subnet-named',
      VpcId: 'vpc-1',
      AvailabilityZone: 'eu-west-1c',
      Tags: [{ Key: 'Name', Value: 'edge-c' }],
    });
    await ensure(
      svc({
        ann: {
          'service.beta.kubernetes.io/aws-load-balancer-subnets': 'subnet-a-public, edge-c',
          'service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags': 'team=web,cost-center=42',
        },
      }),
    );
    const m = aws.takeMutations();
    expect(m[0]!.input.SubnetMappings).toEqual([
      { SubnetId: 'subnet-a-public' },
      { SubnetId: 'subnet-named' },
    ]);
    expect(m[0]!.input.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'team', Value: 'web' },
        { Key: 'cost-center', Value: '42' },
      ]),
    );
    expect(m[1]!.input.Tags).toEqual(m[0]!.input.Tags);
  });

  it('a failure halfway (CreateListener) is finished by the retry without duplicates', async () => {
    aws.failNext('CreateListener');
    await expect(ensure(svc())).rejects.toThrow(/injected failure of CreateListener/);
    expect(cmds(aws.takeMutations())).toEqual([
      'CreateLoadBalancer',
      'CreateTargetGroup',
      'RegisterTargets',
      'CreateListener',
    ]);
    await ensure(svc());
    // The target group is found again by its name: no second CreateTargetGroup, no re-registration.
    expect(cmds(aws.takeMutations())).toEqual(['CreateListener', 'AuthorizeSecurityGroupIngress']);
    expect(aws.tgs.size).toBe(1);
    await expectNoop(svc());
  });

  it('delete: listeners, NLB, target groups; a second delete is a no-op', async () => {
    await ensure(
      svc({
        ports: [
          { port: 80, nodePort: 30080, name: 'http' },
          { port: 443, nodePort: 30443, name: 'https' },
        ],
      }),
    );
    aws.takeMutations();
    await lb.ensureLoadBalancerDeleted(CLUSTER, svc());
    expect(cmds(aws.takeMutations())).toEqual([
      'DeleteListener',
      'DeleteListener',
      'DeleteLoadBalancer',
      'DeleteTargetGroup',
      'DeleteTargetGroup',
      'RevokeSecurityGroupIngress',
    ]);
    expect(aws.lbs.size + aws.tgs.size + aws.listeners.size).toBe(0);
    await lb.ensureLoadBalancerDeleted(CLUSTER, svc());
    expect(cmds(aws.takeMutations())).toEqual([]);
    expect(await lb.getLoadBalancer(CLUSTER, svc())).toEqual({ exists: false });
  });

  it('delete after a failed create removes the orphan target group', async () => {
    aws.failNext('CreateListener');
    await expect(ensure(svc())).rejects.toThrow();
    aws.takeMutations();
    await lb.ensureLoadBalancerDeleted(CLUSTER, svc());
    expect(cmds(aws.takeMutations())).toEqual(['DeleteLoadBalancer', 'DeleteTargetGroup']);
    expect(aws.tgs.size).toBe(0);
  });

  it("never touches a load balancer or target group without this cluster's owned tag", async () => {
    // Another cluster's NLB under the same name (same service UID cannot happen, but a copy can).
    await new AwsLoadBalancer({ elb: aws.elb, ec2: aws.ec2 }).ensureLoadBalancer('other', svc(), NODES);
    aws.takeMutations();
    await expect(ensure(svc())).rejects.toBeInstanceOf(ForeignResourceError);
    await lb.ensureLoadBalancerDeleted(CLUSTER, svc());
    expect(cmds(aws.takeMutations())).toEqual([]);
    expect(aws.lbs.size).toBe(1);
    expect(aws.tgs.size).toBe(1);
  });

  it('a foreign target group attached to our NLB is left alone when our ports change', async () => {
    await ensure(svc());
    const lbArn = [...aws.lbs.values()][0]!.LoadBalancerArn!;
    // Someone attached their own target group to a listener on our NLB by hand.
    const foreign = aws.elbCreateTargetGroup({
      Name: 'hand-made',
      Port: 9000,
      Protocol: 'TCP',
      VpcId: 'vpc-1',
    }).TargetGroups[0]!;
    aws.elbCreateListener({
      LoadBalancerArn: lbArn,
      Port: 9000,
      Protocol: 'TCP',
      DefaultActions: [{ Type: 'forward', TargetGroupArn: foreign.TargetGroupArn! }],
    });
    aws.takeMutations();
    await ensure(svc());
    // Its listener is not a service port, so it goes; the target group (not owned) stays.
    expect(cmds(aws.takeMutations())).toEqual(['DeleteListener']);
    expect(aws.tgs.has(foreign.TargetGroupArn!)).toBe(true);
  });
});

describe('AWS NLB with pod IP targets', () => {
  it('nlb-target-type ip: an ip target group with the ready pod endpoints, following them', async () => {
    let eps = [{ ip: '10.42.0.5', port: 8080 }];
    lb.setEndpointSource((_s, port) => (port === 'http' ? eps : []));
    const s = svc({ ann: { 'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip' } });
    expect(lb.usesEndpoints(s)).toBe(true);
    await ensure(s);
    const m = aws.takeMutations();
    expect(cmds(m)).toEqual(['CreateLoadBalancer', 'CreateTargetGroup', 'RegisterTargets', 'CreateListener']);
    expect(m[1]!.input).toMatchObject({ TargetType: 'ip', Port: 80 });
    expect(m[2]!.input.Targets).toEqual([{ Id: '10.42.0.5', Port: 8080 }]);
    eps = [{ ip: '10.42.1.9', port: 8080 }];
    await lb.updateLoadBalancer(CLUSTER, s, NODES);
    expect(cmds(aws.takeMutations())).toEqual(['RegisterTargets', 'DeregisterTargets']);
    await expectNoop(s);
  });
});

describe('AWS node security group rules', () => {
  const rules = (id: string) =>
    (aws.securityGroups.find((g) => g.GroupId === id)!.IpPermissions ?? [])
      .map((p) => `${p.IpProtocol}/${p.FromPort} ${p.IpRanges![0]!.CidrIp} ${p.IpRanges![0]!.Description}`)
      .sort();

  it('admits clients on the NodePorts and health checks from the VPC, only in cluster-tagged groups', async () => {
    const s = svc({
      ports: [
        { port: 80, nodePort: 30080, name: 'http' },
        { port: 53, nodePort: 30053, name: 'dns', protocol: 'UDP' },
      ],
      spec: { loadBalancerSourceRanges: ['198.51.100.0/24'] },
    });
    await ensure(s);
    expect(rules('sg-nodes')).toEqual([
      `tcp/22 0.0.0.0/0 ssh`,
      `tcp/30053 10.0.0.0/16 kubernetes.io/rule/nlb/health=${LB_NAME}`,
      `tcp/30080 10.0.0.0/16 kubernetes.io/rule/nlb/health=${LB_NAME}`,
      `tcp/30080 198.51.100.0/24 kubernetes.io/rule/nlb/client=${LB_NAME}`,
      `udp/30053 198.51.100.0/24 kubernetes.io/rule/nlb/client=${LB_NAME}`,
    ]);
    expect(rules('sg-untagged')).toEqual([]);
    expect(rules('sg-other')).toEqual([]);
    await expectNoop(s);
    await lb.ensureLoadBalancerDeleted(CLUSTER, s);
    expect(rules('sg-nodes')).toEqual(['tcp/22 0.0.0.0/0 ssh']);
  });

  it("keeps a user's own rule that already admits the same port, and leaves it on delete", async () => {
    aws.securityGroups[0]!.IpPermissions!.push({
      IpProtocol: 'tcp',
      FromPort: 30080,
      ToPort: 30080,
      IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'mine' }],
    });
    await ensure(svc());
    expect(rules('sg-nodes')).toEqual([
      'tcp/22 0.0.0.0/0 ssh',
      `tcp/30080 0.0.0.0/0 mine`,
      `tcp/30080 10.0.0.0/16 kubernetes.io/rule/nlb/health=${LB_NAME}`,
    ]);
    await lb.ensureLoadBalancerDeleted(CLUSTER, svc());
    expect(rules('sg-nodes')).toEqual(['tcp/22 0.0.0.0/0 ssh', 'tcp/30080 0.0.0.0/0 mine']);
  });
});
