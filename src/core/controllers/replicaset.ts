/**
 * The ReplicaSet controller, as kube-controller-manager's: keeps spec.replicas active pods for
 * every ReplicaSet. It watches ReplicaSets and pods (pods indexed by their controlling owner),
 * adopts matching orphans and releases pods that stopped matching, creates pods in slow-start
 * batches and deletes the least valuable pods first, and never acts on a ReplicaSet again until
 * the watch has shown it the creations and deletions it issued (expectations). Status goes
 * through the /status subresource.
 */
import { resourceForPlural } from '../api/resources.js';
import { isEverything, labelsMatch } from '../api/selector/label-selector.js';
import type { EventRecorder } from '../client/events.js';
import type { KObj } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { collectionPath, objectPath } from '../client/paths.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';
import type { Controller, ControllerContext } from './controller-manager.js';
import {
  adoptPatch,
  CONTROLLER_UID_INDEX,
  claimObjects,
  controllerReference,
  controllerRefOf,
  controllerUidIndex,
  ORPHAN_NAMESPACE_INDEX,
  orphanNamespaceIndex,
  ownerSelector,
  releasePatch,
} from './replicaset-controller-ref.js';
import { Expectations } from './replicaset-expectations.js';
import { isPodActive, isPodReady, podFromTemplate, podsToDelete, slowStartBatch } from './replicaset-pods.js';
import { calculateReplicaSetStatus, replicaSetStatusUpdate } from './replicaset-status.js';

const COMPONENT = 'replicaset-controller';
/** At most this many creations or deletions per sync (upstream's BurstReplicas). */
export const BURST_REPLICAS = 500;

const RS = resourceForPlural('apps', 'v1', 'replicasets')!;
const PODS = resourceForPlural('', 'v1', 'pods')!;

export interface ReplicaSetControllerOptions {
  /** Clock in ms (tests inject one). */
  now?: (() => number) | undefined;
  burstReplicas?: number | undefined;
}

function keyOf(o: KObj): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}

function isNotFound(e: unknown): boolean {
  return e instanceof ApiStatusError && e.httpStatus === 404;
}

function isConflict(e: unknown): boolean {
  return e instanceof ApiStatusError && e.httpStatus === 409;
}

export class ReplicaSetController implements Controller {
  private readonly client: RestClient;
  private readonly recorder: EventRecorder;
  private readonly replicaSets: SharedInformer;
  private readonly pods: SharedInformer;
  private readonly queue: WorkQueue;
  private readonly expectations: Expectations;
  private readonly now: () => number;
  private readonly burst: number;
  private started = false;

  constructor(ctx: ControllerContext, opts: ReplicaSetControllerOptions = {}) {
    this.client = ctx.client;
    this.recorder = ctx.recorder(COMPONENT);
    this.now = opts.now ?? Date.now;
    this.burst = opts.burstReplicas ?? BURST_REPLICAS;
    this.expectations = new Expectations({ now: this.now });
    this.queue = new WorkQueue((key) => this.sync(key), {
      baseDelayMs: 50,
      maxDelayMs: 10_000,
      onError: (key, err) => {
        if (!isConflict(err)) logRetry(COMPONENT, key, err);
      },
    });
    this.replicaSets = ctx.factory.informer(RS);
    this.pods = ctx.factory.informer(PODS);
    this.pods.addIndex(CONTROLLER_UID_INDEX, controllerUidIndex);
    this.pods.addIndex(ORPHAN_NAMESPACE_INDEX, orphanNamespaceIndex);
    this.replicaSets.addIndex(CONTROLLER_UID_INDEX, controllerUidIndex);
    this.replicaSets.addHandlers({
      add: (rs) => this.enqueue(keyOf(rs)),
      update: (rs) => this.enqueue(keyOf(rs)),
      delete: (rs) => {
        this.expectations.delete(keyOf(rs));
        this.enqueue(keyOf(rs));
      },
    });
    this.pods.addHandlers({
      add: (p) => this.podAdded(p),
      update: (p, old) => this.podUpdated(p, old),
      delete: (p) => this.podDeleted(p),
    });
  }

  start(): void {
    this.started = true;
    for (const rs of this.replicaSets.list()) this.queue.add(keyOf(rs));
  }

  stop(): void {
    this.started = false;
    this.queue.stop();
  }

  private enqueue(key: string): void {
    if (this.started) this.queue.add(key);
  }

