/**
 * The contract between the kubelet's container runtime and its streaming API (port 10250:
 * containerLogs, exec, attach, portForward). The runtime implements it; the kubelet server
 * (and through it the API server's pods/log, pods/exec, pods/attach, pods/portforward
 * subresources) only ever talks to this interface, so the server is tested with a small runtime
 * and the runtime without the server.
 */
import type { Duplex, Readable, Writable } from 'node:stream';

/** One container of one pod, as the streaming URLs name it (/exec/{ns}/{pod}/{container}). */
export interface ContainerRef {
  namespace: string;
  pod: string;
  /** Pod UID when the URL carries one (/exec/{ns}/{pod}/{uid}/{container}). */
  uid?: string;
  container: string;
}

/** The options of GET /containerLogs (and pods/log): upstream's PodLogOptions. */
export interface LogOptions {
  follow: boolean;
  /** The previous (terminated) instance of the container. */
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  /** RFC 3339. */
  sinceTime?: string;
  limitBytes?: number;
}

export interface ExecOptions {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export type AttachOptions = Omit<ExecOptions, 'command'>;

/** A running exec (or attach): its streams, resize for TTYs, and how it ended. */
export interface StreamSession {
  stdin: Writable | null;
  stdout: Readable | null;
  /** Null when tty is set (a TTY merges stderr into stdout). */
  stderr: Readable | null;
  resize(size: { width: number; height: number }): void;
  /**
   * Resolves when the process ends: exit code 0 is success; any other code is reported to the
   * client as upstream does (a Status with reason NonZeroExitCode and the ExitCode cause).
   */
  exited: Promise<{ exitCode: number }>;
  /** Ends the session early (client went away): kills an exec'd process, detaches an attach. */
  close(): void;
}

/** What the runtime offers the streaming server. Methods throw StreamError for known failures. */
export interface StreamingRuntime {
  /** Log bytes of a container in the CRI log format's message part (what `kubectl logs` prints). */
  logs(ref: ContainerRef, opts: LogOptions, signal: AbortSignal): Promise<Readable>;
  exec(ref: ContainerRef, opts: ExecOptions): Promise<StreamSession>;
  attach(ref: ContainerRef, opts: AttachOptions): Promise<StreamSession>;
  /** A TCP connection to `port` inside the pod's network namespace. */
  portForward(pod: { namespace: string; pod: string; uid?: string }, port: number): Promise<Duplex>;
}

/** Stable codes so the server maps runtime failures onto HTTP statuses. */
export type StreamErrorCode = 'NotFound' | 'BadRequest' | 'NotRunning' | 'Internal';

export class StreamError extends Error {
  readonly code: StreamErrorCode;
  constructor(code: StreamErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'StreamError';
  }
}
