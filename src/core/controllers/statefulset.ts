/**
 * The StatefulSet controller: pods `<set>-0..n-1` with stable identities, created and removed in
 * order (OrderedReady) or all at once (Parallel), replaced from the highest ordinal down on a
 * rolling update (above the partition) or only when deleted (OnDelete); status through /status.
 * Decisions live in statefulset-plan.ts; this file gathers inputs and carries the plan out.
 *
 * Revisions are ControllerRevisions (controller-history.ts): a pod below the partition is
 * recreated from its revision's template, also after a restart.
 *
 * Not done (TODO(#3)): PersistentVolumeClaims from volumeClaimTemplates (a Warning event says they
 * are ignored), adoption of orphaned pods, and maxUnavailable.
 */
import { resourceForPlural } from '../api/resources.js';
import type { EventRecorder } from '../client/events.js';
import type { KObj } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { collectionPath, objectPath } from '../client/paths.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';
import { applyHistory, ownedRevisions, planHistory, templateOf } from './controller-history.js';
import type { Controller, ControllerContext } from './controller-manager.js';
import {
  CONTROLLER_UID_INDEX,
  canonicalJson,
  controllerRef,
  controllerUidIndex,
  REVISION_LABEL,
} from './daemonset-statefulset-shared.js';
import {
  newStatefulSetPod,
  POD_INDEX_LABEL,
  POD_NAME_LABEL,
  planStatefulSet,
  revisionName,
  type StatefulSetAction,
} from './statefulset-plan.js';

const COMPONENT = 'statefulset-controller';
const STS = resourceForPlural('apps', 'v1', 'statefulsets')!;
const PODS = resourceForPlural('', 'v1', 'pods')!;
const REVISIONS = resourceForPlural('apps', 'v1', 'controllerrevisions')!;

export interface StatefulSetControllerOptions {
  /** Clock for availability (minReadySeconds). */
  now?: (() => Date) | undefined;
}

function keyOf(o: KObj): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}

export class StatefulSetController implements Controller {
  private readonly client: RestClient;
  private readonly recorder: EventRecorder;
  private readonly sets: SharedInformer;
  private readonly pods: SharedInformer;
  private readonly queue: WorkQueue;
  private readonly now: () => Date;
  private readonly revisions: SharedInformer;
  /** Pod templates by revision name, from the ControllerRevisions as of the current sync. */
  private templates = new Map<string, KObj>();
  /** `uid/generation` of sets already warned about volumeClaimTemplates. */
  private readonly warned = new Set<string>();
  private started = false;

  constructor(ctx: ControllerContext, opts: StatefulSetControllerOptions = {}) {
    this.client = ctx.client;
    this.recorder = ctx.recorder(COMPONENT);
    this.now = opts.now ?? (() => new Date());
    this.queue = new WorkQueue((key) => this.sync(key), {
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      onError: (key, err) => logRetry(COMPONENT, key, err),
    });
    this.sets = ctx.factory.informer(STS);
    this.pods = ctx.factory.informer(PODS);
    this.revisions = ctx.factory.informer(REVISIONS);
    this.revisions.addHandlers({
      delete: (r) => {
        const ref = controllerRef(r);
        if (ref?.kind === 'StatefulSet') this.enqueue(`${r.metadata.namespace}/${ref.name}`);
      },
    });
    this.pods.addIndex(CONTROLLER_UID_INDEX, controllerUidIndex);
    this.sets.addHandlers({
      add: (o) => this.enqueue(keyOf(o)),
      update: (o) => this.enqueue(keyOf(o)),
      delete: (o) => this.enqueue(keyOf(o)),
    });
    const podChanged = (p: KObj) => {
      const owner = this.ownerKey(p);
      if (owner) this.enqueue(owner);
    };
    this.pods.addHandlers({
      add: podChanged,
      update: (p, old) => {
        podChanged(p);
        if (this.ownerKey(old) !== this.ownerKey(p)) podChanged(old);
      },
      delete: podChanged,
    });
  }

  start(): void {
    this.started = true;
    for (const s of this.sets.list()) this.enqueue(keyOf(s));
  }

  stop(): void {
    this.started = false;
    this.queue.stop();
  }

  private enqueue(key: string): void {
    if (this.started) this.queue.add(key);
  }

  private ownerKey(pod: KObj): string | undefined {
    const ref = controllerRef(pod);
    if (ref?.kind !== 'StatefulSet' || !String(ref.apiVersion ?? '').startsWith('apps/')) return undefined;
    return `${pod.metadata.namespace}/${ref.name}`;
  }

