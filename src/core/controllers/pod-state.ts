/** Pod state predicates every controller shares (one definition of "ready"). */

type PodLike = {
  status?: {
    conditions?: readonly { type?: string; status?: string; lastTransitionTime?: string | null }[] | null;
  } | null;
};

/** The pod's Ready condition, if it has one. */
export function readyCondition(
  pod: PodLike,
): { type?: string; status?: string; lastTransitionTime?: string | null } | undefined {
  return (pod.status?.conditions ?? []).find((c) => c.type === 'Ready');
}

/** Whether the pod's Ready condition is True. */
export function isPodReady(pod: PodLike): boolean {
  return readyCondition(pod)?.status === 'True';
}
