/**
 * The controller manager of `k8ts server`: one REST client and one shared informer factory for
 * every controller, each controller started from the list below. Controllers see the cluster only
 * through the client (list + watch + REST writes), never through the API server's memory.
 *
 * To add a controller: implement `Controller` and add one entry to CONTROLLERS.
 */

import type { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/informer-factory.js';
import type { RestClient } from '../client/rest-client.js';
import { SchedulerController } from '../scheduler/scheduler-controller.js';
import { CronJobController } from './cronjob.js';
import { DaemonSetController } from './daemonset.js';
import { DeploymentController } from './deployment.js';
import { EndpointsController } from './endpoints.js';
import { EndpointSliceController } from './endpointslice.js';
import { GarbageCollector } from './garbage-collector.js';
import { JobController } from './job.js';
import { TtlAfterFinishedController } from './job-ttl.js';
import { NamespaceController } from './namespace.js';
import { NodeIpamController } from './node-ipam.js';
import { NodeLifecycleController } from './node-lifecycle.js';
import { ReplicaSetController } from './replicaset.js';
import { ServiceAccountController } from './serviceaccount.js';
import { StatefulSetController } from './statefulset.js';

/** What every controller gets. */
export interface ControllerContext {
  client: RestClient;
  /** Shared informers: ask for them in the constructor, before `factory.start()`. */
  factory: InformerFactory;
  /** Events for `kubectl describe`, as component `component`. */
  recorder(component: string): EventRecorder;
  /** Cluster-wide settings. */
  config: ControllerConfig;
}

export interface ControllerConfig {
  /** Pod network of the cluster; nodes get a /24 each (node IPAM). */
  clusterCidr: string;
  /** How long a node may miss its Lease renewals before it is NotReady (node lifecycle). */
  nodeMonitorGracePeriodSeconds: number;
}

export const DEFAULT_CONTROLLER_CONFIG: ControllerConfig = {
  clusterCidr: '10.42.0.0/16',
  nodeMonitorGracePeriodSeconds: 40,
};

export interface Controller {
  /** Called after every controller was constructed and the informers synced. */
  start(): Promise<void> | void;
  stop(): void;
}

export interface ControllerEntry {
  name: string;
  create(ctx: ControllerContext): Controller;
}

/** Every built-in controller, by name (names as kube-controller-manager's --controllers). */
export const CONTROLLERS: ControllerEntry[] = [
  { name: 'garbage-collector', create: (ctx) => new GarbageCollector(ctx.client) },
  { name: 'namespace', create: (ctx) => new NamespaceController(ctx.client) },
  // -- controllers added by later work go below this line (one entry each) --
  { name: 'job', create: (ctx) => new JobController(ctx) },
  { name: 'ttl-after-finished', create: (ctx) => new TtlAfterFinishedController(ctx) },
  { name: 'cronjob', create: (ctx) => new CronJobController(ctx) },
  { name: 'replicaset', create: (ctx) => new ReplicaSetController(ctx) },
  { name: 'deployment', create: (ctx) => new DeploymentController(ctx) },
  { name: 'endpointslice', create: (ctx) => new EndpointSliceController(ctx) },
  { name: 'endpoints', create: (ctx) => new EndpointsController(ctx) },
  { name: 'serviceaccount', create: (ctx) => new ServiceAccountController(ctx) },
  { name: 'node-ipam', create: (ctx) => new NodeIpamController(ctx) },
  {
    name: 'node-lifecycle',
    create: (ctx) =>
      new NodeLifecycleController(ctx, { gracePeriodSeconds: ctx.config.nodeMonitorGracePeriodSeconds }),
  },
  { name: 'daemonset', create: (ctx) => new DaemonSetController(ctx) },
  { name: 'statefulset', create: (ctx) => new StatefulSetController(ctx) },
  { name: 'scheduler', create: (ctx) => new SchedulerController(ctx) },
];
