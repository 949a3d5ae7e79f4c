/**
 * The node lifecycle controller (upstream's node lifecycle + taint eviction controllers):
 * - a monitor pass every few seconds turns a node that has neither renewed its Lease nor changed
 *   its Ready heartbeat for the grace period Ready=Unknown, and marks its pods Ready=False;
 * - per node, taints follow conditions: unreachable / not-ready (NoSchedule and NoExecute), the
 *   pressure taints, unschedulable; removed when the node recovers;
 * - pods on a node with NoExecute taints are deleted once their tolerations run out.
 * Decisions live in node-lifecycle-health.ts and node-lifecycle-eviction.ts; this file only wires
 * informers to them and writes through the API.
 * TODO(#3): zone disruption modes (eviction rate limits when a whole zone goes dark) are not done.
 */
import { resourceForPlural } from '../api/resources.js';
import type { EventRecorder } from '../client/events.js';
import type { KObj } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';
import type { Controller, ControllerContext } from './controller-manager.js';
import { evictionDecision, noExecuteTaints } from './node-lifecycle-eviction.js';
import {
  type Clock,
  desiredTaints,
  NodeHealthTracker,
  rfc3339,
  SYSTEM_CLOCK,
} from './node-lifecycle-health.js';

const LEASE_NAMESPACE = 'kube-node-lease';
const NAME = 'node-lifecycle-controller';

export interface NodeLifecycleOptions {
  /** nodeMonitorGracePeriod: silence allowed before a node turns Unknown. */
  gracePeriodSeconds: number;
  /** nodeStartupGracePeriod: silence allowed before a node first posts Ready (default 60). */
  startupGracePeriodSeconds?: number | undefined;
  /** How often nodes are checked (default: a quarter of the grace, at most 5 s as upstream). */
  monitorPeriodMs?: number | undefined;
  clock?: Clock | undefined;
}

export class NodeLifecycleController implements Controller {
  private readonly client: RestClient;
  private readonly recorder: EventRecorder;
  private readonly nodes: SharedInformer;
  private readonly leases: SharedInformer;
  private readonly pods: SharedInformer;
  private readonly clock: Clock;
  private readonly tracker: NodeHealthTracker;
  private readonly queue: WorkQueue;
  private readonly monitorPeriodMs: number;
  private timer: NodeJS.Timeout | undefined;
  private monitoring = false;

  constructor(ctx: Pick<ControllerContext, 'client' | 'factory' | 'recorder'>, opts: NodeLifecycleOptions) {
    this.client = ctx.client;
    this.recorder = ctx.recorder(NAME);
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    const graceMs = opts.gracePeriodSeconds * 1000;
    this.tracker = new NodeHealthTracker({
      clock: this.clock,
      gracePeriodMs: graceMs,
      startupGracePeriodMs: Math.max(graceMs, (opts.startupGracePeriodSeconds ?? 60) * 1000),
    });
    this.monitorPeriodMs = opts.monitorPeriodMs ?? Math.min(5000, Math.max(100, graceMs / 4));
    this.nodes = ctx.factory.informer(resourceForPlural('', 'v1', 'nodes')!);
    this.leases = ctx.factory.informer(resourceForPlural('coordination.k8s.io', 'v1', 'leases')!, {
      namespace: LEASE_NAMESPACE,
    });
    this.pods = ctx.factory.informer(resourceForPlural('', 'v1', 'pods')!);
    this.pods.addIndex('nodeName', (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    this.queue = new WorkQueue((name) => this.reconcile(name), {
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      // A conflict only means the node moved on under us: it is retried quietly.
      onError: (key, err) => {
        if (!(err instanceof ApiStatusError && err.httpStatus === 409)) logRetry(NAME, key, err);
      },
    });
  }

  start(): void {
    const enqueue = (n: KObj) => this.queue.add(n.metadata.name);
    this.nodes.addHandlers({
      add: enqueue,
      update: enqueue,
      delete: (n) => this.tracker.forget(n.metadata.name),
    });
    // A pod landing on (or changing on) a node with NoExecute taints needs an eviction decision.
    const podChanged = (p: KObj) => {
      const nodeName: string | undefined = p.spec?.nodeName;
      if (!nodeName || p.metadata.deletionTimestamp) return;
      const node = this.nodes.get(undefined, nodeName);
      if (node && noExecuteTaints(node).length > 0) this.queue.add(nodeName);
    };
    this.pods.addHandlers({ add: podChanged, update: podChanged });
    void this.monitor();
    this.timer = setInterval(() => void this.monitor(), this.monitorPeriodMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.queue.stop();
  }

  /** One pass over every node's health; passes never overlap. */
  private async monitor(): Promise<void> {
    if (this.monitoring) return;
    this.monitoring = true;
    try {
      for (const node of this.nodes.list()) {
        const name: string = node.metadata.name;
        const verdict = this.tracker.check(node, this.leases.get(LEASE_NAMESPACE, name));
        if (verdict.conditions) {
          try {
            await this.client.request('PATCH', `/api/v1/nodes/${name}/status`, {
              body: {
                metadata: { resourceVersion: node.metadata.resourceVersion },
                status: { conditions: verdict.conditions },
              },
              contentType: 'application/merge-patch+json',
            });
          } catch (e) {
            // A conflict or a vanished node is looked at again on the next pass.
            if (!(e instanceof ApiStatusError)) logRetry(NAME, name, e);
          }
        }
        if (verdict.becameNotReady) {
          this.recorder.event(
            asNode(node),
            'Normal',
            'NodeNotReady',
            `Node ${name} status is now: NodeNotReady`,
          );
          await this.markPodsNotReady(name);
        }
      }
    } finally {
      this.monitoring = false;
    }
  }

  /** Pods of a node that stopped being Ready are not Ready either (until its kubelet says so). */
  private async markPodsNotReady(nodeName: string): Promise<void> {
    const now = rfc3339(this.clock.now());
    for (const pod of this.pods.byIndex('nodeName', nodeName)) {
      const ready = (pod.status?.conditions as KObj[] | undefined)?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True') continue;
      try {
        await this.client.request('PATCH', podPath(pod, 'status'), {
          body: { status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: now }] } },
          contentType: 'application/strategic-merge-patch+json',
        });
        this.recorder.event(asPod(pod), 'Warning', 'NodeNotReady', 'Node is not ready');
      } catch (e) {
        if (!(e instanceof ApiStatusError && e.httpStatus === 404)) logRetry(NAME, podKey(pod), e);
      }
    }
  }

