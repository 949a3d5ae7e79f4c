/**
 * The kubelet: the node agent (node-agent.ts) plus the pod side. It watches the pods bound to its
 * node (field selector spec.nodeName) and the Services (for service env variables), runs one
 * PodWorker per pod through a queue (one sync at a time per pod), and writes each pod's status
 * through the pods/status subresource when it changed (merge patch: the lists are replaced whole).
 * The pod network is rootless (loopback IPs) or bridge (a netns per pod). Containers survive a
 * kubelet restart: the runtime re-adopts them and workers pick them up on their first sync.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, realClock } from '../client/clock.js';
import { EventRecorder } from '../client/events.js';
import { Informer, type KObj } from '../client/informer.js';
import { podTrace } from '../client/pod-trace.js';
import { ItemExponentialRateLimiter } from '../client/rate-limiter.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { RateLimitedQueue } from '../client/workqueue.js';
import { CrashBackoff } from './crash-backoff.js';
import { BridgeNetwork } from './network/bridge-network.js';
import { type DnsSettings, parseResolvConf } from './network/dns-config.js';
import { runCommand } from './network/exec-command.js';
import type { PodNetwork } from './network/pod-network.js';
import type { PodNetworkBackend } from './network/pod-routes-plan.js';
import { RootlessNetwork } from './network/rootless-network.js';
import { NodeAgent } from './node-agent.js';
import { CONTROL_PLANE_LABEL } from './node-status.js';
import { computePodStatus } from './pod-status.js';
import { PodWorker } from './pod-worker.js';
import { CgroupManager } from './runtime/cgroups.js';
import { ProcessRuntime } from './runtime/process-runtime.js';
import type { ContainerRuntime } from './runtime/runtime.js';
import { runtimeStateDir } from './runtime/state-dir.js';
import { KubeletStreamingRuntime } from './streaming-runtime.js';

export interface KubeletOptions {
  nodeName: string;
  dataDir: string;
  rootless: boolean;
  /** Port of the kubelet API advertised in the Node (default 10250). */
  port?: number | undefined;
  /** InternalIP of the node (default: the first non-internal IPv4, else 127.0.0.1). */
  nodeIp?: string | undefined;
  clusterCidr?: string | undefined;
  clusterDns?: string[] | undefined;
  clusterDomain?: string | undefined;
  /** Label the node as the control plane (`k8ts server`'s own node). */
  controlPlane?: boolean | undefined;
  leaseRenewIntervalMs?: number | undefined;
  statusIntervalMs?: number | undefined;
  /** Pod syncs and status writes in flight at most (default 16 each). */
  workers?: number | undefined;
  backoff?: CrashBackoff | undefined;
  clock?: Clock | undefined;
  /** Injected runtime / network (tests); defaults: process runtime, rootless or bridge network. */
  runtime?: ContainerRuntime | undefined;
  network?: PodNetwork | undefined;
  /**
   * How other nodes' podCIDRs are routed here (network/pod-routes.ts): host-gw, vxlan, or none
   * (default; something else routes them, e.g. the cloud route controller). Rootless: always none.
   */
  podNetworkBackend?: PodNetworkBackend | undefined;
  log?: ((line: string) => void) | undefined;
}

/**
 * Connections a kubelet's client should keep to the API server (ClientConfig.maxSockets): pod
 * status writes, events, lease and node status queue on a few warm connections instead of opening
 * a fresh TLS connection per concurrent write in a burst of pod starts.
 */
export const KUBELET_API_CONNECTIONS = 4;

function hostResolv(): ReturnType<typeof parseResolvConf> {
  try {
    return parseResolvConf(readFileSync('/etc/resolv.conf', 'utf8'));
  } catch {
    return { nameservers: [], searches: [], options: [] };
  }
}

