/**
 * The CronJob controller, as kube-controller-manager's (v2): each CronJob is synced when it or one
 * of its Jobs changes, and again at its next scheduled time; a sync starts at most one Job (see
 * cronjob-sync.ts for the decisions), keeps `status.active` / `lastScheduleTime` /
 * `lastSuccessfulTime`, and deletes finished Jobs beyond the history limits. The clock is
 * injected, so tests drive schedules without waiting for them.
 */
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import { type ResourceInfo, resourceForPlural } from '../api/resources.js';
import type { EventRecorder } from '../client/events.js';
import { type KObj, objectKey } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { collectionPath, objectPath } from '../client/paths.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';
import type { ControllerContext } from './controller-manager.js';
import { jobRef, planCronJob } from './cronjob-sync.js';

const OWNER_INDEX = 'cronjob-controller:owner-uid';

export interface CronJobControllerOptions {
  /** Clock in ms (tests inject one). */
  now?: (() => number) | undefined;
  /** Zone of schedules without spec.timeZone (default: the process's local zone). */
  localZone?: string | undefined;
}

function info(plural: string): ResourceInfo {
  const r = resourceForPlural('batch', 'v1', plural);
  if (!r) throw new Error(`resource batch/v1 ${plural} is not served`);
  return r;
}

function controllerCronJob(job: KObj): { name: string; uid: string } | undefined {
  const ref = (job.metadata?.ownerReferences ?? []).find(
    (r: KObj) => r.controller === true && r.kind === 'CronJob' && String(r.apiVersion).startsWith('batch/'),
  );
  return ref ? { name: ref.name, uid: ref.uid } : undefined;
}

function newerOrSame(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) >= BigInt(b);
}

function isNotFound(e: unknown): boolean {
  return e instanceof ApiStatusError && e.httpStatus === 404;
}

export class CronJobController {
  private readonly client: RestClient;
  private readonly recorder: EventRecorder;
  private readonly cronJobs: SharedInformer;
  private readonly jobs: SharedInformer;
  private readonly cjInfo: ResourceInfo;
  private readonly jobInfo: ResourceInfo;
  private readonly queue: WorkQueue;
  private readonly now: () => number;
  private readonly localZone: string | undefined;
  private readonly written = new Map<string, CronJob>();
  private started = false;

  constructor(
    ctx: Pick<ControllerContext, 'client' | 'factory' | 'recorder'>,
    opts: CronJobControllerOptions = {},
  ) {
    this.client = ctx.client;
    this.recorder = ctx.recorder('cronjob-controller');
    this.now = opts.now ?? Date.now;
    this.localZone = opts.localZone;
    this.cjInfo = info('cronjobs');
    this.jobInfo = info('jobs');
    this.queue = new WorkQueue((key) => this.sync(key), {
      baseDelayMs: 100,
      maxDelayMs: 30_000,
      onError: (key, err) => logRetry('cronjob-controller', key, err),
    });
    this.cronJobs = ctx.factory.informer(this.cjInfo);
    this.jobs = ctx.factory.informer(this.jobInfo);
    this.jobs.addIndex(OWNER_INDEX, (j) => {
      const ref = controllerCronJob(j);
      return ref ? [ref.uid] : [];
    });
    this.cronJobs.addHandlers({
      add: (cj) => this.enqueue(objectKey(cj)),
      update: (cj) => this.enqueue(objectKey(cj)),
      delete: (cj) => this.written.delete(objectKey(cj)),
    });
    const jobChanged = (j: KObj) => {
      const ref = controllerCronJob(j);
      if (ref) this.enqueue(`${j.metadata.namespace}/${ref.name}`);
    };
    this.jobs.addHandlers({ add: jobChanged, update: jobChanged, delete: jobChanged });
  }

  start(): void {
    this.started = true;
    for (const cj of this.cronJobs.list()) this.queue.add(objectKey(cj));
  }

  stop(): void {
    this.queue.stop();
  }

  private enqueue(key: string): void {
    if (this.started) this.queue.add(key);
  }

