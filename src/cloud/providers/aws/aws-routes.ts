/**
 * Pod CIDR routes in the cluster's VPC route table (the one tagged `kubernetes.io/cluster/<name>`),
 * one route per node podCIDR with the node's instance as target, as cloud-provider-aws does. The
 * instance's source/destination check is turned off so it may forward pod traffic.
 */
import {
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeRouteTablesCommand,
  type EC2Client,
  ModifyInstanceAttributeCommand,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { CloudConfigError } from '../../errors.js';
import type { Route, Routes } from '../../provider.js';
import { clusterTagKey } from './aws-naming.js';

export class AwsRoutes implements Routes {
  private readonly ec2: EC2Client;
  private readonly vpcId: () => Promise<string | undefined>;

  constructor(ec2: EC2Client, opts: { vpcId?: () => Promise<string | undefined> } = {}) {
    this.ec2 = ec2;
    this.vpcId = opts.vpcId ?? (async () => undefined);
  }

  private async table(clusterName: string): Promise<RouteTable> {
    const vpc = await this.vpcId();
    const out = await this.ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'tag-key', Values: [clusterTagKey(clusterName)] },
          ...(vpc ? [{ Name: 'vpc-id', Values: [vpc] }] : []),
        ],
      }),
    );
    const tables = out.RouteTables ?? [];
    if (tables.length !== 1)
      throw new CloudConfigError(
        `want exactly one route table tagged ${clusterTagKey(clusterName)}, found ${tables.length}`,
      );
    return tables[0]!;
  }

  async listRoutes(clusterName: string): Promise<Route[]> {
    const t = await this.table(clusterName);
    return (t.Routes ?? [])
      .filter((r) => r.InstanceId && r.DestinationCidrBlock)
      .map((r) => ({
        name: `${t.RouteTableId}:${r.DestinationCidrBlock}`,
        targetNode: '',
        targetInstance: r.InstanceId!,
        destinationCIDR: r.DestinationCidrBlock!,
      }));
  }

  async createRoute(clusterName: string, _nameHint: string, route: Omit<Route, 'name'>): Promise<void> {
    const t = await this.table(clusterName);
    await this.ec2.send(
      new ModifyInstanceAttributeCommand({
        InstanceId: route.targetInstance,
        SourceDestCheck: { Value: false },
      }),
    );
    await this.ec2.send(
      new CreateRouteCommand({
        RouteTableId: t.RouteTableId!,
        DestinationCidrBlock: route.destinationCIDR,
        InstanceId: route.targetInstance,
      }),
    );
  }

  async deleteRoute(clusterName: string, route: Route): Promise<void> {
    const t = await this.table(clusterName);
    await this.ec2.send(
      new DeleteRouteCommand({ RouteTableId: t.RouteTableId!, DestinationCidrBlock: route.destinationCIDR }),
    );
  }
}
