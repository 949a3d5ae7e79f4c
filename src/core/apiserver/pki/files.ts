/** Small file helpers for key material: atomic writes with an explicit mode, reads that allow absence. */

import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';

/** Mode of private keys, tokens and kubeconfigs. */
export const SECRET_MODE = 0o600;
/** Mode of certificates (public). */
export const PUBLIC_MODE = 0o644;

/**
 * Writes `content` to `path` atomically: a temporary file in the same directory, created with
 * `mode` (so a key is never world-readable, not even for a moment), fsync'd, then renamed over.
 */
export async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.chmod(mode); // open() applies the umask; the mode must be exact
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(tmp, path);
}

/** The file's text, or undefined if it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
