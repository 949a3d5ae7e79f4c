/**
 * The `aws` cloud provider: NLBs (aws-load-balancer.ts), EC2 instances and VPC routes. The region
 * comes from the flag or IMDSv2; credentials from the SDK's default chain (on EC2: the instance
 * profile, see deploy/aws/iam-policy.json).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Ec2Metadata } from '../../ec2-metadata.js';
import type { CloudProvider, Zone } from '../../provider.js';
import { AwsInstances } from './aws-instances.js';
import { AwsLoadBalancer } from './aws-load-balancer.js';
import { AwsRoutes } from './aws-routes.js';

export interface AwsProviderOptions {
  /** Injected clients (tests); default: real clients for `region`. */
  elb?: ElasticLoadBalancingV2Client | undefined;
  ec2?: EC2Client | undefined;
  region?: string | undefined;
  vpcId?: string | undefined;
  /** IMDS endpoint (tests). */
  metadataEndpoint?: string | undefined;
}

/** Build the AWS provider (asks IMDSv2 for the region when not given). */
export async function createAwsProvider(opts: AwsProviderOptions = {}): Promise<CloudProvider> {
  const imds = new Ec2Metadata({ endpoint: opts.metadataEndpoint });
  let region = opts.region ?? process.env.AWS_REGION;
  if (!region && !(opts.elb && opts.ec2)) region = (await imds.identity()).region;
  const elb = opts.elb ?? new ElasticLoadBalancingV2Client(region ? { region } : {});
  const ec2 = opts.ec2 ?? new EC2Client(region ? { region } : {});
  const lb = new AwsLoadBalancer({ elb, ec2, vpcId: opts.vpcId });
  const instances = new AwsInstances(ec2);
  const routes = new AwsRoutes(ec2, { vpcId: async () => opts.vpcId });
  return {
    name: 'aws',
    providerIdPrefix: 'aws://',
    loadBalancer: () => lb,
    instances: () => instances,
    zones: () => ({
      getZone: async (): Promise<Zone> => {
        const id = await imds.identity();
        return { failureDomain: id.availabilityZone, region: id.region };
      },
    }),
    routes: () => routes,
  };
}
