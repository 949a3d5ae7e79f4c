/**
 * `k8ts hollow-nodes`: run N hollow nodes against a cluster until interrupted.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { loadKubeconfig, RestClient } from '../client/rest-client.js';
import { HollowOptionsError } from './errors.js';
import { startHollowNodes } from './hollow-nodes.js';
import { type NodeTaint, parseTaint } from './node-template.js';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`not a non-negative integer: ${v}`);
  return n;
}

function taintList(v: string): NodeTaint[] {
  try {
    return v.split(',').filter(Boolean).map(parseTaint);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

interface CommandOptions {
  count: number;
  kubeconfig: string;
  namePrefix: string;
  firstIndex: number;
  cpu: string;
  memory: string;
  pods: number;
  zones?: string;
  instanceType?: string;
  registerWithTaints?: NodeTaint[];
  concurrency: number;
}

/** Add the `hollow-nodes` command to the CLI. */
export function addHollowNodesCommand(program: Command): void {
  program
    .command('hollow-nodes')
    .description('register fake nodes that keep their Leases and report bound pods Running (like kwok)')
    .requiredOption('--count <n>', 'number of nodes', positiveInt)
    .option('--kubeconfig <path>', 'kubeconfig of the cluster', process.env.KUBECONFIG)
    .option('--name-prefix <prefix>', 'node names are <prefix><index>', 'hollow-')
    .option('--first-index <n>', 'index of the first node', positiveInt, 0)
    .option('--cpu <quantity>', 'CPU capacity of each node', '4')
    .option('--memory <quantity>', 'memory capacity of each node', '16Gi')
    .option('--pods <n>', 'pod capacity of each node', positiveInt, 110)
    .option('--zones <list>', 'comma-separated topology.kubernetes.io/zone values, given round robin')
    .option('--instance-type <type>', 'node.kubernetes.io/instance-type label')
    .option('--register-with-taints <list>', 'comma-separated key[=value]:Effect taints', taintList)
    .option('--concurrency <n>', 'API requests in flight at most', positiveInt, 16)
    .action(async (o: CommandOptions) => {
      if (!o.kubeconfig) {
        console.error('k8ts hollow-nodes: --kubeconfig (or KUBECONFIG) is required');
        process.exit(1);
      }
      let client: RestClient;
      try {
        client = new RestClient({ ...loadKubeconfig(o.kubeconfig), userAgent: 'k8ts-hollow-nodes' });
      } catch (e) {
        console.error(`k8ts hollow-nodes: cannot read kubeconfig ${o.kubeconfig}: ${(e as Error).message}`);
        process.exit(1);
      }
      const started = Date.now();
      let hollow: Awaited<ReturnType<typeof startHollowNodes>>;
      try {
        hollow = await startHollowNodes(client, {
          count: o.count,
          namePrefix: o.namePrefix,
          firstIndex: o.firstIndex,
          cpu: o.cpu,
          memory: o.memory,
          pods: o.pods,
          zones: o.zones ? o.zones.split(',').filter(Boolean) : undefined,
          instanceType: o.instanceType,
          taints: o.registerWithTaints,
          concurrency: Math.max(1, o.concurrency),
        });
      } catch (e) {
        if (e instanceof HollowOptionsError) {
          console.error(`k8ts hollow-nodes: ${e.message}`);
          process.exit(1);
        }
        throw e;
      }
      console.log(`k8ts: ${o.count} hollow nodes registered (in ${Date.now() - started} ms)`);
      let stopping = false;
      const shutdown = async (sig: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`k8ts: ${sig}, stopping hollow nodes`);
        await hollow.stop();
        client.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
    });
}
