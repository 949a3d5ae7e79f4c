/**
 * Validation of batch/v1 CronJob: the schedule parses (the parser the controller runs), the time
 * zone is a known IANA name, the policy enums, the history limits, and the embedded job template
 * validated like a Job's spec (its selector is always generated, so none may be given).
 */
import type { CronJob } from 'kubernetes-types/batch/v1.js';
import { CronParseError, isKnownTimeZone, parseCronSchedule } from '../cron-schedule.js';
import { type FieldError, invalid, notSupported, required } from '../field-error.js';
import { validateNonNegative } from './common.js';
import { validateJobSpec } from './workloads.js';

/** A Job name is a DNS-1035 label (63); the controller appends `-<minutes>` (11 characters). */
const MAX_CRONJOB_NAME = 63 - 11;

const CONCURRENCY_POLICIES = ['Allow', 'Forbid', 'Replace'];

const ZONE_PART = /^[A-Za-z.\-_0-9+]{1,14}$/;

function validateTimeZone(zone: string | undefined): FieldError[] {
  const p = 'spec.timeZone';
  if (zone === undefined || zone === null) return [];
  if (zone === '') return [invalid(p, zone, 'timeZone must be nil or non-empty string')];
  for (const part of zone.split('/')) {
    if (part === '.' || part === '..' || part.startsWith('-') || !ZONE_PART.test(part)) {
      return [invalid(p, zone, `unknown time zone ${zone}`)];
    }
  }
  if (zone.toLowerCase() === 'local') {
    return [
      invalid(
        p,
        zone,
        'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones',
      ),
    ];
  }
  return isKnownTimeZone(zone) ? [] : [invalid(p, zone, `unknown time zone ${zone}`)];
}

function validateSchedule(schedule: string, allowTZ: boolean, timeZone: string | undefined): FieldError[] {
  const p = 'spec.schedule';
  const errs: FieldError[] = [];
  try {
    parseCronSchedule(schedule, { timeZone: 'UTC' });
  } catch (e) {
    if (!(e instanceof CronParseError)) throw e;
    errs.push(invalid(p, schedule, e.message));
  }
  if (allowTZ && schedule.includes('TZ') && timeZone !== undefined) {
    errs.push(invalid(p, schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
  } else if (!allowTZ && schedule.includes('TZ')) {
    errs.push(invalid(p, schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  }
  return errs;
}

function validateCronJobSpec(cj: CronJob, old: CronJob | undefined): FieldError[] {
  const spec = cj.spec;
  if (spec === undefined || spec === null) return [required('spec', '')];
  const errs: FieldError[] = [];
  if (!spec.schedule) errs.push(required('spec.schedule', ''));
  else {
    // A TZ prefix is accepted only on objects that already had one (created before it was banned).
    const allowTZ = old?.spec?.schedule?.includes('TZ') ?? false;
    errs.push(...validateSchedule(spec.schedule, allowTZ, spec.timeZone));
  }
  errs.push(...validateNonNegative(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds'));
  const cp = spec.concurrencyPolicy;
  if (cp === undefined || cp === '') errs.push(required('spec.concurrencyPolicy', ''));
  else if (!CONCURRENCY_POLICIES.includes(cp))
    errs.push(notSupported('spec.concurrencyPolicy', cp, CONCURRENCY_POLICIES));
  const jt = spec.jobTemplate?.spec;
  if (jt === undefined || jt === null) errs.push(required('spec.jobTemplate.spec.template', ''));
  else {
    errs.push(...validateJobSpec(jt, 'spec.jobTemplate.spec'));
    if (jt.selector !== undefined && jt.selector !== null) {
      errs.push(invalid('spec.jobTemplate.spec.selector', jt.selector, '`selector` will be auto-generated'));
    }
    if (jt.manualSelector === true) {
      errs.push(notSupported('spec.jobTemplate.spec.manualSelector', true, ['nil', 'false']));
    }
  }
  errs.push(...validateNonNegative(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit'));
  errs.push(...validateNonNegative(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit'));
  errs.push(...validateTimeZone(spec.timeZone));
  return errs;
}

/** A new CronJob: its spec, and a name short enough for the Jobs it will create. */
export function validateCronJob(cj: CronJob): FieldError[] {
  const errs = validateCronJobSpec(cj, undefined);
  const name = cj.metadata?.name ?? '';
  if (name.length > MAX_CRONJOB_NAME) {
    errs.push(invalid('metadata.name', name, `must be no more than ${MAX_CRONJOB_NAME} characters`));
  }
  return errs;
}

/** A CronJob update: the spec rules (not the name length, so old long-named objects stay editable). */
export function validateCronJobUpdate(cj: CronJob, old: CronJob): FieldError[] {
  return validateCronJobSpec(cj, old);
}
