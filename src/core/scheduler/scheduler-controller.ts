/**
 * The scheduler as run by `k8ts server`: shared informers on pods (all namespaces) and nodes feed
 * the Scheduler; its writes go through the REST client (pods/binding, pods/status, events).
 */
import { resourceForPlural } from '../api/resources.js';
import { type EventGate, EventRecorder } from '../client/events.js';
import type { KObj } from '../client/informer.js';
import { podTrace } from '../client/pod-trace.js';
import type { RestClient } from '../client/rest-client.js';
import type { Controller, ControllerContext } from '../controllers/controller-manager.js';
import { BoundedEventSink } from './event-sink.js';
import { DEFAULT_SCHEDULER_NAME, Scheduler, type SchedulerApi } from './scheduler.js';

/**
 * Connections of the scheduler's bindings client (was 32, the RestClient default). Fewer means
 * fewer TLS handshakes when a burst starts on cold connections; too few caps the bindings in
 * flight and so the group commit's batch: bench/scheduler (5,000 pods) bound 578 pods/s steady
 * with 4, 1,899 with 16 (2,984 with 32), while the 100-pod kubelet burst did not tell 4 and 16
 * apart.
 */
export const SCHEDULER_API_CONNECTIONS = 16;

function podPath(pod: KObj, sub: string): string {
  return `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/${sub}`;
}

function now(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

export interface RestSchedulerApiOptions {
  /** The client of the Scheduled events (default: the bindings' client). */
  eventClient?: RestClient | undefined;
  /** Hold the Scheduled events while bindings are pending. */
  eventGate?: EventGate | undefined;
}

/** The SchedulerApi over the REST client. */
export function restSchedulerApi(
  client: RestClient,
  recorder: EventRecorder,
  opts: RestSchedulerApiOptions = {},
): SchedulerApi & { sink: BoundedEventSink } {
  const eventClient = opts.eventClient ?? client;
  const sink = new BoundedEventSink(
    (ns, ev) => eventClient.request('POST', `/api/v1/namespaces/${ns}/events`, { body: ev }),
    {
      component: DEFAULT_SCHEDULER_NAME,
      gate: opts.eventGate,
    },
  );
  return {
    sink,
    async bind(pod, nodeName) {
      // ApiStatusError carries the httpStatus the scheduler reads (404 gone, 409 already bound).
      podTrace('bind-sent', `${pod.metadata.namespace}/${pod.metadata.name}`);
      await client.request('POST', podPath(pod, 'binding'), {
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
        },
      });
    },
    async markUnschedulable(pod, message) {
      await client.request('PATCH', podPath(pod, 'status'), {
        contentType: 'application/strategic-merge-patch+json',
        body: {
          // Precondition: the pod as the scheduler judged it. If it changed meanwhile (bound by
          // another binder, deleted and recreated), the patch gets 409 and the stale verdict is dropped.
          metadata: { resourceVersion: pod.metadata.resourceVersion },
          status: {
            conditions: [
              {
                type: 'PodScheduled',
                status: 'False',
                reason: 'Unschedulable',
                message,
                lastProbeTime: null,
                lastTransitionTime: now(),
              },
            ],
          },
        },
      });
    },
    event(pod, type, reason, message) {
      // Scheduled happens once per pod: bounded and droppable. Failures repeat: aggregated by the recorder.
      if (reason === 'Scheduled') sink.event(pod, type, reason, message);
      else recorder.event({ kind: 'Pod', apiVersion: 'v1', ...pod }, type, reason, message);
    },
  };
}

/** The `scheduler` entry of the controller manager. */
export class SchedulerController implements Controller {
  readonly scheduler: Scheduler;
  private readonly client: RestClient;
  private readonly eventClient: RestClient;

  constructor(ctx: ControllerContext) {
    const pods = resourceForPlural('', 'v1', 'pods');
    const nodes = resourceForPlural('', 'v1', 'nodes');
    if (!pods || !nodes) throw new Error('scheduler: pods or nodes resource is not registered');
    // Its own connection pool: bindings come in bursts of thousands (see SCHEDULER_API_CONNECTIONS).
    this.client = ctx.client.derive({
      userAgent: DEFAULT_SCHEDULER_NAME,
      maxSockets: SCHEDULER_API_CONNECTIONS,
    });
    // Events have one connection of their own: on the bindings' pool each event would hold a
    // connection that a queued binding waits for (the pool is a FIFO), and a pod counts as
    // scheduled when it is bound, not when its event is written.
    this.eventClient = ctx.client.derive({ userAgent: DEFAULT_SCHEDULER_NAME, maxSockets: 1 });
    const recorder = new EventRecorder(this.eventClient, DEFAULT_SCHEDULER_NAME);
    // The Scheduled events also wait until the bindings of a burst are done (at most 2 s).
    let scheduler: Scheduler | undefined;
    this.scheduler = scheduler = new Scheduler({
      api: restSchedulerApi(this.client, recorder, {
        eventClient: this.eventClient,
        eventGate: { busy: () => scheduler?.busy() ?? false },
      }),
    });
    const s = this.scheduler;
    ctx.factory.informer(nodes).addHandlers({
      add: (o) => s.onNodeAdd(o),
      update: (o, old) => s.onNodeUpdate(o, old),
      delete: (o) => s.onNodeDelete(o),
    });
    ctx.factory.informer(pods).addHandlers({
      add: (o) => s.onPodAdd(o),
      update: (o, old) => s.onPodUpdate(o, old),
      delete: (o) => s.onPodDelete(o),
    });
  }

  start(): void {
    this.scheduler.start();
  }

  stop(): void {
    this.scheduler.stop();
    this.client.close();
    this.eventClient.close();
  }
}
