/**
 * The UDP side of the DNS server, in one of two ways behind one interface:
 * - `batch`: the native addon src/dns/native (recvmmsg/sendmmsg), built by `npm install` when a
 *   C compiler and the Node headers are there: one wakeup reads up to 64 queries, the handler
 *   answers each (synchronously for the hot path; the answer is copied into a shared arena), and
 *   one sendmmsg sends them all;
 * - `dgram`: Node's dgram socket, one recvmsg and one sendmsg per datagram (the fallback).
 * A query buffer and the `reply` handed to the handler are only valid during the call (the batch
 * reuses them): code that answers later must copy the query and take a lasting reply with `keep()`.
 */
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

export type UdpReply = (answer: Buffer) => void;
/**
 * One datagram: `reply` answers it during this call; `keep()` returns a reply that stays valid
 * after the call returns (it copies the peer's address), for answers that come later.
 */
export type UdpHandler = (msg: Buffer, v6: boolean, reply: UdpReply, keep: () => UdpReply) => void;

/** Optional hooks around each batch of datagrams (batch mode only; dgram has no batches). */
export interface UdpBatchHooks {
  /** Before the first datagram of a batch is handed over. */
  start(): void;
  /** After the last one was handled, before the answers are sent. */
  end(): void;
}

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
  hooks?: UdpBatchHooks | undefined;
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
    const reply: UdpReply = (b) => udp.send(b, rinfo.port, rinfo.address);
    onMessage(msg, rinfo.family === 'IPv6', reply, () => reply);
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
  const hooks = opts.hooks;
  /** True while a batch is being answered: the slots' replies and addresses are valid. */
  let open = false;
  let used = 0;
  let sock: { port: number } | undefined;
  const peerOf = (i: number) => Buffer.from(addr.subarray(i * ADDR, (i + 1) * ADDR));
  // One reply and one keep per slot, made once (no allocation per datagram). A reply goes into the
  // arena (sent by the batch's sendmmsg); a second reply to the same datagram, or one that does not
  // fit, is sent on its own at once.
  const replies: UdpReply[] = [];
  const keeps: (() => UdpReply)[] = [];
  for (let i = 0; i < BATCH; i++) {
    replies.push((b) => {
      if (!open) return; // a reply used after its call: a bug of the caller (keep() is for later)
      if (meta[i * 4 + 2]! < 0 && used + b.length <= out.length) {
        out.set(b, used);
        meta[i * 4 + 1] = used;
        meta[i * 4 + 2] = b.length;
        used += b.length;
      } else if (sock) addon.sendTo(sock, b, peerOf(i));
    });
    keeps.push(() => {
      const peer = peerOf(i);
      return (b) => {
        if (sock) addon.sendTo(sock, b, peer);
      };
    });
  }
  const onBatch = (n: number) => {
    used = 0;
    open = true;
    hooks?.start();
    try {
      for (let i = 0; i < n; i++) {
        const len = meta[i * 4]!;
        if (len < 0) continue;
        onMessage(inBuf.subarray(i * SLOT, i * SLOT + len), meta[i * 4 + 3] === 6, replies[i]!, keeps[i]!);
      }
    } finally {
      open = false;
      hooks?.end();
    }
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
