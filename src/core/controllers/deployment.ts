/**
 * The Deployment controller, as kube-controller-manager's: for every Deployment it claims its
 * ReplicaSets (adopting orphans its selector matches, releasing those it no longer selects),
 * plans one sync with `planDeploymentSync` (rolling update, recreate, proportional scaling,
 * revisions, history cleanup, conditions) and executes the planned writes in order through the
 * API. Events go to the Deployment (`kubectl describe deployment` shows them).
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
import { type DeploymentWrite, planDeploymentSync } from './deployment-plan.js';
import { equalIgnoreHash, REVISION } from './deployment-revision.js';
import {
  CONDITION_PROGRESSING,
  hasProgressDeadline,
  newCondition,
  REASON,
  setCondition,
} from './deployment-util.js';
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

const COMPONENT = 'deployment-controller';
const DEPLOYMENTS = resourceForPlural('apps', 'v1', 'deployments')!;
const RS = resourceForPlural('apps', 'v1', 'replicasets')!;
const PODS = resourceForPlural('', 'v1', 'pods')!;

export interface DeploymentControllerOptions {
  /** Clock in ms (tests inject one). */
  now?: (() => number) | undefined;
}

function keyOf(o: KObj): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}

function apiError(e: unknown, status: number): boolean {
  return e instanceof ApiStatusError && e.httpStatus === status;
}

/** Stop executing a plan without an error: the next sync (already queued by a watch event) replans. */
class PlanAborted extends Error {
  readonly code = 'PlanAborted';
}

export class DeploymentController implements Controller {
  private readonly client: RestClient;
  private readonly recorder: EventRecorder;
  private readonly deployments: SharedInformer;
  private readonly replicaSets: SharedInformer;
  private readonly pods: SharedInformer;
  private readonly queue: WorkQueue;
  private readonly now: () => number;
  private started = false;

  constructor(ctx: ControllerContext, opts: DeploymentControllerOptions = {}) {
    this.client = ctx.client;
    this.recorder = ctx.recorder(COMPONENT);
    this.now = opts.now ?? Date.now;
    this.queue = new WorkQueue((key) => this.sync(key), {
      baseDelayMs: 50,
      maxDelayMs: 10_000,
      onError: (key, err) => {
        if (!apiError(err, 409)) logRetry(COMPONENT, key, err);
      },
    });
    this.deployments = ctx.factory.informer(DEPLOYMENTS);
    this.replicaSets = ctx.factory.informer(RS);
    this.pods = ctx.factory.informer(PODS);
    this.replicaSets.addIndex(CONTROLLER_UID_INDEX, controllerUidIndex);
    this.replicaSets.addIndex(ORPHAN_NAMESPACE_INDEX, orphanNamespaceIndex);
    this.pods.addIndex(CONTROLLER_UID_INDEX, controllerUidIndex);
    this.deployments.addHandlers({
      add: (d) => this.enqueue(keyOf(d)),
      update: (d) => this.enqueue(keyOf(d)),
      delete: (d) => this.enqueue(keyOf(d)),
    });
    this.replicaSets.addHandlers({
      add: (rs) => this.replicaSetChanged(rs),
      update: (rs, old) => this.replicaSetChanged(rs, old),
      delete: (rs) => {
        const d = this.resolve(rs.metadata.namespace, controllerRefOf(rs));
        if (d) this.enqueue(keyOf(d));
      },
    });
    this.pods.addHandlers({
      // Recreate waits for old pods to be gone.
      delete: (p) => {
        const ref = controllerRefOf(p);
        if (ref?.kind !== 'ReplicaSet') return;
        const rs = this.replicaSets.get(p.metadata.namespace, ref.name);
        const d = rs && this.resolve(rs.metadata.namespace, controllerRefOf(rs));
        if (d && d.spec?.strategy?.type === 'Recreate') this.enqueue(keyOf(d));
      },
    });
  }

  start(): void {
    this.started = true;
    for (const d of this.deployments.list()) this.queue.add(keyOf(d));
  }

  stop(): void {
    this.started = false;
    this.queue.stop();
  }

  private enqueue(key: string): void {
    if (this.started) this.queue.add(key);
  }

