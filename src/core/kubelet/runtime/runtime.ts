/**
 * The container runtime interface the pod workers drive. The first implementation is the process
 * runtime (process-runtime.ts): a container is a process group. A CRI runtime (containerd) can
 * sit behind the same interface later (TODO(#4)).
 */
import type { ChildProcess } from 'node:child_process';
import type { CgroupLimits, ContainerCgroup } from './cgroups.js';

/** A path made visible to the container at `target` (root mode: a bind mount). */
export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

/** Where a pod's containers run. */
export interface Sandbox {
  /** Network namespace path (/run/netns/NAME); none = the node's network (rootless, hostNetwork). */
  netnsPath?: string | undefined;
  /** Run in a private mount namespace (root mode; rootless passes volume paths through env). */
  privateMounts: boolean;
  /** Bind mounts made inside that namespace before the command starts. */
  mounts: Mount[];
}

export interface ContainerConfig {
  podUid: string;
  namespace: string;
  podName: string;
  name: string;
  /** Instance number (restartCount at start): names the log file `<attempt>.log`. */
  attempt: number;
  argv: string[];
  env: Record<string, string>;
  workingDir?: string | undefined;
  logPath: string;
  /** Keep a stdin pipe open (container.stdin) for attach. */
  stdin: boolean;
  /** Run the process on a terminal (container.tty): `kubectl attach -it`. */
  tty?: boolean | undefined;
  /** Memory / CPU limits and CPU request (applied where the runtime can: cgroups). */
  resources?: CgroupLimits | undefined;
  sandbox: Sandbox;
}

/** A running (or adopted) container instance. */
export interface ContainerInfo {
  id: string;
  podUid: string;
  namespace: string;
  podName: string;
  name: string;
  attempt: number;
  pid: number;
  startedAtMs: number;
  logPath: string;
  env: Record<string, string>;
  workingDir?: string | undefined;
  sandbox: Sandbox;
  stdin: boolean;
  tty?: boolean | undefined;
  /** The container's cgroups, when limits are applied. */
  cgroup?: ContainerCgroup | undefined;
}

export interface ExitStatus {
  exitCode: number;
  /** The signal that ended the process group leader, if any. */
  signal?: string | undefined;
  /** The kernel's OOM killer ended it (its memory cgroup counted a kill). */
  oomKilled?: boolean | undefined;
  finishedAtMs: number;
}

export interface ExecProcess {
  child: ChildProcess;
  /** Set the terminal's window size (tty sessions only). */
  resize?: ((size: { width: number; height: number }) => void) | undefined;
}

export interface ContainerRuntime {
  /** Start a container; resolves once the process runs. */
  start(cfg: ContainerConfig): Promise<ContainerInfo>;
  /** Resolves when the container exits (also for adopted containers). */
  wait(id: string): Promise<ExitStatus>;
  /** Signal the container's whole process group; no-op when it is gone. */
  signal(id: string, signal: 'SIGTERM' | 'SIGKILL'): void;
  /**
   * Known instances not yet removed: running ones, and (after a restart) the ones adopted from the
   * state directory, including those that exited meanwhile (`wait` then resolves at once).
   */
  list(): ContainerInfo[];
  get(id: string): ContainerInfo | undefined;
  /** Forget an exited container's runtime state (its log stays). */
  remove(id: string): void;
  /** Run a command in the container's namespaces and environment (exec, exec probes, preStop). */
  exec(id: string, argv: string[], opts: { stdin: boolean; tty?: boolean | undefined }): ExecProcess;
  /** Streams of a running container: a writable stdin (if kept) and a tap on its output. */
  attach(id: string): AttachHandle;
  /** Stop log pumps and timers; containers keep running. */
  close(): void;
  /** Whether `resources` limits are enforced (cgroups available); absent = no. */
  limitsEnforced?(): boolean;
}

export interface AttachHandle {
  stdin: NodeJS.WritableStream | null;
  /** Set the container's terminal window size (containers started with tty only). */
  resize?: ((size: { width: number; height: number }) => void) | undefined;
  onOutput(fn: (stream: 'stdout' | 'stderr', data: Buffer) => void): () => void;
}
