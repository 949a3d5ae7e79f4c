import { describe, expect, it } from 'vitest';
import { CronParseError, formatInZone, parseCronSchedule, scheduleTimeZone } from './cron-schedule.js';

const iso = (s: string) => Date.parse(s);
const next = (spec: string, from: string, timeZone = 'UTC') => {
  const t = parseCronSchedule(spec, { timeZone }).next(iso(from));
  return t === undefined ? undefined : new Date(t).toISOString();
};

describe('parseCronSchedule: next activation', () => {
  it.each([
    // every minute, from mid-minute and from an exact boundary (strictly after)
    ['* * * * *', '2024-05-01T12:00:30Z', '2024-05-01T12:01:00.000Z'],
    ['* * * * *', '2024-05-01T12:00:00Z', '2024-05-01T12:01:00.000Z'],
    ['*/1 * * * *', '2024-05-01T12:59:59.999Z', '2024-05-01T13:00:00.000Z'],
    // steps, ranges, lists
    ['*/15 * * * *', '2024-05-01T12:16:00Z', '2024-05-01T12:30:00.000Z'],
    ['*/15 * * * *', '2024-05-01T12:45:00Z', '2024-05-01T13:00:00.000Z'],
    ['5/20 * * * *', '2024-05-01T12:26:00Z', '2024-05-01T12:45:00.000Z'],
    ['10-20/5 * * * *', '2024-05-01T12:16:00Z', '2024-05-01T12:20:00.000Z'],
    ['10-20/5 * * * *', '2024-05-01T12:21:00Z', '2024-05-01T13:10:00.000Z'],
    ['0,30 9,17 * * *', '2024-05-01T09:10:00Z', '2024-05-01T09:30:00.000Z'],
    ['0,30 9,17 * * *', '2024-05-01T09:30:00Z', '2024-05-01T17:00:00.000Z'],
    ['0 0 * * *', '2024-12-31T23:59:00Z', '2025-01-01T00:00:00.000Z'],
    ['? ? ? ? ?', '2024-05-01T12:00:00Z', '2024-05-01T12:01:00.000Z'],
    // descriptors
    ['@hourly', '2024-05-01T12:00:00Z', '2024-05-01T13:00:00.000Z'],
    ['@daily', '2024-05-01T12:00:00Z', '2024-05-02T00:00:00.000Z'],
    ['@midnight', '2024-05-01T00:00:00Z', '2024-05-02T00:00:00.000Z'],
    ['@weekly', '2024-05-01T12:00:00Z', '2024-05-05T00:00:00.000Z'], // a Wednesday -> Sunday
    ['@monthly', '2024-05-01T12:00:00Z', '2024-06-01T00:00:00.000Z'],
    ['@yearly', '2024-05-01T12:00:00Z', '2025-01-01T00:00:00.000Z'],
    ['@annually', '2024-01-01T00:00:00Z', '2025-01-01T00:00:00.000Z'],
    ['@every 90s', '2024-05-01T12:00:00.500Z', '2024-05-01T12:01:30.000Z'],
    ['@every 1h30m', '2024-05-01T12:00:00Z', '2024-05-01T13:30:00.000Z'],
    // month and weekday names, case-insensitive
    ['0 12 * jan,JUL *', '2024-05-01T00:00:00Z', '2024-07-01T12:00:00.000Z'],
    ['0 8 * * MON-FRI', '2024-05-03T09:00:00Z', '2024-05-06T08:00:00.000Z'], // Friday -> Monday
    ['0 8 * * sat', '2024-05-01T00:00:00Z', '2024-05-04T08:00:00.000Z'],
    ['0 0 * * 0', '2024-05-01T00:00:00Z', '2024-05-05T00:00:00.000Z'],
    // day-of-month and day-of-week: OR when both are restricted, AND when either is `*`
    ['0 0 13 * 5', '2024-05-01T00:00:00Z', '2024-05-03T00:00:00.000Z'], // Friday 3rd comes first
    ['0 0 13 * *', '2024-05-01T00:00:00Z', '2024-05-13T00:00:00.000Z'],
    ['0 0 */1 * 5', '2024-05-01T00:00:00Z', '2024-05-03T00:00:00.000Z'],
    // months without the day, leap years, and a day that never comes
    ['0 0 31 * *', '2024-04-01T00:00:00Z', '2024-05-31T00:00:00.000Z'],
    ['0 0 29 2 *', '2025-01-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['0 0 30 2 *', '2024-01-01T00:00:00Z', undefined],
  ])('%s after %s', (spec, from, want) => {
    expect(next(spec, from)).toBe(want);
  });

  it.each([
    // zone from the options, and from a CRON_TZ / TZ prefix (which wins)
    ['0 9 * * *', '2024-05-01T00:00:00Z', 'Asia/Tokyo', '2024-05-02T00:00:00.000Z'],
    ['0 9 * * *', '2024-01-10T00:00:00Z', 'America/New_York', '2024-01-10T14:00:00.000Z'],
    ['0 9 * * *', '2024-07-10T00:00:00Z', 'America/New_York', '2024-07-10T13:00:00.000Z'],
    ['CRON_TZ=Asia/Kolkata 30 6 * * *', '2024-05-01T00:00:00Z', 'UTC', '2024-05-01T01:00:00.000Z'],
    ['TZ=Europe/Paris 0 0 * * *', '2024-05-01T00:00:00Z', 'UTC', '2024-05-01T22:00:00.000Z'],
    // spring forward (New York, 2024-03-10 02:00 -> 03:00): 02:30 does not exist, moved by the gap
    ['30 2 * * *', '2024-03-10T05:00:00Z', 'America/New_York', '2024-03-10T07:30:00.000Z'],
    // fall back (2024-11-03 02:00 EDT -> 01:00 EST): 01:30 runs once, at its first occurrence
    ['30 1 * * *', '2024-11-03T04:00:00Z', 'America/New_York', '2024-11-03T05:30:00.000Z'],
    ['30 1 * * *', '2024-11-03T05:30:00Z', 'America/New_York', '2024-11-04T06:30:00.000Z'],
  ])('%s after %s in %s', (spec, from, zone, want) => {
    expect(next(spec, from, zone)).toBe(want);
  });

  it('runs in the local zone when none is given', () => {
    const s = parseCronSchedule('0 0 * * *');
    const t = s.next(Date.now());
    expect(t).toBeDefined();
    const d = new Date(t!);
    expect([d.getHours(), d.getMinutes()]).toEqual([0, 0]);
  });
});

describe('parseCronSchedule: errors', () => {
  it.each([
    ['', 'empty spec string'],
    ['* * *', 'expected exactly 5 fields, found 3: [* * *]'],
    ['* * * * * *', 'expected exactly 5 fields, found 6: [* * * * * *]'],
    ['60 * * * *', 'end of range (60) above maximum (59): 60'],
    ['* 24 * * *', 'end of range (24) above maximum (23): 24'],
    ['* * 0 * *', 'beginning of range (0) below minimum (1): 0'],
    ['* * * 13 *', 'end of range (13) above maximum (12): 13'],
    ['* * * * 7', 'end of range (7) above maximum (6): 7'],
    ['5-1 * * * *', 'beginning of range (5) beyond end of range (1): 5-1'],
    ['*/0 * * * *', 'step of range should be a positive number: */0'],
    ['1-2-3 * * * *', 'too many hyphens: 1-2-3'],
    ['*/2/3 * * * *', 'too many slashes: */2/3'],
    ['x * * * *', 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'],
    ['* * * foo *', 'failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax'],
    ['@often', 'unrecognized descriptor: @often'],
    ['@every soon', 'failed to parse duration @every soon: time: invalid duration "soon"'],
    [
      'CRON_TZ=Nowhere/Atlantis * * * * *',
      'provided bad location Nowhere/Atlantis: unknown time zone Nowhere/Atlantis',
    ],
  ])('%j', (spec, message) => {
    const parse = () => parseCronSchedule(spec, { timeZone: 'UTC' });
    expect(parse).toThrow(CronParseError);
    expect(parse).toThrow(message);
  });

  it('rejects an unknown zone option', () => {
    expect(() => parseCronSchedule('* * * * *', { timeZone: 'Mars/Olympus' })).toThrow(
      'unknown time zone Mars/Olympus',
    );
  });
});

describe('scheduleTimeZone', () => {
  it.each([
    ['CRON_TZ=Europe/Paris 0 * * * *', 'Europe/Paris'],
    ['TZ=UTC @hourly', 'UTC'],
    ['0 * * * *', undefined],
  ])('%s', (spec, zone) => {
    expect(scheduleTimeZone(spec)).toBe(zone);
  });
});

describe('formatInZone', () => {
  it.each([
    ['2024-05-01T12:00:00Z', undefined, '2024-05-01T12:00:00Z'],
    ['2024-05-01T12:00:00Z', 'UTC', '2024-05-01T12:00:00Z'],
    ['2024-05-01T12:00:00Z', 'Europe/Paris', '2024-05-01T14:00:00+02:00'],
    ['2024-01-01T12:00:00Z', 'America/New_York', '2024-01-01T07:00:00-05:00'],
    ['2024-05-01T12:00:00Z', 'Asia/Kolkata', '2024-05-01T17:30:00+05:30'],
  ])('%s in %s', (t, zone, want) => {
    expect(formatInZone(Date.parse(t), zone)).toBe(want);
  });
});