  /** The ReplicaSet a controllerRef names, if it is still that object. */
  private resolve(namespace: string, ref: KObj | undefined): KObj | undefined {
    if (ref?.kind !== 'ReplicaSet') return undefined;
    const rs = this.replicaSets.get(namespace, ref.name);
    return rs?.metadata.uid === ref.uid ? rs : undefined;
  }

  /** ReplicaSets whose selector matches an orphan pod. */
  private matchingReplicaSets(pod: KObj): KObj[] {
    return this.replicaSets.list(pod.metadata.namespace).filter((rs) => {
      const sel = ownerSelector(rs);
      return sel !== undefined && !isEverything(sel) && labelsMatch(sel, pod.metadata.labels);
    });
  }

  private podAdded(pod: KObj): void {
    if (pod.metadata.deletionTimestamp) {
      this.podDeleted(pod);
      return;
    }
    const ref = controllerRefOf(pod);
    if (ref) {
      const rs = this.resolve(pod.metadata.namespace, ref);
      if (!rs) return;
      this.expectations.creationObserved(keyOf(rs));
      this.enqueue(keyOf(rs));
      return;
    }
    for (const rs of this.matchingReplicaSets(pod)) this.enqueue(keyOf(rs));
  }

  private podUpdated(pod: KObj, old: KObj): void {
    const labelsChanged =
      JSON.stringify(pod.metadata.labels ?? {}) !== JSON.stringify(old.metadata.labels ?? {});
    if (pod.metadata.deletionTimestamp) {
      // Seen being deleted: that is the deletion the expectations wait for.
      this.podDeleted(pod);
      if (labelsChanged) this.podDeleted(old);
      return;
    }
    const ref = controllerRefOf(pod);
    const oldRef = controllerRefOf(old);
    const refChanged = JSON.stringify(ref) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) {
      const rs = this.resolve(old.metadata.namespace, oldRef);
      if (rs) this.enqueue(keyOf(rs));
    }
    if (ref) {
      const rs = this.resolve(pod.metadata.namespace, ref);
      if (!rs) return;
      this.enqueue(keyOf(rs));
      // A pod that just became ready turns available after minReadySeconds with no event.
      const minReady: number = rs.spec?.minReadySeconds ?? 0;
      if (this.started && minReady > 0 && !isPodReady(old) && isPodReady(pod))
        this.queue.addAfter(keyOf(rs), (minReady + 1) * 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const rs of this.matchingReplicaSets(pod)) this.enqueue(keyOf(rs));
  }

  private podDeleted(pod: KObj): void {
    const rs = this.resolve(pod.metadata.namespace, controllerRefOf(pod));
    if (!rs) return;
    this.expectations.deletionObserved(keyOf(rs), keyOf(pod));
    this.enqueue(keyOf(rs));
  }

  /** Pods the ReplicaSet controls plus orphans of its namespace (claim candidates). */
  private candidatePods(rs: KObj): KObj[] {
    return [
      ...this.pods.byIndex(CONTROLLER_UID_INDEX, rs.metadata.uid),
      ...this.pods.byIndex(ORPHAN_NAMESPACE_INDEX, rs.metadata.namespace),
    ];
  }

  /** Pods of every ReplicaSet with the same controller (the Deployment's family), for ranking. */
  private relatedPods(rs: KObj): KObj[] {
    const ref = controllerRefOf(rs);
    const family = ref ? this.replicaSets.byIndex(CONTROLLER_UID_INDEX, ref.uid) : [rs];
    return family.flatMap((r) => this.pods.byIndex(CONTROLLER_UID_INDEX, r.metadata.uid));
  }

