/**
 * Events for `kubectl describe`: core/v1 Events about an object, written through the API. Repeats
 * of the same (object, type, reason, message) within the series window update one Event's count
 * and lastTimestamp instead of creating another, as upstream's recorder aggregates them.
 * Fire-and-forget: a failed write is dropped (events are best effort upstream too).
 */
import { randomBytes } from 'node:crypto';
import type { KObj } from './informer.js';
import type { RestClient } from './rest-client.js';

export type EventType = 'Normal' | 'Warning';

interface Series {
  name: string;
  namespace: string;
  count: number;
  first: string;
}

function now(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

export interface EventRecorderOptions {
  /** The reporting host (source.host), e.g. the kubelet's node name. */
  host?: string | undefined;
  /**
   * Event writes in flight at most (default unbounded); the rest wait, in order, and beyond
   * MAX_QUEUED_EVENTS they are dropped (as upstream's broadcaster drops when its queue is full).
   * A component whose own writes matter more than its events (the kubelet's pod status) bounds
   * them so a burst of events never takes the connection pool from those writes.
   */
  maxInFlight?: number | undefined;
  /** Hold events while the component's own writes are pending (see EventGate). */
  gate?: EventGate | undefined;
}

/**
 * Events are for people; a component's own writes (the kubelet's pod status, the scheduler's
 * bindings) decide when a pod runs and gets traffic. On one API server that runs requests one at
 * a time, 200 events of a 100-pod burst took a quarter of its requests while pods waited: with a
 * gate, events wait while `busy()` says that component has work queued or in flight, at most
 * `maxDeferMs` (so a node that is never idle still reports them).
 */
export interface EventGate {
  busy(): boolean;
  /** Longest an event waits for the component to go quiet (ms, default 2000). */
  maxDeferMs?: number | undefined;
}

/** How often a held event checks the gate again (ms). */
const GATE_RECHECK_MS = 20;

/**
 * Whether the oldest waiting item (queued at `queuedAt`) must wait for the gate now; if so, the
 * caller is re-run through `recheck` shortly.
 */
export function heldByGate(gate: EventGate | undefined, queuedAt: number): boolean {
  if (!gate?.busy()) return false;
  return performance.now() - queuedAt < (gate.maxDeferMs ?? 2000);
}

/** A one-shot unref'd timer that re-runs `fn` after GATE_RECHECK_MS (at most one pending). */
export class GateRecheck {
  private timer: NodeJS.Timeout | undefined;
  schedule(fn: () => void): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fn();
    }, GATE_RECHECK_MS);
    this.timer.unref();
  }
}

/** Events waiting for a write slot at most; upstream's broadcaster queue is 1000 deep. */
const MAX_QUEUED_EVENTS = 1000;

export class EventRecorder {
  private readonly client: RestClient;
  private readonly component: string;
  private readonly host: string | undefined;
  private readonly series = new Map<string, Series>();
  private readonly maxInFlight: number;
  private readonly gate: EventGate | undefined;
  private readonly recheck = new GateRecheck();
  private readonly waiting: { write: () => Promise<void>; at: number }[] = [];
  private inFlight = 0;
  /** Events dropped because the queue was full. */
  dropped = 0;

  constructor(client: RestClient, component: string, opts: EventRecorderOptions = {}) {
    this.client = client;
    this.component = component;
    this.host = opts.host;
    this.maxInFlight = opts.maxInFlight ?? Number.POSITIVE_INFINITY;
    this.gate = opts.gate;
  }

  /** Record an event about `obj` (any kind with metadata). */
  event(obj: KObj, type: EventType, reason: string, message: string): void {
    if (this.waiting.length >= MAX_QUEUED_EVENTS) {
      this.dropped++;
      return;
    }
    this.waiting.push({ write: () => this.write(obj, type, reason, message), at: performance.now() });
    this.pump();
  }

  /** Events waiting or being written. */
  pending(): number {
    return this.waiting.length + this.inFlight;
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      if (heldByGate(this.gate, this.waiting[0]!.at)) {
        this.recheck.schedule(() => this.pump());
        return;
      }
      const { write } = this.waiting.shift()!;
      this.inFlight++;
      void write()
        .catch(() => {})
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }

  private async write(obj: KObj, type: EventType, reason: string, message: string): Promise<void> {
    const namespace: string = obj.metadata?.namespace || 'default';
    const involvedObject = {
      kind: obj.kind,
      apiVersion: obj.apiVersion,
      namespace: obj.metadata?.namespace,
      name: obj.metadata?.name,
      uid: obj.metadata?.uid,
      resourceVersion: obj.metadata?.resourceVersion,
    };
    const key = `${obj.metadata?.uid}/${type}/${reason}/${message}`;
    const t = now();
    const prev = this.series.get(key);
    if (prev) {
      prev.count++;
      try {
        await this.client.request('PATCH', `/api/v1/namespaces/${prev.namespace}/events/${prev.name}`, {
          body: { count: prev.count, lastTimestamp: t },
          contentType: 'application/merge-patch+json',
        });
        return;
      } catch {
        this.series.delete(key);
      }
    }
    const name = `${obj.metadata?.name ?? 'unknown'}.${randomBytes(8).toString('hex')}`;
    const source: KObj = { component: this.component };
    if (this.host) source.host = this.host;
    await this.client.request('POST', `/api/v1/namespaces/${namespace}/events`, {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject,
        reason,
        message,
        type,
        source,
        count: 1,
        firstTimestamp: t,
        lastTimestamp: t,
        reportingComponent: this.component,
        reportingInstance: this.host ?? '',
      },
    });
    this.series.set(key, { name, namespace, count: 1, first: t });
    if (this.series.size > 4096) this.series.delete(this.series.keys().next().value!);
  }
}
