/**
 * The EndpointSlice controller: keeps, for every Service with a selector, EndpointSlices listing
 * the selected pods (ready / serving / terminating, node, zone, per-pod resolved ports, at most
 * `maxEndpointsPerSlice` each). These are what the service proxy, DNS and ingress read.
 *
 * Events (services, pods, nodes, our slices) -> queue of service keys -> sync: desired endpoints
 * (endpointslice-desired.ts) + plan (endpointslice-plan.ts) -> REST writes. The tracker keeps a
 * sync from planning over a cache that has not seen our own previous writes yet.
 */
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import { resourceForPlural } from '../api/resources.js';
import type { KObj } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { collectionPath, objectPath } from '../client/paths.js';
import type { RestClient } from '../client/rest-client.js';
import { logRetry, RateLimitedQueue } from '../client/workqueue.js';
import type { Controller, ControllerContext } from './controller-manager.js';
import {
  ENDPOINTSLICE_CONTROLLER_NAME,
  isApiServerService,
  keyOf,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  LABEL_ZONE,
  selectorMatches,
  serviceSelector,
  servicesToSync,
} from './endpoints-common.js';
import { isNamespaceGone, isNotFound, NodeNotFoundError } from './endpoints-errors.js';
import { TriggerTimeTracker } from './endpoints-trigger-time.js';
import { desiredEndpoints, type Slice } from './endpointslice-desired.js';
import { planSlices } from './endpointslice-plan.js';
import { SliceTracker } from './endpointslice-tracker.js';

const SERVICES = resourceForPlural('', 'v1', 'services')!;
const PODS = resourceForPlural('', 'v1', 'pods')!;
const NODES = resourceForPlural('', 'v1', 'nodes')!;
const SLICES = resourceForPlural('discovery.k8s.io', 'v1', 'endpointslices')!;

const BY_SERVICE = 'endpointslice-service';
const BY_NODE = 'endpointslice-node';
/** Retry delay when the slice cache has not caught up with our own writes yet (ms). */
const STALE_RETRY_MS = 50;
/** Services synced concurrently (kube-controller-manager --concurrent-service-endpoint-syncs). */
const SYNC_WORKERS = 5;

export interface EndpointSliceControllerOptions {
  /** Endpoints per slice (kube-controller-manager --max-endpoints-per-slice, default 100). */
  maxEndpointsPerSlice?: number | undefined;
}

/** Key (`ns/service`) of the service a managed slice belongs to, if it is ours. */
export function managedSliceServiceKey(slice: KObj): string | undefined {
  const labels = slice.metadata?.labels ?? {};
  if (labels[LABEL_MANAGED_BY] !== ENDPOINTSLICE_CONTROLLER_NAME) return undefined;
  const svc = labels[LABEL_SERVICE_NAME];
  return svc ? `${slice.metadata.namespace}/${svc}` : undefined;
}

/** Keeps the EndpointSlices of every selector Service (registered as `endpointslice`). */
export class EndpointSliceController implements Controller {
  private readonly client: RestClient;
  private readonly services: SharedInformer;
  private readonly pods: SharedInformer;
  private readonly nodes: SharedInformer;
  private readonly slices: SharedInformer;
  private readonly queue: RateLimitedQueue;
  /** False while handlers replay the caches: the service replay alone queues every service. */
  private live = false;
  private readonly tracker = new SliceTracker();
  private readonly triggerTimes = new TriggerTimeTracker();
  private readonly maxEndpointsPerSlice: number | undefined;

