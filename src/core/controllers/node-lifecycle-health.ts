/**
 * Node health as the node lifecycle controller judges it, free of I/O: when did we last hear from
 * a node (its Lease renewTime or its Ready heartbeat changing, timed by OUR clock so skew between
 * machines does not matter), which conditions turn Unknown once it has been silent for the grace
 * period, and which NoSchedule / NoExecute taints its conditions call for.
 */
import type { KObj } from '../client/informer.js';

/** Time source; tests pass a fake one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const SYSTEM_CLOCK: Clock = { now: () => Date.now() };

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

/** Conditions the kubelet posts and the controller turns Unknown when it goes silent. */
const WATCHED_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

/** Condition -> status -> NoSchedule taint key (upstream's TaintNodesByCondition). */
const NO_SCHEDULE_BY_CONDITION: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { True: 'node.kubernetes.io/disk-pressure' },
  PIDPressure: { True: 'node.kubernetes.io/pid-pressure' },
  NetworkUnavailable: { True: 'node.kubernetes.io/network-unavailable' },
};

const MANAGED_NO_SCHEDULE = new Set([
  ...Object.values(NO_SCHEDULE_BY_CONDITION).flatMap((m) => Object.values(m)),
  TAINT_UNSCHEDULABLE,
]);
const MANAGED_NO_EXECUTE = new Set([TAINT_NOT_READY, TAINT_UNREACHABLE]);

/** RFC 3339 with second precision, as metav1.Time serializes. */
export function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** A node's condition of one type. */
export function nodeCondition(node: KObj, type: string): KObj | undefined {
  return (node.status?.conditions as KObj[] | undefined)?.find((c) => c.type === type);
}

/** What the tracker remembers of one node between passes. */
interface Health {
  /** When we last heard from the node, by our clock. */
  probeMs: number;
  readyHeartbeat: string | undefined;
  leaseRenewTime: string | undefined;
}

export interface HealthVerdict {
  /** Conditions to write (the full list) when the node went silent; undefined: leave status alone. */
  conditions?: KObj[];
  /** Ready was True and is no longer (by the kubelet or by this pass): mark its pods not ready. */
  becameNotReady: boolean;
}

export interface NodeHealthTrackerOptions {
  clock: Clock;
  /** Silence allowed once the node has posted Ready (nodeMonitorGracePeriod). */
  gracePeriodMs: number;
  /** Silence allowed before a node first posts Ready (nodeStartupGracePeriod). */
  startupGracePeriodMs: number;
}

/** Per-node probe bookkeeping; called from the controller's monitor pass only. */
export class NodeHealthTracker {
  private readonly opts: NodeHealthTrackerOptions;
  private readonly health = new Map<string, Health>();
  /** Ready status seen at the end of the previous pass, per node. */
  private readonly lastReady = new Map<string, string | undefined>();

  constructor(opts: NodeHealthTrackerOptions) {
    this.opts = opts;
  }

  /** Judge one node, given its Lease in kube-node-lease (if any). */
  check(node: KObj, lease: KObj | undefined): HealthVerdict {
    const name: string = node.metadata.name;
    const now = this.opts.clock.now();
    const ready = nodeCondition(node, 'Ready');
    const heartbeat: string | undefined = ready?.lastHeartbeatTime;
    const renew: string | undefined = lease?.spec?.renewTime;
    let h = this.health.get(name);
    if (!h) {
      h = { probeMs: now, readyHeartbeat: heartbeat, leaseRenewTime: renew };
      this.health.set(name, h);
    } else {
      if (heartbeat !== h.readyHeartbeat) {
        h.readyHeartbeat = heartbeat;
        h.probeMs = now;
      }
      if (renew !== undefined && renew !== h.leaseRenewTime) {
        h.leaseRenewTime = renew;
        h.probeMs = now;
      }
    }
    const grace = ready ? this.opts.gracePeriodMs : this.opts.startupGracePeriodMs;
    let conditions: KObj[] | undefined;
    if (now > h.probeMs + grace) conditions = unknownConditions(node, now);
    const before = this.lastReady.has(name) ? this.lastReady.get(name) : ready?.status;
    const after = conditions ? 'Unknown' : ready?.status;
    this.lastReady.set(name, after);
    const verdict: HealthVerdict = { becameNotReady: before === 'True' && after !== 'True' };
    if (conditions) verdict.conditions = conditions;
    return verdict;
  }