export class Kubelet {
  private readonly closers: (() => Promise<void> | void)[] = [];
  readonly nodeName: string;
  private readonly client: RestClient;
  private readonly opts: KubeletOptions;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  readonly runtime: ContainerRuntime;
  readonly network: PodNetwork;
  readonly agent: NodeAgent;
  private readonly backoff: CrashBackoff;
  private readonly recorder: EventRecorder;
  private readonly workers = new Map<string, PodWorker>();
  private readonly syncQueue: RateLimitedQueue;
  private readonly statusQueue: RateLimitedQueue;
  private readonly volumeQueue: RateLimitedQueue;
  private readonly sourceInformers: Informer[] = [];
  private readonly lastStatus = new Map<string, string>();
  private podInformer: Informer | undefined;
  private serviceInformer: Informer | undefined;
  private readonly dns: DnsSettings;
  private podCidr = '';
  private networkInit: Promise<void> | undefined;
  private stopped = false;
  private readonly nodeIp: string;

  constructor(client: RestClient, opts: KubeletOptions, nodeIp: string) {
    this.client = client;
    this.opts = opts;
    this.nodeName = opts.nodeName;
    this.nodeIp = nodeIp;
    this.clock = opts.clock ?? realClock;
    this.log = opts.log ?? ((l) => console.error(l));
    this.backoff = opts.backoff ?? new CrashBackoff();
    this.runtime =
      opts.runtime ??
      new ProcessRuntime({
        stateDir: runtimeStateDir(opts.dataDir),
        log: this.log,
        cgroups: opts.rootless ? undefined : CgroupManager.detect({ nodeName: opts.nodeName }),
      });
    const ipamPath = join(opts.dataDir, 'network', 'ipam.json');
    this.network =
      opts.network ??
      (opts.rootless
        ? new RootlessNetwork({ ipamPath })
        : new BridgeNetwork({
            nodeName: opts.nodeName,
            ipamPath,
            clusterCidr: opts.clusterCidr ?? '10.42.0.0/16',
            run: runCommand,
            log: this.log,
          }));
    this.dns = {
      clusterDns: opts.clusterDns ?? ['10.43.0.10'],
      clusterDomain: opts.clusterDomain ?? 'cluster.local',
      host: hostResolv(),
    };
    // Events trail the pod status writes, never take the connection pool from them.
    // Held while pod syncs or status writes are pending (at most 2 s): see EventGate.
    this.recorder = new EventRecorder(client, 'kubelet', {
      host: opts.nodeName,
      maxInFlight: 1,
      gate: { busy: () => this.busy() },
    });
    this.agent = new NodeAgent(client, {
      identity: {
        name: opts.nodeName,
        address: nodeIp,
        kubeletPort: opts.port ?? 10250,
        labels: opts.controlPlane ? { [CONTROL_PLANE_LABEL]: 'true' } : undefined,
      },
      dataDir: opts.dataDir,
      leaseRenewIntervalMs: opts.leaseRenewIntervalMs,
      statusIntervalMs: opts.statusIntervalMs,
      clock: this.clock,
      log: this.log,
      onNode: (n) => this.onNode(n),
    });
    const workers = opts.workers ?? 16;
    this.syncQueue = new RateLimitedQueue((uid) => this.syncPod(uid), {
      name: 'kubelet-pods',
      workers,
      rateLimiter: new ItemExponentialRateLimiter(200, 10_000),
      clock: this.clock,
      onError: (uid, e) =>
        this.log(`k8ts kubelet: sync of pod ${uid} failed: ${(e as Error)?.stack ?? e} (will retry)`),
    });
    this.volumeQueue = new RateLimitedQueue(async (uid) => this.workers.get(uid)?.refreshVolumes(), {
      name: 'kubelet-volumes',
      workers: 4,
      rateLimiter: new ItemExponentialRateLimiter(200, 10_000),
      clock: this.clock,
      onError: (uid, e) =>
        this.log(`k8ts kubelet: volumes of pod ${uid}: ${(e as Error)?.message ?? e} (will retry)`),
    });
    this.statusQueue = new RateLimitedQueue((uid) => this.writeStatus(uid), {
      name: 'kubelet-status',
      workers,
      rateLimiter: new ItemExponentialRateLimiter(200, 10_000),
      clock: this.clock,
      onError: (uid, e) =>
        this.log(`k8ts kubelet: status of pod ${uid}: ${(e as Error)?.message ?? e} (will retry)`),
    });
  }

