/**
 * EC2 instances behind nodes (InstancesV2): found by the node's providerID (`aws:///zone/i-...`),
 * else by its name as the private DNS name, else by its InternalIP.
 */
import { DescribeInstancesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import type { Node } from 'kubernetes-types/core/v1.js';
import { InstanceNotFoundError } from '../../errors.js';
import type { InstanceMetadata, Instances, NodeAddress } from '../../provider.js';
import { instanceIdFromProviderId } from './aws-naming.js';

/** `aws:///<zone>/<instance id>`, as cloud-provider-aws writes it. */
export function awsProviderId(zone: string, instanceId: string): string {
  return `aws:///${zone}/${instanceId}`;
}

export class AwsInstances implements Instances {
  private readonly ec2: EC2Client;

  constructor(ec2: EC2Client) {
    this.ec2 = ec2;
  }

  /** The node's instance, or undefined if it does not exist (any more). */
  private async find(node: Node): Promise<Instance | undefined> {
    const id = instanceIdFromProviderId(node.spec?.providerID);
    if (id) {
      try {
        const out = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
        return out.Reservations?.[0]?.Instances?.[0];
      } catch (e) {
        if ((e as { name?: string }).name === 'InvalidInstanceID.NotFound') return undefined;
        throw e;
      }
    }
    const byName = await this.ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'private-dns-name', Values: [node.metadata!.name!] }],
      }),
    );
    const found = byName.Reservations?.[0]?.Instances?.[0];
    if (found) return found;
    const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    if (!ip) return undefined;
    const byIp = await this.ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'private-ip-address', Values: [ip] }] }),
    );
    return byIp.Reservations?.[0]?.Instances?.[0];
  }

  async instanceExists(node: Node): Promise<boolean> {
    const i = await this.find(node);
    return !!i && i.State?.Name !== 'terminated';
  }

  async instanceShutdown(node: Node): Promise<boolean> {
    const s = (await this.find(node))?.State?.Name;
    return s === 'stopped' || s === 'stopping';
  }

  async instanceMetadata(node: Node): Promise<InstanceMetadata> {
    const i = await this.find(node);
    if (!i?.InstanceId) throw new InstanceNotFoundError(`node ${node.metadata?.name}`);
    const zone = i.Placement?.AvailabilityZone ?? '';
    const addrs: NodeAddress[] = [];
    if (i.PrivateIpAddress) addrs.push({ type: 'InternalIP', address: i.PrivateIpAddress });
    if (i.PublicIpAddress) addrs.push({ type: 'ExternalIP', address: i.PublicIpAddress });
    if (i.PrivateDnsName) {
      addrs.push({ type: 'InternalDNS', address: i.PrivateDnsName });
      addrs.push({ type: 'Hostname', address: i.PrivateDnsName });
    }
    if (i.PublicDnsName) addrs.push({ type: 'ExternalDNS', address: i.PublicDnsName });
    return {
      providerID: awsProviderId(zone, i.InstanceId),
      instanceType: i.InstanceType ?? '',
      nodeAddresses: addrs,
      zone,
      region: zone.replace(/[a-z]$/, ''),
    };
  }
}
