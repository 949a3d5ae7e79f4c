/**
 * Runs one exec or attach session over a transport (WebSocket channels or SPDY streams, see
 * ws-command.ts and spdy-command.ts): client stdin into the session, its stdout/stderr back,
 * terminal resizes through, and at the end the result on the error channel as upstream's
 * metav1.Status, so the client learns the exit code (reason NonZeroExitCode, cause ExitCode).
 */
import type { Readable, Writable } from 'node:stream';
import type { StreamSession } from '../streams.js';
import type { TerminalSize } from './channel-protocol.js';

/** The client side of a session as the server sees it, whatever the wire protocol. */
export interface CommandTransport {
  /** Bytes the client types (null when stdin was not requested). */
  stdin: Readable | null;
  stdout: Writable | null;
  stderr: Writable | null;
  /** Registers the listener for terminal size changes. */
  onResize(listener: (size: TerminalSize) => void): void;
  /** Writes the final Status on the error channel; resolves once handed to the connection. */
  writeStatus(status: RemoteCommandStatus): Promise<void>;
  /** Closes the connection after everything written so far. */
  finish(): void;
  /** Resolves when the connection is gone (client left or finish() ran). */
  gone: Promise<void>;
}

export interface RemoteCommandStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes: { reason: string; message: string }[] };
}

/** The Status of a command that exited 0. */
export function successStatus(): RemoteCommandStatus {
  return { metadata: {}, status: 'Success' };
}

/** The Status of a command that exited with `code` != 0, as the kubelet words it. */
export function exitCodeStatus(code: number): RemoteCommandStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** The Status of a session that failed for another reason. */
export function internalErrorStatus(message: string): RemoteCommandStatus {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
}

/** Copies src into dst (ending dst when src ends); resolves when dst has taken everything. */
function pump(src: Readable | null, dst: Writable | null): Promise<void> {
  if (!src) {
    dst?.end();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    if (!dst) {
      src.resume();
      src.once('end', resolve);
      src.once('close', resolve);
      return;
    }
    dst.once('finish', resolve);
    dst.once('close', resolve);
    src.once('error', () => dst.end());
    src.pipe(dst);
  });
}

/** Serves a session until the command ends or the client leaves. */
export async function serveRemoteCommand(session: StreamSession, t: CommandTransport): Promise<void> {
  let finished = false;
  void t.gone.then(() => {
    if (!finished) session.close();
  });
  if (t.stdin) {
    if (session.stdin) {
      const stdin = session.stdin;
      stdin.on('error', () => {}); // EPIPE once the process has exited: nothing left to tell
      t.stdin.pipe(stdin);
    } else t.stdin.resume();
  }
  t.onResize((size) => session.resize(size));
  const output = Promise.all([pump(session.stdout, t.stdout), pump(session.stderr, t.stderr)]);
  let status: RemoteCommandStatus;
  try {
    const { exitCode } = await session.exited;
    status = exitCode === 0 ? successStatus() : exitCodeStatus(exitCode);
  } catch (e) {
    status = internalErrorStatus((e as Error).message);
  }
  // Output still in flight when the process exits goes out before the status.
  await Promise.race([output, t.gone]);
  finished = true;
  await t.writeStatus(status).catch(() => {});
  t.finish();
}
