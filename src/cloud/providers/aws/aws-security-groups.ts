/**
 * Ingress rules for NLB traffic on the nodes' security groups, as cloud-provider-aws keeps them:
 * an NLB with instance targets preserves the client address, so the node security group must
 * admit the clients (loadBalancerSourceRanges, 0.0.0.0/0, or the VPC CIDR for internal NLBs) on
 * each NodePort, and the NLB's health checks from the VPC CIDR on the health check port. Rules are
 * recognised by their description (`kubernetes.io/rule/nlb/client=<lb>`,
 * `kubernetes.io/rule/nlb/health=<lb>`), and only security groups tagged
 * `kubernetes.io/cluster/<name>` (owned or shared) are ever changed.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  type EC2Client,
  type IpPermission,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import type { AwsLbConfig } from './aws-annotations.js';
import { clusterTagKey, fromTagList } from './aws-naming.js';

/** One wanted (or found) rule: protocol, port, CIDR, description. */
interface Rule {
  protocol: string;
  port: number;
  cidr: string;
  description: string;
}

const ruleKey = (r: Rule) => `${r.protocol}/${r.port}/${r.cidr}/${r.description}`;
/** AWS tells rules apart by protocol, port and CIDR only (descriptions do not count). */
const tupleKey = (r: Rule) => `${r.protocol}/${r.port}/${r.cidr}`;

export function clientRuleDescription(lb: string): string {
  return `kubernetes.io/rule/nlb/client=${lb}`;
}
export function healthRuleDescription(lb: string): string {
  return `kubernetes.io/rule/nlb/health=${lb}`;
}

function isClusterGroup(sg: SecurityGroup, clusterName: string): boolean {
  const v = fromTagList(sg.Tags)[clusterTagKey(clusterName)];
  return v === 'owned' || v === 'shared';
}

/** Our rules (by description) in a security group. */
function ourRules(sg: SecurityGroup, descriptions: Set<string>): Rule[] {
  const out: Rule[] = [];
  for (const p of sg.IpPermissions ?? [])
    for (const r of p.IpRanges ?? [])
      if (r.Description && descriptions.has(r.Description) && r.CidrIp && p.FromPort !== undefined)
        out.push({
          protocol: p.IpProtocol ?? 'tcp',
          port: p.FromPort,
          cidr: r.CidrIp,
          description: r.Description,
        });
  return out;
}

function permissions(rules: Rule[]): IpPermission[] {
  return rules.map((r) => ({
    IpProtocol: r.protocol,
    FromPort: r.port,
    ToPort: r.port,
    IpRanges: [{ CidrIp: r.cidr, Description: r.description }],
  }));
}

export class AwsSecurityGroups {
  private readonly ec2: EC2Client;

  constructor(ec2: EC2Client) {
    this.ec2 = ec2;
  }

  private async vpcCidr(vpcId: string): Promise<string> {
    const out = await this.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }));
    const cidr = out.Vpcs?.[0]?.CidrBlock;
    if (!cidr) throw new Error(`VPC ${vpcId} has no CIDR block`);
    return cidr;
  }

  private async clusterGroups(clusterName: string, vpcId: string): Promise<SecurityGroup[]> {
    const out = await this.ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'tag-key', Values: [clusterTagKey(clusterName)] },
        ],
      }),
    );
    return (out.SecurityGroups ?? []).filter((g) => isClusterGroup(g, clusterName));
  }

  /** Converge the rules of one NLB on the cluster security groups of its target instances. */
  async ensure(
    clusterName: string,
    a: { lb: string; vpcId: string; cfg: AwsLbConfig; instanceIds: string[]; sourceRanges: string[] },
  ): Promise<void> {
    const groups = await this.clusterGroups(clusterName, a.vpcId);
    const attached = new Set<string>();
    if (a.instanceIds.length && a.cfg.targetType === 'instance') {
      const out = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: a.instanceIds }));
      for (const r of out.Reservations ?? [])
        for (const i of r.Instances ?? [])
          for (const g of i.SecurityGroups ?? []) if (g.GroupId) attached.add(g.GroupId);
    }
    const vpc = await this.vpcCidr(a.vpcId);
    const clients = a.sourceRanges.length ? a.sourceRanges : a.cfg.internal ? [vpc] : ['0.0.0.0/0'];
    const wanted: Rule[] = [];
    for (const m of a.cfg.mappings) {
      const protocol = m.trafficProtocol === 'UDP' ? 'udp' : 'tcp';
      for (const cidr of clients)
        wanted.push({ protocol, port: m.trafficPort, cidr, description: clientRuleDescription(a.lb) });
      const hcPort = m.healthCheck.port === 'traffic-port' ? m.trafficPort : Number(m.healthCheck.port);
      wanted.push({ protocol: 'tcp', port: hcPort, cidr: vpc, description: healthRuleDescription(a.lb) });
    }
    const uniq = new Map<string, Rule>();
    for (const r of wanted) if (!uniq.has(tupleKey(r))) uniq.set(tupleKey(r), r);
    const ours = new Set([clientRuleDescription(a.lb), healthRuleDescription(a.lb)]);
    for (const g of groups) {
      const want = attached.has(g.GroupId!) ? [...uniq.values()] : [];
      await this.converge(g, ours, want);
    }
  }

  /** Remove one NLB's rules from every cluster security group of the VPC. */
  async remove(clusterName: string, a: { lb: string; vpcId: string }): Promise<void> {
    const ours = new Set([clientRuleDescription(a.lb), healthRuleDescription(a.lb)]);
    for (const g of await this.clusterGroups(clusterName, a.vpcId)) await this.converge(g, ours, []);
  }

  /** Revoke first (a rule may only change its description), then authorize what is missing. */
  private async converge(g: SecurityGroup, ours: Set<string>, want: Rule[]): Promise<void> {
    const have = ourRules(g, ours);
    const haveKeys = new Set(have.map(ruleKey));
    const wantKeys = new Set(want.map(ruleKey));
    const add = want.filter((r) => !haveKeys.has(ruleKey(r)));
    const drop = have.filter((r) => !wantKeys.has(ruleKey(r)));
    if (drop.length)
      await this.ec2.send(
        new RevokeSecurityGroupIngressCommand({ GroupId: g.GroupId!, IpPermissions: permissions(drop) }),
      );
    if (!add.length) return;
    try {
      await this.ec2.send(
        new AuthorizeSecurityGroupIngressCommand({ GroupId: g.GroupId!, IpPermissions: permissions(add) }),
      );
    } catch (e) {
      if ((e as { name?: string }).name !== 'InvalidPermission.Duplicate') throw e;
      // Someone's own rule already admits one of these: add the others one by one, keep theirs.
      for (const r of add) {
        try {
          await this.ec2.send(
            new AuthorizeSecurityGroupIngressCommand({
              GroupId: g.GroupId!,
              IpPermissions: permissions([r]),
            }),
          );
        } catch (e2) {
          if ((e2 as { name?: string }).name !== 'InvalidPermission.Duplicate') throw e2;
        }
      }
    }
  }
}
