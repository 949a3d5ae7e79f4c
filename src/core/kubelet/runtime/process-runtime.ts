/**
 * The process runtime: a container is a process group started from command + args.
 *
 * - Each instance gets a state directory `<state-dir>/<id>/` with `state.json` (what is needed to
 *   re-adopt it), two FIFOs for stdout/stderr (and one for stdin when the container asks for it),
 *   and `exit` (the exit code, written by the wrapper).
 * - The process runs under a tiny `sh` wrapper in its own session (so it survives the kubelet),
 *   started by the long-lived helper shell of spawn-helper.ts (no fork from the kubelet's event
 *   loop; `spawner: 'node'` forks from Node where the helper is not supported): the wrapper joins
 *   the container's cgroups (cgroups.ts), makes the bind mounts (root mode, inside
 *   `unshare --mount` entered through `nsenter --net=<pod netns>`), runs the command, and records
 *   its exit code in `exit`; the kubelet (not the parent) learns the end from that file when the
 *   output FIFOs reach EOF, or from a 1 s poll of /proc. A TERM that arrives between the
 *   wrapper's fork and the command's exec is swallowed by the wrapper's trap; the kill path's
 *   SIGKILL after the grace period covers it.
 * - Output goes into FIFOs that the child holds open read-write: a kubelet that restarts loses
 *   nothing (up to the pipe buffer, 64 KiB; then the container blocks on write until the kubelet is
 *   back). The kubelet reads them (non-blocking, as sockets) and writes CRI log lines.
 * - Signals go to the whole process group; an exec runs through nsenter into the wrapper's
 *   namespaces (root) or as a plain process with the container's environment (rootless).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { podTrace } from '../../client/pod-trace.js';
import { CriLogWriter, LineSplitter } from '../cri-log.js';
import { KubeletError } from '../errors.js';
import type { CgroupManager } from './cgroups.js';
import { PtyResizer, ptyArgv, ptyEnv } from './pty.js';
import type {
  AttachHandle,
  ContainerConfig,
  ContainerInfo,
  ContainerRuntime,
  ExecProcess,
  ExitStatus,
} from './runtime.js';
import { SpawnHelper } from './spawn-helper.js';

/**
 * The wrapper: $0 = exit file, $1 = the cgroup.procs files to join (space-separated, may be
 * empty), $2 = number of mounts, then (source, target, ro|rw) triples, then the command. Signals are trapped (not ignored, so the command gets default dispositions) so the
 * wrapper outlives a SIGTERM to the group and records the command's status.
 */
export const WRAPPER = [
  'x=$0; g=$1; n=$2; shift 2',
  'for f in $g; do echo $$ > "$f" || { echo "k8ts: cannot join cgroup $f" >&2; echo 128 > "$x"; exit 128; }; done',
  'm() { if [ -d "$1" ]; then mkdir -p "$2"; elif [ ! -e "$2" ]; then mkdir -p "$(dirname "$2")" && : > "$2"; fi',
  '  mount --bind "$1" "$2" || return 1',
  '  if [ "$3" = ro ]; then mount -o remount,bind,ro "$2" || return 1; fi; }',
  'while [ "$n" -gt 0 ]; do m "$1" "$2" "$3" || { echo "k8ts: cannot mount $1 at $2" >&2; echo 128 > "$x"; exit 128; }; shift 3; n=$((n-1)); done',
  'trap : TERM INT HUP QUIT',
  '"$@"; c=$?; echo $c > "$x"; exit $c',
].join('\n');

export interface ProcessRuntimeOptions {
  /** Where instance state lives (`<data-dir>/runtime`). */
  stateDir: string;
  logMaxBytes?: number | undefined;
  logMaxFiles?: number | undefined;
  /** How often adopted processes (not our children) are checked for exit (ms, default 1000). */
  pollMs?: number | undefined;
  log?: ((line: string) => void) | undefined;
  /**
   * Who forks containers: the long-lived helper shell (default, when the machine supports it) or
   * Node itself (`node`, the fallback).
   */
  spawner?: 'helper' | 'node' | undefined;
  /** Applies resource limits (root mode on a machine with cgroups); none = not enforced. */
  cgroups?: CgroupManager | undefined;
}

