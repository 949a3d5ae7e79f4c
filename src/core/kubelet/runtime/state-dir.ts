/**
 * Where the process runtime keeps its per-container state (the output FIFOs, state.json, the exit
 * file): on a tmpfs when the machine has one, as containerd keeps its state and FIFOs under /run.
 * `<data-dir>/runtime` stays the one path every reader uses (adoption, `k8ts kubelet --cleanup`):
 * it becomes a symlink to `<tmpfs>/k8ts/runtime-<hash of the data dir>`.
 *
 * Why: creating an inode on this project's VMs' ext4 costs 0.3-1 ms of kernel CPU (mkdir, a new
 * file, mkfifo), 20-70x a tmpfs; a container start created four of them in the state dir (and
 * the exit file at its end), 0.1-0.4 CPU-s for a burst of 100 pods on two cores shared with the
 * API server. The state only describes
 * processes, which a reboot ends anyway; the container logs stay under the data dir. (After a
 * reboot the restart count of a container the kubelet cannot adopt is not incremented.)
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readlinkSync, realpathSync, statfsSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** statfs f_type of tmpfs. */
const TMPFS_MAGIC = 0x01021994;

export interface RuntimeStateDirOptions {
  /** tmpfs directories to try in order (default: $XDG_RUNTIME_DIR when not root, /run, /dev/shm). */
  candidates?: string[] | undefined;
}

function defaultCandidates(): string[] {
  const out: string[] = [];
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && process.getuid?.() !== 0) out.push(xdg);
  out.push('/run', '/dev/shm');
  return out;
}

/**
 * A directory only we can write to: not a symlink, ours, not group/other-writable. /dev/shm is
 * world-writable (sticky): another user could have made `k8ts` there first and would then read the
 * state (container env) or swap files under us; checked after mkdir, since mkdir -p accepts an
 * existing directory. (In a sticky directory nobody else can rename or remove ours afterwards.)
 */
function ownedPrivateDir(dir: string): boolean {
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? st.uid;
  return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
}

function isTmpfs(dir: string): boolean {
  try {
    return statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * The runtime state directory of a kubelet data dir (always `<dataDir>/runtime`), created as a
 * symlink into a tmpfs on first use. An existing real directory is kept as it is (its containers
 * are adopted from there); a symlink whose target is gone (after a reboot) gets its target back.
 */
export function runtimeStateDir(dataDir: string, opts: RuntimeStateDirOptions = {}): string {
  const link = join(dataDir, 'runtime');
  try {
    const st = lstatSync(link);
    if (st.isSymbolicLink()) {
      const target = resolve(dataDir, readlinkSync(link));
      mkdirSync(target, { recursive: true, mode: 0o700 });
      if (!ownedPrivateDir(dirname(target)) || !ownedPrivateDir(target))
        throw new Error(
          `runtime state directory ${target} (linked from ${link}) is not private to this user`,
        );
    }
    return link;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  mkdirSync(dataDir, { recursive: true });
  const id = createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 16);
  for (const base of opts.candidates ?? defaultCandidates()) {
    if (!isTmpfs(base)) continue;
    const target = join(base, 'k8ts', `runtime-${id}`);
    try {
      mkdirSync(join(base, 'k8ts'), { recursive: true, mode: 0o711 });
      mkdirSync(target, { recursive: true, mode: 0o700 });
      if (!ownedPrivateDir(join(base, 'k8ts')) || !ownedPrivateDir(target)) continue;
      symlinkSync(target, link);
      return link;
    } catch {
      // Not writable for us: the next candidate, else the data dir itself.
    }
  }
  mkdirSync(link, { recursive: true, mode: 0o700 });
  return link;
}
