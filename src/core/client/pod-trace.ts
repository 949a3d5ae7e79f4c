/**
 * An env-gated timeline of pod startup across processes: with `K8TS_POD_TRACE=1` the scheduler and
 * the kubelet print one stderr line per step of a pod's start,
 * `k8ts-trace <wall ms, 3 decimals> <step> <namespace>/<name>`, which bench/kubelet joins with its
 * own timestamps (same machine, same wall clock). Off (the default) it costs one boolean test.
 */

/** Whether tracing is on (read once, at load). */
export const POD_TRACE = process.env.K8TS_POD_TRACE === '1';

/** Print one timeline line for the pod `key` (`namespace/name`) when tracing is on. */
export function podTrace(step: string, key: string, atMs: number = traceNow()): void {
  if (!POD_TRACE) return;
  const ms = atMs;
  process.stderr.write(`k8ts-trace ${ms.toFixed(3)} ${step} ${key}\n`);
}

/** The wall clock in the unit of the trace lines (for the bench's own steps). */
export function traceNow(): number {
  return performance.timeOrigin + performance.now();
}
