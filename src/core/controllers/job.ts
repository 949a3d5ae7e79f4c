/**
 * The Job controller, as kube-controller-manager's: runs a Job's pods to `completions` successes
 * with at most `parallelism` at once (NonIndexed or Indexed), fails it past `backoffLimit` or
 * `activeDeadlineSeconds`, honours `suspend`, and keeps `status` (active, ready, terminating,
 * succeeded, failed, completedIndexes, startTime, completionTime, conditions) as upstream 1.31+
 * does: SuccessCriteriaMet / FailureTarget first, Complete / Failed once every pod has stopped.
 *
 * Pods are created with an owner reference and the `batch.kubernetes.io/job-tracking` finalizer;
 * each finished pod is counted exactly once (see job-sync.ts), and expectations keep a lagging
 * pod cache from causing extra creations. The pure decisions live in job-sync.ts.
 */
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { type ResourceInfo, resourceForPlural } from '../api/resources.js';
import type { EventRecorder } from '../client/events.js';
import { type KObj, objectKey } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { collectionPath, objectPath } from '../client/paths.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';
import type { ControllerContext } from './controller-manager.js';
import {
  type BackoffRecord,
  countReleasedPods,
  isActive,
  JOB_TRACKING_FINALIZER,
  jobFinished,
  nextBackoff,
  type PodBackoff,
  planJob,
  podForJob,
  trackFinishedPods,
} from './job-sync.js';
import { Expectations } from './replicaset-expectations.js';

const OWNER_INDEX = 'job-controller:owner-uid';

export interface JobControllerOptions {
  /** Clock in ms (tests inject one). */
  now?: (() => number) | undefined;
  /** Delay before replacing failed pods (default 10 s doubling to 10 min, as upstream). */
  podBackoff?: PodBackoff | undefined;
}

function info(group: string, plural: string): ResourceInfo {
  const r = resourceForPlural(group, 'v1', plural);
  if (!r) throw new Error(`resource ${group}/v1 ${plural} is not served`);
  return r;
}

/** The uid of the Job controlling a pod, if one does. */
function controllerJob(pod: KObj): { name: string; uid: string } | undefined {
  const ref = (pod.metadata?.ownerReferences ?? []).find(
    (r: KObj) => r.controller === true && r.kind === 'Job' && String(r.apiVersion).startsWith('batch/'),
  );
  return ref ? { name: ref.name, uid: ref.uid } : undefined;
}

/** Compare resourceVersions (decimal revisions in k8ts; opaque strings compare as unequal). */
function newerOrSame(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) >= BigInt(b);
}

export class JobController {
  private readonly client: RestClient;
  private readonly recorder: EventRecorder;
  private readonly jobs: SharedInformer;
  private readonly pods: SharedInformer;
  private readonly jobInfo: ResourceInfo;
  private readonly podInfo: ResourceInfo;
  private readonly queue: WorkQueue;
  private readonly orphans: WorkQueue;
  private readonly expectations: Expectations;
  private readonly now: () => number;
  private readonly podBackoff: PodBackoff | undefined;
  /** Pod uids whose finalizer removal was sent; the cache may still show the finalizer. */
  private readonly released = new Set<string>();
  /** The Job as last written by this controller (newer than the cache until its event arrives). */
  private readonly written = new Map<string, Job>();
  private readonly backoff = new Map<string, BackoffRecord>();
  private started = false;

  constructor(
    ctx: Pick<ControllerContext, 'client' | 'factory' | 'recorder'>,
    opts: JobControllerOptions = {},
  ) {
    this.client = ctx.client;
    this.recorder = ctx.recorder('job-controller');
    this.now = opts.now ?? Date.now;
    this.podBackoff = opts.podBackoff;
    this.expectations = new Expectations({ now: this.now });
    this.jobInfo = info('batch', 'jobs');
    this.podInfo = info('', 'pods');
    this.queue = new WorkQueue((key) => this.sync(key), {
      baseDelayMs: 50,
      maxDelayMs: 10_000,
      onError: (key, err) => logRetry('job-controller', key, err),
    });
    this.orphans = new WorkQueue((key) => this.releaseOrphan(key), {
      baseDelayMs: 200,
      maxDelayMs: 10_000,
      onError: (key, err) => logRetry('job-controller', key, err),
    });
    this.jobs = ctx.factory.informer(this.jobInfo);
    this.pods = ctx.factory.informer(this.podInfo);
    this.pods.addIndex(OWNER_INDEX, (p) => {
      const ref = controllerJob(p);
      return ref ? [ref.uid] : [];
    });
    this.jobs.addHandlers({
      add: (j) => this.enqueue(objectKey(j)),
      update: (j) => this.enqueue(objectKey(j)),
      delete: (j) => {
        const key = objectKey(j);
        this.expectations.delete(key);
        this.backoff.delete(key);
        this.written.delete(key);
      },
    });
    this.pods.addHandlers({
      add: (p) => this.podChanged(p, undefined),
      update: (p, old) => this.podChanged(p, old),
      delete: (p) => this.podDeleted(p),
    });
  }

