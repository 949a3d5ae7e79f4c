/**
 * Forwarding of names outside the cluster zone: to the stub domain's servers when the name is
 * below one (longest suffix wins), else to the upstreams (the node's resolv.conf or configured),
 * in order until one answers. UDP first with EDNS (1232); a truncated answer is asked again over
 * TCP. Answers go through the cache (cache.ts); identical questions in flight share one upstream
 * query. Answers must come from the server asked, with our random ID and our question.
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net, { isIPv6 } from 'node:net';
import { type CachedAnswer, type DnsCache, parseUpstreamAnswer } from './cache.js';
import { DnsConfigError } from './errors.js';
import { nameKey, OPT_RR } from './wire.js';

export interface Upstream {
  host: string;
  port: number;
}

export interface ForwarderOptions {
  upstreams: readonly Upstream[];
  /** Name suffix -> servers for names below it. */
  stubDomains?: Readonly<Record<string, readonly Upstream[]>> | undefined;
  cache?: DnsCache | undefined;
  /** Time to wait for one server over UDP (ms, default 2000); TCP gets twice this. */
  timeoutMs?: number | undefined;
  now?: (() => number) | undefined;
}

/** Parse `host`, `host:port`, `[v6]:port` (port 53 by default). */
export function parseUpstream(s: string): Upstream {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : 53 };
  if (isIPv6(s)) return { host: s, port: 53 };
  const m = /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m || net.isIP(m[1]!) === 0) throw new DnsConfigError(`not an upstream address (IP[:port]): ${s}`);
  const port = m[2] ? Number(m[2]) : 53;
  if (port < 1 || port > 65535) throw new DnsConfigError(`bad port in upstream ${s}`);
  return { host: m[1]!, port };
}

interface Pending {
  resolve(b: Buffer | undefined): void;
  upstream: Upstream;
  question: Buffer;
}

/** Sends questions upstream and caches the answers. */
export class Forwarder {
  readonly cache: DnsCache | undefined;
  /** Upstream queries sent, and failures (no server answered). */
  sent = 0;
  failures = 0;
  private readonly upstreams: readonly Upstream[];
  private readonly stubs = new Map<string, readonly Upstream[]>();
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly sockets = new Map<'udp4' | 'udp6', dgram.Socket>();
  private readonly pending = new Map<number, Pending>();
  private readonly inflight = new Map<string, Promise<CachedAnswer | undefined>>();
  private closed = false;

  constructor(opts: ForwarderOptions) {
    this.upstreams = opts.upstreams;
    for (const [suffix, servers] of Object.entries(opts.stubDomains ?? {}))
      this.stubs.set(nameKey(suffix), servers);
    this.cache = opts.cache;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.now = opts.now ?? Date.now;
  }

  /** The servers for a name (index key): its longest stub-domain suffix, else the upstreams. */
  serversFor(key: string): readonly Upstream[] {
    let i = 0;
    while (i < key.length) {
      const s = this.stubs.get(key.slice(i));
      if (s) return s;
      i += 1 + key.charCodeAt(i);
    }
    return this.upstreams;
  }

  /** A cached answer, if any (synchronous: the hot path of cached external names). */
  cached(key: string, qtype: number): CachedAnswer | undefined {
    return this.cache?.get(key, qtype, this.now());
  }

  /** The answer for (key, type): from the cache or upstream; undefined when no server answered. */
  resolve(key: string, qtype: number): Promise<CachedAnswer | undefined> {
    const hit = this.cached(key, qtype);
    const cacheKey = `${qtype}/${key}`;
    if (hit) return Promise.resolve(hit);
    let p = this.inflight.get(cacheKey);
    if (!p) {
      p = this.ask(key, qtype).finally(() => this.inflight.delete(cacheKey));
      this.inflight.set(cacheKey, p);
    }
    return p;
  }

