/**
 * The Pod row: READY, STATUS and RESTARTS follow upstream's printPod — init container progress
 * (`Init:1/2`, `Init:CrashLoopBackOff`), restartable (sidecar) init containers counted as
 * containers, the last container's waiting/terminated reason, `Terminating` for a deleted pod that
 * has not finished, and `3 (5m ago)` restarts.
 */
import type { Container, ContainerStatus, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { age, humanDuration } from './duration.js';
import {
  AGE_COLUMN,
  column,
  NAME_COLUMN,
  type PrintedRow,
  type Printer,
  type TableRowCondition,
} from './table.js';

const COLUMNS = [
  NAME_COLUMN,
  column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
  column('Status', 'The aggregate status of the containers in this pod.'),
  column(
    'Restarts',
    'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
  ),
  AGE_COLUMN,
  column('IP', 'IP address allocated to the pod.', { priority: 1 }),
  column('Node', 'Name of the node the pod is bound to.', { priority: 1 }),
  column('Nominated Node', 'Node the scheduler nominated for a preempting pod.', { priority: 1 }),
  column('Readiness Gates', 'Readiness gate conditions that are true, of those the pod lists.', {
    priority: 1,
  }),
];

const SUCCEEDED: TableRowCondition[] = [
  { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
];
const FAILED: TableRowCondition[] = [
  { type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' },
];

function isRestartable(c: Container | undefined): boolean {
  return c?.restartPolicy === 'Always';
}

function hasTrue(conditions: readonly PodCondition[] | undefined, type: string): boolean {
  return (conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

/** Epoch ms of the container's last termination, 0 if none. */
function lastTerminated(cs: ContainerStatus): number {
  const at = cs.lastState?.terminated?.finishedAt;
  const t = at === undefined ? Number.NaN : Date.parse(at);
  return Number.isNaN(t) ? 0 : t;
}

function terminatedReason(t: { reason?: string; signal?: number; exitCode: number }, prefix: string): string {
  if (t.reason) return prefix + t.reason;
  if (t.signal) return `${prefix}Signal:${t.signal}`;
  return `${prefix}ExitCode:${t.exitCode ?? 0}`;
}

/** Cells of one pod. */
export function podRow(pod: Pod, ctx: { now: Date }): PrintedRow {
  const spec = pod.spec;
  const status = pod.status ?? {};
  const phase = status.phase ?? '';
  const initSpecs = spec?.initContainers ?? [];
  let total = spec?.containers?.length ?? 0;
  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  let sidecarRestarts = 0;
  let lastSidecarRestart = 0;

  let reason = status.reason || phase;
  for (const c of status.conditions ?? []) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initByName = new Map<string, Container>();
  for (const c of initSpecs) {
    initByName.set(c.name, c);
    if (isRestartable(c)) total++;
  }

  let initializing = false;
  const initStatuses = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i]!;
    restarts += cs.restartCount ?? 0;
    lastRestart = Math.max(lastRestart, lastTerminated(cs));
    const sidecar = isRestartable(initByName.get(cs.name));
    if (sidecar) {
      sidecarRestarts += cs.restartCount ?? 0;
      lastSidecarRestart = Math.max(lastSidecarRestart, lastTerminated(cs));
    }
    const terminated = cs.state?.terminated;
    const waiting = cs.state?.waiting;
    if (terminated !== undefined && (terminated.exitCode ?? 0) === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready) ready++;
      continue;
    }
    if (terminated !== undefined) {
      reason = terminatedReason(terminated, 'Init:');
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || hasTrue(status.conditions, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    // Walk backwards so the first container's state wins, as upstream does.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i]!;
      restarts += cs.restartCount ?? 0;
      lastRestart = Math.max(lastRestart, lastTerminated(cs));
      const waiting = cs.state?.waiting;
      const terminated = cs.state?.terminated;
      if (waiting?.reason) {
        reason = waiting.reason;
      } else if (terminated !== undefined) {
        reason = terminatedReason(terminated, '');
      } else if (cs.ready && cs.state?.running !== undefined) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning)
      reason = hasTrue(status.conditions, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleted = pod.metadata?.deletionTimestamp != null;
  if (deleted && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleted && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  const restartText =
    restarts !== 0 && lastRestart !== 0
      ? `${restarts} (${humanDuration(ctx.now.getTime() - lastRestart)} ago)`
      : String(restarts);

  const gates = spec?.readinessGates ?? [];
  let gateText = '<none>';
  if (gates.length > 0) {
    const trueGates = gates.filter((g) => {
      const c = (status.conditions ?? []).find((c) => c.type === g.conditionType);
      return c?.status === 'True';
    }).length;
    gateText = `${trueGates}/${gates.length}`;
  }

  const row: PrintedRow = {
    cells: [
      pod.metadata?.name ?? '',
      `${ready}/${total}`,
      reason,
      restartText,
      age(pod.metadata?.creationTimestamp, ctx.now),
      status.podIPs?.[0]?.ip || status.podIP || '<none>',
      spec?.nodeName || '<none>',
      status.nominatedNodeName || '<none>',
      gateText,
    ],
  };
  if (phase === 'Succeeded') row.conditions = SUCCEEDED;
  else if (phase === 'Failed') row.conditions = FAILED;
  return row;
}

export const podPrinter: Printer = { columns: COLUMNS, row: (obj, ctx) => podRow(obj as Pod, ctx) };