  private current(key: string): CronJob | undefined {
    const [ns, name] = key.split('/') as [string, string];
    const cached = this.cronJobs.get(ns, name) as CronJob | undefined;
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

  private async sync(key: string): Promise<void> {
    const cj = this.current(key);
    if (!cj) return;
    const ns = cj.metadata?.namespace ?? 'default';
    const jobs = this.jobs.byIndex(OWNER_INDEX, cj.metadata?.uid ?? '') as Job[];
    // Active refs the cache does not know are confirmed gone with a live read first.
    const known = new Set(jobs.map((j) => j.metadata?.uid));
    const missing = new Set<string>();
    for (const r of cj.status?.active ?? []) {
      if (known.has(r.uid)) continue;
      try {
        const live = await this.client.request<Job>(
          'GET',
          objectPath(this.jobInfo, r.namespace ?? ns, r.name ?? ''),
        );
        if (live.metadata?.uid !== r.uid) missing.add(r.uid ?? '');
      } catch (e) {
        if (!isNotFound(e)) throw e;
        missing.add(r.uid ?? '');
      }
    }
    const now = this.now();
    const plan = planCronJob({ cronJob: cj, jobs, now, missing, localZone: this.localZone });
    const status = plan.status;
    for (const r of plan.replace) {
      await this.deleteJob(cj, r.namespace ?? ns, r.name ?? '', r.uid ?? '');
      status.active = (status.active ?? []).filter((x) => x.uid !== r.uid);
    }
    if (plan.create) {
      const created = await this.createJob(cj, plan.create.job);
      if (created) {
        if (!(status.active ?? []).some((r) => r.uid === created.metadata?.uid)) {
          status.active = [...(status.active ?? []), jobRef(created)];
        }
        status.lastScheduleTime = `${new Date(plan.create.scheduledTime).toISOString().slice(0, 19)}Z`;
      }
    }
    if ((status.active ?? []).length === 0) delete status.active;
    for (const e of plan.events) this.recorder.event(cj as KObj, e.type, e.reason, e.message);
    if (JSON.stringify(status) !== JSON.stringify(cj.status ?? {})) {
      const body = { ...cj, apiVersion: 'batch/v1', kind: 'CronJob', status };
      const updated = await this.client.request<CronJob>(
        'PUT',
        objectPath(this.cjInfo, ns, cj.metadata?.name ?? '', 'status'),
        { body },
      );
      this.written.set(key, updated);
    }
    for (const j of plan.prune) {
      await this.deleteJob(cj, ns, j.metadata?.name ?? '', j.metadata?.uid ?? '');
    }
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, Math.max(0, plan.requeueAfterMs));
  }

  /** Create the Job; an existing one this CronJob controls counts as created (a retried sync). */
  private async createJob(cj: CronJob, job: Job): Promise<Job | undefined> {
    const ns = job.metadata?.namespace;
    try {
      const created = await this.client.request<Job>('POST', collectionPath(this.jobInfo, ns), { body: job });
      this.recorder.event(cj as KObj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata?.name}`);
      return created;
    } catch (e) {
      if (e instanceof ApiStatusError && e.httpStatus === 409) {
        const existing = await this.client.request<Job>(
          'GET',
          objectPath(this.jobInfo, ns, job.metadata?.name ?? ''),
        );
        if (controllerCronJob(existing as KObj)?.uid === cj.metadata?.uid) return existing;
      }
      this.recorder.event(
        cj as KObj,
        'Warning',
        'FailedCreate',
        `Error creating job: ${(e as Error).message}`,
      );
      throw e;
    }
  }

  private async deleteJob(cj: CronJob, ns: string, name: string, uid: string): Promise<void> {
    try {
      await this.client.request('DELETE', objectPath(this.jobInfo, ns, name), {
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          propagationPolicy: 'Background',
          preconditions: { uid },
        },
      });
      this.recorder.event(cj as KObj, 'Normal', 'SuccessfulDelete', `Deleted job ${name}`);
    } catch (e) {
      if (!(e instanceof ApiStatusError && (e.httpStatus === 404 || e.httpStatus === 409))) throw e;
    }
  }
}
