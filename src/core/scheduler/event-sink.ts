/**
 * A bounded, fire-and-forget writer of core/v1 Events for events that never repeat (one
 * `Scheduled` per pod): at most `concurrency` writes in flight and `maxQueued` waiting; beyond that
 * events are dropped, as upstream's event broadcaster drops when its 1000-deep queue is full, so a
 * burst of bindings never waits on (or floods the API server with) its events.
 */
import { randomBytes } from 'node:crypto';
import { type EventGate, GateRecheck, heldByGate } from '../client/events.js';
import type { KObj } from '../client/informer.js';

export interface EventSinkOptions {
  component: string;
  concurrency?: number | undefined;
  maxQueued?: number | undefined;
  /** Hold events while bindings are pending (client/events.ts EventGate). */
  gate?: EventGate | undefined;
}

/** Writes one Event object (POST to its namespace's events). */
export type PostEvent = (namespace: string, event: KObj) => Promise<unknown>;

export class BoundedEventSink {
  private readonly post: PostEvent;
  private readonly component: string;
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private readonly waiting: { namespace: string; event: KObj; at: number }[] = [];
  private readonly gate: EventGate | undefined;
  private readonly recheck = new GateRecheck();
  private inFlight = 0;
  /** Events dropped because the queue was full. */
  dropped = 0;

  constructor(post: PostEvent, opts: EventSinkOptions) {
    this.post = post;
    this.component = opts.component;
    this.concurrency = opts.concurrency ?? 4;
    this.maxQueued = opts.maxQueued ?? 1000;
    this.gate = opts.gate;
  }

  /** Queue an event about `obj`. */
  event(obj: KObj, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.waiting.length >= this.maxQueued) {
      this.dropped++;
      return;
    }
    const namespace: string = obj.metadata?.namespace || 'default';
    const t = `${new Date().toISOString().slice(0, 19)}Z`;
    this.waiting.push({
      namespace,
      event: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${obj.metadata?.name ?? 'unknown'}.${randomBytes(8).toString('hex')}`, namespace },
        involvedObject: {
          kind: obj.kind ?? 'Pod',
          apiVersion: obj.apiVersion ?? 'v1',
          namespace: obj.metadata?.namespace,
          name: obj.metadata?.name,
          uid: obj.metadata?.uid,
          resourceVersion: obj.metadata?.resourceVersion,
        },
        reason,
        message,
        type,
        source: { component: this.component },
        count: 1,
        firstTimestamp: t,
        lastTimestamp: t,
        reportingComponent: this.component,
        reportingInstance: '',
      },
      at: performance.now(),
    });
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.waiting.length > 0) {
      if (heldByGate(this.gate, this.waiting[0]!.at)) {
        this.recheck.schedule(() => this.pump());
        return;
      }
      const { namespace, event } = this.waiting.shift()!;
      this.inFlight++;
      this.post(namespace, event)
        .catch(() => {})
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }

  /** Events waiting or in flight (tests). */
  pending(): number {
    return this.waiting.length + this.inFlight;
  }
}
