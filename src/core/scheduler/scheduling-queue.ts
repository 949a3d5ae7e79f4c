/**
 * The scheduling queue, after upstream's PriorityQueue: an active queue (higher priority first,
 * then oldest first), a backoff queue (pods waiting out 1 s doubling to 10 s after a failed
 * attempt) and the unschedulable pods, which wait for a cluster event (a node added or changed, a
 * pod deleted) that may make them fit, or at most `maxUnschedulableMs`. Time comes from an
 * injected clock; the owner calls `flushBackoff()` / `flushUnschedulableLeftover()` periodically.
 * Single-threaded: called from the scheduler's event handlers and loop only.
 */
import { Heap } from './heap.js';
import type { PodInfo } from './pod-info.js';

export interface QueuedPod {
  info: PodInfo;
  /** Scheduling attempts so far (drives the backoff). */
  attempts: number;
  /** When the pod first entered the queue (orders the active queue). */
  initialTimestamp: number;
  /** When the pod last failed (the backoff counts from here). */
  timestamp: number;
}

type Where = 'active' | 'backoff' | 'unschedulable' | 'inflight';

interface Entry {
  qp: QueuedPod;
  seq: number;
  where: Where;
  /** Bumped on every move: heap items with an older generation are stale. */
  gen: number;
}

/** Sort keys are copied in at push time: a stale item must not move under the heap's feet. */
interface HeapItem {
  entry: Entry;
  gen: number;
  priority: number;
  /** Active queue: first-enqueue time; backoff queue: backoff expiry. */
  time: number;
  /** Arrival order: keeps pods queued in the same millisecond first-in first-out. */
  seq: number;
}

export interface SchedulingQueueOptions {
  now?: (() => number) | undefined;
  initialBackoffMs?: number | undefined;
  maxBackoffMs?: number | undefined;
  /** Unschedulable pods are retried after this long even without an event (upstream: 5 min). */
  maxUnschedulableMs?: number | undefined;
  /** Called when a pod becomes active (wakes the scheduling loop). */
  onActive?: (() => void) | undefined;
}

export class SchedulingQueue {
  private readonly now: () => number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;
  private readonly onActive: (() => void) | undefined;
  private readonly entries = new Map<string, Entry>();
  private readonly active = new Heap<HeapItem>((a, b) =>
    a.priority !== b.priority ? a.priority > b.priority : a.time !== b.time ? a.time < b.time : a.seq < b.seq,
  );
  private readonly backoff = new Heap<HeapItem>((a, b) =>
    a.time !== b.time ? a.time < b.time : a.seq < b.seq,
  );
  private seq = 0;
  private readonly unschedulable = new Map<string, Entry>();
  private activeCount = 0;

  constructor(opts: SchedulingQueueOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxUnschedulableMs = opts.maxUnschedulableMs ?? 5 * 60_000;
    this.onActive = opts.onActive;
  }

