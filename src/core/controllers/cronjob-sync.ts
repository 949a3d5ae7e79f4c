/**
 * The pure part of the CronJob controller (upstream pkg/controller/cronjob, v2): which scheduled
 * time is due, whether to start a Job for it (concurrencyPolicy, startingDeadlineSeconds,
 * suspend), the Job to create, the status (active refs, lastScheduleTime, lastSuccessfulTime),
 * the finished Jobs beyond the history limits, and when to look again. No I/O; cronjob.ts runs it.
 *
 * Missed schedules are caught up at most once: only the most recent missed time starts a Job,
 * as upstream; more than 100 missed times also raise a TooManyMissedTimes warning.
 */
import type { CronJob, CronJobStatus, Job } from 'kubernetes-types/batch/v1.js';
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import { type CronSchedule, formatInZone, parseCronSchedule } from '../api/cron-schedule.js';

export const CRONJOB_SCHEDULED_TIMESTAMP = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

/** Requeue padding after the next schedule time, against small clock skews (upstream's 100 ms). */
export const NEXT_SCHEDULE_DELTA_MS = 100;

const MANY_MISSED = 100;

export type Missed = 'none' | 'few' | 'many';

export interface MostRecent {
  /** The time scheduling is counted from (creation, last schedule or the starting deadline). */
  earliest: number;
  /** The most recent scheduled time at or before now, if any was missed. */
  mostRecent?: number | undefined;
  missed: Missed;
}

export class InvalidScheduleError extends Error {
  readonly code = 'InvalidSchedule';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidScheduleError';
  }
}

function ms(ts: string | undefined | null): number | undefined {
  if (!ts) return undefined;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? undefined : t;
}

function rfc3339(t: number): string {
  return `${new Date(t).toISOString().slice(0, 19)}Z`;
}

/**
 * The most recent unmet scheduled time of a CronJob at `now`. The count of missed times is an
 * estimate from the interval between two consecutive activations, as upstream's.
 */
export function mostRecentScheduleTime(
  cj: CronJob,
  now: number,
  schedule: CronSchedule,
  opts: { includeStartingDeadline: boolean },
): MostRecent {
  let earliest = ms(cj.status?.lastScheduleTime) ?? ms(cj.metadata?.creationTimestamp) ?? now;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (opts.includeStartingDeadline && sds !== undefined && sds !== null) {
    earliest = Math.max(earliest, now - sds * 1000);
  }
  const t1 = schedule.next(earliest);
  if (t1 === undefined || now < t1) return { earliest, missed: 'none' };
  const t2 = schedule.next(t1);
  if (t2 === undefined || now < t2) return { earliest, mostRecent: t1, missed: 'none' };
  const between = Math.round((t2 - t1) / 1000);
  if (between < 1)
    throw new InvalidScheduleError('time difference between two schedules is less than 1 second');
  const elapsed = Math.floor((now - t1) / 1000);
  const missedCount = Math.floor(elapsed / between) + 1;
  // Start a little before the estimated last run and walk forward to the exact one.
  let t = schedule.next(t1 + (missedCount - 2) * between * 1000);
  let mostRecent: number | undefined;
  while (t !== undefined && t <= now) {
    mostRecent = t;
    t = schedule.next(t);
  }
  const missed: Missed = missedCount > MANY_MISSED ? 'many' : 'few';
  return { earliest, mostRecent, missed };
}

/** Delay until the CronJob should be looked at again (the next activation plus the padding). */
export function nextRequeueMs(cj: CronJob, now: number, schedule: CronSchedule): number | undefined {
  let from: number;
  try {
    const r = mostRecentScheduleTime(cj, now, schedule, { includeStartingDeadline: false });
    from = r.mostRecent ?? (r.missed === 'none' ? r.earliest : now);
  } catch {
    from = now;
  }
  const next = schedule.next(from);
  return next === undefined ? undefined : next + NEXT_SCHEDULE_DELTA_MS - now;
}

/** The schedule of a CronJob, in its `spec.timeZone` (a TZ prefix in the schedule wins). */
export function cronJobSchedule(cj: CronJob, localZone?: string): CronSchedule {
  const zone = cj.spec?.timeZone ?? localZone;
  return parseCronSchedule(cj.spec?.schedule ?? '', zone === undefined ? {} : { timeZone: zone });
}

