/** The rows of `k8ts token list` (kubeadm's columns), pure. */

import { humanDuration } from '../core/api/tables/duration.js';
import { type BootstrapTokenFields, readBootstrapSecret } from '../core/apiserver/auth/bootstrap-token.js';

type KObj = Record<string, any>;

export const TOKEN_LIST_HEADER = ['TOKEN', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION', 'EXTRA GROUPS'];

/** TTL left: `<forever>` without expiration, `<invalid>` once expired, else a short duration. */
export function tokenTtl(t: Pick<BootstrapTokenFields, 'expiration'>, now: Date): string {
  if (!t.expiration) return '<forever>';
  const left = t.expiration.getTime() - now.getTime();
  return left <= 0 ? '<invalid>' : humanDuration(left);
}

/** One row per bootstrap token Secret (others skipped), sorted by id. */
export function tokenRows(secrets: readonly KObj[], now: Date): string[][] {
  const tokens = secrets
    .map((s) => readBootstrapSecret(s))
    .filter((t): t is BootstrapTokenFields => t !== undefined)
    .sort((a, b) => a.id.localeCompare(b.id));
  return tokens.map((t) => [
    t.id,
    tokenTtl(t, now),
    t.expiration ? `${t.expiration.toISOString().slice(0, 19)}Z` : '<never>',
    t.usages.join(',') || '<none>',
    t.description ?? '<none>',
    t.extraGroups.join(',') || '<none>',
  ]);
}

/** Columns padded with three spaces, as kubectl's tabwriter prints. */
export function formatColumns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}
