/**
 * One pod on this node: its sandbox (network, resolv.conf, hosts, volumes), init containers in
 * order, the containers with their restart policy and CrashLoopBackOff, probes, and graceful
 * termination. `sync()` is level-triggered: it looks at what runs and what the pod asks for and
 * does the next steps; process exits, probe results and backoff timers call `requestSync`. Called
 * from the kubelet's queue only (never twice at once for one pod).
 */
import { rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseQuantity } from '../api/validation/quantity.js';
import type { Clock } from '../client/clock.js';
import type { KObj } from '../client/informer.js';
import { podTrace } from '../client/pod-trace.js';
import type { CrashBackoff } from './crash-backoff.js';
import { readCriLines, renderLogs } from './cri-log.js';
import { containerArgv, resolveEnv } from './env.js';
import { ConfigRefError } from './errors.js';
import { execInContainer, httpHook } from './lifecycle-hooks.js';
import { type DnsSettings, podHosts, podResolvConf } from './network/dns-config.js';
import type { PodNetwork } from './network/pod-network.js';
import type { ContainerView, PodView, Termination } from './pod-status.js';
import { type ProbeKind, type ProbeResult, ProbeWorker, probeTiming } from './probe-worker.js';
import { httpProbe, tcpProbe } from './probers.js';
import type { CgroupLimits } from './runtime/cgroups.js';
import type { ContainerInfo, ContainerRuntime, ExitStatus, Mount } from './runtime/runtime.js';
import { containerMounts, prepareVolumes, refreshVolumes, volumeEnv } from './volumes.js';

export interface PodWorkerDeps {
  runtime: ContainerRuntime;
  network: PodNetwork;
  backoff: CrashBackoff;
  clock: Clock;
  nodeName: string;
  nodeIp: string;
  dataDir: string;
  rootless: boolean;
  dns: DnsSettings;
  nodeAllocatable(): Record<string, string> | undefined;
  services(): KObj[];
  /** GET a ConfigMap or Secret (undefined on 404). */
  fetch(kind: 'configmaps' | 'secrets', namespace: string, name: string): Promise<KObj | undefined>;
  event(pod: KObj, type: 'Normal' | 'Warning', reason: string, message: string): void;
  requestSync(uid: string, delayMs?: number): void;
  requestStatus(uid: string): void;
  /** Delete the pod object for good (grace 0, uid precondition) once its containers are gone. */
  finalizeDelete(pod: KObj): Promise<void>;
  log(line: string): void;
}

interface Running {
  id: string;
  startedAtMs: number;
  attempt: number;
  /** Set when we are killing it (liveness, deletion): the reason reported. */
  killing?: string | undefined;
}

interface CState {
  name: string;
  init: boolean;
  spec: KObj;
  running?: Running | undefined;
  last?: Termination | undefined;
  prev?: Termination | undefined;
  waiting?: { reason: string; message?: string | undefined } | undefined;
  restartCount: number;
  /** Next instance number (names `<n>.log`). */
  attempt: number;
  ready: boolean;
  started: boolean;
  probes: ProbeWorker[];
}

/** Upstream's cap on the log tail used as a termination message (FallbackToLogsOnError). */
const TERMINATION_MESSAGE_FALLBACK_BYTES = 2048;

/** `<data-dir>/pods/<ns>_<pod>_<uid>`. */
export function podDirName(pod: KObj): string {
  return `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid}`;
}

export class PodWorker {
  readonly uid: string;
  pod: KObj;
  private readonly d: PodWorkerDeps;
  private readonly inits: CState[];
  private readonly containers: CState[];
  private readonly podDir: string;
  private ip: string | undefined;
  private netnsPath: string | undefined;
  private sandboxReady = false;
  private volumes = new Map<string, string>();
  private startTimeMs: number;
  private failed: { reason: string; message: string } | undefined;
  private gone = false;
  private terminating: Promise<void> | undefined;
  /** Everything stopped and released; the kubelet drops the worker. */
  finished = false;
  private adopted = false;

