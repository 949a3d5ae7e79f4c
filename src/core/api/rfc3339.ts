/**
 * metav1.Time text: RFC 3339 in UTC with whole seconds. Every write stamps one or two of these,
 * mostly within the same second, so the last second's text is kept.
 */

let lastSecond = Number.NaN;
let lastText = '';

/** `ms` (epoch milliseconds) as RFC 3339 with seconds precision, `2024-05-01T10:00:00Z`. */
export function rfc3339Seconds(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    // toISOString throws on an invalid time, as it did before the cache.
    lastText = `${new Date(second * 1000).toISOString().slice(0, 19)}Z`;
    lastSecond = second;
  }
  return lastText;
}
