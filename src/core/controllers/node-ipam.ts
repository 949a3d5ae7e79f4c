/**
 * The node IPAM controller (upstream's range allocator): every Node gets a pod CIDR, a /24 of the
 * cluster CIDR, written to spec.podCIDR and spec.podCIDRs. The used set is rebuilt from the nodes
 * that exist before anything is handed out, so restarts keep assignments stable; a deleted node's
 * CIDR is released. When the range is exhausted the node gets a CIDRNotAvailable event and is
 * retried with backoff.
 */
import { resourceForPlural } from '../api/resources.js';
import type { EventRecorder } from '../client/events.js';
import type { KObj } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';
import type { Controller, ControllerContext } from './controller-manager.js';
import { NodeCidrAssigner } from './node-ipam-assigner.js';

export class CidrNotAvailableError extends Error {
  readonly code = 'CIDR_NOT_AVAILABLE';
  constructor(node: string, clusterCidr: string) {
    super(`no pod CIDR left in ${clusterCidr} for node ${node}`);
    this.name = 'CidrNotAvailableError';
  }
}

export class NodeIpamController implements Controller {
  private readonly client: RestClient;
  private readonly nodes: SharedInformer;
  private readonly recorder: EventRecorder;
  private readonly assigner: NodeCidrAssigner;
  private readonly clusterCidr: string;
  private readonly queue: WorkQueue;

  constructor(ctx: Pick<ControllerContext, 'client' | 'factory' | 'recorder' | 'config'>) {
    this.client = ctx.client;
    this.clusterCidr = ctx.config.clusterCidr;
    this.assigner = new NodeCidrAssigner(this.clusterCidr);
    this.recorder = ctx.recorder('node-ipam-controller');
    this.nodes = ctx.factory.informer(resourceForPlural('', 'v1', 'nodes')!);
    this.queue = new WorkQueue((name) => this.sync(name), {
      baseDelayMs: 200,
      maxDelayMs: 30_000,
      onError: (key, err) => {
        if (!(err instanceof CidrNotAvailableError)) logRetry('node-ipam-controller', key, err);
      },
    });
  }

  start(): void {
    // Every CIDR already on a node is taken before the first allocation.
    for (const n of this.nodes.list()) this.assigner.seen(n);
    this.nodes.addHandlers({
      add: (n) => this.observe(n),
      update: (n) => this.observe(n),
      delete: (n) => this.assigner.deleted(n.metadata.name),
    });
  }

  stop(): void {
    this.queue.stop();
  }

  private observe(n: KObj): void {
    this.assigner.seen(n);
    if (n.metadata.deletionTimestamp) return;
    if (this.assigner.plan(n).kind !== 'none') this.queue.add(n.metadata.name);
  }

  private async sync(name: string): Promise<void> {
    const node = this.nodes.get(undefined, name);
    if (!node || node.metadata.deletionTimestamp) return;
    const plan = this.assigner.plan(node);
    if (plan.kind === 'none') return;
    if (plan.kind === 'exhausted') {
      this.recorder.event(
        { ...node, kind: 'Node', apiVersion: 'v1' },
        'Normal',
        'CIDRNotAvailable',
        `Node ${name} status is now: CIDRNotAvailable`,
      );
      throw new CidrNotAvailableError(name, this.clusterCidr);
    }
    try {
      await this.client.request('PATCH', `/api/v1/nodes/${name}`, {
        body: { spec: { podCIDR: plan.cidr, podCIDRs: [plan.cidr] } },
        contentType: 'application/merge-patch+json',
      });
    } catch (e) {
      // Gone: the delete handler releases the reservation.
      if (e instanceof ApiStatusError && e.httpStatus === 404) return;
      throw e;
    }
  }
}
