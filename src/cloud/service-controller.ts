/**
 * The service controller of the cloud controller manager: for every `type: LoadBalancer` Service
 * of the default class, add the finalizer, ensure the provider's load balancer for the eligible
 * nodes, publish status.loadBalancer.ingress, follow node changes with updateLoadBalancer, and on
 * delete or type change remove the load balancer, then the status and the finalizer.
 *
 * Services and nodes (informers) -> queue of service keys (rate limited, per-key backoff as
 * upstream: 5 s .. 300 s) -> sync. Every step is an Event on the Service.
 */
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import { resourceForPlural } from '../core/api/resources.js';
import type { EventRecorder } from '../core/client/events.js';
import type { KObj } from '../core/client/informer.js';
import type { SharedInformer } from '../core/client/informer-factory.js';
import { objectPath } from '../core/client/paths.js';
import type { RestClient } from '../core/client/rest-client.js';
import { ApiStatusError } from '../core/client/rest-client.js';
import { logRetry, RateLimitedQueue } from '../core/client/workqueue.js';
import type { CloudController, CloudControllerContext } from './context.js';
import type { LoadBalancer, LoadBalancerStatus } from './provider.js';
import {
  eligibleNodes,
  hasLbFinalizer,
  LB_FINALIZER,
  lbStatusEqual,
  needsCleanup,
  nodeSetKey,
  serviceLbKey,
  wantsLoadBalancer,
} from './service-lb-plan.js';

const SERVICES = resourceForPlural('', 'v1', 'services')!;
const NODES = resourceForPlural('', 'v1', 'nodes')!;
const SLICES = resourceForPlural('discovery.k8s.io', 'v1', 'endpointslices')!;
const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
const BY_SERVICE = 'cloud-service';
export const SERVICE_CONTROLLER_NAME = 'service-controller';

export interface ServiceControllerOptions {
  /** First retry delay of a failed service (ms, default 5000 as upstream). */
  baseDelayMs?: number | undefined;
  /** Longest retry delay (ms, default 300000 as upstream). */
  maxDelayMs?: number | undefined;
  /** Services reconciled concurrently (default 1, as --concurrent-service-syncs). */
  workers?: number | undefined;
}

/** What was last applied to one service's load balancer. */
interface Applied {
  uid: string | undefined;
  specKey: string;
  nodeKey: string;
}

export class ServiceController implements CloudController {
  private readonly client: RestClient;
  private readonly lb: LoadBalancer;
  private readonly clusterName: string;
  private readonly recorder: EventRecorder;
  private readonly services: SharedInformer;
  private readonly nodes: SharedInformer;
  /** EndpointSlices, only when the provider can target pods (AWS nlb-target-type ip). */
  private readonly slices: SharedInformer | undefined;
  private readonly queue: RateLimitedQueue;
  private readonly applied = new Map<string, Applied>();
  /** UIDs whose load balancer was deleted and finalizer removed (until they want one again). */
  private readonly cleaned = new Set<string>();
  private lastNodeKey = '';

  constructor(ctx: CloudControllerContext, opts: ServiceControllerOptions = {}) {
    const lb = ctx.provider.loadBalancer();
    if (!lb) throw new Error(`cloud provider ${ctx.provider.name} has no load balancers`);
    this.lb = lb;
    this.client = ctx.client;
    this.clusterName = ctx.clusterName;
    this.recorder = ctx.recorder(SERVICE_CONTROLLER_NAME);
    this.services = ctx.factory.informer(SERVICES);
    this.nodes = ctx.factory.informer(NODES);
    if (lb.setEndpointSource) {
      const slices = ctx.factory.informer(SLICES);
      slices.addIndex(BY_SERVICE, (o) => {
        const svc = o.metadata?.labels?.[LABEL_SERVICE_NAME];
        return svc ? [`${o.metadata.namespace}/${svc}`] : [];
      });
      this.slices = slices;
      lb.setEndpointSource((svc, portName) => this.readyEndpoints(svc, portName));
    }
    this.queue = new RateLimitedQueue((key) => this.sync(key), {
      name: SERVICE_CONTROLLER_NAME,
      workers: opts.workers ?? 1,
      baseDelayMs: opts.baseDelayMs ?? 5000,
      maxDelayMs: opts.maxDelayMs ?? 300_000,
      qps: 0,
      clock: ctx.clock,
      onError: (key, err) => logRetry(SERVICE_CONTROLLER_NAME, key, err),
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.services.waitForSync(), this.nodes.waitForSync()]);
    const existing = this.services.list().filter((s) => wantsLoadBalancer(s as Service)) as Service[];
    this.lb.restore?.(this.clusterName, existing);
    this.lastNodeKey = nodeSetKey(this.currentNodes());
    this.services.addHandlers({
      add: (s) => this.serviceChanged(s),
      update: (s) => this.serviceChanged(s),
      delete: (s) => {
        this.applied.delete(key(s));
        this.cleaned.delete(s.metadata?.uid ?? '');
      },
    });
    const onNode = () => this.nodesChanged();
    this.nodes.addHandlers({ add: onNode, update: onNode, delete: onNode });
    const onSlice = (o: KObj) => {
      const svcName = o.metadata?.labels?.[LABEL_SERVICE_NAME];
      const svc = svcName
        ? (this.services.get(o.metadata?.namespace, svcName) as Service | undefined)
        : undefined;
      if (svc && this.lb.usesEndpoints?.(svc)) this.queue.add(key(svc));
    };
    this.slices?.addHandlers({ add: onSlice, update: onSlice, delete: onSlice });
  }

