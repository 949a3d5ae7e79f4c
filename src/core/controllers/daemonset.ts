/**
 * The DaemonSet controller: one pod per eligible node, pinned there by required node affinity for
 * the scheduler to bind; rolling updates by template hash (RollingUpdate with maxUnavailable /
 * maxSurge, or OnDelete); status through /status. Decisions live in daemonset-plan.ts; this file
 * gathers inputs from the shared informers and carries plans out through the REST client, one
 * DaemonSet at a time from one queue.
 */
import { resourceForPlural } from '../api/resources.js';
import type { EventRecorder } from '../client/events.js';
import type { KObj } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { objectPath } from '../client/paths.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';
import { applyHistory, ownedRevisions, planHistory } from './controller-history.js';
import type { Controller, ControllerContext } from './controller-manager.js';
import { Expectations } from './daemonset-expectations.js';
import {
  type DaemonSetActions,
  type DaemonSetInput,
  daemonSetCounts,
  newDaemonPod,
  planManage,
  planRollingUpdate,
} from './daemonset-plan.js';
import {
  CONTROLLER_UID_INDEX,
  canonicalJson,
  controllerRef,
  controllerUidIndex,
  REVISION_LABEL,
  templateHash,
} from './daemonset-statefulset-shared.js';

const COMPONENT = 'daemonset-controller';
const DS = resourceForPlural('apps', 'v1', 'daemonsets')!;
const PODS = resourceForPlural('', 'v1', 'pods')!;
const NODES = resourceForPlural('', 'v1', 'nodes')!;
const REVISIONS = resourceForPlural('apps', 'v1', 'controllerrevisions')!;

export interface DaemonSetControllerOptions {
  /** Clock for availability (minReadySeconds). */
  now?: (() => Date) | undefined;
}

function keyOf(o: KObj): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}

/** Run `fn` over items in batches of 1, 2, 4, ...; stop after the first batch with a failure. */
export async function slowStartBatch<T>(
  items: readonly T[],
  fn: (item: T) => Promise<void>,
): Promise<unknown[]> {
  const errors: unknown[] = [];
  let i = 0;
  for (let size = 1; i < items.length; size *= 2) {
    const batch = items.slice(i, i + size);
    i += batch.length;
    const results = await Promise.allSettled(batch.map(fn));
    for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
    if (errors.length > 0) break;
  }
  return errors;
}

export class DaemonSetController implements Controller {
  private readonly client: RestClient;
  private readonly recorder: EventRecorder;
  private readonly daemonSets: SharedInformer;
  private readonly pods: SharedInformer;
  private readonly nodes: SharedInformer;
  private readonly revisions: SharedInformer;
  private readonly queue: WorkQueue;
  private readonly expectations = new Expectations();
  private readonly now: () => Date;
  private started = false;

  constructor(ctx: ControllerContext, opts: DaemonSetControllerOptions = {}) {
    this.client = ctx.client;
    this.recorder = ctx.recorder(COMPONENT);
    this.now = opts.now ?? (() => new Date());
    this.queue = new WorkQueue((key) => this.sync(key), {
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      onError: (key, err) => logRetry(COMPONENT, key, err),
    });
    this.daemonSets = ctx.factory.informer(DS);
    this.pods = ctx.factory.informer(PODS);
    this.nodes = ctx.factory.informer(NODES);
    this.revisions = ctx.factory.informer(REVISIONS);
    // A revision deleted by hand is written again on the next sync of its owner.
    this.revisions.addHandlers({
      delete: (r) => {
        const ref = controllerRef(r);
        if (ref?.kind === 'DaemonSet') this.enqueue(`${r.metadata.namespace}/${ref.name}`);
      },
    });
    this.pods.addIndex(CONTROLLER_UID_INDEX, controllerUidIndex);
    this.daemonSets.addHandlers({
      add: (o) => this.enqueue(keyOf(o)),
      update: (o) => this.enqueue(keyOf(o)),
      delete: (o) => {
        this.expectations.forget(keyOf(o));
        this.enqueue(keyOf(o));
      },
    });
    this.pods.addHandlers({
      add: (p) => {
        const owner = this.ownerKey(p);
        if (!owner) return;
        this.expectations.creationObserved(owner);
        if (p.metadata.deletionTimestamp) this.expectations.deletionObserved(owner, p.metadata.name);
        this.enqueue(owner);
      },
      update: (p, old) => {
        const owner = this.ownerKey(p);
        const oldOwner = this.ownerKey(old);
        if (oldOwner && oldOwner !== owner) this.enqueue(oldOwner);
        if (!owner) return;
        if (p.metadata.deletionTimestamp) this.expectations.deletionObserved(owner, p.metadata.name);
        this.enqueue(owner);
      },
      delete: (p) => {
        const owner = this.ownerKey(p);
        if (!owner) return;
        this.expectations.deletionObserved(owner, p.metadata.name);
        this.enqueue(owner);
      },
    });
    // Only what decides eligibility matters; heartbeats (status) do not.
    const eligibility = (n: KObj) => canonicalJson([n.metadata.labels, n.spec?.taints, n.metadata.name]);
    this.nodes.addHandlers({
      add: () => this.enqueueAll(),
      update: (n, old) => {
        if (eligibility(n) !== eligibility(old)) this.enqueueAll();
      },
      delete: () => this.enqueueAll(),
    });
  }

