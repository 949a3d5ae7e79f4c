/**
 * The TTL-after-finished controller, as upstream's ttlafterfinished: a Job with
 * `spec.ttlSecondsAfterFinished` is deleted (background propagation, so the garbage collector
 * removes its pods) that many seconds after its Complete / Failed condition. The expiry is checked
 * again on a fresh read before deleting, since the TTL may have been changed meanwhile.
 */
import type { Job } from 'kubernetes-types/batch/v1.js';
import { resourceForPlural } from '../api/resources.js';
import { type KObj, objectKey } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { objectPath } from '../client/paths.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';
import type { ControllerContext } from './controller-manager.js';
import { jobFinishTime } from './job-sync.js';

/**
 * Milliseconds until a finished Job with a TTL expires (<= 0: expired now); undefined when the
 * Job has no TTL, is not finished, or is already being deleted.
 */
export function ttlRemainingMs(job: Job, now: number): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || ttl === null || job.metadata?.deletionTimestamp) return undefined;
  const finished = jobFinishTime(job);
  if (finished === undefined) return undefined;
  return finished + ttl * 1000 - now;
}

export interface TtlAfterFinishedOptions {
  /** Clock in ms (tests inject one). */
  now?: (() => number) | undefined;
}

export class TtlAfterFinishedController {
  private readonly client: RestClient;
  private readonly jobs: SharedInformer;
  private readonly queue: WorkQueue;
  private readonly now: () => number;
  private started = false;

  constructor(ctx: Pick<ControllerContext, 'client' | 'factory'>, opts: TtlAfterFinishedOptions = {}) {
    this.client = ctx.client;
    this.now = opts.now ?? Date.now;
    const info = resourceForPlural('batch', 'v1', 'jobs');
    if (!info) throw new Error('batch/v1 jobs is not served');
    this.jobs = ctx.factory.informer(info);
    this.queue = new WorkQueue((key) => this.sync(key), {
      baseDelayMs: 200,
      maxDelayMs: 30_000,
      onError: (key, err) => logRetry('ttl-after-finished-controller', key, err),
    });
    const enqueue = (j: KObj) => {
      if (this.started && ttlRemainingMs(j as Job, this.now()) !== undefined) this.queue.add(objectKey(j));
    };
    this.jobs.addHandlers({ add: enqueue, update: enqueue });
  }

  start(): void {
    this.started = true;
    for (const j of this.jobs.list())
      if (ttlRemainingMs(j as Job, this.now()) !== undefined) this.queue.add(objectKey(j));
  }

  stop(): void {
    this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const cached = this.jobs.get(ns, name) as Job | undefined;
    if (!cached) return;
    const left = ttlRemainingMs(cached, this.now());
    if (left === undefined) return;
    if (left > 0) {
      this.queue.addAfter(key, left + 10);
      return;
    }
    const info = this.jobs.info;
    let live: Job;
    try {
      live = await this.client.request<Job>('GET', objectPath(info, ns, name));
    } catch (e) {
      if (e instanceof ApiStatusError && e.httpStatus === 404) return;
      throw e;
    }
    const liveLeft = ttlRemainingMs(live, this.now());
    if (liveLeft === undefined) return;
    if (liveLeft > 0) {
      this.queue.addAfter(key, liveLeft + 10);
      return;
    }
    try {
      await this.client.request('DELETE', objectPath(info, ns, name), {
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          propagationPolicy: 'Background',
          preconditions: { uid: live.metadata?.uid, resourceVersion: live.metadata?.resourceVersion },
        },
      });
    } catch (e) {
      // 404: gone already. 409: changed since the read; its update event queues it again.
      if (!(e instanceof ApiStatusError && (e.httpStatus === 404 || e.httpStatus === 409))) throw e;
    }
  }
}