  constructor(pod: KObj, deps: PodWorkerDeps) {
    this.uid = pod.metadata.uid;
    this.pod = pod;
    this.d = deps;
    this.podDir = join(deps.dataDir, 'pods', podDirName(pod));
    const prevStatuses = (list: KObj[] | undefined, name: string) => list?.find((s) => s.name === name);
    const mk = (c: KObj, init: boolean): CState => {
      const prev = prevStatuses(
        init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses,
        c.name,
      );
      const restartCount: number = prev?.restartCount ?? 0;
      const st: CState = {
        name: c.name,
        init,
        spec: c,
        restartCount,
        attempt: restartCount,
        ready: false,
        started: false,
        probes: [],
      };
      // After a kubelet restart the API remembers how previous instances ended.
      const term = prev?.state?.terminated ?? prev?.lastState?.terminated;
      if (term) st.last = fromApiTermination(term);
      return st;
    };
    this.inits = ((pod.spec?.initContainers ?? []) as KObj[]).map((c) => mk(c, true));
    this.containers = ((pod.spec?.containers ?? []) as KObj[]).map((c) => mk(c, false));
    const st = Date.parse(pod.status?.startTime ?? '');
    this.startTimeMs = Number.isNaN(st) ? deps.clock.now() : st;
  }