/** `<cronjob>-<scheduled time in minutes since the epoch>`, as upstream names the Jobs. */
export function jobNameFor(cronJobName: string, scheduledTime: number): string {
  return `${cronJobName}-${Math.floor(scheduledTime / 60_000)}`;
}

/** The Job a CronJob starts for `scheduledTime`: its template, owned by the CronJob. */
export function jobFromTemplate(cj: CronJob, scheduledTime: number): Job {
  const tpl = structuredClone(cj.spec?.jobTemplate ?? {});
  const annotations = { ...(tpl.metadata?.annotations ?? {}) };
  annotations[CRONJOB_SCHEDULED_TIMESTAMP] = formatInZone(scheduledTime, cj.spec?.timeZone ?? undefined);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobNameFor(cj.metadata?.name ?? '', scheduledTime),
      namespace: cj.metadata?.namespace ?? 'default',
      labels: { ...(tpl.metadata?.labels ?? {}) },
      annotations,
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          name: cj.metadata?.name ?? '',
          uid: cj.metadata?.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: tpl.spec ?? { template: {} },
  };
}

/** The reference kept in `status.active`. */
export function jobRef(job: Job): ObjectReference {
  return {
    kind: 'Job',
    namespace: job.metadata?.namespace ?? '',
    name: job.metadata?.name ?? '',
    uid: job.metadata?.uid ?? '',
    apiVersion: 'batch/v1',
    resourceVersion: job.metadata?.resourceVersion ?? '',
  };
}

function finishedType(job: Job): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return c.type;
  }
  return undefined;
}

export interface CronJobEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface CronJobPlanInput {
  cronJob: CronJob;
  /** Jobs the CronJob controls (cache). */
  jobs: readonly Job[];
  now: number;
  /** Uids of active refs confirmed gone by a live read (the cache may lag). */
  missing?: ReadonlySet<string> | undefined;
  /** Zone for schedules without spec.timeZone (default: the process's local zone). */
  localZone?: string | undefined;
}

export interface CronJobPlan {
  /** Status after reconciling the active list (before any creation). */
  status: CronJobStatus;
  events: CronJobEvent[];
  /** Active Jobs to delete first (concurrencyPolicy Replace). */
  replace: ObjectReference[];
  /** The Job to start, and the scheduled time it is for. */
  create?: { job: Job; scheduledTime: number } | undefined;
  /** Finished Jobs beyond the history limits, oldest first. */
  prune: Job[];
  requeueAfterMs?: number | undefined;
}

