/**
 * An env-gated timeline of pod startup across processes: with `K8TS_POD_TRACE=1` the API server,
 * the scheduler and the kubelet record one line per step of a pod's start,
 * `k8ts-trace <wall ms, 3 decimals> <step> <namespace>/<name>`, which bench/kubelet joins with its
 * own timestamps (same machine, same wall clock). Lines are buffered and written to stderr every
 * 100 ms (and at exit), so tracing a burst does not add a write per step to the processes it
 * measures. Off (the default) a step costs a boolean test and building its key.
 */
import { writeSync } from 'node:fs';

/** Whether tracing is on (read once, at load). */
export const POD_TRACE = process.env.K8TS_POD_TRACE === '1';

let buffered: string[] = [];
let timer: NodeJS.Timeout | undefined;

function flush(): void {
  timer = undefined;
  if (buffered.length === 0) return;
  const text = buffered.join('');
  buffered = [];
  try {
    writeSync(2, text);
  } catch {
    // stderr closed: the trace is lost, the process goes on
  }
}

if (POD_TRACE) process.on('exit', flush);

/** The wall clock in the unit of the trace lines (ms since the epoch, sub-ms precision). */
export function traceNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Record one timeline line for the pod `key` (`namespace/name`) when tracing is on. */
export function podTrace(step: string, key: string, atMs?: number): void {
  if (!POD_TRACE) return;
  buffered.push(`k8ts-trace ${(atMs ?? traceNow()).toFixed(3)} ${step} ${key}\n`);
  if (!timer) {
    timer = setTimeout(flush, 100);
    timer.unref();
  }
}
