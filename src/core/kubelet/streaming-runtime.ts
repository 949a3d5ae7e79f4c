/**
 * The process runtime's side of the streaming contract (streams.ts), for the kubelet API on
 * 10250: logs from the CRI log files (follow by polling the live file, across rotation, until
 * the instance ends), exec through the runtime (nsenter into the pod's namespaces in root mode),
 * attach to the container's output tap and stdin FIFO, and port-forward as a TCP connection to
 * the pod IP. TTYs come from util-linux `script` (runtime/pty.ts): an exec with `tty` runs on a
 * new pty, and an attach with `tty` reaches a container started on one (container.tty).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import { type Duplex, PassThrough, Readable } from 'node:stream';
import { parseCriLine, readCriLines, renderLogs } from './cri-log.js';
import type { PodWorker } from './pod-worker.js';
import type { ContainerRuntime } from './runtime/runtime.js';
import {
  type AttachOptions,
  type ContainerRef,
  type ExecOptions,
  type LogOptions,
  StreamError,
  type StreamingRuntime,
  type StreamSession,
} from './streams.js';

export interface WorkerLookup {
  worker(namespace: string, name: string, uid?: string): PodWorker | undefined;
}

function signalCode(sig: string | null): number {
  return sig ? 128 + ((osConstants.signals as Record<string, number>)[sig] ?? 0) : 1;
}

export class KubeletStreamingRuntime implements StreamingRuntime {
  private readonly pods: WorkerLookup;
  private readonly runtime: ContainerRuntime;
  private readonly pollMs: number;

  constructor(pods: WorkerLookup, runtime: ContainerRuntime, opts: { pollMs?: number } = {}) {
    this.pods = pods;
    this.runtime = runtime;
    this.pollMs = opts.pollMs ?? 200;
  }

  private worker(ref: { namespace: string; pod: string; uid?: string | undefined }): PodWorker {
    const w = this.pods.worker(ref.namespace, ref.pod, ref.uid);
    if (!w)
      throw new StreamError(
        'NotFound',
        `pod "${ref.pod}" not found in namespace "${ref.namespace}" on this node`,
      );
    return w;
  }

  private running(ref: ContainerRef): { w: PodWorker; id: string } {
    const w = this.worker(ref);
    if (!w.containerNames().includes(ref.container) && !w.containerInstance(ref.container))
      throw new StreamError('NotFound', `container ${ref.container} is not valid for pod ${ref.pod}`);
    const inst = w.containerInstance(ref.container);
    if (!inst)
      throw new StreamError('NotRunning', `container ${ref.container} in pod ${ref.pod} is not running`);
    return { w, id: inst.id };
  }

  async logs(ref: ContainerRef, opts: LogOptions, signal: AbortSignal): Promise<Readable> {
    const w = this.worker(ref);
    const path = w.logPath(ref.container, opts.previous);
    if (!path) {
      if (opts.previous)
        throw new StreamError(
          'BadRequest',
          `previous terminated container "${ref.container}" in pod "${ref.pod}" not found`,
        );
      throw new StreamError(
        'BadRequest',
        `container "${ref.container}" in pod "${ref.pod}" is waiting to start`,
      );
    }
    const sinceMs =
      opts.sinceSeconds !== undefined
        ? Date.now() - opts.sinceSeconds * 1000
        : opts.sinceTime !== undefined
          ? Date.parse(opts.sinceTime)
          : undefined;
    const sel = {
      tailLines: opts.tailLines,
      sinceMs,
      timestamps: opts.timestamps,
      limitBytes: opts.limitBytes,
    };
    const text = renderLogs(readCriLines(path), sel);
    if (!opts.follow || opts.previous) return Readable.from([Buffer.from(text)]);
    const out = new PassThrough();
    let sent = Buffer.byteLength(text);
    out.write(text);
    const attempt = w.containerInstance(ref.container)?.attempt;
    let offset = fileSize(path);
    let pending = '';
    let partial = '';
    const poll = () => {
      if (signal.aborted || out.destroyed) return finish();
      const size = fileSize(path);
      if (size < offset) offset = 0; // rotated: the live file starts again
      if (size > offset) {
        const chunk = readFrom(path, offset, size - offset);
        offset += chunk.length;
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) {
          const p = parseCriLine(l);
          if (!p) continue;
          partial += p.message;
          if (p.partial) continue;
          let s = opts.timestamps ? `${p.time} ${partial}\n` : `${partial}\n`;
          partial = '';
          if (opts.limitBytes !== undefined) {
            if (sent >= opts.limitBytes) return finish();
            s = Buffer.from(s)
              .subarray(0, opts.limitBytes - sent)
              .toString('utf8');
          }
          sent += Buffer.byteLength(s);
          out.write(s);
        }
      }
      // The instance we follow ended and its file is drained: end the stream, as upstream does.
      const now = w.containerInstance(ref.container);
      if (attempt === undefined || now?.attempt !== attempt) {
        if (fileSize(path) <= offset) return finish();
      }
      timer = setTimeout(poll, this.pollMs);
    };
    let timer = setTimeout(poll, this.pollMs);
    const finish = () => {
      clearTimeout(timer);
      if (!out.writableEnded) out.end();
    };
    signal.addEventListener('abort', finish, { once: true });
    out.on('close', () => clearTimeout(timer));
    return out;
  }

  async exec(ref: ContainerRef, opts: ExecOptions): Promise<StreamSession> {
    const { id } = this.running(ref);
    if (opts.command.length === 0)
      throw new StreamError('BadRequest', 'you must specify at least one command for the container');
    let proc: ReturnType<ContainerRuntime['exec']>;
    try {
      proc = this.runtime.exec(id, opts.command, { stdin: opts.stdin, tty: opts.tty });
    } catch (e) {
      throw new StreamError('Internal', (e as Error).message);
    }
    const child = proc.child;
    const exited = new Promise<{ exitCode: number }>((resolve) => {
      child.once('error', () => resolve({ exitCode: 126 }));
      child.once('close', (code, sig) => resolve({ exitCode: code ?? signalCode(sig) }));
    });
    // With a TTY the terminal merges stderr into stdout (the pty's output is the helper's stdout).
    const stdout: Readable | null = opts.stdout ? child.stdout : null;
    const stderr: Readable | null = opts.stderr && !opts.tty ? child.stderr : null;
    if (!stdout) child.stdout?.resume();
    if (!stderr) child.stderr?.resume();
    return {
      stdin: opts.stdin ? child.stdin : null,
      stdout,
      stderr,
      resize: (size) => proc.resize?.(size),
      exited,
      close: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    };
  }

  async attach(ref: ContainerRef, opts: AttachOptions): Promise<StreamSession> {
    const { id } = this.running(ref);
    const handle = this.runtime.attach(id);
    const stdout = opts.stdout ? new PassThrough() : null;
    const stderr = opts.stderr && !opts.tty ? new PassThrough() : null;
    const off = handle.onOutput((stream, data) => {
      if (stream === 'stdout' || opts.tty) stdout?.write(data);
      else stderr?.write(data);
    });
    const done = () => {
      off();
      stdout?.end();
      stderr?.end();
      (handle.stdin as net.Socket | null)?.destroy();
    };
    const exited = this.runtime.wait(id).then((e) => {
      done();
      return { exitCode: e.exitCode };
    });
    return {
      stdin: opts.stdin
        ? (handle.stdin as NodeJS.WritableStream as import('node:stream').Writable | null)
        : null,
      stdout,
      stderr,
      resize: (size) => handle.resize?.(size),
      exited,
      close: done,
    };
  }

  async portForward(pod: { namespace: string; pod: string; uid?: string }, port: number): Promise<Duplex> {
    const w = this.worker(pod);
    const ip = w.podIp();
    if (!ip) throw new StreamError('NotRunning', `pod ${pod.pod} has no IP yet`);
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: ip, port });
      sock.once('connect', () => resolve(sock));
      sock.once('error', (e) =>
        reject(new StreamError('Internal', `error forwarding port ${port} to pod ${pod.pod}: ${e.message}`)),
      );
    });
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readFrom(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(length, 4 * 1024 * 1024));
    const n = readSync(fd, buf, 0, buf.length, offset);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
