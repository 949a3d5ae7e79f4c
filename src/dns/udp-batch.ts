/**
 * The UDP side of the DNS server, in one of two ways behind one interface:
 * - `batch`: the native addon src/dns/native (recvmmsg/sendmmsg), built by `npm install` when a
 *   C compiler and the Node headers are there: one wakeup reads up to 64 queries, the handler
 *   answers each (synchronously for the hot path; the answer is copied into a shared arena), and
 *   one sendmmsg sends them all;
 * - `dgram`: Node's dgram socket, one recvmsg and one sendmsg per datagram (the fallback).
 * A query buffer handed to the handler is only valid during the call (the batch reuses it): code
 * that answers later must copy it first.
 */
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

export type UdpReply = (answer: Buffer) => void;
export type UdpHandler = (msg: Buffer, v6: boolean, reply: UdpReply) => void;

export interface UdpListener {
  readonly kind: 'batch' | 'dgram';
  readonly port: number;
  close(): void;
}

export interface UdpListenOptions {
  host: string;
  port: number;
  /** SO_RCVBUF / SO_SNDBUF (the kernel's limits apply). */
  bufferBytes: number;
  /** `auto` (default): the addon when built, else dgram. */
  mode?: 'auto' | 'batch' | 'dgram' | undefined;
}

interface Addon {
  BATCH: number;
  SLOT: number;
  ADDR: number;
  open(
    host: string,
    port: number,
    v6: boolean,
    bufferBytes: number,
    inBuf: Buffer,
    meta: Buffer,
    out: Buffer,
    addr: Buffer,
    onBatch: (n: number) => void,
  ): { port: number };
  sendTo(sock: object, buf: Buffer, addr: Buffer): void;
  close(sock: object): void;
  dropped(sock: object): number;
}

/** Where node-gyp puts the addon (src/dns/native/build), from src/dns or dist/src/dns. */
function addonPath(): string | undefined {
  for (const up of [
    ['..', '..'],
    ['..', '..', '..'],
  ]) {
    const p = join(
      resolve(import.meta.dirname, ...up),
      'src',
      'dns',
      'native',
      'build',
      'Release',
      'udp_mmsg.node',
    );
    if (existsSync(p)) return p;
  }
  return undefined;
}

let loaded: Addon | null | undefined;

/** The native addon, or undefined when it is not built (or does not load on this system). */
export function batchAddon(): Addon | undefined {
  if (loaded === undefined) {
    const p = addonPath();
    try {
      loaded = p ? (createRequire(import.meta.url)(p) as Addon) : null;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/** Bind a UDP socket on host:port and feed every datagram to `onMessage`. */
export async function listenUdp(opts: UdpListenOptions, onMessage: UdpHandler): Promise<UdpListener> {
  const mode = opts.mode ?? 'auto';
  const addon = mode === 'dgram' ? undefined : batchAddon();
  if (mode === 'batch' && !addon)
    throw new Error(
      'the UDP batch addon is not built (npm install builds it; it needs g++, make and the Node headers)',
    );
  return addon ? listenBatch(addon, opts, onMessage) : listenDgram(opts, onMessage);
}

async function listenDgram(opts: UdpListenOptions, onMessage: UdpHandler): Promise<UdpListener> {
  const v6 = opts.host.includes(':');
  const udp = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4' });
  try {
    await new Promise<void>((res, rej) => {
      udp.once('error', rej);
      udp.bind({ address: opts.host, port: opts.port, exclusive: true }, () => {
        udp.off('error', rej);
        res();
      });
    });
  } catch (e) {
    udp.close();
    throw e;
  }
  try {
    udp.setRecvBufferSize(opts.bufferBytes);
    udp.setSendBufferSize(opts.bufferBytes);
  } catch {
    // the kernel's limits apply
  }
  udp.on('message', (msg, rinfo) => {
    onMessage(msg, rinfo.family === 'IPv6', (b) => udp.send(b, rinfo.port, rinfo.address));
  });
  udp.on('error', () => {});
  return { kind: 'dgram', port: udp.address().port, close: () => udp.close() };
}

function listenBatch(addon: Addon, opts: UdpListenOptions, onMessage: UdpHandler): UdpListener {
  const { BATCH, SLOT, ADDR } = addon;
  const inBuf = Buffer.alloc(BATCH * SLOT);
  const metaBuf = Buffer.alloc(BATCH * 16);
  const meta = new Int32Array(metaBuf.buffer, metaBuf.byteOffset, BATCH * 4);
  const out = Buffer.alloc(BATCH * SLOT);
  const addr = Buffer.alloc(BATCH * ADDR);
  /** The batch being answered (-1 between batches: a reply then is sent on its own). */
  let current = -1;
  let batches = 0;
  let used = 0;
  let sock: { port: number } | undefined;
  /** One reply per datagram: into the arena while its batch runs, a sendto of its own after. */
  const replyFor = (i: number): UdpReply => {
    const mine = current;
    let peer: Buffer | undefined;
    const reply: UdpReply = (b) => {
      if (mine === current && meta[i * 4 + 2]! < 0 && used + b.length <= out.length) {
        b.copy(out, used);
        meta[i * 4 + 1] = used;
        meta[i * 4 + 2] = b.length;
        used += b.length;
        return;
      }
      if (!peer) peer = Buffer.from(addr.subarray(i * ADDR, (i + 1) * ADDR));
      if (sock) addon.sendTo(sock, b, peer);
    };
    // The peer's address is copied at the end of the batch when no reply came by then.
    pendingPeers[i] = () => {
      if (meta[i * 4 + 2]! < 0) peer = Buffer.from(addr.subarray(i * ADDR, (i + 1) * ADDR));
    };
    return reply;
  };
  const pendingPeers: (() => void)[] = [];
  const onBatch = (n: number) => {
    current = batches++;
    used = 0;
    for (let i = 0; i < n; i++) {
      const len = meta[i * 4]!;
      if (len < 0) continue;
      onMessage(inBuf.subarray(i * SLOT, i * SLOT + len), meta[i * 4 + 3] === 6, replyFor(i));
    }
    current = -1;
    for (let i = 0; i < n; i++) pendingPeers[i]?.();
    pendingPeers.length = 0;
  };
  const v6 = opts.host.includes(':');
  sock = addon.open(opts.host, opts.port, v6, opts.bufferBytes, inBuf, metaBuf, out, addr, onBatch);
  const s = sock;
  return {
    kind: 'batch',
    port: s.port,
    close: () => {
      sock = undefined;
      addon.close(s);
    },
  };
}