  private resolve(namespace: string, ref: KObj | undefined): KObj | undefined {
    if (ref?.kind !== 'Deployment') return undefined;
    const d = this.deployments.get(namespace, ref.name);
    return d?.metadata.uid === ref.uid ? d : undefined;
  }

  private matchingDeployments(rs: KObj): KObj[] {
    return this.deployments.list(rs.metadata.namespace).filter((d) => {
      const sel = ownerSelector(d);
      return sel !== undefined && !isEverything(sel) && labelsMatch(sel, rs.metadata.labels);
    });
  }

  private replicaSetChanged(rs: KObj, old?: KObj): void {
    const ref = controllerRefOf(rs);
    const oldRef = old && controllerRefOf(old);
    const refChanged = old !== undefined && JSON.stringify(ref) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) {
      const d = this.resolve(old.metadata.namespace, oldRef);
      if (d) this.enqueue(keyOf(d));
    }
    if (ref) {
      const d = this.resolve(rs.metadata.namespace, ref);
      if (d) this.enqueue(keyOf(d));
      return;
    }
    const labelsChanged =
      old === undefined ||
      JSON.stringify(rs.metadata.labels ?? {}) !== JSON.stringify(old.metadata.labels ?? {});
    if (labelsChanged || refChanged) for (const d of this.matchingDeployments(rs)) this.enqueue(keyOf(d));
  }

  /** Called from the queue only (one sync per key at a time). */
  private async sync(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const cached = this.deployments.get(namespace, name);
    if (!cached) return;
    const d: KObj = { ...cached, apiVersion: 'apps/v1', kind: 'Deployment' };
    const selector = ownerSelector(d);
    let replicaSets: KObj[] = [];
    if (selector && !isEverything(selector)) {
      const candidates = [
        ...this.replicaSets.byIndex(CONTROLLER_UID_INDEX, d.metadata.uid),
        ...this.replicaSets.byIndex(ORPHAN_NAMESPACE_INDEX, namespace),
      ];
      replicaSets = await claimObjects(d, candidates, {
        matches: (rs) => labelsMatch(selector, rs.metadata.labels),
        canAdopt: () => this.canAdopt(d),
        adopt: (rs) =>
          this.patchReplicaSet(rs, adoptPatch(rs, controllerReference(d, 'apps/v1', 'Deployment'))),
        release: async (rs) => {
          await this.patchReplicaSet(rs, releasePatch(rs, d.metadata.uid));
        },
      });
    }
    const podsByReplicaSet = new Map<string, KObj[]>();
    if (d.spec?.strategy?.type === 'Recreate') {
      for (const rs of replicaSets)
        podsByReplicaSet.set(rs.metadata.uid, this.pods.byIndex(CONTROLLER_UID_INDEX, rs.metadata.uid));
    }
    const plan = planDeploymentSync({ deployment: d, replicaSets, podsByReplicaSet, nowMs: this.now() });
    try {
      await new PlanExecution(this.client, this.recorder, d, replicaSets).run(plan.writes);
    } catch (e) {
      if (e instanceof PlanAborted) return;
      throw e;
    }
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs);
  }

  private async canAdopt(d: KObj): Promise<boolean> {
    try {
      const fresh = await this.client.request(
        'GET',
        objectPath(DEPLOYMENTS, d.metadata.namespace, d.metadata.name),
      );
      return fresh.metadata.uid === d.metadata.uid && fresh.metadata.deletionTimestamp === undefined;
    } catch (e) {
      if (apiError(e, 404)) return false;
      throw e;
    }
  }

  private async patchReplicaSet(rs: KObj, patch: KObj[]): Promise<boolean> {
    try {
      await this.client.request('PATCH', objectPath(RS, rs.metadata.namespace, rs.metadata.name), {
        body: patch,
        contentType: 'application/json-patch+json',
      });
      return true;
    } catch (e) {
      if (apiError(e, 404)) return false;
      throw e;
    }
  }
}

/** Executes one plan's writes in order, keeping the latest version of every object it wrote. */
class PlanExecution {
  private readonly client: RestClient;
  private readonly recorder: EventRecorder;
  private deployment: KObj;
  private readonly replicaSets = new Map<string, KObj>();

