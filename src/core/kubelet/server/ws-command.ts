/**
 * The WebSocket side of exec/attach: a `ws` connection speaking v4/v5.channel.k8s.io, as a
 * CommandTransport (see channel-protocol.ts for the bytes).
 */
import { PassThrough, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import {
  CHANNEL,
  CHANNEL_PROTOCOL_V5,
  decodeChannelMessage,
  encodeChannelMessage,
  parseResize,
  type TerminalSize,
} from './channel-protocol.js';
import type { CommandTransport, RemoteCommandStatus } from './remote-command.js';

export interface WebSocketCommandOptions {
  protocol: string;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

function channelWriter(ws: WebSocket, channel: number): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) return cb();
      ws.send(encodeChannelMessage(channel, chunk), { binary: true }, () => cb());
    },
  });
}

/** Wraps an open WebSocket as a CommandTransport. */
export function websocketCommandTransport(ws: WebSocket, opts: WebSocketCommandOptions): CommandTransport {
  const v5 = opts.protocol === CHANNEL_PROTOCOL_V5;
  const stdin = opts.stdin ? new PassThrough() : null;
  const resizeListeners: ((s: TerminalSize) => void)[] = [];
  let resizeRest = '';
  const gone = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
    if (!isBinary || buf.length === 0) return;
    let msg: ReturnType<typeof decodeChannelMessage>;
    try {
      msg = decodeChannelMessage(buf, { v5 });
    } catch {
      return;
    }
    if (msg.kind === 'close') {
      if (msg.channel === CHANNEL.stdin) stdin?.end();
      return;
    }
    if (msg.channel === CHANNEL.stdin) stdin?.write(msg.data);
    else if (msg.channel === CHANNEL.resize) {
      try {
        const { sizes, rest } = parseResize(resizeRest + msg.data.toString('utf8'));
        resizeRest = rest;
        for (const s of sizes) for (const l of resizeListeners) l(s);
      } catch {
        resizeRest = '';
      }
    }
  });
  void gone.then(() => stdin?.end());
  // As the kubelet does: an empty message on the first writable channel tells the client the
  // streams are set up.
  const first = opts.stdout ? CHANNEL.stdout : opts.stderr ? CHANNEL.stderr : CHANNEL.error;
  ws.send(encodeChannelMessage(first, Buffer.alloc(0)), { binary: true });
  return {
    stdin,
    stdout: opts.stdout ? channelWriter(ws, CHANNEL.stdout) : null,
    stderr: opts.stderr ? channelWriter(ws, CHANNEL.stderr) : null,
    onResize: (l) => resizeListeners.push(l),
    writeStatus: (status: RemoteCommandStatus) =>
      new Promise<void>((resolve) => {
        if (ws.readyState !== ws.OPEN) return resolve();
        ws.send(encodeChannelMessage(CHANNEL.error, JSON.stringify(status)), { binary: true }, () =>
          resolve(),
        );
      }),
    finish: () => {
      if (ws.readyState === ws.OPEN) ws.close(1000);
    },
    gone,
  };
}