  /** Register the node, adopt surviving containers, start watching pods. */
  async start(): Promise<void> {
    if (this.runtime instanceof ProcessRuntime) this.runtime.adopt();
    await this.agent.start();
    // Adopted pods need their addresses back before their workers run.
    await this.networkInit;
    this.serviceInformer = new Informer(this.client, { path: '/api/v1/services', handlers: {} });
    // ConfigMap / Secret changes reach the volumes of running pods that use them.
    for (const kind of ['configMaps', 'secrets'] as const) {
      const inf = new Informer(this.client, {
        path: `/api/v1/${kind.toLowerCase()}`,
        handlers: {
          update: (o) => this.onVolumeSource(kind, o),
          delete: (o) => this.onVolumeSource(kind, o),
        },
      });
      this.sourceInformers.push(inf);
    }
    // Not awaited: pods start without them (an update seen before their first list is missed only
    // until the next change).
    for (const i of this.sourceInformers) void i.start();
    this.podInformer = new Informer(this.client, {
      path: '/api/v1/pods',
      fieldSelector: `spec.nodeName=${this.nodeName}`,
      handlers: {
        add: (p) => this.onPod(p),
        update: (p) => this.onPod(p),
        delete: (p) => {
          const w = this.workers.get(p.metadata?.uid);
          if (w) {
            w.update(p);
            w.markGone();
            this.syncQueue.add(w.uid);
          }
        },
      },
    });
    await Promise.all([this.serviceInformer.start(), this.podInformer.start()]);
    this.cleanupOrphans();
    const backend = this.opts.rootless ? 'none' : (this.opts.podNetworkBackend ?? 'none');
    if (backend !== 'none') {
      const { startPodRoutes } = await import('./network/pod-routes.js');
      const routes = await startPodRoutes({
        client: this.client,
        nodeName: this.nodeName,
        backend,
        run: runCommand,
        nodeIp: this.nodeIp,
        log: this.log,
      });
      this.closers.push(() => routes.stop());
    }
  }

  private onNode(n: KObj): void {
    const cidr: string | undefined = n.spec?.podCIDRs?.[0] ?? n.spec?.podCIDR;
    if (!cidr || cidr === this.podCidr) return;
    this.podCidr = cidr;
    this.networkInit = this.network
      .init(cidr)
      .then(() => {
        for (const uid of this.workers.keys()) this.syncQueue.add(uid);
      })
      .catch((e) => this.log(`k8ts kubelet: pod network setup for ${cidr} failed: ${(e as Error).message}`));
  }

