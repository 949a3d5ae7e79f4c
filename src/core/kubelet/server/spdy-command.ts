/**
 * The SPDY side of exec/attach: the client opens one stream per channel, each named by its
 * `streamType` header (error, stdin, stdout, stderr, resize); the server waits for the ones the
 * request asked for, then serves them as a CommandTransport.
 */
import type { Readable } from 'node:stream';
import { parseResize, type TerminalSize } from './channel-protocol.js';
import type { CommandTransport, RemoteCommandStatus } from './remote-command.js';
import { headerValue } from './spdy-header-block.js';
import type { SpdySession, SpdyStream } from './spdy-session.js';

export interface SpdyCommandOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /** How long the client may take to open its streams (upstream: 30 s). */
  timeoutMs: number;
}

/** How long a client may take to close the connection after the final status. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

/** The stream types a request with these options must open. */
export function expectedStreamTypes(opts: Omit<SpdyCommandOptions, 'timeoutMs'>): StreamType[] {
  const out: StreamType[] = ['error'];
  if (opts.stdin) out.push('stdin');
  if (opts.stdout) out.push('stdout');
  if (opts.stderr && !opts.tty) out.push('stderr');
  if (opts.tty) out.push('resize');
  return out;
}

/** Waits for the client's streams; rejects when they do not all arrive in time. */
export function spdyCommandTransport(
  session: SpdySession,
  opts: SpdyCommandOptions,
): Promise<CommandTransport> {
  const expected = expectedStreamTypes(opts);
  const streams = new Map<StreamType, SpdyStream>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error('timed out waiting for client to create streams'));
    }, opts.timeoutMs);
    const onClose = () => {
      cleanup();
      reject(new Error('connection closed before the client created its streams'));
    };
    const onStream = (s: SpdyStream) => {
      const type = headerValue(s.headers, 'streamtype') as StreamType | undefined;
      if (!type || !expected.includes(type) || streams.has(type)) {
        s.reset();
        return;
      }
      streams.set(type, s);
      if (streams.size === expected.length) {
        cleanup();
        resolve(build(session, streams));
      }
    };
    const cleanup = () => {
      clearTimeout(timer);
      session.off('stream', onStream);
      session.off('close', onClose);
    };
    session.on('stream', onStream);
    session.once('close', onClose);
  });
}

function build(session: SpdySession, streams: Map<StreamType, SpdyStream>): CommandTransport {
  const error = streams.get('error')!;
  error.resume();
  const stdout = streams.get('stdout') ?? null;
  const stderr = streams.get('stderr') ?? null;
  stdout?.resume();
  stderr?.resume();
  const resize = streams.get('resize');
  const gone = new Promise<void>((resolve) => session.once('close', () => resolve()));
  return {
    stdin: (streams.get('stdin') as Readable | undefined) ?? null,
    stdout,
    stderr,
    onResize: (listener: (s: TerminalSize) => void) => {
      if (!resize) return;
      let rest = '';
      resize.on('data', (chunk: Buffer) => {
        try {
          const parsed = parseResize(rest + chunk.toString('utf8'));
          rest = parsed.rest;
          for (const s of parsed.sizes) listener(s);
        } catch {
          rest = '';
        }
      });
    },
    writeStatus: (status: RemoteCommandStatus) =>
      new Promise<void>((resolve) => {
        if (error.destroyed) return resolve();
        error.end(JSON.stringify(status), () => resolve());
      }),
    // The client closes the connection once it has read everything (see SpdySession.shutdown).
    finish: () => session.shutdown(SHUTDOWN_TIMEOUT_MS),
    gone,
  };
}