  constructor(client: RestClient, recorder: EventRecorder, d: KObj, replicaSets: readonly KObj[]) {
    this.client = client;
    this.recorder = recorder;
    this.deployment = d;
    for (const rs of replicaSets) this.replicaSets.set(rs.metadata.name, rs);
  }

  async run(writes: readonly DeploymentWrite[]): Promise<void> {
    for (const w of writes) await this.apply(w);
  }

  private get ns(): string {
    return this.deployment.metadata.namespace;
  }

  private async apply(w: DeploymentWrite): Promise<void> {
    switch (w.op) {
      case 'event':
        this.recorder.event(this.deployment, w.type, w.reason, w.message);
        return;
      case 'createReplicaSet':
        return this.createReplicaSet(w.replicaSet);
      case 'updateReplicaSet': {
        const base = this.replicaSets.get(w.name);
        if (!base) throw new PlanAborted(`replica set ${w.name} is not known`);
        const spec: KObj = { ...base.spec, replicas: w.replicas };
        if (w.minReadySeconds === undefined) delete spec.minReadySeconds;
        else spec.minReadySeconds = w.minReadySeconds;
        const body = {
          ...base,
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: { ...base.metadata, annotations: w.annotations },
          spec,
        };
        const out = await this.client.request('PUT', objectPath(RS, this.ns, w.name), { body });
        this.replicaSets.set(w.name, out);
        return;
      }
      case 'deleteReplicaSet':
        try {
          await this.client.request('DELETE', objectPath(RS, this.ns, w.name), {
            body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: w.uid } },
          });
        } catch (e) {
          if (!apiError(e, 404)) throw e;
        }
        return;
      case 'setRevision': {
        const out = await this.client.request(
          'PATCH',
          objectPath(DEPLOYMENTS, this.ns, this.deployment.metadata.name),
          {
            body: { metadata: { annotations: { [REVISION]: w.revision } } },
            contentType: 'application/merge-patch+json',
          },
        );
        this.deployment = { ...out, apiVersion: 'apps/v1', kind: 'Deployment' };
        return;
      }
      case 'updateStatus':
        return this.writeStatus(w.status);
    }
  }

  private async writeStatus(status: KObj): Promise<void> {
    const out = await this.client.request(
      'PUT',
      objectPath(DEPLOYMENTS, this.ns, this.deployment.metadata.name, 'status'),
      { body: { ...this.deployment, status } },
    );
    this.deployment = { ...out, apiVersion: 'apps/v1', kind: 'Deployment' };
  }

  private async createReplicaSet(rs: KObj): Promise<void> {
    const d = this.deployment;
    try {
      const out = await this.client.request('POST', collectionPath(RS, this.ns), { body: rs });
      this.replicaSets.set(out.metadata.name, out);
      return;
    } catch (e) {
      if (apiError(e, 409)) return this.hashCollision(rs);
      const msg = `Failed to create new replica set "${rs.metadata.name}": ${(e as Error).message}`;
      this.recorder.event(d, 'Warning', REASON.failedCreate, msg);
      if (hasProgressDeadline(d)) {
        const status = structuredClone(d.status ?? {});
        setCondition(
          status,
          newCondition(CONDITION_PROGRESSING, 'False', REASON.failedCreate, msg, Date.now()),
        );
        await this.writeStatus(status).catch(() => {});
      }
      throw e;
    }
  }

  /**
   * A ReplicaSet with the new one's name exists. If it is ours with our template the cache was
   * just behind; otherwise the hash collided: bump collisionCount so the next hash differs.
   */
  private async hashCollision(rs: KObj): Promise<void> {
    const d = this.deployment;
    const existing = await this.client.request('GET', objectPath(RS, this.ns, rs.metadata.name));
    const ours = controllerRefOf(existing)?.uid === d.metadata.uid;
    if (ours && equalIgnoreHash(existing.spec?.template, d.spec?.template))
      throw new PlanAborted('cache behind');
    const status = { ...(d.status ?? {}), collisionCount: (d.status?.collisionCount ?? 0) + 1 };
    await this.writeStatus(status);
    throw new Error(`replica set "${rs.metadata.name}" exists with another template: hash collision`);
  }
}
