/**
 * Cell formatting shared by the printers: label maps, label selectors, container lists and the
 * "a,b,c + N more..." lists, as upstream's printers write them.
 */
import type { Container } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';

/** `a=1,b=2` with keys sorted; `<none>` for no labels. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${labels?.[k] ?? ''}`).join(',');
}

/**
 * The selector in label-selector syntax (`app=web,tier in (a,b)`), requirements sorted by key;
 * '' for an empty or absent selector, undefined when an operator is not one of the four known.
 */
export function selectorString(sel: LabelSelector | undefined): string | undefined {
  if (sel === undefined) return '';
  const reqs: { key: string; text: string }[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {}))
    reqs.push({ key, text: `${key}=${value}` });
  for (const e of sel.matchExpressions ?? []) {
    const values = [...new Set(e.values ?? [])].sort().join(',');
    switch (e.operator) {
      case 'In':
        reqs.push({ key: e.key, text: `${e.key} in (${values})` });
        break;
      case 'NotIn':
        reqs.push({ key: e.key, text: `${e.key} notin (${values})` });
        break;
      case 'Exists':
        reqs.push({ key: e.key, text: e.key });
        break;
      case 'DoesNotExist':
        reqs.push({ key: e.key, text: `!${e.key}` });
        break;
      default:
        return undefined;
    }
  }
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return reqs.map((r) => r.text).join(',');
}

/** metav1.FormatLabelSelector: the selector string, `<none>` when empty, `<error>` when invalid. */
export function formatLabelSelector(sel: LabelSelector | undefined): string {
  const s = selectorString(sel);
  if (s === undefined) return '<error>';
  return s === '' ? '<none>' : s;
}

/** Names and images of the containers, each comma-joined. */
export function containerCells(containers: readonly Container[] | undefined): [string, string] {
  const list = containers ?? [];
  return [list.map((c) => c.name).join(','), list.map((c) => c.image ?? '').join(',')];
}

/** `a,b,c + 2 more...` when `total` exceeds the `shown` items; `empty` when nothing was shown. */
export function listWithMore(shown: readonly string[], total: number, empty: string): string {
  const text = shown.join(',');
  if (total > shown.length) return `${text} + ${total - shown.length} more...`;
  return text === '' ? empty : text;
}

/** `host:port`, bracketing IPv6 addresses like Go's net.JoinHostPort. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
