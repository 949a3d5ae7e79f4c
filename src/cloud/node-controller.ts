/**
 * The cloud node controller (cloud-node + cloud-node-lifecycle of upstream's cloud controller
 * manager): initializes nodes registered with the `node.cloudprovider.kubernetes.io/uninitialized`
 * taint from their instance (providerID, addresses, region/zone/instance-type labels, taint
 * removed), and every monitor period checks NotReady nodes: a node whose instance no longer exists
 * is deleted, one whose instance is shut down gets the shutdown taint.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import { resourceForPlural } from '../core/api/resources.js';
import { type Clock, realClock, type TimerHandle } from '../core/client/clock.js';
import type { EventRecorder } from '../core/client/events.js';
import type { SharedInformer } from '../core/client/informer-factory.js';
import { objectPath } from '../core/client/paths.js';
import { ApiStatusError, type RestClient } from '../core/client/rest-client.js';
import { logRetry, RateLimitedQueue } from '../core/client/workqueue.js';
import type { CloudController, CloudControllerContext } from './context.js';
import {
  addressesEqual,
  hasTaint,
  initializePatch,
  isNodeReady,
  nodeAddresses,
  TAINT_SHUTDOWN,
  TAINT_UNINITIALIZED,
} from './node-plan.js';
import type { Instances } from './provider.js';

const NODES = resourceForPlural('', 'v1', 'nodes')!;
export const NODE_CONTROLLER_NAME = 'cloud-node-controller';

export interface CloudNodeControllerOptions {
  /** Initialize tainted nodes (cloud-node; default true). */
  initialize?: boolean | undefined;
  /** Delete nodes whose instance is gone (cloud-node-lifecycle; default true). */
  deleteGone?: boolean | undefined;
  /** How often NotReady nodes are checked against the cloud (ms, default 5000 as upstream). */
  monitorPeriodMs?: number | undefined;
  /** First retry delay after a failed initialization (ms, default 1000). */
  baseDelayMs?: number | undefined;
}

export class CloudNodeController implements CloudController {
  private readonly client: RestClient;
  private readonly instances: Instances;
  private readonly nodes: SharedInformer;
  private readonly recorder: EventRecorder;
  private readonly queue: RateLimitedQueue;
  private readonly clock: Clock;
  private readonly opts: CloudNodeControllerOptions;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(ctx: CloudControllerContext, opts: CloudNodeControllerOptions = {}) {
    const inst = ctx.provider.instances();
    if (!inst) throw new Error(`cloud provider ${ctx.provider.name} has no instances`);
    this.instances = inst;
    this.client = ctx.client;
    this.opts = opts;
    this.clock = ctx.clock ?? realClock;
    this.recorder = ctx.recorder(NODE_CONTROLLER_NAME);
    this.nodes = ctx.factory.informer(NODES);
    this.queue = new RateLimitedQueue((name) => this.initialize(name), {
      name: NODE_CONTROLLER_NAME,
      baseDelayMs: opts.baseDelayMs ?? 1000,
      maxDelayMs: 300_000,
      qps: 0,
      clock: this.clock,
      onError: (k, e) => logRetry(NODE_CONTROLLER_NAME, k, e),
    });
  }

  async start(): Promise<void> {
    await this.nodes.waitForSync();
    if (this.opts.initialize !== false) {
      const onNode = (n: Node) => {
        if (hasTaint(n, TAINT_UNINITIALIZED)) this.queue.add(n.metadata!.name!);
      };
      this.nodes.addHandlers({ add: onNode, update: onNode });
    }
    if (this.opts.deleteGone !== false) this.scheduleMonitor();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.queue.stop();
  }

  private scheduleMonitor(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      void this.monitor()
        .catch((e) => logRetry(NODE_CONTROLLER_NAME, 'monitor', e))
        .finally(() => this.scheduleMonitor());
    }, this.opts.monitorPeriodMs ?? 5000);
  }

  /** One pass of the lifecycle check (exported for tests through `monitorOnce`). */
  async monitorOnce(): Promise<void> {
    await this.monitor();
  }

  private async monitor(): Promise<void> {
    for (const n of this.nodes.list() as Node[]) {
      if (isNodeReady(n)) continue;
      const name = n.metadata!.name!;
      if (!(await this.instances.instanceExists(n))) {
        this.recorder.event(
          n,
          'Normal',
          'DeletingNode',
          `Deleting node ${name} because its instance no longer exists`,
        );
        await this.ignoreNotFound(this.client.request('DELETE', objectPath(NODES, undefined, name)));
        continue;
      }
      if (!hasTaint(n, TAINT_SHUTDOWN) && (await this.instances.instanceShutdown(n))) {
        await this.ignoreNotFound(
          this.client.request('PATCH', objectPath(NODES, undefined, name), {
            body: {
              metadata: { resourceVersion: n.metadata?.resourceVersion },
              spec: { taints: [...(n.spec?.taints ?? []), { key: TAINT_SHUTDOWN, effect: 'NoSchedule' }] },
            },
            contentType: 'application/merge-patch+json',
          }),
        );
      }
    }
  }

  private async initialize(name: string): Promise<void> {
    const node = this.nodes.get(undefined, name) as Node | undefined;
    if (!node || !hasTaint(node, TAINT_UNINITIALIZED)) return;
    const md = await this.instances.instanceMetadata(node);
    const addrs = nodeAddresses(md);
    if (addrs.length && !addressesEqual(node.status?.addresses, addrs))
      await this.client.request('PATCH', objectPath(NODES, undefined, name, 'status'), {
        body: { status: { addresses: addrs } },
        contentType: 'application/merge-patch+json',
      });
    const fresh = await this.client.request<Node>('GET', objectPath(NODES, undefined, name));
    await this.client.request('PATCH', objectPath(NODES, undefined, name), {
      body: initializePatch(fresh, md),
      contentType: 'application/merge-patch+json',
    });
    this.recorder.event(node, 'Normal', 'Synced', `Node synced successfully (providerID ${md.providerID})`);
  }

  private async ignoreNotFound(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.httpStatus === 404)) throw e;
    }
  }
}
