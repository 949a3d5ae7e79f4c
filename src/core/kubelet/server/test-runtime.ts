/**
 * A small real StreamingRuntime for tests and benchmarks of the streaming server (not a container
 * runtime): exec spawns the command as a real process on this machine, logs are served from CRI
 * log files it writes, attach joins a long-running `sh` per container (restarted when it exits,
 * which makes a "previous" log), and port-forward dials the port on 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type Duplex, PassThrough, type Readable, Writable } from 'node:stream';
import {
  type AttachOptions,
  type ContainerRef,
  type ExecOptions,
  type LogOptions,
  StreamError,
  type StreamingRuntime,
  type StreamSession,
} from '../streams.js';

export interface TestContainer {
  name: string;
  /** Lines already in the current log. */
  log?: string[];
  /** Lines of the previous (terminated) instance. */
  previousLog?: string[];
  /** A shell script run as the container's main process; attach joins it. */
  script?: string;
}

export interface TestPod {
  namespace: string;
  name: string;
  uid?: string;
  containers: TestContainer[];
}

interface ContainerState {
  spec: TestContainer;
  dir: string;
  /** Instance number; its log is <dir>/<instance>.log. */
  instance: number;
  proc?: ChildProcess;
  attached: Set<{ out: PassThrough; done: (code: number) => void }>;
}

export interface TestRuntimeOptions {
  /** Where log files go. */
  dir: string;
  /** How often a followed log is checked for new lines. Default 50 ms. */
  followPollMs?: number;
}

/** One CRI log line: `<RFC3339Nano> <stream> F <message>`. */
export function criLine(message: string, when: Date = new Date(), stream = 'stdout'): string {
  const iso = when.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
  return `${iso} ${stream} F ${message}\n`;
}

function parseCri(line: string): { time: string; message: string } | undefined {
  const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/.exec(line);
  return m ? { time: m[1]!, message: m[4]! } : undefined;
}

export class TestRuntime implements StreamingRuntime {
  readonly #opts: TestRuntimeOptions;
  readonly #pods = new Map<string, { pod: TestPod; containers: Map<string, ContainerState> }>();
  /** Every resize received, for assertions. */
  readonly resizes: { ref: ContainerRef; width: number; height: number }[] = [];
  /** Exec'd processes still running. */
  readonly running = new Set<ChildProcess>();
  #closed = false;

  constructor(opts: TestRuntimeOptions) {
    this.#opts = opts;
  }