  /** Reconcile one StatefulSet; called from the queue only. */
  private async sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const set = this.sets.get(namespace, name);
    if (!set) return;
    this.warnAboutClaims(set);
    const pods = this.pods
      .byIndex(CONTROLLER_UID_INDEX, set.metadata.uid)
      .filter((p) => p.metadata.namespace === namespace);
    const updateRevision = revisionName(set);
    const currentRevision: string = set.status?.currentRevision || updateRevision;
    const revisions = ownedRevisions(this.revisions, set);
    const inUse = new Set<string>([currentRevision, updateRevision]);
    for (const p of pods) inUse.add(p.metadata.labels?.[REVISION_LABEL] ?? '');
    await applyHistory(
      this.client,
      set,
      planHistory({
        owner: set,
        kind: 'StatefulSet',
        revisions,
        name: updateRevision,
        hash: updateRevision.slice(name.length + 1),
        inUse,
      }),
    );
    this.templates = new Map(revisions.map((r) => [r.metadata.name as string, templateOf(r) ?? {}]));
    const plan = planStatefulSet({ set, pods, updateRevision, currentRevision, now: this.now() });
    let failure: unknown;
    for (const action of plan.actions) {
      try {
        if (!(await this.apply(set, action))) break;
      } catch (e) {
        failure = e;
        break;
      }
    }
    await this.writeStatus(set, plan.status);
    const minReady: number = set.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && plan.status.readyReplicas !== plan.status.availableReplicas)
      this.queue.addAfter(key, minReady * 1000);
    if (failure !== undefined) throw failure;
  }

  /** Carry out one action; false when the rest of the plan must wait for the informer. */
  private async apply(set: KObj, action: StatefulSetAction): Promise<boolean> {
    const ns: string = set.metadata.namespace;
    const setName: string = set.metadata.name;
    switch (action.type) {
      case 'create': {
        const template = this.templates.get(action.revision) ?? set.spec?.template;
        const pod = newStatefulSetPod(set, action.ordinal, { revision: action.revision, template });
        try {
          await this.client.request('POST', collectionPath(PODS, ns), { body: pod });
        } catch (e) {
          // The cache is behind: the pod exists; its add event will bring us back.
          if (e instanceof ApiStatusError && e.httpStatus === 409) return false;
          this.recorder.event(
            set,
            'Warning',
            'FailedCreate',
            `create Pod ${pod.metadata.name} in StatefulSet ${setName} failed error: ${(e as Error).message}`,
          );
          throw e;
        }
        this.recorder.event(
          set,
          'Normal',
          'SuccessfulCreate',
          `create Pod ${pod.metadata.name} in StatefulSet ${setName} successful`,
        );
        return true;
      }
      case 'delete': {
        try {
          await this.client.request('DELETE', objectPath(PODS, ns, action.name));
        } catch (e) {
          if (e instanceof ApiStatusError && e.httpStatus === 404) return true;
          this.recorder.event(
            set,
            'Warning',
            'FailedDelete',
            `delete Pod ${action.name} in StatefulSet ${setName} failed error: ${(e as Error).message}`,
          );
          throw e;
        }
        this.recorder.event(
          set,
          'Normal',
          'SuccessfulDelete',
          `delete Pod ${action.name} in StatefulSet ${setName} successful`,
        );
        return true;
      }
      case 'fix-identity': {
        await this.client.request('PATCH', objectPath(PODS, ns, action.name), {
          body: {
            metadata: {
              labels: { [POD_NAME_LABEL]: action.name, [POD_INDEX_LABEL]: String(action.ordinal) },
            },
          },
          contentType: 'application/merge-patch+json',
        });
        return true;
      }
    }
  }

  private warnAboutClaims(set: KObj): void {
    if ((set.spec?.volumeClaimTemplates ?? []).length === 0) return;
    const mark = `${set.metadata.uid}/${set.metadata.generation}`;
    if (this.warned.has(mark)) return;
    this.warned.add(mark);
    this.recorder.event(
      set,
      'Warning',
      'VolumeClaimTemplatesIgnored',
      'volumeClaimTemplates are not supported by k8ts yet (no PersistentVolumeClaims): pods are created without them',
    );
  }

  private async writeStatus(set: KObj, fields: KObj): Promise<void> {
    const status: KObj = { ...(set.status ?? {}), ...fields };
    if (canonicalJson(status) === canonicalJson(set.status ?? {})) return;
    const path = objectPath(STS, set.metadata.namespace, set.metadata.name, 'status');
    try {
      await this.client.request('PUT', path, { body: { ...set, status } });
    } catch (e) {
      if (e instanceof ApiStatusError && e.httpStatus === 404) return;
      if (!(e instanceof ApiStatusError && e.httpStatus === 409)) throw e;
      // A stale cached copy: write onto the latest object once; a further conflict retries via the queue.
      const latest = await this.client.request(
        'GET',
        objectPath(STS, set.metadata.namespace, set.metadata.name),
      );
      if (latest.metadata?.uid !== set.metadata.uid) return;
      await this.client.request('PUT', path, { body: { ...latest, status } });
    }
  }
}
