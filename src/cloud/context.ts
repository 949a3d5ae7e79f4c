/** What every cloud controller gets (the cloud twin of the core ControllerContext). */
import type { Clock } from '../core/client/clock.js';
import type { EventRecorder } from '../core/client/events.js';
import type { InformerFactory } from '../core/client/informer-factory.js';
import type { RestClient } from '../core/client/rest-client.js';
import type { CloudProvider } from './provider.js';

export interface CloudControllerContext {
  client: RestClient;
  /** Shared informers: ask for them in the constructor, before `factory.start()`. */
  factory: InformerFactory;
  recorder(component: string): EventRecorder;
  provider: CloudProvider;
  /** Names and tags cloud resources (kubernetes.io/cluster/<name>); default `kubernetes`. */
  clusterName: string;
  clock?: Clock | undefined;
}

/** A cloud controller: started after the informers synced. */
export interface CloudController {
  start(): Promise<void> | void;
  stop(): void;
}