  start(): void {
    this.started = true;
    for (const j of this.jobs.list()) this.queue.add(objectKey(j));
    for (const p of this.pods.list()) this.podChanged(p, undefined);
  }

  stop(): void {
    this.queue.stop();
    this.orphans.stop();
  }

  private enqueue(key: string): void {
    if (this.started) this.queue.add(key);
  }

  private ownerKey(pod: KObj): string | undefined {
    const ref = controllerJob(pod);
    if (!ref) return undefined;
    const job = this.jobs.get(pod.metadata.namespace, ref.name);
    if (!job || job.metadata.uid !== ref.uid) {
      // A pod still holding the tracking finalizer after its Job went away is released.
      if ((pod.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER) && this.started) {
        this.orphans.add(objectKey(pod));
      }
      return undefined;
    }
    return objectKey(job);
  }

  private podChanged(pod: KObj, old: KObj | undefined): void {
    const uid = pod.metadata.uid as string;
    if (!(pod.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER)) this.released.delete(uid);
    const key = this.ownerKey(pod);
    if (!key) return;
    if (old === undefined) this.expectations.creationObserved(key);
    if (pod.metadata.deletionTimestamp && !old?.metadata.deletionTimestamp)
      this.expectations.deletionObserved(key, objectKey(pod));
    this.enqueue(key);
  }

  private podDeleted(pod: KObj): void {
    this.released.delete(pod.metadata.uid as string);
    const ref = controllerJob(pod);
    if (!ref) return;
    const key = `${pod.metadata.namespace}/${ref.name}`;
    this.expectations.deletionObserved(key, objectKey(pod));
    this.enqueue(key);
  }

  /** The freshest copy of a Job: the cache, or what this controller last wrote if that is newer. */
  private current(key: string): Job | undefined {
    const [ns, name] = key.split('/') as [string, string];
    const cached = this.jobs.get(ns, name) as Job | undefined;
    if (!cached) return undefined;
    const w = this.written.get(key);
    if (
      w &&
      w.metadata?.uid === cached.metadata?.uid &&
      newerOrSame(w.metadata?.resourceVersion, cached.metadata?.resourceVersion)
    )
      return w;
    this.written.delete(key);
    return cached;
  }

  private ownedPods(job: Job): Pod[] {
    return this.pods.byIndex(OWNER_INDEX, job.metadata?.uid ?? '') as Pod[];
  }

