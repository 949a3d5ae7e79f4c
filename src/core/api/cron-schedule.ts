/**
 * Cron schedules as CronJob's `spec.schedule` reads them (the "standard" 5-field syntax that
 * upstream parses with robfig/cron): minute hour day-of-month month day-of-week, each a `*` / `?`,
 * a number or name, a range `a-b`, a step `x/n`, or a comma list of those; the descriptors
 * `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@midnight` `@hourly` and `@every <duration>`;
 * an optional `CRON_TZ=<zone> ` / `TZ=<zone> ` prefix. Times are computed in an IANA zone through
 * Intl (no zone: the process's local zone), so the API server (validation) and the CronJob
 * controller (next run) share one parser with the same error messages.
 */

export class CronParseError extends Error {
  readonly code = 'CronParseError';
  constructor(message: string) {
    super(message);
    this.name = 'CronParseError';
  }
}

/** A parsed schedule; `next` gives the first activation strictly after a time. */
export interface CronSchedule {
  /** The first activation after `after` (ms since the epoch), or undefined if none within 5 years. */
  next(after: number): number | undefined;
}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTH_NAMES: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const DOW_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

const MINUTE: Bounds = { min: 0, max: 59 };
const HOUR: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTH: Bounds = { min: 1, max: 12, names: MONTH_NAMES };
const DOW: Bounds = { min: 0, max: 6, names: DOW_NAMES };

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** One field: the allowed values, and whether it was written as an unrestricted `*` / `?`. */
interface FieldSet {
  values: Set<number>;
  star: boolean;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Go's strconv.Atoi, with its error text. */
function atoi(s: string): number {
  if (!/^[+-]?\d+$/.test(s))
    throw new CronParseError(`failed to parse int from ${s}: strconv.Atoi: parsing "${s}": invalid syntax`);
  const n = Number(s);
  if (n < 0) throw new CronParseError(`negative number (${n}) not allowed: ${s}`);
  return n;
}

function intOrName(s: string, b: Bounds): number {
  const named = b.names?.[s.toLowerCase()];
  return named ?? atoi(s);
}

function parseRange(expr: string, b: Bounds, into: FieldSet): void {
  const slash = expr.split('/');
  const dash = (slash[0] ?? '').split('-');
  let start: number;
  let end: number;
  let star = false;
  if (dash[0] === '*' || dash[0] === '?') {
    start = b.min;
    end = b.max;
    star = true;
  } else {
    start = intOrName(dash[0] ?? '', b);
    if (dash.length === 1) end = start;
    else if (dash.length === 2) end = intOrName(dash[1] ?? '', b);
    else throw new CronParseError(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (slash.length === 2) {
    step = atoi(slash[1] ?? '');
    // `N/step` means `N-max/step`.
    if (dash.length === 1) end = b.max;
    if (step > 1) star = false;
  } else if (slash.length > 2) {
    throw new CronParseError(`too many slashes: ${expr}`);
  }
  if (start < b.min)
    throw new CronParseError(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new CronParseError(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end)
    throw new CronParseError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronParseError(`step of range should be a positive number: ${expr}`);
  for (let v = start; v <= end; v += step) into.values.add(v);
  if (star) into.star = true;
}

function parseField(field: string, b: Bounds): FieldSet {
  const set: FieldSet = { values: new Set(), star: false };
  for (const part of field.split(',')) parseRange(part, b, set);
  return set;
}

/** Go's time.ParseDuration for the units a schedule would use (ns .. h), in ms. */
function parseGoDuration(s: string): number {
  const unitMs: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: MINUTE_MS,
    h: HOUR_MS,
  };
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(s);
  if (s === '0') return 0;
  if (!m) throw new Error(`time: invalid duration "${s}"`);
  let total = 0;
  for (const part of s.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (unitMs[part[2] ?? ''] ?? 0);
  }
  return m[1] === '-' ? -total : total;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string | undefined): Intl.DateTimeFormat {
  const key = zone ?? '';
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      ...(zone === undefined ? {} : { timeZone: zone }),
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(key, f);
  }
  return f;
}

/** True if Intl knows the IANA zone name. */
export function isKnownTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/**
 * Wall-clock time of instant `t` in `zone`, as a ms value whose UTC fields are the wall fields
 * (so Date's UTC getters read the local date). Seconds are dropped below a minute boundary.
 */
function toWall(t: number, zone: string | undefined): number {
  if (zone === 'UTC') return t;
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(t)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const { year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  return Date.UTC(year, month - 1, day, hour, minute, second) + (((t % 1000) + 1000) % 1000);
}

/**
 * The instant of wall time `wall` in `zone`. When the wall time occurs twice (clocks set back) the
 * earlier instant; when it does not occur (clocks set forward) it is read with the offset in force
 * before the change, i.e. moved forward by the gap, as Go's time.Date does.
 */
function fromWall(wall: number, zone: string | undefined): number {
  if (zone === 'UTC') return wall;
  const offBefore = toWall(wall - DAY_MS, zone) - (wall - DAY_MS);
  const offAfter = toWall(wall + DAY_MS, zone) - (wall + DAY_MS);
  const candidates = [wall - offBefore, wall - offAfter].sort((a, b) => a - b);
  for (const c of candidates) if (toWall(c, zone) === wall) return c;
  return wall - offBefore;
}

class SpecSchedule implements CronSchedule {
  private readonly minute: FieldSet;
  private readonly hour: FieldSet;
  private readonly dom: FieldSet;
  private readonly month: FieldSet;
  private readonly dow: FieldSet;
  private readonly zone: string | undefined;

  constructor(fields: string[], zone: string | undefined) {
    this.minute = parseField(fields[0] ?? '', MINUTE);
    this.hour = parseField(fields[1] ?? '', HOUR);
    this.dom = parseField(fields[2] ?? '', DOM);
    this.month = parseField(fields[3] ?? '', MONTH);
    this.dow = parseField(fields[4] ?? '', DOW);
    this.zone = zone;
  }

  /** Day-of-month and day-of-week are OR-ed unless either is `*`, as in Vixie cron. */
  private dayMatches(d: Date): boolean {
    const domOk = this.dom.values.has(d.getUTCDate());
    const dowOk = this.dow.values.has(d.getUTCDay());
    return this.dom.star || this.dow.star ? domOk && dowOk : domOk || dowOk;
  }

  next(after: number): number | undefined {
    const startWall = toWall(after, this.zone);
    // Walk wall-clock minutes in coarse steps: skip whole months, days and hours that cannot match.
    let w = startWall - (((startWall % MINUTE_MS) + MINUTE_MS) % MINUTE_MS) + MINUTE_MS;
    const limitYear = new Date(startWall).getUTCFullYear() + 5;
    for (;;) {
      const d = new Date(w);
      if (d.getUTCFullYear() > limitYear) return undefined;
      if (!this.month.values.has(d.getUTCMonth() + 1)) {
        w = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
        continue;
      }
      if (!this.dayMatches(d)) {
        w = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
        continue;
      }
      if (!this.hour.values.has(d.getUTCHours())) {
        w = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
        continue;
      }
      if (!this.minute.values.has(d.getUTCMinutes())) {
        w += MINUTE_MS;
        continue;
      }
      const t = fromWall(w, this.zone);
      if (t > after) return t;
      w += MINUTE_MS;
    }
  }
}

/** `@every <duration>`: activations every duration (whole seconds, at least 1 s) from the last. */
class EverySchedule implements CronSchedule {
  private readonly delayMs: number;
  constructor(delayMs: number) {
    this.delayMs = delayMs;
  }
  next(after: number): number | undefined {
    return after - (((after % 1000) + 1000) % 1000) + this.delayMs;
  }
}

/** The time zone named by a `CRON_TZ=` / `TZ=` prefix of a schedule, if any. */
export function scheduleTimeZone(spec: string): string | undefined {
  if (!spec.startsWith('TZ=') && !spec.startsWith('CRON_TZ=')) return undefined;
  const sp = spec.indexOf(' ');
  return spec.slice(spec.indexOf('=') + 1, sp < 0 ? undefined : sp);
}

export interface ParseCronOptions {
  /** IANA zone the schedule runs in when it has no TZ prefix; default: the process's local zone. */
  timeZone?: string | undefined;
}

/**
 * Parse a standard cron schedule. Throws CronParseError with robfig/cron's messages (which the
 * API server returns for an invalid `spec.schedule`).
 */
export function parseCronSchedule(spec: string, opts: ParseCronOptions = {}): CronSchedule {
  if (spec.length === 0) throw new CronParseError('empty spec string');
  let zone = opts.timeZone;
  let rest = spec;
  const prefixZone = scheduleTimeZone(spec);
  if (prefixZone !== undefined) {
    const sp = spec.indexOf(' ');
    if (sp < 0 || !isKnownTimeZone(prefixZone) || prefixZone === '') {
      throw new CronParseError(`provided bad location ${prefixZone}: unknown time zone ${prefixZone}`);
    }
    zone = prefixZone;
    rest = spec.slice(sp).trim();
  }
  if (zone !== undefined && zone !== 'UTC' && !isKnownTimeZone(zone)) {
    throw new CronParseError(`unknown time zone ${zone}`);
  }
  if (rest.startsWith('@')) {
    if (rest.startsWith('@every ')) {
      const arg = rest.slice('@every '.length);
      let ms: number;
      try {
        ms = parseGoDuration(arg);
      } catch (e) {
        throw new CronParseError(`failed to parse duration ${rest}: ${(e as Error).message}`);
      }
      return new EverySchedule(Math.max(1000, Math.floor(ms / 1000) * 1000));
    }
    const expanded = DESCRIPTORS[rest];
    if (expanded === undefined) throw new CronParseError(`unrecognized descriptor: ${rest}`);
    rest = expanded;
  }
  const fields = rest.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) {
    throw new CronParseError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  }
  return new SpecSchedule(fields, zone);
}

/**
 * RFC 3339 (seconds) of instant `t` as seen in `zone` (Go's `t.In(zone).Format(time.RFC3339)`):
 * `Z` for UTC, else the zone's offset at that instant.
 */
export function formatInZone(t: number, zone: string | undefined): string {
  const z = zone === undefined || zone === '' ? 'UTC' : zone;
  const wall = z === 'UTC' ? t : toWall(t, z);
  const base = new Date(wall).toISOString().slice(0, 19);
  if (z === 'UTC') return `${base}Z`;
  const offMin = Math.round((wall - t) / MINUTE_MS);
  const sign = offMin < 0 ? '-' : '+';
  const abs = Math.abs(offMin);
  return `${base}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