  /** Adds a pod; containers with a script start at once. */
  addPod(pod: TestPod): void {
    const containers = new Map<string, ContainerState>();
    for (const c of pod.containers) {
      const dir = join(this.#opts.dir, `${pod.namespace}_${pod.name}_${pod.uid ?? 'uid'}`, c.name);
      mkdirSync(dir, { recursive: true });
      const st: ContainerState = { spec: c, dir, instance: c.previousLog ? 1 : 0, attached: new Set() };
      if (c.previousLog) writeFileSync(join(dir, '0.log'), c.previousLog.map((l) => criLine(l)).join(''));
      writeFileSync(join(dir, `${st.instance}.log`), (c.log ?? []).map((l) => criLine(l)).join(''));
      containers.set(c.name, st);
      if (c.script) this.#startMain(st);
    }
    this.#pods.set(`${pod.namespace}/${pod.name}`, { pod, containers });
  }

  /** Appends a line to a container's current log. */
  appendLog(ref: ContainerRef, message: string): void {
    const st = this.#container(ref);
    appendFileSync(join(st.dir, `${st.instance}.log`), criLine(message));
  }

  /** Kills every process this runtime started. */
  close(): void {
    this.#closed = true;
    for (const p of this.running) p.kill('SIGKILL');
    for (const { containers } of this.#pods.values())
      for (const st of containers.values()) st.proc?.kill('SIGKILL');
  }

  #container(ref: ContainerRef): ContainerState {
    const p = this.#pods.get(`${ref.namespace}/${ref.pod}`);
    if (!p) throw new StreamError('NotFound', `pod "${ref.pod}" does not exist`);
    if (ref.uid && p.pod.uid && ref.uid !== p.pod.uid)
      throw new StreamError('NotFound', `pod "${ref.pod}" with uid ${ref.uid} does not exist`);
    const st = p.containers.get(ref.container);
    if (!st) throw new StreamError('NotFound', `container "${ref.container}" not found in pod "${ref.pod}"`);
    return st;
  }

  #startMain(st: ContainerState): void {
    if (this.#closed) return;
    const proc = spawn('sh', ['-c', st.spec.script!], { stdio: ['pipe', 'pipe', 'pipe'] });
    st.proc = proc;
    proc.stdin!.on('error', () => {});
    const onOut = (stream: string) => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      for (const line of text.split('\n').filter((l) => l !== ''))
        appendFileSync(join(st.dir, `${st.instance}.log`), criLine(line, new Date(), stream));
      for (const a of st.attached) a.out.write(chunk);
    };
    proc.stdout!.on('data', onOut('stdout'));
    proc.stderr!.on('data', onOut('stderr'));
    proc.once('exit', (code, signal) => {
      const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
      for (const a of [...st.attached]) a.done(exitCode);
      st.attached.clear();
      st.proc = undefined as unknown as ChildProcess;
      if (this.#closed) return;
      // restartPolicy Always: a new instance with a new log; the old one becomes "previous".
      st.instance++;
      writeFileSync(join(st.dir, `${st.instance}.log`), '');
      this.#startMain(st);
    });
  }

  async logs(ref: ContainerRef, opts: LogOptions, signal: AbortSignal): Promise<Readable> {
    const st = this.#container(ref);
    const instance = opts.previous ? st.instance - 1 : st.instance;
    const file = join(st.dir, `${instance}.log`);
    if (instance < 0 || !existsSync(file))
      throw new StreamError(
        'BadRequest',
        `previous terminated container "${ref.container}" in pod "${ref.pod}" not found`,
      );
    const since = opts.sinceTime
      ? Date.parse(opts.sinceTime)
      : opts.sinceSeconds !== undefined
        ? Date.now() - opts.sinceSeconds * 1000
        : undefined;
    const format = (line: string): string | undefined => {
      const e = parseCri(line);
      if (!e) return undefined;
      if (since !== undefined && Date.parse(e.time) < since) return undefined;
      return opts.timestamps ? `${e.time} ${e.message}\n` : `${e.message}\n`;
    };
    const out = new PassThrough();
    const content = readFileSync(file, 'utf8');
    let lines = content
      .split('\n')
      .filter((l) => l !== '')
      .map(format)
      .filter((l): l is string => l !== undefined);
    if (opts.tailLines !== undefined) lines = opts.tailLines === 0 ? [] : lines.slice(-opts.tailLines);
    out.write(lines.join(''));
    if (!opts.follow) {
      out.end();
      return out;
    }
    let offset = Buffer.byteLength(content);
    let partial = '';
    const timer = setInterval(() => {
      try {
        const size = statSync(file).size;
        if (size <= offset) return;
        const buf = readFileSync(file).subarray(offset, size);
        offset = size;
        const text = partial + buf.toString('utf8');
        const parts = text.split('\n');
        partial = parts.pop() ?? '';
        for (const l of parts) {
          const f = format(l);
          if (f) out.write(f);
        }
      } catch {
        // the file may be rotated away; keep following until the client leaves
      }
    }, this.#opts.followPollMs ?? 50);
    const stop = () => {
      clearInterval(timer);
      out.end();
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    out.once('close', () => clearInterval(timer));
    return out;
  }

  async exec(ref: ContainerRef, opts: ExecOptions): Promise<StreamSession> {
    this.#container(ref);
    const [cmd, ...args] = opts.command;
    if (!cmd) throw new StreamError('BadRequest', 'you must specify at least one command for the container');
    const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.running.add(proc);
    const exited = new Promise<{ exitCode: number }>((resolve, reject) => {
      proc.once('error', (e) => {
        this.running.delete(proc);
        reject(new Error(`exec: "${cmd}": ${e.message}`));
      });
      proc.once('close', (code, signal) => {
        this.running.delete(proc);
        resolve({ exitCode: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15) });
      });
    });
    // Node discards unread child output when the child exits (flushStdio resumes streams nobody
    // listens to), and the session is read only once the client's streams are set up: take the
    // output into buffers now.
    let stdout: Readable | null = opts.stdout ? proc.stdout!.pipe(new PassThrough()) : null;
    let stderr: Readable | null = opts.stderr ? proc.stderr!.pipe(new PassThrough()) : null;
    if (opts.tty) {
      // No pty here: a TTY session gets stdout and stderr merged, as a terminal would show them.
      const merged = new PassThrough();
      let open = 2;
      for (const s of [proc.stdout!, proc.stderr!]) {
        s.on('data', (c: Buffer) => merged.write(c));
        s.once('end', () => {
          if (--open === 0) merged.end();
        });
      }
      stdout = merged;
      stderr = null;
    } else {
      if (!opts.stdout) proc.stdout!.resume();
      if (!opts.stderr) proc.stderr!.resume();
    }
    if (!opts.stdin) proc.stdin!.end();
    proc.stdin!.on('error', () => {});
    return {
      stdin: opts.stdin ? proc.stdin! : null,
      stdout,
      stderr,
      resize: (size) => this.resizes.push({ ref, ...size }),
      exited,
      close: () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      },
    };
  }

  async attach(ref: ContainerRef, opts: AttachOptions): Promise<StreamSession> {
    const st = this.#container(ref);
    const proc = st.proc;
    if (!proc) throw new StreamError('NotRunning', `container ${ref.container} is not running`);
    const out = new PassThrough();
    let resolveExit!: (v: { exitCode: number }) => void;
    const exited = new Promise<{ exitCode: number }>((r) => (resolveExit = r));
    const entry = {
      out,
      done: (code: number) => {
        st.attached.delete(entry);
        out.end();
        resolveExit({ exitCode: code });
      },
    };
    st.attached.add(entry);
    // Detaching (client EOF) never closes the container's stdin: it is shared.
    const stdin = opts.stdin
      ? new Writable({
          write(chunk: Buffer, _enc, cb) {
            if (proc.stdin?.writable) proc.stdin.write(chunk, () => cb());
            else cb();
          },
        })
      : null;
    return {
      stdin,
      stdout: opts.stdout ? out : null,
      stderr: null,
      resize: (size) => this.resizes.push({ ref, ...size }),
      exited,
      close: () => entry.done(0),
    };
  }

  async portForward(pod: { namespace: string; pod: string; uid?: string }, port: number): Promise<Duplex> {
    if (!this.#pods.has(`${pod.namespace}/${pod.pod}`))
      throw new StreamError('NotFound', `pod "${pod.pod}" does not exist`);
    return new Promise((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port });
      sock.once('connect', () => resolve(sock));
      sock.once('error', (e) =>
        reject(new StreamError('Internal', `dial tcp4 127.0.0.1:${port}: ${e.message}`)),
      );
    });
  }
}
