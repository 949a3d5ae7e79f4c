/**
 * Port forwarding over SPDY (`portforward.k8s.io`): for every connection it forwards, the client
 * opens two streams carrying the same `port` and `requestID` headers, first an `error` stream (it
 * only reads: a message there means the forward failed) and then a `data` stream (the bytes both
 * ways). The server pairs them, connects to the port inside the pod and splices; when the pod side
 * ends it half-closes the data stream and closes the error stream, which is what the client waits
 * for before it drops the local connection.
 */
import type { Duplex } from 'node:stream';
import { headerValue } from './spdy-header-block.js';
import type { SpdySession, SpdyStream } from './spdy-session.js';

export interface PortForwardPair {
  requestId: string;
  port: number;
  error: SpdyStream;
  data: SpdyStream;
}

export type PairResult =
  | { kind: 'pending' }
  | { kind: 'complete'; pair: PortForwardPair }
  | { kind: 'invalid'; stream: SpdyStream; message: string };

/** Matches error and data streams by request ID. Pure bookkeeping; the caller owns timeouts. */
export class StreamPairer {
  readonly #pending = new Map<string, { port: number; error?: SpdyStream; data?: SpdyStream }>();

  /** Adds a stream the client opened. */
  add(stream: SpdyStream): PairResult {
    const type = headerValue(stream.headers, 'streamtype');
    const portText = headerValue(stream.headers, 'port');
    if (portText === undefined) return { kind: 'invalid', stream, message: '"port" header is required' };
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535)
      return { kind: 'invalid', stream, message: `unable to parse "${portText}" as a port` };
    if (type !== 'error' && type !== 'data')
      return { kind: 'invalid', stream, message: `invalid stream type ${JSON.stringify(type ?? '')}` };
    // Clients before requestID paired an error stream with the data stream opened right after it.
    const requestId =
      headerValue(stream.headers, 'requestid') ?? String(type === 'error' ? stream.id : stream.id - 2);
    const entry = this.#pending.get(requestId) ?? { port };
    if (entry[type])
      return { kind: 'invalid', stream, message: `duplicate ${type} stream for request ${requestId}` };
    if (entry.port !== port)
      return {
        kind: 'invalid',
        stream,
        message: `request ${requestId} names ports ${entry.port} and ${port}`,
      };
    entry[type] = stream;
    if (entry.error && entry.data) {
      this.#pending.delete(requestId);
      return { kind: 'complete', pair: { requestId, port, error: entry.error, data: entry.data } };
    }
    this.#pending.set(requestId, entry);
    return { kind: 'pending' };
  }

  /** Drops an incomplete request (timed out); returns its streams. */
  drop(requestId: string): SpdyStream[] {
    const e = this.#pending.get(requestId);
    this.#pending.delete(requestId);
    return e ? [e.error, e.data].filter((s): s is SpdyStream => s !== undefined) : [];
  }

  /** Request IDs still waiting for their other half. */
  pendingIds(): string[] {
    return [...this.#pending.keys()];
  }
}

export interface PortForwardOptions {
  /** Connects to `port` in the pod. */
  dial(port: number): Promise<Duplex>;
  /** Used in error messages, e.g. `pod default/web, uid ...`. */
  describePod: string;
  /** How long one half of a pair may wait for the other (upstream: 30 s). */
  pairTimeoutMs: number;
}

/** Serves port forwarding on a SPDY session until it closes. */
export function servePortForward(session: SpdySession, opts: PortForwardOptions): void {
  const pairer = new StreamPairer();
  const timers = new Map<string, NodeJS.Timeout>();
  session.on('stream', (stream: SpdyStream) => {
    const r = pairer.add(stream);
    if (r.kind === 'invalid') {
      stream.resume();
      stream.end(r.message);
      return;
    }
    if (r.kind === 'pending') {
      for (const id of pairer.pendingIds()) {
        if (timers.has(id)) continue;
        timers.set(
          id,
          setTimeout(() => {
            timers.delete(id);
            for (const s of pairer.drop(id)) s.reset();
          }, opts.pairTimeoutMs),
        );
      }
      return;
    }
    const t = timers.get(r.pair.requestId);
    if (t) clearTimeout(t);
    timers.delete(r.pair.requestId);
    void forward(r.pair, opts);
  });
  session.once('close', () => {
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
  });
}

async function forward(pair: PortForwardPair, opts: PortForwardOptions): Promise<void> {
  const { error, data, port } = pair;
  error.resume(); // the client never writes on it
  let target: Duplex;
  try {
    target = await opts.dial(port);
  } catch (e) {
    error.end(`error forwarding port ${port} to ${opts.describePod}: ${(e as Error).message}`);
    data.end();
    data.resume();
    return;
  }
  let closed = false;
  const closeAll = () => {
    if (closed) return;
    closed = true;
    if (!data.destroyed) data.end();
    if (!error.destroyed) error.end();
  };
  target.on('error', (e) => {
    if (!closed && !error.destroyed)
      error.write(`error forwarding port ${port} to ${opts.describePod}: ${e.message}`);
    closeAll();
    target.destroy();
  });
  // Pod -> client: when the pod side ends, half-close the data stream and close the error stream.
  target.on('data', (chunk: Buffer) => {
    if (!data.write(chunk)) {
      target.pause();
      data.once('drain', () => target.resume());
    }
  });
  target.once('end', closeAll);
  target.once('close', closeAll);
  // Client -> pod: the client's FIN half-closes the pod connection.
  data.pipe(target);
  // The stream closes once both directions are done, or at once when reset or the connection
  // drops (kubectl port-forward stopped): the pod connection goes with it.
  data.once('close', () => {
    if (!target.destroyed) target.destroy();
  });
}
