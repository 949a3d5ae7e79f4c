/** The server's default data dir (as `k8ts server` picks it). */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `/var/lib/k8ts` as root, `$XDG_DATA_HOME/k8ts` (`~/.local/share/k8ts`) otherwise. */
export function defaultDataDir(): string {
  if (process.getuid?.() === 0) return '/var/lib/k8ts';
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'k8ts');
}