  private async ask(key: string, qtype: number): Promise<CachedAnswer | undefined> {
    const question = Buffer.alloc(key.length + 5);
    question.write(key, 0, 'latin1');
    question.writeUInt16BE(qtype, key.length + 1);
    question.writeUInt16BE(1, key.length + 3);
    for (const up of this.serversFor(key)) {
      if (this.closed) return undefined;
      this.sent++;
      let res = await this.udp(up, question);
      if (res && (res[2]! & 0x02) !== 0) res = await this.tcp(up, question);
      if (!res) continue;
      const e = parseUpstreamAnswer(res, question.length, this.now());
      if (!e) continue;
      this.cache?.put(key, qtype, e);
      return e;
    }
    this.failures++;
    return undefined;
  }

  private query(id: number, question: Buffer): Buffer {
    const q = Buffer.alloc(12 + question.length + OPT_RR.length);
    q.writeUInt16BE(id, 0);
    q[2] = 0x01; // RD
    q.writeUInt16BE(1, 4);
    q.writeUInt16BE(1, 10);
    question.copy(q, 12);
    OPT_RR.copy(q, 12 + question.length);
    return q;
  }

  private socket(family: 'udp4' | 'udp6'): dgram.Socket {
    let s = this.sockets.get(family);
    if (s) return s;
    s = dgram.createSocket(family);
    s.on('message', (msg, rinfo) => this.onAnswer(msg, rinfo));
    s.on('error', () => {});
    s.unref();
    this.sockets.set(family, s);
    return s;
  }

  private onAnswer(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12) return;
    const p = this.pending.get(msg.readUInt16BE(0));
    if (!p || rinfo.port !== p.upstream.port || !sameHost(rinfo.address, p.upstream.host)) return;
    if ((msg[2]! & 0x80) === 0 || !sameQuestion(msg, p.question)) return;
    this.pending.delete(msg.readUInt16BE(0));
    p.resolve(msg);
  }

  private udp(up: Upstream, question: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      let id = randomInt(0, 65536);
      for (let n = 0; this.pending.has(id) && n < 100; n++) id = randomInt(0, 65536);
      if (this.pending.has(id)) return resolve(undefined);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(id, {
        upstream: up,
        question,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
      });
      this.socket(isIPv6(up.host) ? 'udp6' : 'udp4').send(
        this.query(id, question),
        up.port,
        up.host,
        (err) => {
          if (err && this.pending.delete(id)) {
            clearTimeout(timer);
            resolve(undefined);
          }
        },
      );
    });
  }

  private tcp(up: Upstream, question: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const id = randomInt(0, 65536);
      const q = this.query(id, question);
      const sock = net.connect({ host: up.host, port: up.port });
      let buf = Buffer.alloc(0);
      const done = (b: Buffer | undefined) => {
        sock.destroy();
        resolve(b);
      };
      sock.setTimeout(this.timeoutMs * 2, () => done(undefined));
      sock.on('error', () => done(undefined));
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(q.length);
        sock.end(Buffer.concat([len, q]));
      });
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          done(
            msg.length >= 12 && msg.readUInt16BE(0) === id && sameQuestion(msg, question) ? msg : undefined,
          );
        }
      });
      sock.on('end', () => done(undefined));
    });
  }

  close(): void {
    this.closed = true;
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const p of this.pending.values()) p.resolve(undefined);
    this.pending.clear();
  }
}

function sameHost(a: string, b: string): boolean {
  return a === b || a === `::ffff:${b}`;
}

/** The answer repeats our question (names compared case-insensitively: servers may use 0x20). */
function sameQuestion(msg: Buffer, question: Buffer): boolean {
  if (msg.readUInt16BE(4) !== 1 || msg.length < 12 + question.length) return false;
  const nameLen = question.length - 4;
  for (let i = 0; i < question.length; i++) {
    let a = msg[12 + i]!;
    if (i < nameLen && a >= 65 && a <= 90) a += 32;
    if (a !== question[i]) return false;
  }
  return true;
}