  /** Taints of one node from its conditions, then evictions from its NoExecute taints. */
  private async reconcile(name: string): Promise<void> {
    const node = this.nodes.get(undefined, name);
    if (!node) return;
    const now = this.clock.now();
    const taints = desiredTaints(node, now);
    if (taints) {
      try {
        await this.client.request('PATCH', `/api/v1/nodes/${name}`, {
          body: { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { taints } },
          contentType: 'application/merge-patch+json',
        });
      } catch (e) {
        if (e instanceof ApiStatusError && e.httpStatus === 404) return;
        throw e;
      }
      return; // the node's update event brings it back here with the new taints
    }
    const noExecute = noExecuteTaints(node);
    if (noExecute.length === 0) return;
    let nextMs: number | undefined;
    for (const pod of this.pods.byIndex('nodeName', name)) {
      if (pod.metadata.deletionTimestamp) continue;
      const d = evictionDecision(pod, noExecute, now);
      if (d.kind === 'keep') continue;
      if (d.atMs <= now) await this.evict(pod);
      else nextMs = Math.min(nextMs ?? d.atMs, d.atMs);
    }
    if (nextMs !== undefined) this.queue.addAfter(name, nextMs - now);
  }

  private async evict(pod: KObj): Promise<void> {
    this.recorder.event(
      asPod(pod),
      'Normal',
      'TaintManagerEviction',
      `Marking for deletion Pod ${podKey(pod)}`,
    );
    try {
      await this.client.request('PATCH', podPath(pod, 'status'), {
        body: {
          status: {
            conditions: [
              {
                type: 'DisruptionTarget',
                status: 'True',
                reason: 'DeletionByTaintManager',
                message: 'Taint manager: deleting due to NoExecute taint',
                lastTransitionTime: rfc3339(this.clock.now()),
              },
            ],
          },
        },
        contentType: 'application/strategic-merge-patch+json',
      });
      await this.client.request('DELETE', podPath(pod), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: pod.metadata.uid } },
      });
    } catch (e) {
      // Gone already, or replaced by a pod of the same name (uid precondition): nothing to evict.
      if (e instanceof ApiStatusError && (e.httpStatus === 404 || e.httpStatus === 409)) return;
      throw e;
    }
  }
}

function podPath(pod: KObj, sub?: string): string {
  const p = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
  return sub ? `${p}/${sub}` : p;
}

function podKey(pod: KObj): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

function asNode(n: KObj): KObj {
  return { ...n, kind: 'Node', apiVersion: 'v1' };
}

function asPod(p: KObj): KObj {
  return { ...p, kind: 'Pod', apiVersion: 'v1' };
}
