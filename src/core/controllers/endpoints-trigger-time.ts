/**
 * The last-change trigger time of a service's endpoints, as upstream's TriggerTimeTracker computes
 * it: the earliest time, among the changes since the previous sync of that service, at which one
 * of them happened (a selected pod's Ready condition transition, or the service's creation). Written
 * to `endpoints.kubernetes.io/last-change-trigger-time` so the proxy can measure network programming
 * latency from the real cause. One instance per controller; called from the sync loop only.
 */
import type { Pod, Service } from 'kubernetes-types/core/v1.js';

interface ServiceState {
  /** pod name -> its trigger time (ms) at the previous sync */
  pods: Map<string, number>;
  service: number;
}

function parseTime(s: string | undefined): number {
  if (!s) return 0;
  const t = Date.parse(s);
  return Number.isNaN(t) ? 0 : t;
}

/** Ready condition lastTransitionTime of a pod (ms since epoch), 0 when it has none. */
export function podTriggerTime(pod: Pod): number {
  const ready = (pod.status?.conditions ?? []).find((c) => c.type === 'Ready');
  return parseTime(ready?.lastTransitionTime);
}

/** Per-service memory of pod trigger times between syncs. */
export class TriggerTimeTracker {
  private readonly states = new Map<string, ServiceState>();

  /**
   * Record the current pods of `svc` and return the trigger time of this sync (ms since epoch), or
   * undefined when nothing changed since the previous call for that service.
   */
  compute(svc: Service, pods: readonly Pod[]): number | undefined {
    const key = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
    const prev = this.states.get(key);
    let min: number | undefined;
    const next: ServiceState = { pods: new Map(), service: parseTime(svc.metadata?.creationTimestamp) };
    for (const pod of pods) {
      const t = podTriggerTime(pod);
      const name = pod.metadata?.name ?? '';
      next.pods.set(name, t);
      if (t > (prev?.pods.get(name) ?? 0)) min = min === undefined ? t : Math.min(min, t);
    }
    if (next.service > (prev?.service ?? 0))
      min = min === undefined ? next.service : Math.min(min, next.service);
    this.states.set(key, next);
    return min;
  }

  /** Forget a deleted service. */
  delete(namespace: string, name: string): void {
    this.states.delete(`${namespace}/${name}`);
  }
}