interface Instance {
  info: ContainerInfo;
  dir: string;
  child?: ChildProcess | undefined;
  procStart: string;
  exit?: ExitStatus | undefined;
  exited: Promise<ExitStatus>;
  resolveExit: (e: ExitStatus) => void;
  pumps: Promise<void>[];
  sockets: net.Socket[];
  writer?: CriLogWriter | undefined;
  listeners: Set<(stream: 'stdout' | 'stderr', data: Buffer) => void>;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), or '' when the process is gone. */
export function procStartTime(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); field 22 is rest[19]. A zombie counts as gone.
    if (rest[0] === 'Z') return '';
    return rest[19] ?? '';
  } catch {
    return '';
  }
}

function signalNumber(sig: string | null | undefined): number {
  if (!sig) return 0;
  return (osConstants.signals as Record<string, number>)[sig] ?? 0;
}

function readExitFile(dir: string): { code: number; atMs: number } | undefined {
  const p = join(dir, 'exit');
  try {
    const code = Number(readFileSync(p, 'utf8').trim());
    if (!Number.isInteger(code)) return undefined;
    return { code, atMs: statSync(p).mtimeMs };
  } catch {
    return undefined;
  }
}

export class ProcessRuntime implements ContainerRuntime {
  private readonly opts: ProcessRuntimeOptions;
  private readonly instances = new Map<string, Instance>();
  private readonly helper = new SpawnHelper();
  private readonly useHelper: boolean;
  private poller: NodeJS.Timeout | undefined;

  constructor(opts: ProcessRuntimeOptions) {
    this.opts = opts;
    mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    this.useHelper = (opts.spawner ?? 'helper') === 'helper' && SpawnHelper.supported();
  }

  private log(line: string): void {
    (this.opts.log ?? ((l: string) => console.error(l)))(line);
  }

