/**
 * Memory and CPU limits with cgroups (root mode, where the machine has them).
 *
 * Layout, like the kubelet's kubepods tree: `<own>/k8ts-<node>/pod<uid>/<container>`, where
 * `<own>` is the kubelet's own cgroup in that hierarchy (from /proc/self/cgroup). Nesting under
 * its own cgroup keeps pods inside whatever limits the kubelet itself runs under (a systemd unit,
 * a test harness) and never touches cgroups the kubelet does not own.
 * - cgroup v1 (`/sys/fs/cgroup/{memory,cpu}`): memory.limit_in_bytes (+ memsw, so no swapping
 *   past it), cpu.cfs_period_us / cpu.cfs_quota_us from the limit, cpu.shares from the request.
 * - cgroup v2 (`/sys/fs/cgroup/cgroup.controllers`): memory.max (+ memory.swap.max 0), cpu.max,
 *   cpu.weight; `+memory +cpu` enabled in subtree_control on the way down. v2 forbids processes
 *   in an inner cgroup with controllers on, so when the kubelet's own cgroup has processes of its
 *   own (a plain service) enabling fails and the manager reports limits as not enforced.
 * The container's wrapper writes its PID into each cgroup.procs before running the command, so
 * everything it starts is charged from the first byte. OOM kills are read from the cgroup's
 * counter (v1 memory.oom_control, v2 memory.events: `oom_kill N`).
 */
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CgroupLimits {
  memoryBytes?: number | undefined;
  /** CPU limit in millicores (quota = milli * period / 1000). */
  cpuLimitMilli?: number | undefined;
  /** CPU request in millicores (shares / weight). */
  cpuRequestMilli?: number | undefined;
}

export interface ContainerCgroup {
  /** One directory per hierarchy (v1: memory and cpu; v2: one). */
  dirs: string[];
  /** The cgroup.procs files the wrapper joins. */
  procs: string[];
  /** The OOM kill counter when the container started. */
  oomKillsAtStart: number;
}

const CFS_PERIOD_US = 100_000;

/** The files and values that set `limits` (pure). v1 entries are keyed by controller. */
export function limitWrites(
  version: 1 | 2,
  limits: CgroupLimits,
): { controller: 'memory' | 'cpu'; file: string; value: string }[] {
  const out: { controller: 'memory' | 'cpu'; file: string; value: string }[] = [];
  const mem = limits.memoryBytes !== undefined ? Math.floor(limits.memoryBytes) : undefined;
  const quota =
    limits.cpuLimitMilli !== undefined
      ? Math.max(1000, Math.ceil((limits.cpuLimitMilli * CFS_PERIOD_US) / 1000))
      : undefined;
  if (version === 1) {
    if (mem !== undefined) {
      out.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: String(mem) });
      out.push({ controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: String(mem) });
    }
    if (quota !== undefined) {
      out.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CFS_PERIOD_US) });
      out.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(quota) });
    }
    if (limits.cpuRequestMilli !== undefined)
      out.push({
        controller: 'cpu',
        file: 'cpu.shares',
        value: String(milliToShares(limits.cpuRequestMilli)),
      });
    return out;
  }
  if (mem !== undefined) {
    out.push({ controller: 'memory', file: 'memory.max', value: String(mem) });
    out.push({ controller: 'memory', file: 'memory.swap.max', value: '0' });
  }
  if (quota !== undefined)
    out.push({ controller: 'cpu', file: 'cpu.max', value: `${quota} ${CFS_PERIOD_US}` });
  if (limits.cpuRequestMilli !== undefined)
    out.push({
      controller: 'cpu',
      file: 'cpu.weight',
      value: String(sharesToWeight(milliToShares(limits.cpuRequestMilli))),
    });
  return out;
}

/** Upstream's MilliCPUToShares: 1024 per CPU, at least 2. */
export function milliToShares(milli: number): number {
  return Math.max(2, Math.floor((milli * 1024) / 1000));
}

/** The OCI conversion from v1 shares (2..262144) to v2 weight (1..10000). */
export function sharesToWeight(shares: number): number {
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}

/** The kubelet's own cgroup per v1 controller, or the v2 path (key ''), from /proc/self/cgroup. */
export function ownCgroups(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1]!.split(',')) out.set(c, m[2]!);
  }
  return out;
}

