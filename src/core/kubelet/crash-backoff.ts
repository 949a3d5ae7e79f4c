/**
 * CrashLoopBackOff, with upstream's semantics (flowcontrol.Backoff as the kubelet uses it): the
 * first restart of a container is immediate; each later one waits 10 s, doubling up to 5 min.
 * An entry expires once 2 x the maximum (10 min) passed between its last restart and the next
 * exit, so a container that ran for 10 minutes starts again from 10 s.
 */

export interface CrashBackoffOptions {
  initialMs?: number | undefined;
  maxMs?: number | undefined;
}

interface Entry {
  delayMs: number;
  lastUpdateMs: number;
}

export class CrashBackoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly entries = new Map<string, Entry>();

  constructor(opts: CrashBackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 10_000;
    this.maxMs = opts.maxMs ?? 300_000;
  }

  private expired(e: Entry, eventMs: number): boolean {
    return eventMs - e.lastUpdateMs > 2 * this.maxMs;
  }

  /** Whether a container that exited at `finishedAtMs` must still wait at `nowMs`. */
  inBackoff(key: string, finishedAtMs: number, nowMs: number): boolean {
    const e = this.entries.get(key);
    if (!e || this.expired(e, finishedAtMs)) return false;
    return nowMs - finishedAtMs < e.delayMs;
  }

  /** When a container that exited at `finishedAtMs` may restart (ms epoch). */
  restartAt(key: string, finishedAtMs: number): number {
    const e = this.entries.get(key);
    return e ? finishedAtMs + e.delayMs : finishedAtMs;
  }

  /** The current delay of a key (0 when none). */
  delay(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** Record a restart at `nowMs`: the next wait is the initial delay, or double the last one. */
  next(key: string, nowMs: number): void {
    const e = this.entries.get(key);
    if (!e || this.expired(e, nowMs)) {
      this.entries.set(key, { delayMs: this.initialMs, lastUpdateMs: nowMs });
      return;
    }
    e.delayMs = Math.min(e.delayMs * 2, this.maxMs);
    e.lastUpdateMs = nowMs;
  }

  /** Drop every key starting with `prefix` (a pod's containers when it goes away). */
  forgetPrefix(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
