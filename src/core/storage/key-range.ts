/**
 * Key ranges for prefix scans. Keys are compared in byte order (SQLite BINARY collation over UTF-8),
 * which equals Unicode code point order, so a prefix range is `[prefix, prefixRangeEnd(prefix))`.
 */

const MAX_CODE_POINT = 0x10ffff;
const SURROGATE_START = 0xd800;
const SURROGATE_END = 0xdfff;

/**
 * The smallest key greater than every key that starts with `prefix`, or undefined when no such key
 * exists (empty prefix, or a prefix made only of U+10FFFF), meaning the range has no upper bound.
 */
export function prefixRangeEnd(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < MAX_CODE_POINT) {
      let next = last + 1;
      // Surrogate code points cannot be encoded in UTF-8; the next real code point follows them.
      if (next >= SURROGATE_START && next <= SURROGATE_END) next = SURROGATE_END + 1;
      points.push(String.fromCodePoint(next));
      return points.join('');
    }
  }
  return undefined;
}

/** Compares two keys in byte (UTF-8) order, as SQLite and etcd do: negative, zero or positive. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
