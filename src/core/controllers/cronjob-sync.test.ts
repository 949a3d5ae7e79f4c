import type { CronJob, CronJobStatus, Job } from 'kubernetes-types/batch/v1.js';
import { describe, expect, it } from 'vitest';
import { parseCronSchedule } from '../api/cron-schedule.js';
import {
  CRONJOB_SCHEDULED_TIMESTAMP,
  jobFromTemplate,
  jobNameFor,
  mostRecentScheduleTime,
  nextRequeueMs,
  planCronJob,
} from './cronjob-sync.js';

const iso = (s: string) => Date.parse(s);
const Z = (t: number) => `${new Date(t).toISOString().slice(0, 19)}Z`;

function cronJob(
  spec: Partial<NonNullable<CronJob['spec']>> = {},
  status: CronJobStatus = {},
  created = '2024-05-01T12:00:30Z',
): CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'c', namespace: 'default', uid: 'cj-uid', creationTimestamp: created },
    spec: {
      schedule: '*/1 * * * *',
      concurrencyPolicy: 'Allow',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: { team: 'a' } },
        spec: {
          template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } },
        },
      },
      ...spec,
    },
    status,
  };
}

function job(
  name: string,
  opts: { finished?: 'Complete' | 'Failed'; start?: string; completion?: string; uid?: string } = {},
): Job {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: opts.uid ?? `uid-${name}`,
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'CronJob', name: 'c', uid: 'cj-uid', controller: true },
      ],
    },
    spec: { template: {} },
    status: {
      ...(opts.start ? { startTime: opts.start } : {}),
      ...(opts.completion ? { completionTime: opts.completion } : {}),
      ...(opts.finished ? { conditions: [{ type: opts.finished, status: 'True' }] } : {}),
    },
  };
}

const ref = (name: string) => ({
  kind: 'Job',
  name,
  namespace: 'default',
  uid: `uid-${name}`,
  apiVersion: 'batch/v1',
});

describe('mostRecentScheduleTime', () => {
  const every = parseCronSchedule('*/1 * * * *', { timeZone: 'UTC' });
  it.each([
    { title: 'nothing due yet', cj: cronJob(), now: '2024-05-01T12:00:59Z', want: undefined, missed: 'none' },
    {
      title: 'the first tick',
      cj: cronJob(),
      now: '2024-05-01T12:01:00Z',
      want: '2024-05-01T12:01:00Z',
      missed: 'none',
    },
    {
      title: 'a few missed: the latest',
      cj: cronJob(),
      now: '2024-05-01T12:05:30Z',
      want: '2024-05-01T12:05:00Z',
      missed: 'few',
    },
    {
      title: 'counted from the last schedule',
      cj: cronJob({}, { lastScheduleTime: '2024-05-01T12:05:00Z' }),
      now: '2024-05-01T12:05:40Z',
      want: undefined,
      missed: 'none',
    },
    {
      title: 'more than 100 missed',
      cj: cronJob({}, {}, '2024-05-01T08:00:00Z'),
      now: '2024-05-01T12:00:10Z',
      want: '2024-05-01T12:00:00Z',
      missed: 'many',
    },
    {
      title: 'the starting deadline bounds the search',
      cj: cronJob({ startingDeadlineSeconds: 30 }, {}, '2024-05-01T08:00:00Z'),
      now: '2024-05-01T12:00:10Z',
      want: '2024-05-01T12:00:00Z',
      missed: 'none',
    },
  ])('$title', ({ cj, now, want, missed }) => {
    const r = mostRecentScheduleTime(cj, iso(now), every, { includeStartingDeadline: true });
    expect(r.mostRecent === undefined ? undefined : Z(r.mostRecent)).toBe(want);
    expect(r.missed).toBe(missed);
  });

  it('works for hourly schedules in a time zone', () => {
    const cj = cronJob({ schedule: '30 9 * * *', timeZone: 'Asia/Tokyo' }, {}, '2024-05-01T00:00:00Z');
    const s = parseCronSchedule('30 9 * * *', { timeZone: 'Asia/Tokyo' });
    const r = mostRecentScheduleTime(cj, iso('2024-05-03T01:00:00Z'), s, { includeStartingDeadline: true });
    expect(Z(r.mostRecent!)).toBe('2024-05-03T00:30:00Z');
  });
});