/** `oom_kill N` from memory.oom_control (v1) or memory.events (v2) text. */
export function parseOomKills(text: string): number {
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

export interface CgroupManagerOptions {
  nodeName: string;
  /** Where the hierarchies are mounted (default /sys/fs/cgroup). */
  root?: string | undefined;
}

export class CgroupManager {
  readonly version: 1 | 2;
  /** The node's parent cgroup per controller (v2: `memory` and `cpu` are the same directory). */
  private readonly parents: { memory: string; cpu: string };
  private prepared = false;

  private constructor(version: 1 | 2, parents: { memory: string; cpu: string }) {
    this.version = version;
    this.parents = parents;
  }

  /**
   * The manager for this machine, or undefined when limits cannot be applied here (no memory or
   * cpu hierarchy, or not writable: rootless).
   */
  static detect(opts: CgroupManagerOptions): CgroupManager | undefined {
    const root = opts.root ?? '/sys/fs/cgroup';
    const name = `k8ts-${opts.nodeName}`;
    let own: Map<string, string>;
    try {
      own = ownCgroups(readFileSync('/proc/self/cgroup', 'utf8'));
    } catch {
      return undefined;
    }
    if (existsSync(join(root, 'cgroup.controllers'))) {
      const controllers = readFileSync(join(root, 'cgroup.controllers'), 'utf8').split(/\s+/);
      if (!controllers.includes('memory') || !controllers.includes('cpu')) return undefined;
      const dir = join(root, own.get('') ?? '/', name);
      return writable(join(root, own.get('') ?? '/'))
        ? new CgroupManager(2, { memory: dir, cpu: dir })
        : undefined;
    }
    const mem = join(root, 'memory');
    const cpu = existsSync(join(root, 'cpu')) ? join(root, 'cpu') : join(root, 'cpu,cpuacct');
    if (!existsSync(join(mem, 'memory.limit_in_bytes')) || !existsSync(join(cpu, 'cpu.cfs_quota_us')))
      return undefined;
    const memOwn = join(mem, own.get('memory') ?? '/');
    const cpuOwn = join(cpu, own.get('cpu') ?? '/');
    if (!writable(memOwn) || !writable(cpuOwn)) return undefined;
    return new CgroupManager(1, { memory: join(memOwn, name), cpu: join(cpuOwn, name) });
  }

  /** The node's parent cgroup directories (tests, cleanup). */
  parentDirs(): string[] {
    return [...new Set([this.parents.memory, this.parents.cpu])];
  }

  private containerDirs(podUid: string, container: string): { memory: string; cpu: string } {
    return {
      memory: join(this.parents.memory, `pod${podUid}`, container),
      cpu: join(this.parents.cpu, `pod${podUid}`, container),
    };
  }

  /** v2: enable memory and cpu for the children of `dir` (idempotent). */
  private async delegate(dir: string): Promise<void> {
    await writeFile(join(dir, 'cgroup.subtree_control'), '+memory +cpu');
  }

  /** Create a container's cgroup with its limits; the wrapper joins `procs`. */
  async prepare(podUid: string, container: string, limits: CgroupLimits): Promise<ContainerCgroup> {
    const dirs = this.containerDirs(podUid, container);
    const unique = [...new Set([dirs.memory, dirs.cpu])];
    if (this.version === 2) {
      const podDir = join(this.parents.memory, `pod${podUid}`);
      if (!this.prepared) {
        await this.delegate(join(this.parents.memory, '..'));
        await mkdir(this.parents.memory, { recursive: true });
        await this.delegate(this.parents.memory);
        this.prepared = true;
      }
      await mkdir(podDir, { recursive: true });
      await this.delegate(podDir);
    }
    for (const d of unique) await mkdir(d, { recursive: true });
    for (const w of limitWrites(this.version, limits)) {
      const file = join(dirs[w.controller], w.file);
      // memsw / swap.max exist only with swap accounting: skip them where they are missing.
      if (/memsw|swap/.test(w.file) && !existsSync(file)) continue;
      await writeFile(file, w.value);
    }
    return {
      dirs: unique,
      procs: unique.map((d) => join(d, 'cgroup.procs')),
      oomKillsAtStart: this.oomKills(unique),
    };
  }

  /** OOM kills recorded in the memory cgroup among `dirs`. */
  oomKills(dirs: string[]): number {
    const file = this.version === 1 ? 'memory.oom_control' : 'memory.events';
    for (const d of dirs) {
      try {
        return parseOomKills(readFileSync(join(d, file), 'utf8'));
      } catch {
        // not the memory one
      }
    }
    return 0;
  }

  /** Remove a container's cgroups, then its pod's when that was the last one (best effort). */
  async remove(dirs: string[]): Promise<void> {
    for (const d of dirs) {
      await rmdir(d).catch(() => {});
      await rmdir(join(d, '..')).catch(() => {}); // the pod's: fails while others remain
    }
  }

  /** Remove the node's whole tree, deepest first (after its processes are gone). */
  removeAll(): void {
    for (const d of this.parentDirs()) removeTree(d);
  }
}

function writable(dir: string): boolean {
  try {
    return existsSync(join(dir, 'cgroup.procs')) && process.getuid?.() === 0;
  } catch {
    return false;
  }
}

function removeTree(dir: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return;
  }
  for (const e of entries) removeTree(join(dir, e));
  try {
    rmdirSync(dir);
  } catch {
    // busy (a process left) or gone
  }
}