  /** Called from the queue only (one sync per key at a time). */
  private async sync(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const cached = this.replicaSets.get(namespace, name);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    // List items carry no kind; events and writes need it.
    const rs: KObj = { ...cached, apiVersion: 'apps/v1', kind: 'ReplicaSet' };
    const needsSync = this.expectations.satisfied(key);
    const selector = ownerSelector(rs);
    if (!selector) return;
    const active = this.candidatePods(rs).filter(isPodActive);
    const pods = await claimObjects(rs, active, {
      matches: (p) => !isEverything(selector) && labelsMatch(selector, p.metadata.labels),
      canAdopt: () => this.canAdopt(rs),
      adopt: (p) => this.patchPod(p, adoptPatch(p, controllerReference(rs, 'apps/v1', 'ReplicaSet'))),
      release: async (p) => {
        await this.patchPod(p, releasePatch(p, rs.metadata.uid));
      },
    });
    let manageError: Error | undefined;
    if (needsSync && rs.metadata.deletionTimestamp === undefined) {
      manageError = await this.manageReplicas(key, rs, pods);
    }
    const next = calculateReplicaSetStatus(rs, { pods, manageError, nowMs: this.now() });
    const update = replicaSetStatusUpdate(rs, next);
    const status: KObj = update ? await this.writeStatus(rs, update) : (rs.status ?? {});
    const replicas: number = rs.spec?.replicas ?? 1;
    const minReady: number = rs.spec?.minReadySeconds ?? 0;
    if (
      !manageError &&
      minReady > 0 &&
      (status.readyReplicas ?? 0) === replicas &&
      (status.availableReplicas ?? 0) !== replicas
    ) {
      // Pods become available with time alone: look again when they may have.
      this.queue.addAfter(key, minReady * 1000);
    }
    if (manageError) throw manageError;
  }

  /** A fresh read: adopt only for a ReplicaSet that still exists, is the same and is not being deleted. */
  private async canAdopt(rs: KObj): Promise<boolean> {
    try {
      const fresh = await this.client.request('GET', objectPath(RS, rs.metadata.namespace, rs.metadata.name));
      return fresh.metadata.uid === rs.metadata.uid && fresh.metadata.deletionTimestamp === undefined;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  private async patchPod(pod: KObj, patch: KObj[]): Promise<boolean> {
    try {
      await this.client.request('PATCH', objectPath(PODS, pod.metadata.namespace, pod.metadata.name), {
        body: patch,
        contentType: 'application/json-patch+json',
      });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Create or delete pods towards spec.replicas; resolves with the first error (not thrown). */
  private async manageReplicas(key: string, rs: KObj, pods: KObj[]): Promise<Error | undefined> {
    const want: number = rs.spec?.replicas ?? 1;
    const diff = pods.length - want;
    if (diff < 0) {
      const count = Math.min(-diff, this.burst);
      this.expectations.expectCreations(key, count);
      const body = podFromTemplate(rs);
      const { successes, error } = await slowStartBatch(count, () => this.createPod(rs, body));
      // Creations that failed or were never tried will not be observed.
      for (let i = successes; i < count; i++) this.expectations.creationObserved(key);
      return error === undefined ? undefined : toError(error);
    }
    if (diff > 0) {
      const count = Math.min(diff, this.burst);
      const victims = podsToDelete(pods, this.relatedPods(rs), count, this.now());
      this.expectations.expectDeletions(key, victims.map(keyOf));
      const results = await Promise.all(victims.map((p) => this.deletePod(key, rs, p)));
      return results.find((e) => e !== undefined);
    }
    return undefined;
  }

  private async createPod(rs: KObj, body: KObj): Promise<void> {
    try {
      const pod = await this.client.request('POST', collectionPath(PODS, rs.metadata.namespace), { body });
      this.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
    } catch (e) {
      // A namespace being deleted refuses new pods; that is no failure of ours.
      if (isNamespaceTerminating(e)) return;
      this.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
      throw e;
    }
  }

  private async deletePod(key: string, rs: KObj, pod: KObj): Promise<Error | undefined> {
    try {
      await this.client.request('DELETE', objectPath(PODS, pod.metadata.namespace, pod.metadata.name), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: pod.metadata.uid } },
      });
      this.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      return undefined;
    } catch (e) {
      // The deletion will not be observed as one of ours: stop waiting for it.
      this.expectations.deletionObserved(key, keyOf(pod));
      if (isNotFound(e)) return undefined;
      this.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
      return toError(e);
    }
  }

  private async writeStatus(rs: KObj, status: KObj): Promise<KObj> {
    try {
      const out = await this.client.request(
        'PUT',
        objectPath(RS, rs.metadata.namespace, rs.metadata.name, 'status'),
        { body: { ...rs, status } },
      );
      return out.status ?? status;
    } catch (e) {
      if (isNotFound(e)) return status;
      throw e;
    }
  }
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function isNamespaceTerminating(e: unknown): boolean {
  if (!(e instanceof ApiStatusError) || e.httpStatus !== 403) return false;
  const causes: KObj[] = e.status?.details?.causes ?? [];
  return causes.some((c) => c.reason === 'NamespaceTerminating');
}
