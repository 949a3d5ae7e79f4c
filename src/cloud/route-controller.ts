/**
 * The route controller: for clusters whose pod network is routed by the cloud (no overlay), keep
 * one cloud route per node podCIDR pointing at that node's instance, delete this cluster's routes
 * whose node or CIDR is gone, and mark nodes NetworkUnavailable=False once their route exists.
 * Reconciled on node changes and every period (upstream: 10 s); one key, one writer.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import { resourceForPlural } from '../core/api/resources.js';
import type { SharedInformer } from '../core/client/informer-factory.js';
import { objectPath } from '../core/client/paths.js';
import type { RestClient } from '../core/client/rest-client.js';
import { logRetry, RateLimitedQueue } from '../core/client/workqueue.js';
import type { CloudController, CloudControllerContext } from './context.js';
import type { Routes } from './provider.js';
import { planRoutes } from './route-plan.js';

const NODES = resourceForPlural('', 'v1', 'nodes')!;
const KEY = 'routes';

export interface RouteControllerOptions {
  /** Only podCIDRs inside this network get routes (default: all). */
  clusterCidr?: string | undefined;
  /** Full reconcile period (ms, default 10000). */
  periodMs?: number | undefined;
}

export class RouteController implements CloudController {
  private readonly client: RestClient;
  private readonly routes: Routes;
  private readonly clusterName: string;
  private readonly nodes: SharedInformer;
  private readonly queue: RateLimitedQueue;
  private readonly opts: RouteControllerOptions;
  private readonly marked = new Set<string>();

  constructor(ctx: CloudControllerContext, opts: RouteControllerOptions = {}) {
    const r = ctx.provider.routes();
    if (!r) throw new Error(`cloud provider ${ctx.provider.name} has no routes`);
    this.routes = r;
    this.client = ctx.client;
    this.clusterName = ctx.clusterName;
    this.opts = opts;
    this.nodes = ctx.factory.informer(NODES);
    this.queue = new RateLimitedQueue(() => this.reconcile(), {
      name: 'route-controller',
      baseDelayMs: 1000,
      maxDelayMs: 60_000,
      qps: 0,
      clock: ctx.clock,
      onError: (k, e) => logRetry('route-controller', k, e),
    });
  }

  async start(): Promise<void> {
    await this.nodes.waitForSync();
    const kick = () => this.queue.add(KEY);
    this.nodes.addHandlers({ add: kick, update: kick, delete: kick });
    kick(); // also with no nodes at all: stale routes of this cluster still go
  }

  stop(): void {
    this.queue.stop();
  }

  /** One full pass: create missing routes, delete stale ones, mark nodes (public for tests). */
  async reconcile(): Promise<void> {
    try {
      const nodes = this.nodes.list() as Node[];
      const existing = await this.routes.listRoutes(this.clusterName);
      const plan = planRoutes(nodes, existing, { clusterCidr: this.opts.clusterCidr });
      for (const r of plan.remove) await this.routes.deleteRoute(this.clusterName, r);
      for (const c of plan.create)
        await this.routes.createRoute(this.clusterName, c.nameHint, {
          targetNode: c.targetNode,
          targetInstance: c.targetInstance,
          targetProviderID: c.targetProviderID,
          destinationCIDR: c.destinationCIDR,
        });
      for (const name of plan.routed) await this.markNetworkAvailable(name, nodes);
    } finally {
      this.queue.addAfter(KEY, this.opts.periodMs ?? 10_000);
    }
  }

  private async markNetworkAvailable(name: string, nodes: Node[]): Promise<void> {
    const n = nodes.find((x) => x.metadata?.name === name);
    const cond = n?.status?.conditions?.find((c) => c.type === 'NetworkUnavailable');
    if (!n || cond?.status === 'False' || this.marked.has(`${name}/${n.metadata?.uid}`)) return;
    const now = `${new Date().toISOString().slice(0, 19)}Z`;
    await this.client.request('PATCH', objectPath(NODES, undefined, name, 'status'), {
      body: {
        status: {
          conditions: [
            {
              type: 'NetworkUnavailable',
              status: 'False',
              reason: 'RouteCreated',
              message: 'RouteController created a route',
              lastTransitionTime: now,
              lastHeartbeatTime: now,
            },
          ],
        },
      },
      contentType: 'application/strategic-merge-patch+json',
    });
    this.marked.add(`${name}/${n.metadata?.uid}`);
  }
}