  constructor(ctx: ControllerContext, opts: EndpointSliceControllerOptions = {}) {
    this.client = ctx.client;
    this.maxEndpointsPerSlice = opts.maxEndpointsPerSlice;
    this.services = ctx.factory.informer(SERVICES);
    this.pods = ctx.factory.informer(PODS);
    this.nodes = ctx.factory.informer(NODES);
    this.slices = ctx.factory.informer(SLICES);
    this.slices.addIndex(BY_SERVICE, (s) => {
      const k = managedSliceServiceKey(s);
      return k ? [k] : [];
    });
    this.pods.addIndex(BY_NODE, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    this.queue = new RateLimitedQueue((key) => this.sync(key), {
      name: 'endpointslice-controller',
      workers: SYNC_WORKERS,
      baseDelayMs: 20,
      maxDelayMs: 30_000,
      onError: (key, err) => logRetry('endpointslice-controller', key, err),
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.services, this.pods, this.nodes, this.slices].map((i) => i.waitForSync()));
    // Handlers only now: the initial replay queues every service once, over synced caches.
    this.services.addHandlers({
      add: (s) => this.queue.add(keyOf(s)),
      update: (s) => this.queue.add(keyOf(s)),
      delete: (s) => this.queue.add(keyOf(s)),
    });
    this.pods.addHandlers({
      add: (p) => this.live && this.podChanged(undefined, p),
      update: (p, old) => this.podChanged(old, p),
      delete: (p) => this.podChanged(p, undefined),
    });
    this.nodes.addHandlers({
      add: (n) => this.live && this.nodeChanged(undefined, n),
      update: (n, old) => this.nodeChanged(old, n),
    });
    this.slices.addHandlers({
      add: (s) => this.live && this.sliceChanged('add', s),
      update: (s) => this.sliceChanged('update', s),
      delete: (s) => this.sliceChanged('delete', s),
    });
    // Managed slices whose service is gone (deleted while we were down) are cleaned up too.
    for (const s of this.slices.list()) {
      const k = managedSliceServiceKey(s);
      if (k) this.queue.add(k);
    }
    this.live = true;
  }

  stop(): void {
    this.queue.stop();
  }

  private podChanged(old: KObj | undefined, cur: KObj | undefined): void {
    const ns = (cur ?? old)?.metadata?.namespace;
    const keys = servicesToSync(this.services.list(ns) as Service[], {
      old: old as Pod | undefined,
      cur: cur as Pod | undefined,
    });
    for (const k of keys) this.queue.add(k);
  }

  private nodeChanged(old: KObj | undefined, cur: KObj): void {
    // A node appearing can release pods skipped for want of it; a zone change moves their endpoints.
    if (old && old.metadata?.labels?.[LABEL_ZONE] === cur.metadata?.labels?.[LABEL_ZONE]) return;
    for (const pod of this.pods.byIndex(BY_NODE, cur.metadata.name)) this.podChanged(undefined, pod);
  }

  private sliceChanged(type: 'add' | 'update' | 'delete', slice: KObj): void {
    const k = managedSliceServiceKey(slice);
    if (k && this.tracker.observe(k, type, slice)) this.queue.add(k);
  }

  private async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    if (isApiServerService(namespace, name)) return;
    const svc = this.services.get(namespace, name) as Service | undefined;
    const existing = this.slices.byIndex(BY_SERVICE, key) as Slice[];
    if (!svc) {
      await this.cleanup(key, existing);
      return;
    }
    const selector = serviceSelector(svc);
    if (!selector) return;
    if (this.tracker.stale(key, existing)) {
      this.queue.addAfter(key, STALE_RETRY_MS);
      return;
    }
    const pods = (this.pods.list(namespace) as Pod[])
      .filter((p) => selectorMatches(selector, p.metadata?.labels))
      .sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
    const triggerTime = this.triggerTimes.compute(svc, pods);
    const desired = desiredEndpoints(svc, pods, (n) => this.nodes.get(undefined, n) as Node | undefined);
    const plan = planSlices(svc, desired, existing, {
      maxEndpointsPerSlice: this.maxEndpointsPerSlice,
      triggerTime,
    });
    const coll = collectionPath(SLICES, namespace);
    // Create first, then update, then delete: endpoints never vanish between two writes.
    if (!svc.metadata?.deletionTimestamp) {
      const created = await settle(
        plan.create.map(async (s) => {
          const out = await this.client.request('POST', coll, { body: s });
          this.tracker.written(key, out);
        }),
      );
      if (created.some(isNamespaceGone)) return;
      throwFirst(created);
    }
    throwFirst(
      await settle(
        plan.update.map(async (s) => {
          const out = await this.client.request('PUT', objectPath(SLICES, namespace, s.metadata!.name!), {
            body: s,
          });
          this.tracker.written(key, out);
        }),
      ),
    );
    throwFirst(await settle(plan.delete.map((s) => this.deleteSlice(key, namespace, s))));
    if (desired.missingNodes.length > 0) throw new NodeNotFoundError(key, desired.missingNodes);
  }

  /** The service is gone: its managed slices go too (the garbage collector would get there later). */
  private async cleanup(key: string, slices: Slice[]): Promise<void> {
    const slash = key.indexOf('/');
    this.triggerTimes.delete(key.slice(0, slash), key.slice(slash + 1));
    throwFirst(await settle(slices.map((s) => this.deleteSlice(key, key.slice(0, slash), s))));
    if (slices.length === 0) this.tracker.deleteService(key);
  }

  private async deleteSlice(key: string, namespace: string, s: Slice): Promise<void> {
    const name = s.metadata?.name ?? '';
    try {
      await this.client.request('DELETE', objectPath(SLICES, namespace, name), {
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          ...(s.metadata?.uid ? { preconditions: { uid: s.metadata.uid } } : {}),
        },
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    this.tracker.deleted(key, name);
  }
}

/** Every outcome of some concurrent writes: undefined for a success, the error otherwise. */
async function settle(ps: Promise<void>[]): Promise<unknown[]> {
  const rs = await Promise.allSettled(ps);
  return rs.map((r) => (r.status === 'rejected' ? r.reason : undefined));
}

function throwFirst(errors: unknown[]): void {
  const e = errors.find((x) => x !== undefined);
  if (e !== undefined) throw e;
}
