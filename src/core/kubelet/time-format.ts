/** The timestamp formats the kubelet writes. */

/** RFC 3339 with second precision (metav1.Time). */
export function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** RFC 3339 with microseconds (metav1.MicroTime, as a Lease's renewTime). */
export function microTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000Z`;
}

/**
 * RFC 3339 with nanoseconds, as the CRI log format writes it. `hr` adds sub-millisecond digits
 * (0-999999 ns within the millisecond) so lines written in the same millisecond stay ordered.
 */
export function rfc3339Nano(ms: number, subMsNanos = 0): string {
  const iso = new Date(ms).toISOString(); // 2026-01-01T00:00:00.123Z
  const frac = `${iso.slice(20, 23)}${String(Math.max(0, Math.min(999_999, subMsNanos))).padStart(6, '0')}`;
  return `${iso.slice(0, 19)}.${frac}Z`;
}