  /** Forget a deleted node. */
  forget(name: string): void {
    this.health.delete(name);
    this.lastReady.delete(name);
  }
}

/**
 * The node's conditions with the kubelet-owned ones turned Unknown, or undefined when they all
 * already are (nothing to write).
 */
export function unknownConditions(node: KObj, now: number): KObj[] | undefined {
  const conds: KObj[] = ((node.status?.conditions as KObj[] | undefined) ?? []).map((c) => ({ ...c }));
  let changed = false;
  for (const type of WATCHED_CONDITIONS) {
    const c = conds.find((x) => x.type === type);
    if (!c) {
      conds.push({
        type,
        status: 'Unknown',
        reason: 'NodeStatusNeverUpdated',
        message: 'Kubelet never posted node status.',
        lastHeartbeatTime: node.metadata.creationTimestamp,
        lastTransitionTime: rfc3339(now),
      });
      changed = true;
    } else if (c.status !== 'Unknown') {
      c.status = 'Unknown';
      c.reason = 'NodeStatusUnknown';
      c.message = 'Kubelet stopped posting node status.';
      c.lastTransitionTime = rfc3339(now);
      changed = true;
    }
  }
  return changed ? conds : undefined;
}

/**
 * The taints a node should carry given its conditions and spec.unschedulable: other taints are
 * kept as they are, managed ones are added (NoExecute ones stamped with timeAdded) or removed.
 * Undefined when nothing changes.
 */
export function desiredTaints(node: KObj, now: number): KObj[] | undefined {
  const current: KObj[] = (node.spec?.taints as KObj[] | undefined) ?? [];
  const wantNoSchedule = new Set<string>();
  for (const [type, byStatus] of Object.entries(NO_SCHEDULE_BY_CONDITION)) {
    const c = nodeCondition(node, type);
    const key = c ? byStatus[c.status] : undefined;
    if (key) wantNoSchedule.add(key);
  }
  if (node.spec?.unschedulable) wantNoSchedule.add(TAINT_UNSCHEDULABLE);
  const wantNoExecute = new Set<string>();
  const ready = nodeCondition(node, 'Ready')?.status;
  if (ready === 'False') wantNoExecute.add(TAINT_NOT_READY);
  if (ready === 'Unknown') wantNoExecute.add(TAINT_UNREACHABLE);

  const out: KObj[] = [];
  let changed = false;
  for (const t of current) {
    const managed =
      (t.effect === 'NoSchedule' && MANAGED_NO_SCHEDULE.has(t.key)) ||
      (t.effect === 'NoExecute' && MANAGED_NO_EXECUTE.has(t.key));
    const wanted =
      (t.effect === 'NoSchedule' && wantNoSchedule.has(t.key)) ||
      (t.effect === 'NoExecute' && wantNoExecute.has(t.key));
    if (managed && !wanted) {
      changed = true;
      continue;
    }
    out.push(t);
  }
  const has = (key: string, effect: string) => out.some((t) => t.key === key && t.effect === effect);
  for (const key of wantNoSchedule) {
    if (!has(key, 'NoSchedule')) {
      out.push({ key, effect: 'NoSchedule' });
      changed = true;
    }
  }
  for (const key of wantNoExecute) {
    if (!has(key, 'NoExecute')) {
      out.push({ key, effect: 'NoExecute', timeAdded: rfc3339(now) });
      changed = true;
    }
  }
  return changed ? out : undefined;
}