  start(): void {
    this.started = true;
    this.enqueueAll();
  }

  stop(): void {
    this.started = false;
    this.queue.stop();
  }

  private enqueue(key: string): void {
    if (this.started) this.queue.add(key);
  }

  private enqueueAll(): void {
    for (const ds of this.daemonSets.list()) this.enqueue(keyOf(ds));
  }

  private ownerKey(pod: KObj): string | undefined {
    const ref = controllerRef(pod);
    if (ref?.kind !== 'DaemonSet' || !String(ref.apiVersion ?? '').startsWith('apps/')) return undefined;
    return `${pod.metadata.namespace}/${ref.name}`;
  }

  /** Reconcile one DaemonSet; called from the queue only. */
  private async sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const ds = this.daemonSets.get(namespace, name);
    if (!ds || ds.metadata.deletionTimestamp) return;
    const input = this.input(ds);
    const inUse = new Set(input.pods.map((p) => `${name}-${p.metadata.labels?.[REVISION_LABEL] ?? ''}`));
    await applyHistory(
      this.client,
      ds,
      planHistory({
        owner: ds,
        kind: 'DaemonSet',
        revisions: ownedRevisions(this.revisions, ds),
        name: `${name}-${input.hash}`,
        hash: input.hash,
        inUse,
      }),
    );
    let errors: unknown[] = [];
    const processed = this.expectations.satisfied(key);
    if (processed) {
      let actions = planManage(input);
      if (actions.createOn.length === 0 && actions.deletePods.length === 0) {
        if (ds.spec?.updateStrategy?.type === 'RollingUpdate') actions = planRollingUpdate(input);
      }
      errors = await this.apply(key, ds, input.hash, actions);
    }
    await this.writeStatus(ds, input, processed);
    if (errors.length > 0) throw errors[0];
  }

  private input(ds: KObj): DaemonSetInput {
    const pods = this.pods
      .byIndex(CONTROLLER_UID_INDEX, ds.metadata.uid)
      .filter((p) => p.metadata.namespace === ds.metadata.namespace);
    return {
      ds,
      nodes: this.nodes.list(),
      pods,
      hash: templateHash(ds.spec?.template, ds.status?.collisionCount),
      now: this.now(),
    };
  }

  private async apply(key: string, ds: KObj, hash: string, actions: DaemonSetActions): Promise<unknown[]> {
    const { createOn, deletePods } = actions;
    if (createOn.length === 0 && deletePods.length === 0) return [];
    this.expectations.expect(key, createOn.length, deletePods);
    const ns: string = ds.metadata.namespace;
    const deleteErrors = await slowStartBatch(deletePods, async (podName) => {
      try {
        await this.client.request('DELETE', objectPath(PODS, ns, podName));
        this.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${podName}`);
      } catch (e) {
        if (e instanceof ApiStatusError && e.httpStatus === 404) {
          this.expectations.deletionObserved(key, podName);
          return;
        }
        this.expectations.deletionObserved(key, podName);
        this.recorder.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
        throw e;
      }
    });
    let created = 0;
    const createErrors = await slowStartBatch(createOn, async (node) => {
      try {
        const pod = await this.client.request('POST', `/api/v1/namespaces/${ns}/pods`, {
          body: newDaemonPod(ds, node, hash),
        });
        created++;
        this.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata?.name}`);
      } catch (e) {
        this.expectations.creationFailed(key);
        this.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
        throw e;
      }
    });
    // Creates skipped after a failed batch will never be observed either.
    const attempted = created + createErrors.length;
    for (let i = attempted; i < createOn.length; i++) this.expectations.creationFailed(key);
    return [...deleteErrors, ...createErrors];
  }

  private async writeStatus(ds: KObj, input: DaemonSetInput, processed: boolean): Promise<void> {
    const counts = daemonSetCounts(input);
    const status: KObj = { ...(ds.status ?? {}), ...counts };
    // The generation is observed only when this sync acted on it.
    if (processed) status.observedGeneration = ds.metadata.generation ?? 1;
    const minReady: number = ds.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && counts.numberReady !== counts.numberAvailable)
      this.queue.addAfter(keyOf(ds), minReady * 1000);
    if (canonicalJson(status) === canonicalJson(ds.status ?? {})) return;
    await this.putStatus(ds, status);
  }

  private async putStatus(ds: KObj, status: KObj): Promise<void> {
    const path = objectPath(DS, ds.metadata.namespace, ds.metadata.name, 'status');
    try {
      await this.client.request('PUT', path, { body: { ...ds, status } });
    } catch (e) {
      if (e instanceof ApiStatusError && e.httpStatus === 404) return;
      if (!(e instanceof ApiStatusError && e.httpStatus === 409)) throw e;
      // A stale cached copy: write onto the latest object once; a further conflict retries via the queue.
      const latest = await this.client.request(
        'GET',
        objectPath(DS, ds.metadata.namespace, ds.metadata.name),
      );
      if (latest.metadata?.uid !== ds.metadata.uid) return;
      await this.client.request('PUT', path, { body: { ...latest, status } });
    }
  }
}
