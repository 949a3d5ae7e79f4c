/** Toleration matching (upstream's Toleration.ToleratesTaint), shared by the scheduler and controllers. */

export interface TolerationLike {
  key?: string | undefined;
  operator?: string | undefined;
  value?: string | undefined;
  effect?: string | undefined;
}

export interface TaintLike {
  key?: string | undefined;
  value?: string | undefined;
  effect?: string | undefined;
}

/** Whether one toleration tolerates one taint: an empty key tolerates every key (with Exists), an empty effect every effect. */
export function toleratesTaint(tol: TolerationLike, taint: TaintLike): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (tol.key && tol.key !== taint.key) return false;
  const op = tol.operator || 'Equal';
  if (op === 'Exists') return true;
  if (op === 'Equal') return (tol.value ?? '') === (taint.value ?? '');
  return false;
}
