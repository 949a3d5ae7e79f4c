/**
 * The server's own join token: created on the first start (a non-expiring bootstrap token Secret
 * written through the API server's store, like the other bootstrap objects), written to
 * `<data-dir>/token` (0600) and printed. The file is the record that it was made: a restart reads
 * it and never rotates the token; a user who deleted the token (`k8ts token delete <id>`) keeps it
 * deleted. Remove the file too to get a fresh one on the next start.
 */
import { join } from 'node:path';
import { resourceForPlural } from '../core/api/resources.js';
import {
  BOOTSTRAP_TOKEN_NAMESPACE,
  bootstrapTokenSecret,
  DEFAULT_EXTRA_GROUP,
} from '../core/apiserver/auth/bootstrap-token.js';
import { readIfExists, SECRET_MODE, writeFileAtomic } from '../core/apiserver/pki/files.js';
import type { Registry } from '../core/apiserver/registry.js';
import { formatJoinToken, generateBootstrapToken, parseJoinToken } from './join-token.js';

const SECRETS = resourceForPlural('', 'v1', 'secrets')!;

/** `<data-dir>/token`. */
export function serverTokenPath(dataDir: string): string {
  return join(dataDir, 'token');
}

/** The server's join token; created (Secret + file) only when the file does not exist yet. */
export async function ensureServerJoinToken(
  registry: Registry,
  opts: { dataDir: string; caPem: string },
): Promise<{ token: string; created: boolean }> {
  const path = serverTokenPath(opts.dataDir);
  const existing = (await readIfExists(path))?.trim();
  if (existing) {
    const parsed = parseJoinToken(existing);
    // The CA never changes for a data dir, but if it was replaced the hash is refreshed.
    const token = formatJoinToken(parsed, opts.caPem);
    if (token !== existing) await writeFileAtomic(path, `${token}\n`, SECRET_MODE);
    return { token, created: false };
  }
  const t = generateBootstrapToken();
  await registry.create(
    SECRETS,
    BOOTSTRAP_TOKEN_NAMESPACE,
    bootstrapTokenSecret({
      ...t,
      usages: ['authentication', 'signing'],
      extraGroups: [DEFAULT_EXTRA_GROUP],
      description: 'k8ts server join token (made on the first start; never expires)',
    }),
    { manager: 'k8ts-server', dryRun: false },
  );
  const token = formatJoinToken(t, opts.caPem);
  await writeFileAtomic(path, `${token}\n`, SECRET_MODE);
  return { token, created: true };
}
