/**
 * One probe (liveness, readiness or startup) of one container instance, with upstream's timing:
 * the worker ticks every periodSeconds from when it starts; a tick before startedAt +
 * initialDelaySeconds does not probe (readiness stays at its initial false, liveness at success);
 * each probe gets timeoutSeconds; the result flips after successThreshold consecutive successes or
 * failureThreshold consecutive failures. Liveness and readiness wait for the startup probe to
 * succeed; the startup probe stops probing once it succeeded. A liveness or startup failure is
 * reported once, and the worker stops (the container is restarted, a new worker follows).
 */
import { type Clock, realClock, type TimerHandle } from '../client/clock.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';
export type ProbeResult = { ok: true } | { ok: false; message: string };

export interface ProbeTiming {
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

/** Upstream defaults for fields the API server did not default. */
export function probeTiming(p: Record<string, any>): ProbeTiming {
  return {
    initialDelaySeconds: p.initialDelaySeconds ?? 0,
    periodSeconds: Math.max(1, p.periodSeconds ?? 10),
    timeoutSeconds: Math.max(1, p.timeoutSeconds ?? 1),
    successThreshold: Math.max(1, p.successThreshold ?? 1),
    failureThreshold: Math.max(1, p.failureThreshold ?? 3),
  };
}

export interface ProbeWorkerOptions {
  kind: ProbeKind;
  timing: ProbeTiming;
  /** When the container started (ms epoch). */
  startedAtMs: number;
  /** Run one probe; must settle within the timeout it is given (ms). */
  probe(timeoutMs: number): Promise<ProbeResult>;
  /** Called when the result changes: readiness true/false, startup true, liveness/startup false. */
  onResult(ok: boolean, message: string): void;
  /** Liveness and readiness: probe only once this returns true (startup succeeded). */
  started?: (() => boolean) | undefined;
  /** Initial result (readiness after a kubelet restart keeps what the API said). */
  initial?: boolean | undefined;
  clock?: Clock | undefined;
}

export class ProbeWorker {
  private readonly opts: ProbeWorkerOptions;
  private readonly clock: Clock;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private result: boolean;
  private successes = 0;
  private failures = 0;
  private running = false;

  constructor(opts: ProbeWorkerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    // Readiness starts failed, liveness and startup start "not failed".
    this.result = opts.initial ?? opts.kind !== 'readiness';
    if (opts.kind === 'startup') this.result = false;
  }

  /** The current result (readiness: ready; startup: started; liveness: alive). */
  get ok(): boolean {
    return this.result;
  }

  /** Start ticking: the first tick is now, then every periodSeconds. */
  start(): void {
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
  }

  private tick(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => this.tick(), this.opts.timing.periodSeconds * 1000);
    void this.once();
  }

  private async once(): Promise<void> {
    const t = this.opts.timing;
    if (this.running) return;
    if (this.opts.kind === 'startup' && this.result) return;
    if (this.opts.kind !== 'startup' && this.opts.started && !this.opts.started()) return;
    if (this.clock.now() < this.opts.startedAtMs + t.initialDelaySeconds * 1000) return;
    this.running = true;
    let r: ProbeResult;
    try {
      r = await this.opts.probe(t.timeoutSeconds * 1000);
    } catch (e) {
      r = { ok: false, message: (e as Error).message };
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (r.ok) {
      this.failures = 0;
      this.successes++;
      if (!this.result && this.successes >= t.successThreshold) {
        this.result = true;
        this.opts.onResult(true, '');
        if (this.opts.kind === 'startup') this.stop();
      }
    } else {
      this.successes = 0;
      this.failures++;
      const was = this.result;
      if (this.failures >= t.failureThreshold) {
        if (this.opts.kind === 'readiness') {
          this.result = false;
          if (was) this.opts.onResult(false, r.message);
        } else {
          // liveness / startup: fail once; the container is killed and gets a new worker.
          this.result = false;
          this.stop();
          this.opts.onResult(false, r.message);
        }
      }
    }
  }
}
