/**
 * The command-line side of the cloud controller manager: choosing and building the provider
 * (`--cloud-provider aws|gce|local|none`, auto-detected when absent), the in-server start used by
 * `k8ts server`, and the standalone `k8ts cloud-controller-manager --kubeconfig FILE` command.
 */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { runLeaderElection } from '../core/client/leader-election.js';
import { loadKubeconfig, RestClient } from '../core/client/rest-client.js';
import {
  CLOUD_CONTROLLERS,
  type CloudControllerName,
  type RunningCloudControllers,
  startCloudControllerManager,
} from './cloud-controller-manager.js';
import { detectCloudProvider } from './detect.js';
import { CloudConfigError } from './errors.js';
import type { CloudProvider, ProviderName } from './provider.js';
import { PROVIDER_NAMES } from './provider.js';

/** Options shared by `k8ts server` and `k8ts cloud-controller-manager`. */
export interface CloudOptions {
  cloudProvider?: string | undefined;
  clusterName: string;
  lbPool?: string | undefined;
  configureCloudRoutes?: boolean | undefined;
  clusterCidr?: string | undefined;
  awsRegion?: string | undefined;
  awsVpcId?: string | undefined;
  gceProject?: string | undefined;
  gceZone?: string | undefined;
  gceNetwork?: string | undefined;
  gceSubnetwork?: string | undefined;
  gceNodeTags?: string | undefined;
  controllers?: string | undefined;
}

/** Add the cloud flags to a command (server or cloud-controller-manager). */
export function addCloudOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--cloud-provider <name>',
        'cloud provider (default: detected from instance metadata, else local)',
      ).choices(PROVIDER_NAMES),
    )
    .option(
      '--cluster-name <name>',
      'names and tags cloud resources (kubernetes.io/cluster/<name>)',
      'kubernetes',
    )
    .option(
      '--lb-pool <cidrs|ranges>',
      'local provider: LoadBalancer addresses, e.g. 192.168.1.240/28 (default: node addresses)',
    )
    .option(
      '--configure-cloud-routes',
      'program cloud routes for node pod CIDRs (AWS route table, GCE routes)',
    )
    .option('--aws-region <region>', 'AWS region (default: from IMDS)')
    .option('--aws-vpc-id <id>', 'AWS VPC of the cluster (default: the VPC of the node instances)')
    .option('--gce-project <id>', 'GCE project (default: from the metadata server)')
    .option('--gce-zone <zone>', 'GCE zone of this machine (default: from the metadata server)')
    .option('--gce-network <name>', 'GCE VPC network', 'default')
    .option('--gce-subnetwork <name>', 'GCE subnetwork for internal load balancers')
    .option(
      '--gce-node-tags <tags>',
      'GCE network tags of the nodes, for firewall rules (default: the instances tags)',
    );
}

/** The provider named by the flags (or detected); undefined for `none`. */
export async function buildProvider(o: CloudOptions): Promise<CloudProvider | undefined> {
  const name = (o.cloudProvider ?? (await detectCloudProvider())) as ProviderName;
  switch (name) {
    case 'none':
      return undefined;
    case 'local':
      return (await import('./providers/local/local-provider.js')).createLocalProvider({ pool: o.lbPool });
    case 'aws':
      return (await import('./providers/aws/aws-provider.js')).createAwsProvider({
        region: o.awsRegion,
        vpcId: o.awsVpcId,
      });
    case 'gce':
      return (await import('./providers/gce/gce-provider.js')).createGceProvider({
        project: o.gceProject,
        zone: o.gceZone,
        network: o.gceNetwork,
        subnetwork: o.gceSubnetwork,
        nodeTags: o.gceNodeTags?.split(',').filter(Boolean),
      });
    default:
      throw new CloudConfigError(`unknown cloud provider "${name}" (known: ${PROVIDER_NAMES.join(', ')})`);
  }
}

function controllerList(v: string | undefined): CloudControllerName[] | undefined {
  if (!v) return undefined;
  const names = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names)
    if (!(CLOUD_CONTROLLERS as readonly string[]).includes(n))
      throw new InvalidArgumentError(
        `unknown cloud controller "${n}" (known: ${CLOUD_CONTROLLERS.join(', ')})`,
      );
  return names as CloudControllerName[];
}

/** Build the provider and start the controllers over `client`; undefined for provider `none`. */
export async function startCloud(
  client: RestClient,
  o: CloudOptions,
): Promise<(RunningCloudControllers & { provider: string }) | undefined> {
  const provider = await buildProvider(o);
  if (!provider) return undefined;
  const running = await startCloudControllerManager(client, {
    provider,
    clusterName: o.clusterName,
    configureRoutes: o.configureCloudRoutes === true,
    clusterCidr: o.clusterCidr,
    controllers: controllerList(o.controllers),
  });
  return { ...running, provider: provider.name };
}

/** Add `k8ts cloud-controller-manager` to the CLI. */
export function addCloudControllerManagerCommand(program: Command): void {
  const cmd = program
    .command('cloud-controller-manager')
    .description(
      'run the cloud controllers (service load balancers, node initialization, routes) against a cluster',
    )
    .option('--kubeconfig <path>', 'kubeconfig of the cluster', process.env.KUBECONFIG)
    .option('--cluster-cidr <cidr>', 'pod network (routes are made only inside it)', '10.42.0.0/16')
    .option(
      '--controllers <list>',
      `controllers to run (default all the provider supports: ${CLOUD_CONTROLLERS.join(', ')})`,
    )
    .option(
      '--no-leader-elect',
      'run without the kube-system/cloud-controller-manager Lease (one instance only)',
    );
  addCloudOptions(cmd).action(async (o: CloudOptions & { kubeconfig?: string; leaderElect?: boolean }) => {
    if (!o.kubeconfig) {
      console.error('k8ts cloud-controller-manager: --kubeconfig (or KUBECONFIG) is required');
      process.exit(1);
    }
    let client: RestClient;
    try {
      client = new RestClient({
        ...loadKubeconfig(o.kubeconfig),
        userAgent: 'k8ts-cloud-controller-manager',
      });
    } catch (e) {
      console.error(
        `k8ts cloud-controller-manager: cannot read kubeconfig ${o.kubeconfig}: ${(e as Error).message}`,
      );
      process.exit(1);
    }
    let running: Awaited<ReturnType<typeof startCloud>>;
    const run = async () => {
      try {
        running = await startCloud(client, o);
      } catch (e) {
        console.error(`k8ts cloud-controller-manager: ${(e as Error).message}`);
        process.exit(1);
      }
      if (!running) {
        console.log('k8ts: cloud provider none: nothing to run');
        process.exit(0);
      }
      console.log(
        `k8ts: cloud controllers running (provider ${running.provider}: ${running.controllers.join(', ')})`,
      );
    };
    let elector: { stop(): Promise<void> } | undefined;
    let stopping = false;
    if (o.leaderElect === false) await run();
    else {
      // As upstream: one active instance per cluster, the others wait on the Lease.
      elector = runLeaderElection(
        client,
        {
          name: 'cloud-controller-manager',
          namespace: 'kube-system',
          identity: `${hostname()}_${randomBytes(4).toString('hex')}`,
        },
        {
          onStartedLeading: () => run(),
          onStoppedLeading: () => {
            if (stopping) return;
            console.error('k8ts cloud-controller-manager: lost the leader Lease, exiting');
            process.exit(1);
          },
        },
      );
    }
    const shutdown = async () => {
      stopping = true;
      running?.stop();
      await elector?.stop();
      client.close();
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown());
    process.on('SIGTERM', () => void shutdown());
  });
}
