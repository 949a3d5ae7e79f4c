/**
 * Parsing of resource quantities (`500m`, `128Mi`, `1e3`) into numbers, enough to compare requests
 * with limits. Precision beyond a double is not needed for that comparison.
 */

const quantityRe =
  /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;

const suffixes: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export const QUANTITY_FORMAT_MSG =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** The numeric value of a quantity (string or JSON number), or undefined when malformed. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string') return undefined;
  const m = quantityRe.exec(q.trim());
  if (m === null) return undefined;
  const num = Number(m[1]);
  const suf = m[2] ?? '';
  if (suf.startsWith('e') || suf.startsWith('E')) return num * 10 ** Number(suf.slice(1));
  const mult = suffixes[suf];
  return mult === undefined ? undefined : num * mult;
}
