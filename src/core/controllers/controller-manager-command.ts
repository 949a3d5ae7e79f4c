/**
 * `k8ts controller-manager`: the built-in controllers (and the scheduler) as their own process
 * against any cluster, with leader election so that several of them can run for availability.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import { loadKubeconfig, RestClient } from '../client/rest-client.js';
import { CONTROLLERS, startControllerManager } from './controller-manager.js';

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`not a positive number: ${v}`);
  return n;
}

function bool(v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new InvalidArgumentError(`not true or false: ${v}`);
}

interface CommandOptions {
  kubeconfig?: string;
  controllers?: string;
  leaderElect: boolean;
  leaderElectLeaseDuration: number;
  leaderElectRenewDeadline: number;
  leaderElectRetryPeriod: number;
  identity?: string;
  clusterCidr: string;
  nodeMonitorGracePeriod: number;
  clusterSigningCertFile?: string;
  clusterSigningKeyFile?: string;
}

/** Add the `controller-manager` command to the CLI. */
export function addControllerManagerCommand(program: Command): void {
  program
    .command('controller-manager')
    .description('run the controllers and the scheduler against a cluster, with leader election')
    .option('--kubeconfig <path>', 'kubeconfig of the cluster', process.env.KUBECONFIG)
    .option('--controllers <list>', `comma-separated subset of: ${CONTROLLERS.map((c) => c.name).join(', ')}`)
    .option(
      '--leader-elect <bool>',
      'take the kube-system/kube-controller-manager Lease before working',
      bool,
      true,
    )
    .option('--leader-elect-lease-duration <seconds>', 'followers wait this long to take over', positive, 15)
    .option(
      '--leader-elect-renew-deadline <seconds>',
      'the leader gives up after failing to renew this long',
      positive,
      10,
    )
    .option('--leader-elect-retry-period <seconds>', 'interval between acquire/renew tries', positive, 2)
    .option('--identity <id>', 'this candidate in the Lease (default <hostname>_<random>)')
    .option('--cluster-cidr <cidr>', 'pod network; each node gets a /24 from it', '10.42.0.0/16')
    .option(
      '--node-monitor-grace-period <seconds>',
      'a node missing heartbeats this long turns NotReady',
      positive,
      40,
    )
    .option('--cluster-signing-cert-file <file>', 'CA certificate the csr-signer issues with (PEM)')
    .option('--cluster-signing-key-file <file>', 'its private key (PEM); without both, no CSR is signed')
    .action(async (o: CommandOptions) => {
      if (!o.kubeconfig) {
        console.error('k8ts controller-manager: --kubeconfig (or KUBECONFIG) is required');
        process.exit(1);
      }
      let client: RestClient;
      try {
        client = new RestClient({ ...loadKubeconfig(o.kubeconfig), userAgent: 'k8ts-controller-manager' });
      } catch (e) {
        console.error(
          `k8ts controller-manager: cannot read kubeconfig ${o.kubeconfig}: ${(e as Error).message}`,
        );
        process.exit(1);
      }
      const identity = o.identity ?? `${hostname()}_${randomUUID()}`;
      let signer: { caCertPem: string; caKeyPem: string } | undefined;
      if (o.clusterSigningCertFile || o.clusterSigningKeyFile) {
        try {
          signer = {
            caCertPem: readFileSync(o.clusterSigningCertFile ?? '', 'utf8'),
            caKeyPem: readFileSync(o.clusterSigningKeyFile ?? '', 'utf8'),
          };
        } catch (e) {
          console.error(
            `k8ts controller-manager: --cluster-signing-cert-file and --cluster-signing-key-file: ${(e as Error).message}`,
          );
          process.exit(1);
        }
      }
      let cm: ReturnType<typeof startControllerManager>;
      try {
        cm = startControllerManager({
          client,
          controllers: o.controllers
            ?.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          config: {
            clusterCidr: o.clusterCidr,
            nodeMonitorGracePeriodSeconds: o.nodeMonitorGracePeriod,
            signer,
          },
          leaderElection: o.leaderElect
            ? {
                identity,
                leaseDurationSeconds: o.leaderElectLeaseDuration,
                renewDeadlineSeconds: o.leaderElectRenewDeadline,
                retryPeriodSeconds: o.leaderElectRetryPeriod,
              }
            : false,
        });
      } catch (e) {
        console.error(`k8ts controller-manager: ${(e as Error).message}`);
        process.exit(1);
      }
      console.log(`k8ts controller-manager: started as ${identity}`);
      const shutdown = async (sig: string) => {
        console.log(`k8ts controller-manager: ${sig}, shutting down`);
        await cm.stop();
        client.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
    });
}