function goRfc1123z(t: number): string {
  // Go's time.RFC1123Z in UTC: "Mon, 02 Jan 2006 15:04:05 +0000".
  const d = new Date(t);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Finished Jobs beyond the limits, by start time (unstarted last), then name. */
function pruneHistory(cj: CronJob, jobs: readonly Job[]): Job[] {
  const out: Job[] = [];
  const byStart = (a: Job, b: Job) => {
    const ta = ms(a.status?.startTime);
    const tb = ms(b.status?.startTime);
    if (ta !== tb) {
      if (ta === undefined) return 1;
      if (tb === undefined) return -1;
      return ta - tb;
    }
    return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
  };
  const limits: ['Complete' | 'Failed', number | undefined | null][] = [
    ['Complete', cj.spec?.successfulJobsHistoryLimit],
    ['Failed', cj.spec?.failedJobsHistoryLimit],
  ];
  for (const [type, limit] of limits) {
    if (limit === undefined || limit === null) continue;
    const done = jobs.filter((j) => finishedType(j) === type && !j.metadata?.deletionTimestamp).sort(byStart);
    out.push(...done.slice(0, Math.max(0, done.length - limit)));
  }
  return out;
}

/** One sync of a CronJob. */
export function planCronJob(input: CronJobPlanInput): CronJobPlan {
  const { cronJob: cj, jobs, now } = input;
  const status: CronJobStatus = structuredClone(cj.status ?? {});
  const events: CronJobEvent[] = [];
  const plan: CronJobPlan = { status, events, replace: [], prune: [] };
  let active = [...(status.active ?? [])];
  const activeUids = new Set(active.map((r) => r.uid));
  const children = new Set<string>();

  for (const j of jobs) {
    const uid = j.metadata?.uid ?? '';
    children.add(uid);
    const finished = finishedType(j);
    if (!activeUids.has(uid) && finished === undefined) {
      events.push({
        type: 'Warning',
        reason: 'UnexpectedJob',
        message: `Saw a job that the controller did not create or forgot: ${j.metadata?.name}`,
      });
    } else if (activeUids.has(uid) && finished !== undefined) {
      active = active.filter((r) => r.uid !== uid);
      events.push({
        type: 'Normal',
        reason: 'SawCompletedJob',
        message: `Saw completed job: ${j.metadata?.name}, condition: ${finished}`,
      });
    }
    if (finished === 'Complete') {
      const done = ms(j.status?.completionTime);
      const last = ms(status.lastSuccessfulTime);
      if (done !== undefined && (last === undefined || done > last))
        status.lastSuccessfulTime = rfc3339(done);
    }
  }
  for (const r of [...active]) {
    if (children.has(r.uid ?? '') || !input.missing?.has(r.uid ?? '')) continue;
    events.push({ type: 'Normal', reason: 'MissingJob', message: `Active job went missing: ${r.name}` });
    active = active.filter((x) => x.uid !== r.uid);
  }
  if (active.length > 0) status.active = active;
  else delete status.active;

  plan.prune = pruneHistory(cj, jobs);
  if (cj.metadata?.deletionTimestamp || cj.spec?.suspend === true) return plan;

  let schedule: CronSchedule;
  try {
    schedule = cronJobSchedule(cj, input.localZone);
  } catch (e) {
    const tz = cj.spec?.timeZone;
    if (tz && /time zone/.test((e as Error).message)) {
      events.push({
        type: 'Warning',
        reason: 'UnknownTimeZone',
        message: `invalid timeZone: "${tz}": ${(e as Error).message}`,
      });
    } else {
      events.push({
        type: 'Warning',
        reason: 'UnparseableSchedule',
        message: `unparseable schedule: "${cj.spec?.schedule}" : ${(e as Error).message}`,
      });
    }
    return plan;
  }
  if ((cj.spec?.schedule ?? '').includes('TZ')) {
    events.push({
      type: 'Warning',
      reason: 'UnsupportedSchedule',
      message: `CRON_TZ or TZ used in schedule "${cj.spec?.schedule}" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`,
    });
  }

  let due: MostRecent;
  try {
    due = mostRecentScheduleTime({ ...cj, status }, now, schedule, { includeStartingDeadline: true });
  } catch (e) {
    events.push({
      type: 'Warning',
      reason: 'InvalidSchedule',
      message: `invalid schedule: ${cj.spec?.schedule} : ${(e as Error).message}`,
    });
    return plan;
  }
  plan.requeueAfterMs = nextRequeueMs({ ...cj, status }, now, schedule);
  const scheduled = due.mostRecent;
  if (scheduled === undefined) return plan;
  if (due.missed === 'many') {
    events.push({
      type: 'Warning',
      reason: 'TooManyMissedTimes',
      message:
        'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew',
    });
  }
  const sds = cj.spec?.startingDeadlineSeconds;
  if (sds !== undefined && sds !== null && scheduled + sds * 1000 < now) {
    events.push({
      type: 'Warning',
      reason: 'MissSchedule',
      message: `Missed scheduled time to start a job: ${goRfc1123z(scheduled)}`,
    });
    return plan;
  }
  const name = jobNameFor(cj.metadata?.name ?? '', scheduled);
  if (active.some((r) => r.name === name) || ms(status.lastScheduleTime) === scheduled) return plan;
  const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
  if (policy === 'Forbid' && active.length > 0) {
    events.push({
      type: 'Normal',
      reason: 'JobAlreadyActive',
      message: 'Not starting job because prior execution is running and concurrency policy is Forbid',
    });
    return plan;
  }
  if (policy === 'Replace') plan.replace = [...active];
  plan.create = { job: jobFromTemplate(cj, scheduled), scheduledTime: scheduled };
  return plan;
}