describe('nextRequeueMs', () => {
  it.each([
    ['*/1 * * * *', {}, '2024-05-01T12:00:40Z', 20_100],
    ['*/5 * * * *', { lastScheduleTime: '2024-05-01T12:05:00Z' }, '2024-05-01T12:06:00Z', 4 * 60_000 + 100],
    ['@hourly', {}, '2024-05-01T12:30:00Z', 30 * 60_000 + 100],
  ])('%s %j at %s', (schedule, status, now, want) => {
    const cj = cronJob({ schedule }, status);
    expect(nextRequeueMs(cj, iso(now), parseCronSchedule(schedule, { timeZone: 'UTC' }))).toBe(want);
  });
});

describe('jobFromTemplate', () => {
  it('names the Job by the scheduled minute and owns it', () => {
    const t = iso('2024-05-01T12:01:00Z');
    const j = jobFromTemplate(cronJob({ timeZone: 'Europe/Paris' }), t);
    expect(j.metadata?.name).toBe(`c-${t / 60_000}`);
    expect(jobNameFor('c', t + 59_999)).toBe(j.metadata?.name);
    expect(j.metadata?.labels).toEqual({ team: 'a' });
    expect(j.metadata?.annotations?.[CRONJOB_SCHEDULED_TIMESTAMP]).toBe('2024-05-01T14:01:00+02:00');
    expect(j.metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        name: 'c',
        uid: 'cj-uid',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(j.spec?.template.spec?.restartPolicy).toBe('OnFailure');
  });
});

describe('planCronJob', () => {
  const due = iso('2024-05-01T12:01:00Z');
  const at = (s: string) => iso(s);
  it.each([
    {
      title: 'due: start a Job',
      cj: cronJob(),
      jobs: [],
      now: at('2024-05-01T12:01:00.050Z'),
      want: { create: `c-${due / 60_000}`, events: [], active: [] as string[], requeue: 60_050 },
    },
    {
      title: 'not due: only requeue',
      cj: cronJob(),
      jobs: [],
      now: at('2024-05-01T12:00:40Z'),
      want: { create: undefined, events: [], active: [], requeue: 20_100 },
    },
    {
      title: 'suspended: nothing starts',
      cj: cronJob({ suspend: true }),
      jobs: [],
      now: at('2024-05-01T12:03:00Z'),
      want: { create: undefined, events: [], active: [], requeue: undefined },
    },
    {
      title: 'already started for this time',
      cj: cronJob({}, { lastScheduleTime: '2024-05-01T12:01:00Z', active: [ref(`c-${due / 60_000}`)] }),
      jobs: [job(`c-${due / 60_000}`)],
      now: at('2024-05-01T12:01:20Z'),
      want: { create: undefined, events: [], active: [`c-${due / 60_000}`] },
    },
    {
      title: 'Forbid with a Job running',
      cj: cronJob(
        { concurrencyPolicy: 'Forbid' },
        { lastScheduleTime: '2024-05-01T12:01:00Z', active: [ref('old')] },
      ),
      jobs: [job('old')],
      now: at('2024-05-01T12:02:01Z'),
      want: { create: undefined, events: ['JobAlreadyActive'], active: ['old'] },
    },
    {
      title: 'Allow with a Job running',
      cj: cronJob({}, { lastScheduleTime: '2024-05-01T12:01:00Z', active: [ref('old')] }),
      jobs: [job('old')],
      now: at('2024-05-01T12:02:01Z'),
      want: { create: `c-${due / 60_000 + 1}`, events: [], active: ['old'], replace: [] },
    },
    {
      title: 'Replace with a Job running',
      cj: cronJob(
        { concurrencyPolicy: 'Replace' },
        { lastScheduleTime: '2024-05-01T12:01:00Z', active: [ref('old')] },
      ),
      jobs: [job('old')],
      now: at('2024-05-01T12:02:01Z'),
      want: { create: `c-${due / 60_000 + 1}`, events: [], active: ['old'], replace: ['old'] },
    },
    {
      title: 'past the starting deadline: the missed time is skipped',
      cj: cronJob({ startingDeadlineSeconds: 10 }),
      jobs: [],
      now: at('2024-05-01T12:01:30Z'),
      want: { create: undefined, events: [], active: [], requeue: 30_100 },
    },
    {
      title: 'missed many times: one catch-up and a warning',
      cj: cronJob({}, {}, '2024-05-01T08:00:00Z'),
      jobs: [],
      now: at('2024-05-01T12:00:10Z'),
      want: {
        create: `c-${at('2024-05-01T12:00:00Z') / 60_000}`,
        events: ['TooManyMissedTimes'],
        active: [],
      },
    },
    {
      title: 'a finished active Job leaves the list',
      cj: cronJob({}, { lastScheduleTime: '2024-05-01T12:01:00Z', active: [ref('done')] }),
      jobs: [job('done', { finished: 'Complete', completion: '2024-05-01T12:01:30Z' })],
      now: at('2024-05-01T12:01:40Z'),
      want: {
        create: undefined,
        events: ['SawCompletedJob'],
        active: [],
        lastSuccessful: '2024-05-01T12:01:30Z',
      },
    },
    {
      title: 'a Job the controller did not start',
      cj: cronJob({}, { lastScheduleTime: '2024-05-01T12:01:00Z' }),
      jobs: [job('manual')],
      now: at('2024-05-01T12:01:40Z'),
      want: { create: undefined, events: ['UnexpectedJob'], active: [] },
    },
    {
      title: 'an active Job confirmed missing',
      cj: cronJob({}, { lastScheduleTime: '2024-05-01T12:01:00Z', active: [ref('lost'), ref('lagging')] }),
      jobs: [],
      missing: ['uid-lost'],
      now: at('2024-05-01T12:01:40Z'),
      want: { create: undefined, events: ['MissingJob'], active: ['lagging'] },
    },
    {
      title: 'a schedule that does not parse',
      cj: cronJob({ schedule: 'every minute' }),
      jobs: [],
      now: at('2024-05-01T12:05:00Z'),
      want: { create: undefined, events: ['UnparseableSchedule'], active: [], requeue: undefined },
    },
  ])('$title', (c) => {
    const plan = planCronJob({
      cronJob: c.cj,
      jobs: c.jobs,
      now: c.now,
      missing: new Set(c.missing ?? []),
      localZone: 'UTC',
    });
    expect(plan.create?.job.metadata?.name).toBe(c.want.create);
    expect(plan.events.map((e) => e.reason)).toEqual(c.want.events);
    expect((plan.status.active ?? []).map((r) => r.name)).toEqual(c.want.active);
    if ('requeue' in c.want) expect(plan.requeueAfterMs).toBe(c.want.requeue);
    if ('replace' in c.want) expect(plan.replace.map((r) => r.name)).toEqual(c.want.replace);
    if ('lastSuccessful' in c.want) expect(plan.status.lastSuccessfulTime).toBe(c.want.lastSuccessful);
  });

  it('prunes finished Jobs beyond the history limits, oldest first', () => {
    const jobs = [
      ...[1, 2, 3, 4, 5].map((i) =>
        job(`ok-${i}`, { finished: 'Complete', start: `2024-05-01T10:0${i}:00Z` }),
      ),
      job('bad-1', { finished: 'Failed', start: '2024-05-01T09:00:00Z' }),
      job('bad-2', { finished: 'Failed', start: '2024-05-01T09:30:00Z' }),
      job('running', { start: '2024-05-01T08:00:00Z' }),
    ];
    const cj = cronJob(
      { suspend: true, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 },
      {
        active: [ref('running')],
      },
    );
    const plan = planCronJob({ cronJob: cj, jobs, now: iso('2024-05-01T12:00:00Z'), localZone: 'UTC' });
    expect(plan.prune.map((j) => j.metadata?.name)).toEqual(['ok-1', 'ok-2', 'bad-1']);
  });

  it('drives a minute schedule with a fake clock: one Job per tick', () => {
    let cj = cronJob();
    const created: string[] = [];
    for (let now = iso('2024-05-01T12:00:30Z'); now <= iso('2024-05-01T12:05:30Z'); now += 10_000) {
      const plan = planCronJob({ cronJob: cj, jobs: [], now, localZone: 'UTC' });
      if (plan.create) {
        created.push(Z(plan.create.scheduledTime));
        cj = { ...cj, status: { ...plan.status, lastScheduleTime: Z(plan.create.scheduledTime) } };
      }
    }
    expect(created).toEqual([
      '2024-05-01T12:01:00Z',
      '2024-05-01T12:02:00Z',
      '2024-05-01T12:03:00Z',
      '2024-05-01T12:04:00Z',
      '2024-05-01T12:05:00Z',
    ]);
  });
});
