/**
 * The scheduler loop: informer events feed the cache (bound pods, nodes) and the scheduling queue
 * (unbound pods of this scheduler); the loop pops a pod, decides synchronously against the cache,
 * ASSUMES the pod on the chosen node and binds it in the background (bounded in flight), so the
 * next decision already counts it. A pod no node fits is parked as unschedulable with its
 * PodScheduled=False condition and a FailedScheduling event, and retried on cluster events.
 * Every side effect goes through the injected SchedulerApi.
 */
import type { KObj } from '../client/informer.js';
import { podTrace } from '../client/pod-trace.js';
import { type ScheduleResult, schedulePod } from './algorithm.js';
import { type PodInfo, podInfo, podKey } from './pod-info.js';
import { podHoldsResources, SchedulerCache } from './scheduler-cache.js';
import { SchedulingQueue } from './scheduling-queue.js';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** Failures a binding can report (an `httpStatus` when the API server answered). */
export interface BindError extends Error {
  httpStatus?: number;
}

/** The scheduler's writes to the cluster. */
export interface SchedulerApi {
  /** POST pods/<name>/binding. */
  bind(pod: KObj, nodeName: string): Promise<void>;
  /** Write PodScheduled=False reason Unschedulable with the message (pods/<name>/status). */
  markUnschedulable(pod: KObj, message: string): Promise<void>;
  /** Record an event about the pod. */
  event(pod: KObj, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface SchedulerOptions {
  api: SchedulerApi;
  schedulerName?: string | undefined;
  now?: (() => number) | undefined;
  random?: (() => number) | undefined;
  /** 0 = upstream's adaptive percentage. */
  percentageOfNodesToScore?: number | undefined;
  /** Bindings in flight at once; the loop pauses when this many are outstanding. */
  maxInFlightBindings?: number | undefined;
  initialBackoffMs?: number | undefined;
  maxBackoffMs?: number | undefined;
  /** Log a line per failed binding (default console.error). */
  log?: ((line: string) => void) | undefined;
}

/** Whether this scheduler should place the pod. */
export function needsScheduling(pod: KObj, schedulerName = DEFAULT_SCHEDULER_NAME): boolean {
  const spec = pod.spec ?? {};
  if (spec.nodeName) return false;
  if ((spec.schedulerName ?? DEFAULT_SCHEDULER_NAME) !== schedulerName) return false;
  if (pod.metadata?.deletionTimestamp) return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/** Whether a node update may let an unschedulable pod fit (heartbeats alone do not). */
export function nodeChangeMatters(node: KObj, old: KObj): boolean {
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  return (
    !same(node.status?.allocatable, old.status?.allocatable) ||
    !same(node.metadata?.labels, old.metadata?.labels) ||
    !same(node.spec?.taints, old.spec?.taints) ||
    Boolean(node.spec?.unschedulable) !== Boolean(old.spec?.unschedulable)
  );
}

/** Whether a pod update may change where it fits (spec or labels, not status). */
function podChangeMatters(pod: KObj, old: KObj): boolean {
  return (
    JSON.stringify(pod.spec) !== JSON.stringify(old.spec) ||
    JSON.stringify(pod.metadata?.labels ?? {}) !== JSON.stringify(old.metadata?.labels ?? {})
  );
}

function currentCondition(pod: KObj): KObj | undefined {
  return (pod.status?.conditions ?? []).find((c: KObj) => c.type === 'PodScheduled');
}

export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  private readonly api: SchedulerApi;
  private readonly schedulerName: string;
  private readonly random: () => number;
  private readonly percentage: number;
  private readonly maxInFlight: number;
  private readonly log: (line: string) => void;
  private nextStartIndex = 0;
  private inFlight = 0;
  private running = false;
  private kicked = false;
  private timers: NodeJS.Timeout[] = [];
  private idleWaiters: (() => void)[] = [];
  /** Counters for tests and the bench. */
  readonly stats = { scheduled: 0, unschedulable: 0, bindErrors: 0 };

  constructor(opts: SchedulerOptions) {
    this.api = opts.api;
    this.schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.random = opts.random ?? Math.random;
    this.percentage = opts.percentageOfNodesToScore ?? 0;
    this.maxInFlight = opts.maxInFlightBindings ?? 64;
    this.log = opts.log ?? ((l) => console.error(l));
    this.queue = new SchedulingQueue({
      now: opts.now,
      initialBackoffMs: opts.initialBackoffMs,
      maxBackoffMs: opts.maxBackoffMs,
      onActive: () => this.kick(),
    });
  }

  // ---- informer events ----

  onPodAdd(pod: KObj): void {
    if (pod.spec?.nodeName) {
      this.cache.observePod(pod);
      return;
    }
    if (needsScheduling(pod, this.schedulerName)) {
      podTrace('sched-seen', podKey(pod));
      this.queue.add(podInfo(pod));
    }
  }

  onPodUpdate(pod: KObj, old: KObj): void {
    const key = podKey(pod);
    if (pod.spec?.nodeName) {
      if (!old.spec?.nodeName) podTrace('sched-saw-bound', key);
      this.cache.observePod(pod);
      this.queue.delete(key);
      // A pod that finished frees its node's resources.
      if (podHoldsResources(old) && !podHoldsResources(pod)) this.queue.moveAllToActiveOrBackoff();
      return;
    }
    this.cache.observePod(pod);
    if (this.cache.isAssumed(key)) return; // its binding is in flight
    if (needsScheduling(pod, this.schedulerName)) this.queue.update(podInfo(pod), podChangeMatters(pod, old));
    else this.queue.delete(key);
  }

  onPodDelete(pod: KObj): void {
    this.queue.delete(podKey(pod));
    const held = podHoldsResources(pod);
    this.cache.deletePod(pod);
    if (held) this.queue.moveAllToActiveOrBackoff();
  }

  onNodeAdd(node: KObj): void {
    this.cache.setNode(node);
    this.queue.moveAllToActiveOrBackoff();
  }

  onNodeUpdate(node: KObj, old: KObj): void {
    this.cache.setNode(node);
    if (nodeChangeMatters(node, old)) this.queue.moveAllToActiveOrBackoff();
  }

  onNodeDelete(node: KObj): void {
    this.cache.removeNode(node.metadata.name);
  }

  // ---- the loop ----

  /** Start scheduling (and the backoff / leftover flush timers). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.timers.push(setInterval(() => this.queue.flushBackoff(), 1000));
    this.timers.push(setInterval(() => this.queue.flushUnschedulableLeftover(), 30_000));
    for (const t of this.timers) t.unref?.();
    this.kick();
  }

  stop(): void {
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Resolves when nothing is active and no binding is in flight (tests). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Bindings in flight or pods waiting to be scheduled (events wait for this to end). */
  busy(): boolean {
    return !this.isIdle();
  }

  private isIdle(): boolean {
    return this.inFlight === 0 && this.queue.stats().active === 0;
  }

  private kick(): void {
    if (!this.running || this.kicked) return;
    this.kicked = true;
    setImmediate(() => this.runBatch());
  }

  /** Schedule pods for up to ~10 ms, then yield so watch events and binding answers get in. */
  private runBatch(): void {
    this.kicked = false;
    if (!this.running) return;
    const deadline = performance.now() + 10;
    while (this.inFlight < this.maxInFlight) {
      const qp = this.queue.pop();
      if (!qp) break;
      this.scheduleOne(qp.info);
      if (performance.now() > deadline) {
        this.kick();
        return;
      }
    }
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length && this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** One scheduling cycle for a popped pod; the binding runs in the background. */
  scheduleOne(info: PodInfo): ScheduleResult {
    const result = schedulePod(info, this.cache.nodeList(), {
      startIndex: this.nextStartIndex,
      percentageOfNodesToScore: this.percentage,
      random: this.random,
    });
    this.nextStartIndex = result.nextStartIndex;
    if (!result.ok) {
      this.stats.unschedulable++;
      this.queue.requeueUnschedulable(info.key);
      const cond = currentCondition(info.pod);
      if (!(cond?.status === 'False' && cond.reason === 'Unschedulable' && cond.message === result.message)) {
        this.api.markUnschedulable(info.pod, result.message).catch(() => {});
      }
      this.api.event(info.pod, 'Warning', 'FailedScheduling', result.message);
      return result;
    }
    const nodeName = result.node.name;
    podTrace('sched-decided', info.key);
    this.cache.assumePod(info, nodeName);
    this.inFlight++;
    this.api
      .bind(info.pod, nodeName)
      .then(
        () => {
          podTrace('bind-acked', info.key);
          this.stats.scheduled++;
          this.queue.done(info.key);
          this.api.event(
            info.pod,
            'Normal',
            'Scheduled',
            `Successfully assigned ${info.namespace}/${info.name} to ${nodeName}`,
          );
        },
        (err: BindError) => {
          this.stats.bindErrors++;
          this.cache.forgetPod(info.key);
          // Gone or bound elsewhere: nothing left to do; otherwise retry after the backoff.
          if (err.httpStatus === 404 || err.httpStatus === 409) this.queue.delete(info.key);
          else {
            this.log(`k8ts scheduler: binding ${info.key} to ${nodeName}: ${err.message} (will retry)`);
            this.queue.requeueBackoff(info.key);
          }
        },
      )
      .finally(() => {
        this.inFlight--;
        this.kick();
        this.notifyIdle();
      });
    return result;
  }
}
