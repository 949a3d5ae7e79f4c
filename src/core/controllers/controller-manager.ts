/**
 * The controller manager of `k8ts server`: one REST client and one shared informer factory for
 * every controller, each controller started from the list below. Controllers see the cluster only
 * through the client (list + watch + REST writes), never through the API server's memory.
 *
 * To add a controller: implement `Controller` and add one entry to CONTROLLERS.
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { EventRecorder } from '../client/events.js';
import { InformerFactory } from '../client/informer-factory.js';
import { type LeaderElectionOptions, runLeaderElection } from '../client/leader-election.js';
import type { RestClient } from '../client/rest-client.js';
import { SchedulerController } from '../scheduler/scheduler-controller.js';
import { CronJobController } from './cronjob.js';
import { CsrApproverController } from './csr-approver.js';
import { CsrCleanerController } from './csr-cleaner.js';
import { CsrSignerController } from './csr-signer.js';
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
  /** CA that signs approved CertificateSigningRequests (csr-signer); no signing without it. */
  signer?: { caCertPem: string; caKeyPem: string } | undefined;
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
  { name: 'csr-approver', create: (ctx) => new CsrApproverController(ctx) },
  { name: 'csr-cleaner', create: (ctx) => new CsrCleanerController(ctx) },
  {
    name: 'csr-signer',
    create: (ctx) =>
      ctx.config.signer ? new CsrSignerController(ctx, { ca: ctx.config.signer }) : { start() {}, stop() {} },
  },
];

export interface ControllerManagerOptions {
  client: RestClient;
  config?: Partial<ControllerConfig> | undefined;
  /** Names from CONTROLLERS to run (default: all). */
  controllers?: readonly string[] | undefined;
  /**
   * Leader election on the Lease kube-system/kube-controller-manager (default on, as upstream's
   * --leader-elect): of several controller managers against one cluster, only the holder runs
   * controllers. `false` runs them at once (tests, a single process that owns its storage).
   */
  leaderElection?: false | Omit<LeaderElectionOptions, 'name'> | undefined;
  /** Progress lines (default console.log). */
  log?: ((line: string) => void) | undefined;
}

export interface RunningControllerManager {
  /** Stop the controllers and, when leading, release the Lease. */
  stop(): Promise<void>;
  isLeader(): boolean;
  /** The identity holding the Lease as last seen ('' when unknown). */
  leader(): string;
}

/** Lease name shared by every k8ts controller manager of a cluster (upstream's name). */
export const CONTROLLER_MANAGER_LEASE = 'kube-controller-manager';

/**
 * Run the controllers: construct them with one shared informer factory, sync it, start them;
 * under leader election this happens each time leadership is won and is undone when it is lost
 * (the controllers are rebuilt from a fresh list on the next term, so no state of a lost term
 * leaks into the next).
 */
export function startControllerManager(opts: ControllerManagerOptions): RunningControllerManager {
  const names = opts.controllers ?? CONTROLLERS.map((c) => c.name);
  for (const n of names)
    if (!CONTROLLERS.some((c) => c.name === n))
      throw new Error(`unknown controller "${n}" (known: ${CONTROLLERS.map((c) => c.name).join(', ')})`);
  const log = opts.log ?? ((l: string) => console.log(l));
  const config = { ...DEFAULT_CONTROLLER_CONFIG, ...(opts.config ?? {}) };
  const runTerm = async (signal?: AbortSignal): Promise<void> => {
    const factory = new InformerFactory(opts.client);
    const ctx: ControllerContext = {
      client: opts.client,
      factory,
      recorder: (component) => new EventRecorder(opts.client, component),
      config,
    };
    const controllers = CONTROLLERS.filter((c) => names.includes(c.name)).map((c) => c.create(ctx));
    const stop = () => {
      for (const c of controllers) c.stop();
      factory.stop();
    };
    if (signal?.aborted) return stop();
    signal?.addEventListener('abort', stop, { once: true });
    // A stopped informer never reports its cache synced, so a start() cut short by the end of
    // the term would never resolve: stop waiting for it when the term ends.
    const aborted = new Promise<void>((r) => signal?.addEventListener('abort', () => r(), { once: true }));
    const starting = (async () => {
      await factory.start();
      if (!signal?.aborted) await Promise.all(controllers.map((c) => c.start()));
    })();
    await Promise.race([starting, aborted]);
    if (signal?.aborted) return;
    terms.push(stop);
  };
  const terms: (() => void)[] = [];
  if (opts.leaderElection === false) {
    const ready = runTerm();
    return {
      stop: async () => {
        await ready.catch(() => {});
        for (const s of terms.splice(0)) s();
      },
      isLeader: () => true,
      leader: () => '',
    };
  }
  const le = opts.leaderElection ?? { identity: `${hostname()}_${randomUUID()}` };
  const elector = runLeaderElection(
    opts.client,
    { ...le, name: CONTROLLER_MANAGER_LEASE },
    {
      onStartedLeading: async (signal) => {
        log(`k8ts controller-manager: ${le.identity} is the leader; starting controllers`);
        await runTerm(signal);
      },
      onStoppedLeading: () => {
        terms.splice(0);
        log(`k8ts controller-manager: ${le.identity} stopped leading; controllers stopped`);
      },
      onNewLeader: (id) => {
        if (id && id !== le.identity) log(`k8ts controller-manager: ${id} is the leader; waiting`);
      },
    },
  );
  return { stop: () => elector.stop(), isLeader: () => elector.isLeader(), leader: () => elector.leader() };
}
