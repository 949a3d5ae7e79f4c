/**
 * The JSON text of an object the registry wrote, kept for its response. A write stores the object
 * without `metadata.resourceVersion` and then sets it (the storage revision) as the last key of
 * `metadata`; the response body is that same object, so its JSON is the stored text with
 * `"resourceVersion":"<rv>"` put before the closing brace of `metadata`. That saves serializing
 * every written object twice.
 *
 * Invariant: an object the registry returns from a write is not changed before it is encoded,
 * other than by the registry setting its resourceVersion (handlers render it as it is). The
 * check below catches a changed resourceVersion or metadata keys added or removed, not deeper
 * changes.
 */

interface Stored {
  text: string;
  /** Index of the `}` closing `metadata` in `text`. */
  metadataEnd: number;
  /** Whether `metadata` had keys (a comma goes before the resourceVersion). */
  metadataKeys: boolean;
  metadata: object;
  metadataKeyCount: number;
  resourceVersion: string;
}

const stored = new WeakMap<object, Stored>();

/** `obj` as stored: JSON.stringify of it without `metadata.resourceVersion`, and where `metadata` ends. */
export function encodeForStorage(obj: Record<string, any>): { text: string; metadataEnd: number } {
  const meta = obj.metadata;
  const rv = meta?.resourceVersion;
  // Deleted even when undefined, so that the caller's resourceVersion goes last in metadata.
  if (typeof meta === 'object' && meta !== null) delete meta.resourceVersion;
  try {
    // JSON.stringify's own walk of the top level (own enumerable keys in order, values that
    // serialize to nothing left out), one value at a time so that metadata's end is known.
    let text = '{';
    let metadataEnd = -1;
    for (const k of Object.keys(obj)) {
      const json = JSON.stringify(obj[k]);
      if (json === undefined) continue;
      if (text.length > 1) text += ',';
      text += `${JSON.stringify(k)}:${json}`;
      if (k === 'metadata' && json.endsWith('}')) metadataEnd = text.length - 1;
    }
    return { text: `${text}}`, metadataEnd };
  } finally {
    if (rv !== undefined) meta.resourceVersion = rv;
  }
}

/**
 * Remember that `obj`, stored as `encoded`, now carries resourceVersion `rv` (already set as the
 * last key of its metadata by the caller).
 */
export function rememberStored(
  obj: Record<string, any>,
  encoded: { text: string; metadataEnd: number },
): void {
  const meta = obj.metadata;
  if (encoded.metadataEnd < 0 || typeof meta?.resourceVersion !== 'string') return;
  stored.set(obj, {
    text: encoded.text,
    metadataEnd: encoded.metadataEnd,
    metadataKeys: encoded.text[encoded.metadataEnd - 1] !== '{',
    metadata: meta,
    metadataKeyCount: Object.keys(meta).length,
    resourceVersion: meta.resourceVersion,
  });
}

/** JSON.stringify(obj) from its stored text, or undefined when `obj` is not a remembered write result. */
export function storedJson(obj: unknown): string | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const s = stored.get(obj);
  if (s === undefined) return undefined;
  const meta = (obj as Record<string, any>).metadata;
  if (meta !== s.metadata || meta.resourceVersion !== s.resourceVersion) return undefined;
  const keys = Object.keys(meta);
  if (keys.length !== s.metadataKeyCount || keys[keys.length - 1] !== 'resourceVersion') return undefined;
  const rv = `${s.metadataKeys ? ',' : ''}"resourceVersion":${JSON.stringify(s.resourceVersion)}`;
  return `${s.text.slice(0, s.metadataEnd)}${rv}${s.text.slice(s.metadataEnd)}`;
}