  /** Re-adopt the instances recorded in the state directory (alive or exited while we were away). */
  adopt(): ContainerInfo[] {
    const out: ContainerInfo[] = [];
    for (const id of readdirSync(this.opts.stateDir)) {
      if (this.instances.has(id)) continue;
      const dir = join(this.opts.stateDir, id);
      let saved: { info: ContainerInfo; procStart: string };
      try {
        saved = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
      } catch {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      const inst = this.newInstance(saved.info, dir, saved.procStart);
      this.instances.set(id, inst);
      if (procStartTime(saved.info.pid) === saved.procStart) {
        this.startPumps(inst);
      } else {
        this.finish(inst, this.exitFromFile(inst, undefined, undefined));
      }
      out.push(saved.info);
    }
    this.ensurePoller();
    return out;
  }

  private newInstance(info: ContainerInfo, dir: string, procStart: string): Instance {
    let resolveExit!: (e: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((r) => (resolveExit = r));
    return { info, dir, procStart, exited, resolveExit, pumps: [], sockets: [], listeners: new Set() };
  }

  async start(cfg: ContainerConfig): Promise<ContainerInfo> {
    const id = randomBytes(16).toString('hex');
    const dir = join(this.opts.stateDir, id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await mkdir(dirname(cfg.logPath), { recursive: true });
    const fifos = ['stdout', 'stderr', ...(cfg.stdin ? ['stdin'] : [])].map((f) => join(dir, f));
    podTrace('rt-dirs', `${cfg.namespace}/${cfg.podName}`);
    await this.helper.make(fifos);
    podTrace('rt-fifos', `${cfg.namespace}/${cfg.podName}`);
    // Our read ends first (non-blocking opens): output of a process that ends at once is kept.
    const readOut = openSync(fifos[0]!, constants.O_RDONLY | constants.O_NONBLOCK);
    const readErr = openSync(fifos[1]!, constants.O_RDONLY | constants.O_NONBLOCK);
    const mountArgs: string[] = [String(cfg.sandbox.mounts.length)];
    for (const m of cfg.sandbox.mounts) mountArgs.push(m.source, m.target, m.readOnly ? 'ro' : 'rw');
    const command = cfg.tty ? ptyArgv(cfg.argv) : cfg.argv;
    const env = cfg.tty ? ptyEnv(cfg.env) : cfg.env;
    const cgroup =
      this.opts.cgroups && cfg.resources
        ? await this.opts.cgroups.prepare(cfg.podUid, cfg.name, cfg.resources)
        : undefined;
    const wrapped = [
      'sh',
      '-c',
      WRAPPER,
      join(dir, 'exit'),
      cgroup?.procs.join(' ') ?? '',
      ...mountArgs,
      ...command,
    ];
    let argv = cfg.sandbox.privateMounts
      ? ['unshare', '--mount', '--propagation', 'private', '--', ...wrapped]
      : wrapped;
    if (cfg.sandbox.netnsPath) argv = ['nsenter', `--net=${cfg.sandbox.netnsPath}`, '--', ...argv];
    let cwd = cfg.workingDir;
    if (cwd && !cfg.sandbox.privateMounts && !existsSync(cwd)) await mkdir(cwd, { recursive: true });
    if (cwd && !existsSync(cwd)) cwd = undefined;
    let started: { pid: number; procStart: string; child?: ChildProcess | undefined };
    try {
      started = this.useHelper
        ? await this.helper
            .spawn({ argv, env, cwd, stdin: fifos[2], stdout: fifos[0]!, stderr: fifos[1]! })
            .then((p) => ({ pid: p.pid, procStart: p.startTime }))
        : await this.spawnFromNode(argv, { env, cwd, fifos });
    } catch (e) {
      closeSync(readOut);
      closeSync(readErr);
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    const info: ContainerInfo = {
      id,
      podUid: cfg.podUid,
      namespace: cfg.namespace,
      podName: cfg.podName,
      name: cfg.name,
      attempt: cfg.attempt,
      pid: started.pid,
      startedAtMs: Date.now(),
      logPath: cfg.logPath,
      env: cfg.env,
      workingDir: cfg.workingDir,
      sandbox: cfg.sandbox,
      stdin: cfg.stdin,
      ...(cfg.tty ? { tty: true } : {}),
      ...(cgroup ? { cgroup } : {}),
    };
    podTrace('rt-forked', `${cfg.namespace}/${cfg.podName}`);
    const inst = this.newInstance(info, dir, started.procStart);
    inst.child = started.child;
    this.instances.set(id, inst);
    this.startPumps(inst, [readOut, readErr]);
    if (started.child) {
      started.child.once('exit', (code, signal) => {
        this.finish(inst, this.exitFromFile(inst, code, signal));
      });
    } else this.ensurePoller();
    podTrace('rt-pumps', `${cfg.namespace}/${cfg.podName}`);
    await writeFile(join(dir, 'state.json'), JSON.stringify({ info, procStart: started.procStart }), {
      mode: 0o600,
    });
    return info;
  }

  /** The fallback without the helper's `env --default-signal`: a fork from the event loop. */
  private async spawnFromNode(
    argv: string[],
    o: { env: Record<string, string>; cwd: string | undefined; fifos: string[] },
  ): Promise<{ pid: number; procStart: string; child: ChildProcess }> {
    const childOut = openSync(o.fifos[0]!, constants.O_RDWR);
    const childErr = openSync(o.fifos[1]!, constants.O_RDWR);
    const childIn = o.fifos[2] ? openSync(o.fifos[2], constants.O_RDWR) : undefined;
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        detached: true,
        stdio: [childIn ?? 'ignore', childOut, childErr],
        env: o.env,
        ...(o.cwd ? { cwd: o.cwd } : {}),
      });
    } finally {
      for (const fd of [childOut, childErr, childIn]) if (fd !== undefined) closeSync(fd);
    }
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', (e) =>
        reject(new KubeletError('RUNTIME', `cannot start ${argv[0]}: ${e.message}`)),
      );
    });
    return { pid, procStart: procStartTime(pid), child };
  }

  private exitFromFile(
    inst: Instance,
    code: number | null | undefined,
    signal: string | null | undefined,
  ): ExitStatus {
    const f = readExitFile(inst.dir);
    if (f) return { exitCode: f.code, finishedAtMs: Math.min(Date.now(), f.atMs) };
    if (signal) return { exitCode: 128 + signalNumber(signal), signal, finishedAtMs: Date.now() };
    if (code !== null && code !== undefined) return { exitCode: code, finishedAtMs: Date.now() };
    // Adopted and gone without a status: killed outright (SIGKILL to the group).
    return { exitCode: 137, signal: 'SIGKILL', finishedAtMs: Date.now() };
  }

  private finish(inst: Instance, exit: ExitStatus): void {
    if (inst.exit) return;
    const cg = inst.info.cgroup;
    if (cg && this.opts.cgroups && this.opts.cgroups.oomKills(cg.dirs) > cg.oomKillsAtStart)
      exit = { ...exit, oomKilled: true };
    inst.exit = exit;
    // Let the log pumps drain what the process wrote last (bounded), then report the exit.
    const drained = Promise.race([Promise.all(inst.pumps), new Promise((r) => setTimeout(r, 300))]);
    void drained.then(() => {
      for (const s of inst.sockets) s.destroy();
      inst.writer?.close();
      inst.resolveExit(exit);
    });
  }

  private startPumps(inst: Instance, fds?: number[]): void {
    const readFds =
      fds ??
      ['stdout', 'stderr'].map((f) => openSync(join(inst.dir, f), constants.O_RDONLY | constants.O_NONBLOCK));
    try {
      inst.writer = new CriLogWriter(inst.info.logPath, {
        maxBytes: this.opts.logMaxBytes,
        maxFiles: this.opts.logMaxFiles,
      });
    } catch (e) {
      this.log(`k8ts kubelet: cannot open log ${inst.info.logPath}: ${(e as Error).message}`);
    }
    (['stdout', 'stderr'] as const).forEach((stream, i) => {
      const sock = new net.Socket({ fd: readFds[i]!, readable: true, writable: false });
      inst.sockets.push(sock);
      const split = new LineSplitter();
      inst.pumps.push(
        new Promise<void>((resolve) => {
          sock.on('data', (d: Buffer) => {
            for (const [partial, msg] of split.push(d)) inst.writer?.write(stream, partial, msg);
            for (const l of inst.listeners) l(stream, d);
          });
          const done = () => {
            for (const [partial, msg] of split.flush()) inst.writer?.write(stream, partial, msg);
            resolve();
          };
          sock.once('end', done);
          sock.once('close', done);
          sock.once('error', () => done());
        }),
      );
    });
    // EOF on both FIFOs: every writer is gone, the wrapper included (it holds them to the end).
    // Not our child (helper-started or adopted): learn the end from its exit file now.
    void Promise.all(inst.pumps).then(() => {
      if (!inst.child) this.checkGone(inst);
    });
  }

  private checkGone(inst: Instance): void {
    if (inst.exit || procStartTime(inst.info.pid) === inst.procStart) return;
    this.finish(inst, this.exitFromFile(inst, undefined, undefined));
    if (this.useHelper) this.helper.reap();
  }

  private ensurePoller(): void {
    if (this.poller) return;
    this.poller = setInterval(() => {
      for (const inst of this.instances.values()) {
        if (!inst.child) this.checkGone(inst);
      }
    }, this.opts.pollMs ?? 1000);
    this.poller.unref();
  }

  wait(id: string): Promise<ExitStatus> {
    const inst = this.instances.get(id);
    if (!inst) return Promise.resolve({ exitCode: 137, signal: 'SIGKILL', finishedAtMs: Date.now() });
    return inst.exited;
  }

  signal(id: string, signal: 'SIGTERM' | 'SIGKILL'): void {
    const inst = this.instances.get(id);
    if (!inst || inst.exit) return;
    // Never signal a recycled PID: the start time must still match.
    if (procStartTime(inst.info.pid) !== inst.procStart) return;
    try {
      process.kill(-inst.info.pid, signal);
    } catch {
      // Gone, or started a moment ago and not yet the leader of its own session (setsid).
      try {
        process.kill(inst.info.pid, signal);
      } catch {
        // gone
      }
    }
  }

  list(): ContainerInfo[] {
    return [...this.instances.values()].map((i) => i.info);
  }

  get(id: string): ContainerInfo | undefined {
    return this.instances.get(id)?.info;
  }

  /** Whether the instance has exited (known to the runtime). */
  hasExited(id: string): boolean {
    return this.instances.get(id)?.exit !== undefined;
  }

  remove(id: string): void {
    const inst = this.instances.get(id);
    if (inst && !inst.exit) return;
    this.instances.delete(id);
    rmSync(join(this.opts.stateDir, id), { recursive: true, force: true });
    if (inst?.info.cgroup) void this.opts.cgroups?.remove(inst.info.cgroup.dirs);
  }

  exec(id: string, argv: string[], opts: { stdin: boolean; tty?: boolean | undefined }): ExecProcess {
    const inst = this.instances.get(id);
    if (!inst || inst.exit) throw new KubeletError('RUNTIME', `container ${id} is not running`);
    const info = inst.info;
    const enter = info.sandbox.netnsPath !== undefined || info.sandbox.privateMounts;
    const full = enter
      ? [
          'nsenter',
          `--target=${info.pid}`,
          ...(info.sandbox.netnsPath ? ['--net'] : []),
          ...(info.sandbox.privateMounts ? ['--mount'] : []),
          ...(info.workingDir ? [`--wd=${info.workingDir}`] : []),
          '--',
          ...argv,
        ]
      : argv;
    const cwd = !enter && info.workingDir && existsSync(info.workingDir) ? info.workingDir : undefined;
    // A TTY: the pty is made outside the container's namespaces (its devpts is the host's).
    const run = opts.tty ? ptyArgv(full) : full;
    const child = spawn(run[0]!, run.slice(1), {
      env: opts.tty ? ptyEnv(info.env) : info.env,
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      ...(cwd ? { cwd } : {}),
    });
    if (!opts.tty || child.pid === undefined) return { child };
    const resizer = new PtyResizer(child.pid);
    child.once('exit', () => resizer.close());
    return { child, resize: (size) => resizer.resize(size) };
  }

  attach(id: string): AttachHandle {
    const inst = this.instances.get(id);
    if (!inst || inst.exit) throw new KubeletError('RUNTIME', `container ${id} is not running`);
    let stdin: net.Socket | null = null;
    if (inst.info.stdin) {
      // Read-write: never ENXIO, also before the process has opened its end.
      const fd = openSync(join(inst.dir, 'stdin'), constants.O_RDWR | constants.O_NONBLOCK);
      stdin = new net.Socket({ fd, readable: false, writable: true });
    }
    let resize: AttachHandle['resize'];
    if (inst.info.tty) {
      const resizer = new PtyResizer(inst.info.pid);
      void inst.exited.then(() => resizer.close());
      resize = (size) => resizer.resize(size);
    }
    return {
      stdin,
      resize,
      onOutput: (fn) => {
        inst.listeners.add(fn);
        return () => inst.listeners.delete(fn);
      },
    };
  }

  limitsEnforced(): boolean {
    return this.opts.cgroups !== undefined;
  }

  close(): void {
    this.helper.close();
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    for (const inst of this.instances.values()) {
      for (const s of inst.sockets) s.destroy();
      inst.writer?.close();
      inst.child?.removeAllListeners('exit');
      inst.child?.unref();
    }
  }
}
