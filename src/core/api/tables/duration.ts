/**
 * Human-readable durations as kubectl prints them in AGE columns (apimachinery's
 * duration.HumanDuration): two significant units at most, coarser as the duration grows.
 */

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;

/** `5s`, `3m20s`, `4h5m`, `2d3h`, `10d`, `2y45d` for a duration in milliseconds; `<invalid>` below -1s. */
export function humanDuration(ms: number): string {
  // Go truncates toward zero when converting to whole seconds; up to a second of clock skew reads as 0s.
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 2 * MINUTE) return `${seconds}s`;
  const minutes = Math.floor(seconds / MINUTE);
  if (minutes < 10) {
    const s = seconds % MINUTE;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 3 * 60) return `${minutes}m`;
  const hours = Math.floor(seconds / HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(seconds / DAY);
  if (hours < 8 * 24) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 2 * 365 * 24) return `${days}d`;
  const years = Math.floor(seconds / YEAR);
  if (hours < 8 * 365 * 24) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** Time elapsed from an RFC 3339 timestamp to `now`, or `<unknown>` when there is no timestamp. */
export function age(ts: string | null | undefined, now: Date): string {
  if (ts === undefined || ts === null || ts === '') return '<unknown>';
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(now.getTime() - t);
}