  private onPod(p: KObj): void {
    if (this.stopped || !p.metadata?.uid) return;
    let w = this.workers.get(p.metadata.uid);
    if (!w) {
      if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') {
        // Finished before we saw it (or before a restart): nothing to run, only cleanup on delete.
        if (!p.metadata.deletionTimestamp && !this.runtime.list().some((i) => i.podUid === p.metadata.uid))
          return;
      }
      podTrace('kl-seen', `${p.metadata.namespace}/${p.metadata.name}`);
      w = new PodWorker(p, this.workerDeps());
      this.workers.set(w.uid, w);
    } else w.update(p);
    this.syncQueue.add(w.uid);
  }

  private onVolumeSource(kind: 'configMaps' | 'secrets', o: KObj): void {
    for (const w of this.workers.values()) {
      if (w.pod.metadata?.namespace !== o.metadata?.namespace) continue;
      if (w.references()[kind].has(o.metadata?.name)) this.volumeQueue.add(w.uid);
    }
  }

  /** Containers and IPs of pods that no longer exist (deleted while the kubelet was down). */
  private cleanupOrphans(): void {
    const known = new Set((this.podInformer?.list() ?? []).map((p) => p.metadata.uid as string));
    for (const info of this.runtime.list()) {
      if (known.has(info.podUid)) continue;
      this.log(`k8ts kubelet: killing orphaned container ${info.namespace}/${info.podName}/${info.name}`);
      this.runtime.signal(info.id, 'SIGKILL');
      void this.runtime.wait(info.id).then(() => this.runtime.remove(info.id));
    }
    for (const uid of this.network.uids()) {
      if (!known.has(uid)) void this.network.tearDown(uid).catch(() => {});
    }
  }

  private workerDeps() {
    return {
      runtime: this.runtime,
      network: this.network,
      backoff: this.backoff,
      clock: this.clock,
      nodeName: this.nodeName,
      nodeIp: this.nodeIp,
      dataDir: this.opts.dataDir,
      rootless: this.opts.rootless,
      dns: this.dns,
      nodeAllocatable: () => this.agent.current()?.status?.allocatable,
      services: () => this.serviceInformer?.list() ?? [],
      fetch: async (kind: 'configmaps' | 'secrets', ns: string, name: string) => {
        try {
          return await this.client.request('GET', `/api/v1/namespaces/${ns}/${kind}/${name}`);
        } catch (e) {
          if (e instanceof ApiStatusError && e.httpStatus === 404) return undefined;
          throw e;
        }
      },
      event: (pod: KObj, type: 'Normal' | 'Warning', reason: string, message: string) =>
        this.recorder.event({ ...pod, kind: 'Pod', apiVersion: 'v1' }, type, reason, message),
      requestSync: (uid: string, delayMs?: number) => {
        if (delayMs && delayMs > 0) this.syncQueue.addAfter(uid, delayMs);
        else this.syncQueue.add(uid);
      },
      requestStatus: (uid: string) => {
        podTrace('kl-status-queued', this.workers.get(uid)?.key ?? uid);
        this.statusQueue.add(uid);
      },
      finalizeDelete: async (pod: KObj) => {
        try {
          await this.client.request(
            'DELETE',
            `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`,
            {
              body: {
                kind: 'DeleteOptions',
                apiVersion: 'v1',
                gracePeriodSeconds: 0,
                preconditions: { uid: pod.metadata.uid },
              },
            },
          );
        } catch (e) {
          if (e instanceof ApiStatusError && (e.httpStatus === 404 || e.httpStatus === 409)) return;
          throw e;
        }
      },
      log: this.log,
    };
  }

  private async syncPod(uid: string): Promise<void> {
    const w = this.workers.get(uid);
    if (!w || this.stopped) return;
    podTrace('kl-sync', `${w.pod.metadata.namespace}/${w.pod.metadata.name}`);
    await w.sync();
    if (w.finished) {
      w.stop();
      this.workers.delete(uid);
      this.lastStatus.delete(uid);
    }
  }

  private async writeStatus(uid: string): Promise<void> {
    const w = this.workers.get(uid);
    if (!w || this.stopped) return;
    const pod = w.pod;
    const status = computePodStatus(w.view());
    const json = JSON.stringify(status);
    if (this.lastStatus.get(uid) === json) return;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    podTrace('kl-patch-sent', key);
    try {
      const updated = await this.client.request(
        'PATCH',
        `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`,
        { body: { status }, contentType: 'application/merge-patch+json' },
      );
      podTrace('kl-patch-acked', key);
      this.lastStatus.set(uid, json);
      if (updated?.metadata?.uid === uid) w.update(updated);
    } catch (e) {
      if (e instanceof ApiStatusError && (e.httpStatus === 404 || e.httpStatus === 409)) return;
      throw e;
    }
  }

  /** Pod syncs or status writes queued or running (events wait for them). */
  private busy(): boolean {
    const q = (x: RateLimitedQueue) => x.len() + x.inFlight() > 0;
    return q(this.syncQueue) || q(this.statusQueue);
  }

  /** The worker of a pod (streaming API, tests). */
  worker(namespace: string, name: string, uid?: string): PodWorker | undefined {
    for (const w of this.workers.values()) {
      const m = w.pod.metadata;
      if (m.namespace === namespace && m.name === name && (!uid || m.uid === uid)) return w;
    }
    return undefined;
  }

  /** logs / exec / attach / port-forward for the kubelet API (streams.ts). */
  streaming(): KubeletStreamingRuntime {
    return new KubeletStreamingRuntime(this, this.runtime);
  }

  /** Run `fn` when the kubelet stops (e.g. close its API server). */
  onStop(fn: () => Promise<void> | void): void {
    this.closers.push(fn);
  }

  /** Stop watching and writing; containers keep running (a restarted kubelet adopts them). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const fn of this.closers.splice(0)) await fn();
    this.agent.stop();
    this.podInformer?.stop();
    this.serviceInformer?.stop();
    for (const i of this.sourceInformers) i.stop();
    this.volumeQueue.stop();
    this.syncQueue.stop();
    this.statusQueue.stop();
    for (const w of this.workers.values()) w.stop();
    this.runtime.close();
    this.client.close();
  }
}
