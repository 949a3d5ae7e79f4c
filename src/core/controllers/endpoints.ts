/**
 * The Endpoints controller (legacy core/v1 Endpoints, still read by older clients): one Endpoints
 * object per Service with a selector, named after it, computed by endpoints-subsets.ts. Endpoints
 * whose Service is gone are deleted (also leftovers found at start). Services without a selector
 * keep user-managed Endpoints, and `default/kubernetes` belongs to the API server.
 */
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import { resourceForPlural } from '../api/resources.js';
import type { KObj } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { collectionPath, objectPath } from '../client/paths.js';
import type { RestClient } from '../client/rest-client.js';
import { logRetry, RateLimitedQueue } from '../client/workqueue.js';
import type { Controller, ControllerContext } from './controller-manager.js';
import {
  compareResourceVersions,
  isApiServerService,
  keyOf,
  selectorMatches,
  serviceSelector,
  servicesToSync,
} from './endpoints-common.js';
import { isNamespaceGone, isNotFound } from './endpoints-errors.js';
import { endpointsFor } from './endpoints-subsets.js';
import { TriggerTimeTracker } from './endpoints-trigger-time.js';

const SERVICES = resourceForPlural('', 'v1', 'services')!;
const PODS = resourceForPlural('', 'v1', 'pods')!;
const ENDPOINTS = resourceForPlural('', 'v1', 'endpoints')!;

/** Endpoints carrying this annotation are leader-election records, never cleaned up. */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
const STALE_RETRY_MS = 50;
/** Services synced concurrently (kube-controller-manager --concurrent-service-endpoint-syncs). */
const SYNC_WORKERS = 5;
const WRITTEN_MAX_AGE_MS = 60_000;

/** Keeps one core/v1 Endpoints per selector Service (registered as `endpoints`). */
export class EndpointsController implements Controller {
  private readonly client: RestClient;
  private readonly services: SharedInformer;
  private readonly pods: SharedInformer;
  private readonly endpoints: SharedInformer;
  private readonly queue: RateLimitedQueue;
  /** False while handlers replay the caches: the service replay alone queues every service. */
  private live = false;
  private readonly triggerTimes = new TriggerTimeTracker();
  /**
   * key -> resourceVersion of our last write (and when), until the cache has caught up with it.
   * Dropped after WRITTEN_MAX_AGE_MS so that an event lost to a relist cannot wedge a service.
   */
  private readonly written = new Map<string, { rv: string; at: number }>();

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.services = ctx.factory.informer(SERVICES);
    this.pods = ctx.factory.informer(PODS);
    this.endpoints = ctx.factory.informer(ENDPOINTS);
    this.queue = new RateLimitedQueue((key) => this.sync(key), {
      name: 'endpoints-controller',
      workers: SYNC_WORKERS,
      baseDelayMs: 20,
      maxDelayMs: 30_000,
      onError: (key, err) => logRetry('endpoints-controller', key, err),
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.services, this.pods, this.endpoints].map((i) => i.waitForSync()));
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
    // Someone deleting or editing an Endpoints we manage: put it back.
    this.endpoints.addHandlers({
      update: (e) => this.endpointsChanged(e, false),
      delete: (e) => this.endpointsChanged(e, true),
    });
    // Leftovers: Endpoints whose Service went away while we were not running.
    for (const e of this.endpoints.list()) {
      if (e.metadata?.annotations?.[LEADER_ANNOTATION] === undefined) this.queue.add(keyOf(e));
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

  private endpointsChanged(e: KObj, deleted: boolean): void {
    const key = keyOf(e);
    const ours = this.written.get(key);
    if (deleted) this.written.delete(key);
    // The echo of our own write needs no sync.
    else if (ours && compareResourceVersions(e.metadata?.resourceVersion, ours.rv) === 0) return;
    if (this.services.get(e.metadata?.namespace, e.metadata?.name)) this.queue.add(key);
  }

  private async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    if (isApiServerService(namespace, name)) return;
    const svc = this.services.get(namespace, name) as Service | undefined;
    const path = objectPath(ENDPOINTS, namespace, name);
    if (!svc) {
      this.triggerTimes.delete(namespace, name);
      this.written.delete(key);
      try {
        await this.client.request('DELETE', path);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return;
    }
    const selector = serviceSelector(svc);
    if (!selector) return;
    const current = this.endpoints.get(namespace, name) as Endpoints | undefined;
    const ours = this.written.get(key);
    if (ours && Date.now() - ours.at < WRITTEN_MAX_AGE_MS) {
      const c = compareResourceVersions(current?.metadata?.resourceVersion, ours.rv);
      if (!current || (c !== undefined && c < 0)) {
        this.queue.addAfter(key, STALE_RETRY_MS);
        return;
      }
    }
    this.written.delete(key);
    const pods = (this.pods.list(namespace) as Pod[])
      .filter((p) => selectorMatches(selector, p.metadata?.labels))
      .sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
    // Computed on every sync so the tracker's memory moves on even when nothing is written.
    const triggerTime = this.triggerTimes.compute(svc, pods);
    const want = endpointsFor(svc, pods, current, { triggerTime });
    if (!want) return;
    try {
      const out = current
        ? await this.client.request('PUT', path, { body: want })
        : await this.client.request('POST', collectionPath(ENDPOINTS, namespace), { body: want });
      if (out?.metadata?.resourceVersion)
        this.written.set(key, { rv: out.metadata.resourceVersion, at: Date.now() });
    } catch (e) {
      if (!current && isNamespaceGone(e)) return;
      throw e;
    }
  }
}