  private async sync(key: string): Promise<void> {
    let job = this.current(key);
    if (!job) return;
    if (!this.expectations.satisfied(key)) return;
    const pods = this.ownedPods(job);
    if (jobFinished(job)) {
      // A finished Job only lets go of any pod still holding its finalizer.
      await this.release(pods.filter((p) => (p.metadata?.finalizers ?? []).includes(JOB_TRACKING_FINALIZER)));
      return;
    }
    const now = this.now();
    // 1. Record newly finished pods as uncounted (written before any finalizer goes).
    const tracked = trackFinishedPods(job, pods, this.released);
    if (tracked.changed) job = await this.writeStatus(key, job, tracked.status);
    const rec = nextBackoff(this.backoff.get(key), tracked, now);
    if (rec) this.backoff.set(key, rec);
    else this.backoff.delete(key);
    // 2. Release them. 3. Count the released.
    const releasedNow = await this.release(tracked.unfinalize);
    const counted = countReleasedPods(job, job.status ?? {}, pods, this.released);
    const remaining = pods.filter((p) => !releasedNow.has(p.metadata?.uid ?? '') || isActive(p));
    // 4. Decide pods and conditions.
    const plan = planJob(job, remaining, counted, {
      now,
      backoff: this.backoff.get(key),
      podBackoff: this.podBackoff,
    });
    if (plan.delete.length > 0) {
      this.expectations.expectDeletions(
        key,
        plan.delete.map((p) => objectKey(p as KObj)),
      );
      await Promise.all(plan.delete.map((p) => this.deletePod(key, job!, p)));
    }
    if (plan.create.length > 0) {
      this.expectations.expectCreations(key, plan.create.length);
      await Promise.all(plan.create.map((i) => this.createPod(key, job!, i)));
    }
    for (const e of plan.events) this.recorder.event(job as KObj, e.type, e.reason, e.message);
    if (JSON.stringify(plan.status) !== JSON.stringify(job.status ?? {}))
      await this.writeStatus(key, job, plan.status);
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs + 10);
  }

  private async writeStatus(key: string, job: Job, status: Job['status']): Promise<Job> {
    const body = { ...job, apiVersion: 'batch/v1', kind: 'Job', status };
    const path = objectPath(this.jobInfo, job.metadata?.namespace, job.metadata?.name ?? '', 'status');
    const updated = await this.client.request<Job>('PUT', path, { body });
    this.written.set(key, updated);
    return updated;
  }

  /** Remove the tracking finalizer; resolves with the uids now released (gone ones included). */
  private async release(pods: readonly Pod[]): Promise<Set<string>> {
    const done = new Set<string>();
    await Promise.all(
      pods.map(async (p) => {
        const uid = p.metadata?.uid ?? '';
        try {
          await this.client.request(
            'PATCH',
            objectPath(this.podInfo, p.metadata?.namespace, p.metadata?.name ?? ''),
            {
              body: { metadata: { uid, [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] } },
              contentType: 'application/strategic-merge-patch+json',
            },
          );
        } catch (e) {
          if (!(e instanceof ApiStatusError && (e.httpStatus === 404 || e.httpStatus === 409))) throw e;
        }
        this.released.add(uid);
        done.add(uid);
      }),
    );
    return done;
  }

  private async createPod(key: string, job: Job, index: number | undefined): Promise<void> {
    const pod = podForJob(job, index);
    try {
      const created = await this.client.request<Pod>(
        'POST',
        collectionPath(this.podInfo, pod.metadata?.namespace),
        { body: pod },
      );
      this.recorder.event(
        job as KObj,
        'Normal',
        'SuccessfulCreate',
        `Created pod: ${created.metadata?.name}`,
      );
    } catch (e) {
      // The creation will never be observed: lower the expectation so the next sync retries.
      this.expectations.creationObserved(key);
      const msg = (e as Error).message;
      this.recorder.event(job as KObj, 'Warning', 'FailedCreate', `Error creating: ${msg}`);
      throw e;
    }
  }

  private async deletePod(key: string, job: Job, pod: Pod): Promise<void> {
    const podKey = objectKey(pod as KObj);
    try {
      await this.client.request(
        'DELETE',
        objectPath(this.podInfo, pod.metadata?.namespace, pod.metadata?.name ?? ''),
        {
          body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: pod.metadata?.uid } },
        },
      );
      this.recorder.event(job as KObj, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata?.name}`);
    } catch (e) {
      this.expectations.deletionObserved(key, podKey);
      if (!(e instanceof ApiStatusError && (e.httpStatus === 404 || e.httpStatus === 409))) throw e;
    }
  }

  /** A pod with the finalizer whose Job is gone (checked live, the cache may lag) is released. */
  private async releaseOrphan(podKey: string): Promise<void> {
    const [ns, name] = podKey.split('/') as [string, string];
    const pod = this.pods.get(ns, name) as Pod | undefined;
    if (!pod || !(pod.metadata?.finalizers ?? []).includes(JOB_TRACKING_FINALIZER)) return;
    const ref = controllerJob(pod as KObj);
    if (ref) {
      try {
        const live = await this.client.request<Job>('GET', objectPath(this.jobInfo, ns, ref.name));
        if (live.metadata?.uid === ref.uid) return;
      } catch (e) {
        if (!(e instanceof ApiStatusError && e.httpStatus === 404)) throw e;
      }
    }
    await this.release([pod]);
  }
}