  /** `namespace/name`. */
  get key(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  /** A newer version of the pod object. */
  update(pod: KObj): void {
    this.pod = pod;
  }

  /** The pod object is gone from the API (force deleted): stop everything now. */
  markGone(): void {
    this.gone = true;
  }

  /** What the status computation needs. */
  view(): PodView {
    const cv = (c: CState): ContainerView => ({
      name: c.name,
      image: c.spec.image ?? '',
      running: c.running ? { id: c.running.id, startedAtMs: c.running.startedAtMs } : undefined,
      last: c.last,
      prev: c.prev,
      waiting: c.running ? undefined : c.waiting,
      restartCount: c.restartCount,
      ready: c.ready,
      started: c.started,
    });
    return {
      pod: this.pod,
      hostIp: this.d.nodeIp,
      podIp: this.ip,
      startTimeMs: this.startTimeMs,
      sandboxReady: this.sandboxReady,
      inits: this.inits.map(cv),
      containers: this.containers.map(cv),
      initialized: this.initsDone(),
      failed: this.failed,
      nowMs: this.d.clock.now(),
    };
  }

  /** The running instance of a container (streaming: exec, attach, logs). */
  containerInstance(name: string): { id: string; attempt: number } | undefined {
    const c = this.containers.find((x) => x.name === name) ?? this.inits.find((x) => x.name === name);
    return c?.running ? { id: c.running.id, attempt: c.running.attempt } : undefined;
  }

  /** Log path of a container instance (`previous`: the one before the current/last). */
  logPath(name: string, previous: boolean): string | undefined {
    const c = this.containers.find((x) => x.name === name) ?? this.inits.find((x) => x.name === name);
    if (!c) return undefined;
    const current = c.running ? c.running.attempt : c.attempt - 1;
    const n = previous ? current - 1 : current;
    if (n < 0) return undefined;
    return join(this.podDir, c.name, `${n}.log`);
  }

  containerNames(): string[] {
    return this.containers.map((c) => c.name);
  }

  podIp(): string | undefined {
    return this.ip;
  }

  private initsDone(): boolean {
    return this.inits.every((c) => !c.running && c.last?.exitCode === 0);
  }

  private restartPolicy(): string {
    return this.pod.spec?.restartPolicy ?? 'Always';
  }

  private terminal(): boolean {
    if (this.failed) return true;
    if (!this.initsDone()) return false;
    const policy = this.restartPolicy();
    if (policy === 'Always') return false;
    return this.containers.every(
      (c) => !c.running && c.last !== undefined && (policy === 'Never' || c.last.exitCode === 0),
    );
  }

  /** Take over instances that survived a kubelet restart (once, on the first sync). */
  private adopt(): void {
    if (this.adopted) return;
    this.adopted = true;
    const net = this.pod.spec?.hostNetwork ? { ip: this.d.nodeIp } : this.d.network.get(this.uid);
    if (net) {
      this.ip = net.ip;
      this.netnsPath = 'netnsPath' in net ? net.netnsPath : undefined;
    }
    const mine = this.d.runtime.list().filter((i) => i.podUid === this.uid);
    for (const info of mine) {
      const c = [...this.inits, ...this.containers].find((x) => x.name === info.name);
      if (!c || c.running) {
        this.d.runtime.signal(info.id, 'SIGKILL');
        continue;
      }
      const prev = (
        c.init ? this.pod.status?.initContainerStatuses : this.pod.status?.containerStatuses
      )?.find((s: KObj) => s.name === c.name);
      c.running = { id: info.id, startedAtMs: info.startedAtMs, attempt: info.attempt };
      c.attempt = Math.max(c.attempt, info.attempt + 1);
      c.restartCount = Math.max(c.restartCount, info.attempt);
      // Keep what the API said about readiness: no Ready blip because the kubelet restarted.
      c.ready = prev?.ready === true;
      c.started = prev?.started !== false;
      if (prev?.lastState?.terminated) c.last = fromApiTermination(prev.lastState.terminated);
      else c.last = undefined;
      this.watchExit(c, info.id);
      this.startProbes(c, { adopted: true });
    }
  }

  /** One pass of the pod's state machine. */
  async sync(): Promise<void> {
    if (this.finished) return;
    this.adopt();
    if (this.gone || this.pod.metadata?.deletionTimestamp) {
      await this.terminate();
      return;
    }
    if (this.terminal()) {
      await this.releaseSandbox();
      this.d.requestStatus(this.uid);
      return;
    }
    if (!this.sandboxReady) {
      const ok = await this.setUpSandbox();
      podTrace('kl-sandbox', this.key);
      // On success the status is written once the containers started (below): one write, not two.
      if (!ok) {
        this.d.requestStatus(this.uid);
        return;
      }
    }
    // Init containers, one at a time, in order.
    for (const c of this.inits) {
      if (c.running) return;
      if (c.last?.exitCode === 0) continue;
      if (c.last) {
        if (this.restartPolicy() === 'Never') {
          this.failed = { reason: 'Failed', message: `init container ${c.name} failed` };
          this.d.requestStatus(this.uid);
          return;
        }
        if (!this.backoffReady(c)) return;
      }
      await this.startContainer(c);
      this.d.requestStatus(this.uid);
      return;
    }
    for (const c of this.containers) {
      if (c.running) continue;
      if (c.last) {
        const policy = this.restartPolicy();
        const restart = policy === 'Always' || (policy === 'OnFailure' && c.last.exitCode !== 0);
        if (!restart) continue;
        if (!this.backoffReady(c)) continue;
      }
      await this.startContainer(c);
    }
    this.d.requestStatus(this.uid);
  }

  /** Whether a container that exited may restart now; if not, it waits in CrashLoopBackOff. */
  private backoffReady(c: CState): boolean {
    const key = `${this.uid}/${c.name}`;
    const now = this.d.clock.now();
    const finished = c.last?.finishedAtMs ?? now;
    if (this.d.backoff.inBackoff(key, finished, now)) {
      const at = this.d.backoff.restartAt(key, finished);
      const delay = this.d.backoff.delay(key);
      c.waiting = {
        reason: 'CrashLoopBackOff',
        message: `back-off ${formatDuration(delay)} restarting failed container=${c.name} pod=${this.pod.metadata.name}_${this.pod.metadata.namespace}(${this.uid})`,
      };
      this.d.event(this.pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
      this.d.requestSync(this.uid, Math.max(0, at - now));
      this.d.requestStatus(this.uid);
      return false;
    }
    this.d.backoff.next(key, now);
    return true;
  }

  private async fetchAll(): Promise<{
    cms: Map<string, KObj | undefined>;
    secrets: Map<string, KObj | undefined>;
  }> {
    const ns: string = this.pod.metadata.namespace;
    const { configMaps: cmNames, secrets: secretNames } = refNames(this.pod);
    const cms = new Map<string, KObj | undefined>();
    const secrets = new Map<string, KObj | undefined>();
    await Promise.all([
      ...[...cmNames].map(async (n) => cms.set(n, await this.d.fetch('configmaps', ns, n))),
      ...[...secretNames].map(async (n) => secrets.set(n, await this.d.fetch('secrets', ns, n))),
    ]);
    return { cms, secrets };
  }

  private async setUpSandbox(): Promise<boolean> {
    const pod = this.pod;
    try {
      if (pod.spec?.hostNetwork) {
        this.ip = this.d.nodeIp;
      } else {
        if (!this.d.network.ready()) {
          this.d.requestSync(this.uid, 500);
          return false;
        }
        const net = await this.d.network.setUp(pod);
        this.ip = net.ip;
        this.netnsPath = net.netnsPath;
      }
      await mkdir(join(this.podDir, 'etc'), { recursive: true });
      const [{ cms, secrets }] = await Promise.all([
        this.fetchAll(),
        writeFile(join(this.podDir, 'etc', 'resolv.conf'), podResolvConf(pod, this.d.dns)),
        writeFile(join(this.podDir, 'etc', 'hosts'), podHosts(pod, this.ip, this.d.dns.clusterDomain)),
      ]);
      this.volumes = prepareVolumes(pod, this.podDir, {
        configMap: (_ns, n) => cms.get(n),
        secret: (_ns, n) => secrets.get(n),
        podIP: this.ip,
        hostIP: this.d.nodeIp,
        nodeAllocatable: this.d.nodeAllocatable(),
      });
      this.sandboxReady = true;
      const limits = [...((pod.spec?.containers ?? []) as KObj[])].some((c) => c.resources?.limits);
      if (limits && !this.d.runtime.limitsEnforced?.())
        this.d.event(
          pod,
          'Warning',
          'LimitsNotEnforced',
          'cpu/memory limits are not enforced: this node has no writable cgroup hierarchies (rootless, or no memory/cpu controller)',
        );
      return true;
    } catch (e) {
      const msg = (e as Error).message;
      const reason = e instanceof ConfigRefError ? 'FailedMount' : 'FailedCreatePodSandBox';
      this.d.event(pod, 'Warning', reason, msg);
      this.d.log(`k8ts kubelet: pod ${this.key}: ${reason}: ${msg}`);
      this.d.requestSync(this.uid, 2000);
      return false;
    }
  }

  /** Names of the ConfigMaps and Secrets the pod's volumes and env refer to. */
  references(): { configMaps: Set<string>; secrets: Set<string> } {
    return refNames(this.pod);
  }

  /** Rewrite configMap/secret volumes whose sources changed (called from the kubelet's queue). */
  async refreshVolumes(): Promise<void> {
    if (!this.sandboxReady || this.finished || this.terminating) return;
    const { cms, secrets } = await this.fetchAll();
    const changed = refreshVolumes(this.pod, this.podDir, {
      configMap: (_ns, n) => cms.get(n),
      secret: (_ns, n) => secrets.get(n),
      podIP: this.ip ?? '',
      hostIP: this.d.nodeIp,
      nodeAllocatable: this.d.nodeAllocatable(),
    });
    if (changed.length) this.d.log(`k8ts kubelet: pod ${this.key}: refreshed volumes ${changed.join(', ')}`);
  }

  private async startContainer(c: CState): Promise<void> {
    const pod = this.pod;
    const { cms, secrets } = await this.fetchAll();
    let env: Map<string, string>;
    try {
      env = resolveEnv(pod, c.spec, {
        configMap: (_ns, n) => cms.get(n),
        secret: (_ns, n) => secrets.get(n),
        services: this.d.services(),
        podIP: this.ip ?? '',
        hostIP: this.d.nodeIp,
        nodeAllocatable: this.d.nodeAllocatable(),
      });
    } catch (e) {
      if (!(e instanceof ConfigRefError)) throw e;
      c.waiting = { reason: 'CreateContainerConfigError', message: e.message };
      this.d.event(pod, 'Warning', 'Failed', `Error: ${e.message}`);
      this.d.requestSync(this.uid, 5000);
      this.d.requestStatus(this.uid);
      return;
    }
    const argv = containerArgv(c.spec, env);
    if (!argv) {
      const message = `the k8ts process runtime cannot pull or run images: container "${c.name}" (image "${c.spec.image ?? ''}") has no command; set command (and args) to a program on this node`;
      if (c.waiting?.reason !== 'ErrImagePull') this.d.event(pod, 'Warning', 'Failed', message);
      c.waiting = { reason: 'ErrImagePull', message };
      this.d.requestStatus(this.uid);
      return;
    }
    const full: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: pod.spec?.hostname || pod.metadata.name,
      HOME: '/root',
      K8TS_POD_IP: this.ip ?? '',
      K8TS_POD_NAME: pod.metadata.name,
      K8TS_POD_NAMESPACE: pod.metadata.namespace,
      K8TS_POD_DIR: this.podDir,
      ...(this.d.rootless
        ? {
            ...volumeEnv(this.volumes),
            K8TS_RESOLV_CONF: join(this.podDir, 'etc', 'resolv.conf'),
            K8TS_HOSTS: join(this.podDir, 'etc', 'hosts'),
          }
        : {}),
    };
    for (const [k, v] of env) full[k] = v;
    const attempt = c.attempt;
    const mounts: Mount[] = this.d.rootless
      ? []
      : [
          { source: join(this.podDir, 'etc', 'resolv.conf'), target: '/etc/resolv.conf', readOnly: false },
          { source: join(this.podDir, 'etc', 'hosts'), target: '/etc/hosts', readOnly: false },
          ...containerMounts(c.spec, this.volumes),
        ];
    let info: ContainerInfo;
    try {
      info = await this.d.runtime.start({
        podUid: this.uid,
        namespace: pod.metadata.namespace,
        podName: pod.metadata.name,
        name: c.name,
        attempt,
        argv,
        env: full,
        workingDir: c.spec.workingDir,
        logPath: join(this.podDir, c.name, `${attempt}.log`),
        stdin: c.spec.stdin === true,
        tty: c.spec.tty === true,
        resources: containerResources(c.spec),
        sandbox: { netnsPath: this.netnsPath, privateMounts: !this.d.rootless, mounts },
      });
    } catch (e) {
      c.waiting = { reason: 'RunContainerError', message: (e as Error).message };
      this.d.event(pod, 'Warning', 'Failed', `Error: ${(e as Error).message}`);
      this.d.requestSync(this.uid, 5000);
      return;
    }
    podTrace('kl-spawned', this.key);
    if (attempt > 0 || c.last) c.restartCount = Math.max(c.restartCount, attempt);
    c.attempt = attempt + 1;
    c.running = { id: info.id, startedAtMs: info.startedAtMs, attempt };
    c.waiting = undefined;
    c.ready = false;
    c.started = false;
    this.d.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    this.watchExit(c, info.id);
    this.startProbes(c, { adopted: false });
    const postStart = c.spec.lifecycle?.postStart;
    if (postStart) void this.runPostStart(c, info.id, postStart);
  }

  private async runPostStart(c: CState, id: string, hook: KObj): Promise<void> {
    const r = await this.runHook(id, c.spec, hook, 30_000);
    if (!r.ok && c.running?.id === id) {
      this.d.event(this.pod, 'Warning', 'FailedPostStartHook', r.message);
      c.running.killing = 'FailedPostStartHook';
      await this.kill(c, 2);
    }
  }

  private runHook(id: string, container: KObj, hook: KObj, timeoutMs: number): Promise<ProbeResult> {
    if (hook.exec?.command) return execInContainer(this.d.runtime, id, hook.exec.command, timeoutMs);
    if (hook.httpGet) return httpHook(hook.httpGet, this.ip ?? '127.0.0.1', container, timeoutMs);
    if (hook.sleep?.seconds)
      return new Promise((r) =>
        setTimeout(() => r({ ok: true }), Math.min(timeoutMs, hook.sleep.seconds * 1000)),
      );
    return Promise.resolve({ ok: true });
  }

  private watchExit(c: CState, id: string): void {
    void this.d.runtime.wait(id).then((exit) => this.onExit(c, id, exit));
  }

  private onExit(c: CState, id: string, exit: ExitStatus): void {
    if (c.running?.id !== id) return;
    for (const p of c.probes) p.stop();
    c.probes = [];
    const killing = c.running.killing;
    c.prev = c.last;
    c.last = {
      exitCode: exit.exitCode,
      reason: exit.oomKilled ? 'OOMKilled' : exit.exitCode === 0 ? 'Completed' : 'Error',
      startedAtMs: c.running.startedAtMs,
      finishedAtMs: exit.finishedAtMs,
      containerId: id,
      message: this.terminationMessage(c, c.running.attempt, exit.exitCode),
    };
    c.running = undefined;
    c.ready = false;
    c.started = false;
    c.waiting = undefined;
    this.d.runtime.remove(id);
    if (!killing || killing === 'liveness' || killing === 'startup')
      this.d.log(`k8ts kubelet: pod ${this.key} container ${c.name} exited with ${exit.exitCode}`);
    this.d.requestSync(this.uid);
    this.d.requestStatus(this.uid);
  }

  /**
   * terminationMessagePolicy FallbackToLogsOnError: a failed container's message is the end of its
   * log, at most 80 lines and 2048 bytes, as upstream. (The terminationMessagePath file is not
   * read yet: the process runtime has no container rootfs to put it in, TODO(#4).)
   */
  private terminationMessage(c: CState, attempt: number, exitCode: number): string | undefined {
    if (c.spec.terminationMessagePolicy !== 'FallbackToLogsOnError' || exitCode === 0) return undefined;
    const text = renderLogs(readCriLines(join(this.podDir, c.name, `${attempt}.log`)), {
      tailLines: 80,
      timestamps: false,
    });
    const bytes = Buffer.from(text);
    const tail = bytes
      .subarray(Math.max(0, bytes.length - TERMINATION_MESSAGE_FALLBACK_BYTES))
      .toString('utf8');
    return tail || undefined;
  }

  private probeFn(c: CState, id: string, probe: KObj): (timeoutMs: number) => Promise<ProbeResult> {
    return (timeoutMs) => {
      const host = this.ip ?? '127.0.0.1';
      if (probe.httpGet) return httpProbe(probe.httpGet, { host, container: c.spec, timeoutMs });
      if (probe.tcpSocket) return tcpProbe(probe.tcpSocket, { host, container: c.spec, timeoutMs });
      if (probe.exec?.command) return execInContainer(this.d.runtime, id, probe.exec.command, timeoutMs);
      return Promise.resolve({
        ok: false,
        message: 'gRPC probes are not supported by the k8ts kubelet (TODO(#4))',
      });
    };
  }

  private startProbes(c: CState, opts: { adopted: boolean }): void {
    if (c.init || !c.running) return;
    const run = c.running;
    const spec = c.spec;
    const startup = spec.startupProbe;
    const hasReadiness = spec.readinessProbe !== undefined && spec.readinessProbe !== null;
    if (!startup) c.started = true;
    else if (opts.adopted && c.started) {
      // startup already passed before the restart
    }
    if (!hasReadiness && c.started) c.ready = true;
    const mk = (kind: ProbeKind, probe: KObj, initial?: boolean) =>
      new ProbeWorker({
        kind,
        timing: probeTiming(probe),
        startedAtMs: run.startedAtMs,
        probe: this.probeFn(c, run.id, probe),
        started: () => c.started,
        clock: this.d.clock,
        ...(initial !== undefined ? { initial } : {}),
        onResult: (ok, message) => this.onProbe(c, run.id, kind, ok, message),
      });
    if (startup && !c.started) c.probes.push(mk('startup', startup));
    if (spec.livenessProbe) c.probes.push(mk('liveness', spec.livenessProbe));
    if (hasReadiness) c.probes.push(mk('readiness', spec.readinessProbe, opts.adopted ? c.ready : undefined));
    for (const p of c.probes) p.start();
  }

  private onProbe(c: CState, id: string, kind: ProbeKind, ok: boolean, message: string): void {
    if (c.running?.id !== id) return;
    const label = kind[0]!.toUpperCase() + kind.slice(1);
    if (kind === 'readiness') {
      c.ready = ok && c.started;
      if (!ok) this.d.event(this.pod, 'Warning', 'Unhealthy', `Readiness probe failed: ${message}`);
      this.d.requestStatus(this.uid);
      return;
    }
    if (kind === 'startup' && ok) {
      c.started = true;
      if (!c.spec.readinessProbe) c.ready = true;
      this.d.requestStatus(this.uid);
      return;
    }
    // liveness or startup failure: kill; the restart policy decides what follows.
    this.d.event(this.pod, 'Warning', 'Unhealthy', `${label} probe failed: ${message}`);
    this.d.event(
      this.pod,
      'Normal',
      'Killing',
      `Container ${c.name} failed ${kind} probe, will be restarted`,
    );
    c.running.killing = kind;
    c.ready = false;
    this.d.requestStatus(this.uid);
    const grace = this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    void this.kill(c, grace);
  }

  /** preStop (if asked), SIGTERM to the group, SIGKILL after `graceSeconds`; resolves on exit. */
  private async kill(c: CState, graceSeconds: number, opts: { preStop?: boolean } = {}): Promise<void> {
    const run = c.running;
    if (!run) return;
    for (const p of c.probes) p.stop();
    const deadline = Date.now() + graceSeconds * 1000;
    const exited = this.d.runtime.wait(run.id);
    const preStop = c.spec.lifecycle?.preStop;
    if (opts.preStop && preStop && graceSeconds > 0) {
      const r = await Promise.race([
        this.runHook(run.id, c.spec, preStop, Math.max(1, deadline - Date.now())),
        exited.then(() => ({ ok: true }) as ProbeResult),
      ]);
      if (!r.ok) this.d.event(this.pod, 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${r.message}`);
    }
    this.d.runtime.signal(run.id, 'SIGTERM');
    const left = Math.max(0, deadline - Date.now());
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), left)),
    ]);
    if (timedOut) this.d.runtime.signal(run.id, 'SIGKILL');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }

  /** Graceful termination of the whole pod, then release and (if still in the API) final delete. */
  private terminate(): Promise<void> {
    this.terminating ??= this.doTerminate();
    return this.terminating;
  }

  private async doTerminate(): Promise<void> {
    const pod = this.pod;
    const grace: number = this.gone
      ? Math.min(2, pod.metadata?.deletionGracePeriodSeconds ?? 2)
      : (pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
    const running = [...this.inits, ...this.containers].filter((c) => c.running);
    for (const c of running) {
      c.running!.killing = 'deletion';
      this.d.event(pod, 'Normal', 'Killing', `Stopping container ${c.name}`);
    }
    await Promise.all(running.map((c) => this.kill(c, grace, { preStop: true })));
    await this.releaseSandbox();
    this.d.requestStatus(this.uid);
    if (!this.gone) {
      try {
        await this.d.finalizeDelete(this.pod);
      } catch (e) {
        this.d.log(`k8ts kubelet: final delete of ${this.key} failed: ${(e as Error).message}`);
        this.terminating = undefined;
        this.d.requestSync(this.uid, 1000);
        return;
      }
    }
    rmSync(this.podDir, { recursive: true, force: true });
    this.d.backoff.forgetPrefix(`${this.uid}/`);
    this.finished = true;
  }

  private async releaseSandbox(): Promise<void> {
    if (this.pod.spec?.hostNetwork) return;
    if (!this.d.network.get(this.uid)) return;
    try {
      await this.d.network.tearDown(this.uid);
    } catch (e) {
      this.d.log(`k8ts kubelet: tearing down the network of ${this.key}: ${(e as Error).message}`);
    }
  }

  /** Stop probe timers (kubelet shutdown: processes keep running). */
  stop(): void {
    for (const c of [...this.inits, ...this.containers]) for (const p of c.probes) p.stop();
  }
}

/** The ConfigMaps and Secrets a pod refers to (env, envFrom, volumes, projected sources). */
function refNames(pod: KObj): { configMaps: Set<string>; secrets: Set<string> } {
  const cmNames = new Set<string>();
  const secretNames = new Set<string>();
  const all = [...((pod.spec?.initContainers ?? []) as KObj[]), ...((pod.spec?.containers ?? []) as KObj[])];
  for (const c of all) {
    for (const f of (c.envFrom ?? []) as KObj[]) {
      if (f.configMapRef?.name) cmNames.add(f.configMapRef.name);
      if (f.secretRef?.name) secretNames.add(f.secretRef.name);
    }
    for (const e of (c.env ?? []) as KObj[]) {
      if (e.valueFrom?.configMapKeyRef?.name) cmNames.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name) secretNames.add(e.valueFrom.secretKeyRef.name);
    }
  }
  for (const v of (pod.spec?.volumes ?? []) as KObj[]) {
    if (v.configMap?.name) cmNames.add(v.configMap.name);
    if (v.secret?.secretName) secretNames.add(v.secret.secretName);
    for (const s of (v.projected?.sources ?? []) as KObj[]) {
      if (s.configMap?.name) cmNames.add(s.configMap.name);
      if (s.secret?.name) secretNames.add(s.secret.name);
    }
  }
  return { configMaps: cmNames, secrets: secretNames };
}

/** Limits and the CPU request of a container, for cgroups (undefined when it sets none). */
export function containerResources(c: KObj): CgroupLimits | undefined {
  const lim = c.resources?.limits ?? {};
  const req = c.resources?.requests ?? {};
  const mem = parseQuantity(lim.memory);
  const cpu = parseQuantity(lim.cpu);
  const cpuReq = parseQuantity(req.cpu ?? lim.cpu);
  if (mem === undefined && cpu === undefined && cpuReq === undefined) return undefined;
  return {
    ...(mem !== undefined ? { memoryBytes: Math.floor(mem) } : {}),
    ...(cpu !== undefined ? { cpuLimitMilli: Math.ceil(cpu * 1000) } : {}),
    ...(cpuReq !== undefined ? { cpuRequestMilli: Math.ceil(cpuReq * 1000) } : {}),
  };
}

function fromApiTermination(t: KObj): Termination {
  const started = Date.parse(t.startedAt ?? '');
  const finished = Date.parse(t.finishedAt ?? '');
  return {
    exitCode: t.exitCode ?? 0,
    reason: t.reason ?? (t.exitCode === 0 ? 'Completed' : 'Error'),
    startedAtMs: Number.isNaN(started) ? 0 : started,
    finishedAtMs: Number.isNaN(finished) ? 0 : finished,
    containerId: String(t.containerID ?? '').replace(/^[a-z]+:\/\//, ''),
    ...(t.message ? { message: t.message } : {}),
  };
}

/** Go-style duration for backoff messages (10s, 1m20s, 5m0s). */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${s % 60}s`;
}
