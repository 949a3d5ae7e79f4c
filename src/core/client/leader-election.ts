/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package does it,
 * so that of several processes running the same controllers exactly one works at a time.
 *
 * - A candidate takes the Lease when it does not exist, when its holderIdentity is empty (released),
 *   or when the record has not changed for leaseDurationSeconds as seen on the candidate's OWN clock
 *   (it times the record from when it first saw it, so clocks of different machines need not agree).
 * - Every write is an update with the resourceVersion that was read, so of two candidates racing for
 *   the same Lease only one write succeeds (the other gets 409 Conflict and stays a follower).
 * - The leader renews every retryPeriod; if no renewal succeeds for renewDeadline (< leaseDuration)
 *   it stops leading (aborts the signal given to onStartedLeading) before anyone else may take over.
 * - After losing the lease the elector campaigns again (onStartedLeading may run again later).
 * - stop() ends the work first (abort + onStoppedLeading + wait for onStartedLeading's promise), then
 *   releases the Lease (holderIdentity '', leaseDurationSeconds 1), like client-go's ReleaseOnCancel,
 *   so the next leader need not wait out the lease.
 */
import { type Clock, realClock, sleep } from './clock.js';
import { LeaderElectionConfigError } from './errors.js';
import { ApiStatusError, type RestClient } from './rest-client.js';

/** The part of RestClient leader election uses (a fake in unit tests). */
export type LeaseClient = Pick<RestClient, 'request'>;

export interface LeaderElectionOptions {
  /** Lease name, e.g. `k8ts-controller-manager`. */
  name: string;
  /** Lease namespace (default `kube-system`). */
  namespace?: string | undefined;
  /** This candidate's unique identity (e.g. `hostname_uuid`). */
  identity: string;
  /** How long followers wait, from the last change they saw, before taking over (default 15). */
  leaseDurationSeconds?: number | undefined;
  /** The leader gives up when it could not renew for this long (default 10). */
  renewDeadlineSeconds?: number | undefined;
  /** Interval between tries to acquire or renew (default 2). */
  retryPeriodSeconds?: number | undefined;
  /** Followers wait retryPeriod * (1 + random * jitterFactor) between tries (default 1.2). */
  jitterFactor?: number | undefined;
  clock?: Clock | undefined;
  /** For the jitter (default Math.random). */
  random?: (() => number) | undefined;
  /** Unexpected errors (default: one log line per distinct message). */
  onError?: ((err: unknown) => void) | undefined;
}

export interface LeaderCallbacks {
  /** Became leader: start the work; stop it when `signal` aborts (return a promise that settles then). */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Leadership ended (lost, or stop()); only called after onStartedLeading. */
  onStoppedLeading(): void;
  /** The holder of the Lease changed (including to this candidate). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElector {
  /** Stop campaigning; if leading, end the work and release the Lease. */
  stop(): Promise<void>;
  isLeader(): boolean;
  /** The holder last seen ('' when none). */
  leader(): string;
}

type LeaseSpec = {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
};
type Lease = { metadata: Record<string, any>; spec?: LeaseSpec; [k: string]: unknown };

/** A metav1.MicroTime (RFC 3339 with 6 fractional digits, UTC). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Campaign for a Lease and run the callbacks as leadership comes and goes; see the file comment. */
export function runLeaderElection(
  client: LeaseClient,
  opts: LeaderElectionOptions,
  callbacks: LeaderCallbacks,
): LeaderElector {
  const e = new Elector(client, opts, callbacks);
  void e.run();
  return { stop: () => e.stop(), isLeader: () => e.leading, leader: () => e.observed?.holderIdentity ?? '' };
}

class Elector {
  private readonly client: LeaseClient;
  private readonly cb: LeaderCallbacks;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly id: string;
  private readonly leaseSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly jitter: number;
  private readonly path: string;
  private readonly collection: string;
  private readonly name: string;
  private readonly namespace: string;
  private readonly onError: (err: unknown) => void;
  private readonly stopCtl = new AbortController();
  private done: Promise<void> = Promise.resolve();
  private lastLogged = '';
  /** The last Lease read or written, its spec, and when (local clock) that spec last changed. */
  private lease: Lease | undefined;
  observed: LeaseSpec | undefined;
  private observedAt = 0;
  private reported = '';
  leading = false;

  constructor(client: LeaseClient, opts: LeaderElectionOptions, cb: LeaderCallbacks) {
    this.client = client;
    this.cb = cb;
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.id = opts.identity;
    this.leaseSeconds = opts.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = (opts.renewDeadlineSeconds ?? 10) * 1000;
    this.retryMs = (opts.retryPeriodSeconds ?? 2) * 1000;
    this.jitter = opts.jitterFactor ?? 1.2;
    this.name = opts.name;
    this.namespace = opts.namespace ?? 'kube-system';
    this.collection = `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases`;
    this.path = `${this.collection}/${this.name}`;
    this.onError =
      opts.onError ??
      ((err) => {
        const msg = (err as Error)?.message ?? String(err);
        if (msg === this.lastLogged) return;
        this.lastLogged = msg;
        console.error(`k8ts leader-election ${this.namespace}/${this.name} (${this.id}): ${msg}`);
      });
    if (!this.id) throw new LeaderElectionConfigError('identity must not be empty');
    if (!this.name) throw new LeaderElectionConfigError('lease name must not be empty');
    if (this.leaseSeconds * 1000 <= this.renewDeadlineMs)
      throw new LeaderElectionConfigError(
        `leaseDurationSeconds (${this.leaseSeconds}) must be greater than renewDeadlineSeconds (${this.renewDeadlineMs / 1000})`,
      );
    // (client-go requires renewDeadline > 1.2 * retryPeriod; at least one retry must fit in it.)
    const minRenew = this.retryMs * Math.max(1, this.jitter);
    if (this.renewDeadlineMs <= minRenew)
      throw new LeaderElectionConfigError(
        `renewDeadlineSeconds (${this.renewDeadlineMs / 1000}) must be greater than retryPeriodSeconds * max(1, jitterFactor) (${minRenew / 1000})`,
      );
    if (this.retryMs <= 0)
      throw new LeaderElectionConfigError(`retryPeriodSeconds must be positive, got ${this.retryMs / 1000}`);
  }

  run(): Promise<void> {
    this.done = this.loop().catch((err) => this.onError(err));
    return this.done;
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    await this.done;
  }

  private get stopped(): boolean {
    return this.stopCtl.signal.aborted;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      // Follower: try every retryPeriod (with jitter) until this candidate holds the Lease.
      let acquired = false;
      while (!this.stopped) {
        acquired = await this.tryAcquireOrRenew();
        this.reportTransition();
        if (acquired) break;
        await sleep(this.clock, this.retryMs * (1 + this.random() * this.jitter), this.stopCtl.signal);
      }
      if (!acquired) break;
      if (this.stopped) {
        // Stopped while the winning write was in flight: hand the Lease back.
        await this.release();
        break;
      }
      // Leader: work until a renewal deadline passes or stop().
      this.leading = true;
      const work = new AbortController();
      const started = Promise.resolve()
        .then(() => this.cb.onStartedLeading(work.signal))
        .catch((err) => this.onError(err));
      let lastRenew = this.clock.now();
      while (!this.stopped) {
        await sleep(this.clock, this.retryMs, this.stopCtl.signal);
        if (this.stopped) break;
        const left = lastRenew + this.renewDeadlineMs - this.clock.now();
        const ok = left > 0 && (await this.withDeadline(this.tryAcquireOrRenew(), left));
        this.reportTransition();
        if (ok) lastRenew = this.clock.now();
        else if (this.clock.now() - lastRenew >= this.renewDeadlineMs) {
          this.onError(
            new Error(
              `failed to renew lease ${this.namespace}/${this.name} within ${this.renewDeadlineMs / 1000}s: leadership lost`,
            ),
          );
          break;
        }
      }
      this.leading = false;
      work.abort();
      try {
        this.cb.onStoppedLeading();
      } catch (err) {
        this.onError(err);
      }
      if (this.stopped) {
        await started;
        await this.release();
      }
    }
  }

  /** Resolve false if `p` has not resolved true within `ms` (the attempt's outcome is then ignored). */
  private withDeadline(p: Promise<boolean>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = this.clock.setTimeout(() => resolve(false), ms);
      p.then(
        (v) => {
          this.clock.clearTimeout(t);
          resolve(v);
        },
        () => {
          this.clock.clearTimeout(t);
          resolve(false);
        },
      );
    });
  }

  private desired(now: number, prev: LeaseSpec | undefined): LeaseSpec {
    const ours = !!prev && prev.holderIdentity === this.id;
    return {
      holderIdentity: this.id,
      leaseDurationSeconds: this.leaseSeconds,
      acquireTime: ours && prev.acquireTime ? prev.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: prev ? (prev.leaseTransitions ?? 0) + (ours ? 0 : 1) : 0,
    };
  }

  private observe(lease: Lease, now: number): void {
    const spec = lease.spec ?? {};
    if (!this.observed || !sameRecord(spec, this.observed)) {
      this.observed = spec;
      this.observedAt = now;
    }
    this.lease = lease;
  }

  /** One try to create, take over or renew the Lease; true when this candidate holds it now. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    // Fast path for the leader: update the copy it wrote last; any failure falls back to a read.
    if (this.leading && this.lease && this.observed?.holderIdentity === this.id) {
      try {
        const out = await this.put({ ...this.lease, spec: this.desired(now, this.observed) });
        this.observe(out, now);
        return true;
      } catch (err) {
        if (!isConflict(err)) this.onError(err);
      }
    }
    let current: Lease;
    try {
      current = await this.client.request<Lease>('GET', this.path);
    } catch (err) {
      if (!(err instanceof ApiStatusError && err.httpStatus === 404)) {
        this.onError(err);
        return false;
      }
      try {
        const created = await this.client.request<Lease>('POST', this.collection, {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.name, namespace: this.namespace },
            spec: this.desired(now, undefined),
          },
        });
        this.observe(created, this.clock.now());
        return true;
      } catch (err2) {
        if (!isConflict(err2)) this.onError(err2);
        return false;
      }
    }
    const seenAt = this.clock.now();
    this.observe(current, seenAt);
    const spec = this.observed ?? {};
    const holder = spec.holderIdentity ?? '';
    const valid = this.observedAt + (spec.leaseDurationSeconds ?? 0) * 1000 > seenAt;
    if (holder !== '' && holder !== this.id && valid) return false;
    try {
      const out = await this.put({ ...current, spec: this.desired(now, spec) });
      this.observe(out, this.clock.now());
      return true;
    } catch (err) {
      if (!isConflict(err)) this.onError(err);
      return false;
    }
  }

  private put(lease: Lease): Promise<Lease> {
    return this.client.request<Lease>('PUT', this.path, { body: lease });
  }

  /** Give the Lease back if this candidate still holds it (a few tries on conflicts). */
  private async release(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      let lease = this.lease;
      if (attempt > 0 || !lease) {
        try {
          lease = await this.client.request<Lease>('GET', this.path);
        } catch (err) {
          this.onError(err);
          return;
        }
      }
      if (lease.spec?.holderIdentity !== this.id) return;
      const now = this.clock.now();
      try {
        const out = await this.put({
          ...lease,
          spec: {
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: lease.spec?.leaseTransitions ?? 0,
          },
        });
        this.observe(out, now);
        this.reportTransition();
        return;
      } catch (err) {
        if (!isConflict(err)) {
          this.onError(err);
          return;
        }
      }
    }
  }

  private reportTransition(): void {
    const holder = this.observed?.holderIdentity ?? '';
    if (holder === this.reported) return;
    this.reported = holder;
    if (!holder) return;
    try {
      this.cb.onNewLeader?.(holder);
    } catch (err) {
      this.onError(err);
    }
  }
}

function sameRecord(a: LeaseSpec, b: LeaseSpec): boolean {
  return (
    (a.holderIdentity ?? '') === (b.holderIdentity ?? '') &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    (a.leaseTransitions ?? 0) === (b.leaseTransitions ?? 0)
  );
}

function isConflict(err: unknown): boolean {
  return err instanceof ApiStatusError && err.httpStatus === 409;
}
