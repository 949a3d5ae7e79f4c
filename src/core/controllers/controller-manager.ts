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
import { GarbageCollector } from './garbage-collector.js';
import { NamespaceController } from './namespace.js';

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
];