  stop(): void {
    this.queue.stop();
  }

  private serviceChanged(s: KObj): void {
    const svc = s as Service;
    const stale = svc.spec?.type !== 'LoadBalancer' && svc.status?.loadBalancer?.ingress?.length;
    if (wantsLoadBalancer(svc) || hasLbFinalizer(svc) || stale) this.queue.add(key(s));
  }

  /** The eligible node set changed: every load balancer service gets its hosts updated. */
  private nodesChanged(): void {
    const k = nodeSetKey(this.currentNodes());
    if (k === this.lastNodeKey) return;
    this.lastNodeKey = k;
    for (const s of this.services.list()) this.serviceChanged(s);
  }

  /** Ready endpoints of one service port from its EndpointSlices, sorted, without duplicates. */
  private readyEndpoints(svc: Service, portName: string): { ip: string; port: number }[] {
    const out = new Map<string, { ip: string; port: number }>();
    for (const sl of this.slices?.byIndex(BY_SERVICE, key(svc)) ?? []) {
      const port = (sl.ports ?? []).find((p: KObj) => (p.name ?? '') === portName)?.port;
      if (typeof port !== 'number') continue;
      for (const ep of sl.endpoints ?? [])
        if (ep.conditions?.ready !== false)
          for (const ip of ep.addresses ?? []) out.set(`${ip}:${port}`, { ip, port });
    }
    return [...out.values()].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.port - b.port));
  }

  /** What the provider's targets depend on besides the spec: nodes, and pods if it targets them. */
  private targetKey(svc: Service, nodes: Node[]): string {
    const base = nodeSetKey(nodes);
    if (!this.lb.usesEndpoints?.(svc)) return base;
    const eps = (svc.spec?.ports ?? []).map((p) =>
      this.readyEndpoints(svc, p.name ?? '')
        .map((e) => `${e.ip}:${e.port}`)
        .join(','),
    );
    return `${base}#${eps.join('|')}`;
  }

  private currentNodes(): Node[] {
    return eligibleNodes(this.nodes.list() as Node[]);
  }

  private async sync(k: string): Promise<void> {
    const [ns, name] = k.split('/') as [string, string];
    const svc = this.services.get(ns, name) as Service | undefined;
    if (!svc) {
      this.applied.delete(k);
      return;
    }
    const elsewhere = this.lb.implementedElsewhere?.(svc) === true;
    try {
      if (needsCleanup(svc) || (elsewhere && hasLbFinalizer(svc))) await this.cleanup(k, svc);
      else if (elsewhere) return;
      else if (wantsLoadBalancer(svc)) await this.ensure(k, svc);
      else if (svc.status?.loadBalancer?.ingress?.length && !svc.spec?.loadBalancerClass)
        await this.writeStatus(svc, { ingress: [] }); // left over by a cleanup that failed halfway
    } catch (e) {
      if (e instanceof ApiStatusError && e.httpStatus === 404) return;
      const verb = needsCleanup(svc) ? 'deleting' : 'syncing';
      this.recorder.event(svc, 'Warning', 'SyncLoadBalancerFailed', `Error ${verb} load balancer: ${msg(e)}`);
      throw e;
    }
  }

  private async ensure(k: string, svc: Service): Promise<void> {
    const nodes = this.currentNodes();
    const specKey = serviceLbKey(svc);
    const nodeKey = this.targetKey(svc, nodes);
    const prev = this.applied.get(k);
    // Checked before the finalizer: a sync over a cache that has not yet seen our own finalizer
    // patch must not patch again (it would conflict on the stale resourceVersion).
    if (prev && prev.uid === svc.metadata?.uid && prev.specKey === specKey && prev.nodeKey === nodeKey)
      return;
    this.cleaned.delete(svc.metadata?.uid ?? '');
    if (!hasLbFinalizer(svc)) svc = await this.setFinalizer(svc, true);
    if (prev && prev.uid === svc.metadata?.uid && prev.specKey === specKey) {
      if (this.lb.nodesInStatus)
        await this.writeStatus(svc, await this.lb.ensureLoadBalancer(this.clusterName, svc, nodes));
      else await this.lb.updateLoadBalancer(this.clusterName, svc, nodes);
      this.applied.set(k, { uid: svc.metadata?.uid, specKey, nodeKey });
      this.recorder.event(svc, 'Normal', 'UpdatedLoadBalancer', `Updated load balancer with new hosts`);
      return;
    }
    this.recorder.event(svc, 'Normal', 'EnsuringLoadBalancer', 'Ensuring load balancer');
    const status = await this.lb.ensureLoadBalancer(this.clusterName, svc, nodes);
    await this.writeStatus(svc, status);
    this.applied.set(k, { uid: svc.metadata?.uid, specKey, nodeKey });
    this.recorder.event(svc, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer');
  }

  private async cleanup(k: string, svc: Service): Promise<void> {
    // Already cleaned up: this is a sync over a cache that has not seen our finalizer removal yet.
    if (this.cleaned.has(svc.metadata?.uid ?? '')) return;
    this.recorder.event(svc, 'Normal', 'DeletingLoadBalancer', 'Deleting load balancer');
    await this.lb.ensureLoadBalancerDeleted(this.clusterName, svc);
    this.applied.delete(k);
    this.recorder.event(svc, 'Normal', 'DeletedLoadBalancer', 'Deleted load balancer');
    // Finalizer first: once it is gone no later event of this service queues another cleanup.
    const after = await this.setFinalizer(svc, false);
    this.remember(svc.metadata?.uid);
    if (!svc.metadata?.deletionTimestamp) await this.writeStatus(after, { ingress: [] });
    // Services still waiting (e.g. for a pool address) may succeed now: retry them at once.
    for (const s of this.services.list() as Service[])
      if (wantsLoadBalancer(s) && !this.applied.has(key(s))) this.queue.add(key(s));
  }

  private remember(uid: string | undefined): void {
    if (!uid) return;
    this.cleaned.add(uid);
    if (this.cleaned.size > 10_000) this.cleaned.delete(this.cleaned.values().next().value!);
  }

  private async writeStatus(svc: Service, status: LoadBalancerStatus): Promise<void> {
    const cur = svc.status?.loadBalancer as LoadBalancerStatus | undefined;
    if (lbStatusEqual(cur, status)) return;
    await this.client.request(
      'PATCH',
      objectPath(SERVICES, svc.metadata?.namespace, svc.metadata!.name!, 'status'),
      {
        body: {
          status: { loadBalancer: status.ingress.length ? { ingress: status.ingress } : { ingress: null } },
        },
        contentType: 'application/merge-patch+json',
      },
    );
  }

  /** Add or remove our finalizer (resourceVersion-guarded: a conflict is retried with backoff). */
  private async setFinalizer(svc: Service, present: boolean): Promise<Service> {
    const cur = svc.metadata?.finalizers ?? [];
    const next = present ? [...cur, LB_FINALIZER] : cur.filter((f) => f !== LB_FINALIZER);
    return this.client.request<Service>(
      'PATCH',
      objectPath(SERVICES, svc.metadata?.namespace, svc.metadata!.name!),
      {
        body: { metadata: { finalizers: next, resourceVersion: svc.metadata?.resourceVersion } },
        contentType: 'application/merge-patch+json',
      },
    );
  }
}

function key(o: KObj): string {
  return `${o.metadata?.namespace}/${o.metadata?.name}`;
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