  /** Backoff after `attempts` failed attempts: initial, doubling, capped. */
  backoffDuration(attempts: number): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < attempts; i++) {
      d *= 2;
      if (d >= this.maxBackoffMs) return this.maxBackoffMs;
    }
    return Math.min(d, this.maxBackoffMs);
  }

  private backoffExpiry(qp: QueuedPod): number {
    return qp.timestamp + this.backoffDuration(qp.attempts);
  }

  /** A new unbound pod. If it is already queued, its info is replaced. */
  add(info: PodInfo): void {
    const e = this.entries.get(info.key);
    if (e && e.qp.info.uid === info.uid) {
      e.qp.info = info;
      return;
    }
    if (e) this.delete(info.key);
    const t = this.now();
    const entry: Entry = {
      qp: { info, attempts: 0, initialTimestamp: t, timestamp: t },
      seq: this.seq++,
      where: 'active',
      gen: 0,
    };
    this.entries.set(info.key, entry);
    this.toActive(entry);
  }

  /**
   * A queued pod changed. `relevant`: the change may make it schedulable (spec, labels), so an
   * unschedulable pod is moved on (to the backoff queue while its backoff lasts).
   */
  update(info: PodInfo, relevant: boolean): void {
    const e = this.entries.get(info.key);
    if (!e || e.qp.info.uid !== info.uid) {
      this.add(info);
      return;
    }
    e.qp.info = info;
    if (relevant && e.where === 'unschedulable') this.moveOut(e);
  }

  /** Forget a pod (deleted, or bound by someone else). */
  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    if (e.where === 'active') this.activeCount--;
    if (e.where === 'unschedulable') this.unschedulable.delete(key);
    e.gen++;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The next pod to schedule (it is then in flight until `done`, `requeueUnschedulable` or `requeueBackoff`). */
  pop(): QueuedPod | undefined {
    for (;;) {
      const item = this.active.pop();
      if (!item) return undefined;
      const e = item.entry;
      if (item.gen !== e.gen || e.where !== 'active' || this.entries.get(e.qp.info.key) !== e) continue;
      this.activeCount--;
      e.where = 'inflight';
      e.gen++;
      e.qp.attempts++;
      return e.qp;
    }
  }

  /** The in-flight pod was bound (or given up): it leaves the queue. */
  done(key: string): void {
    const e = this.entries.get(key);
    if (e?.where === 'inflight') this.entries.delete(key);
  }

  /** The in-flight pod fits no node: park it until a cluster event. */
  requeueUnschedulable(key: string): void {
    const e = this.entries.get(key);
    if (e?.where !== 'inflight') return;
    e.qp.timestamp = this.now();
    e.where = 'unschedulable';
    e.gen++;
    this.unschedulable.set(key, e);
  }

  /** The in-flight pod hit an error (e.g. its binding failed): retry after its backoff. */
  requeueBackoff(key: string): void {
    const e = this.entries.get(key);
    if (e?.where !== 'inflight') return;
    e.qp.timestamp = this.now();
    this.toBackoff(e);
  }

  /** A cluster event that may make unschedulable pods fit: move them all on. */
  moveAllToActiveOrBackoff(): void {
    for (const e of [...this.unschedulable.values()]) this.moveOut(e);
  }

  /** Move pods whose backoff has passed to the active queue. */
  flushBackoff(): void {
    const now = this.now();
    for (;;) {
      const item = this.backoff.peek();
      if (!item) return;
      const e = item.entry;
      if (item.gen !== e.gen || e.where !== 'backoff') {
        this.backoff.pop();
        continue;
      }
      if (item.time > now) return;
      this.backoff.pop();
      this.toActive(e);
    }
  }

  /** Retry pods unschedulable for longer than `maxUnschedulableMs`. */
  flushUnschedulableLeftover(): void {
    const now = this.now();
    for (const e of [...this.unschedulable.values()]) {
      if (now - e.qp.timestamp >= this.maxUnschedulableMs) this.moveOut(e);
    }
  }

  private moveOut(e: Entry): void {
    this.unschedulable.delete(e.qp.info.key);
    if (this.backoffExpiry(e.qp) > this.now()) this.toBackoff(e);
    else this.toActive(e);
  }

  private toActive(e: Entry): void {
    e.where = 'active';
    e.gen++;
    this.activeCount++;
    this.active.push({
      entry: e,
      gen: e.gen,
      priority: e.qp.info.priority,
      time: e.qp.initialTimestamp,
      seq: e.seq,
    });
    this.onActive?.();
  }

  private toBackoff(e: Entry): void {
    e.where = 'backoff';
    e.gen++;
    this.backoff.push({ entry: e, gen: e.gen, priority: 0, time: this.backoffExpiry(e.qp), seq: e.seq });
  }

  /** Pods per sub-queue (for tests and metrics). */
  stats(): { active: number; backoff: number; unschedulable: number; total: number } {
    let backoff = 0;
    for (const e of this.entries.values()) if (e.where === 'backoff') backoff++;
    return {
      active: this.activeCount,
      backoff,
      unschedulable: this.unschedulable.size,
      total: this.entries.size,
    };
  }

  /** Where a pod is (tests). */
  whereIs(key: string): Where | undefined {
    return this.entries.get(key)?.where;
  }
}
