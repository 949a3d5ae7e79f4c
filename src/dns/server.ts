/**
 * The DNS server: UDP and TCP (RFC 7766 length-prefixed, pipelined) on one address and port.
 *
 * Hot path (one synchronous function, no allocation beyond the key and the response): parse the
 * question from the raw bytes (wire.ts), look the prebuilt answer up in the current index
 * (record-index.ts) or the forwarding cache (cache.ts), copy it with the query's ID and question.
 * Slow path: anything else is decoded with dns-packet; a query we can answer is re-encoded in
 * canonical form and answered by the hot path, the rest gets FORMERR / NOTIMP / REFUSED / BADVERS;
 * a packet too short to carry an ID, or a response, is dropped. Nothing a client sends may throw
 * out of `handle`.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import dnsPacket from 'dns-packet';
import { renderCached } from './cache.js';
import { DnsListenError } from './errors.js';
import type { Forwarder } from './forwarder.js';
import {
  type DnsMetrics,
  PLUGIN_CACHE,
  PLUGIN_FORWARD,
  PLUGIN_KUBERNETES,
  PLUGIN_NONE,
  ZONE_CLUSTER,
  ZONE_OTHER,
} from './metrics.js';
import type { Answer, RecordIndex } from './record-index.js';
import { renderAnswer, truncated } from './responder.js';
import { listenUdp, type UdpListener } from './udp-batch.js';
import { CLASS_IN, nameKey, OPT_RR, QueryView, RCODE, recordsThatFit, TYPE } from './wire.js';

export interface DnsServerOptions {
  /** Address to listen on (UDP and TCP). */
  host: string;
  /** Port (0: a free one, the same for UDP and TCP). */
  port: number;
  /** Where the current index is read from on every query (a RecordSource). */
  source: { readonly index: RecordIndex };
  /** Names outside the cluster zone; without one they are REFUSED. */
  forwarder?: Forwarder | undefined;
  metrics?: DnsMetrics | undefined;
  /** Close idle TCP connections after this long (ms, default 10000). */
  tcpIdleMs?: number | undefined;
  /** Socket buffer sizes (bytes, default 4 MiB; the kernel may cap them). */
  socketBufferBytes?: number | undefined;
  /**
   * UDP I/O: `batch` = the recvmmsg/sendmmsg addon (udp-batch.ts), `dgram` = Node's socket,
   * `auto` (default) = the addon when it is built.
   */
  udpMode?: 'auto' | 'batch' | 'dgram' | undefined;
  now?: (() => number) | undefined;
}

type Reply = (b: Buffer) => void;

const TCP_MAX = 65535;
const VIA_UDP4 = { tcp: false, v6: false } as const;
const VIA_UDP6 = { tcp: false, v6: true } as const;

/** A listening DNS server; `handle` is the protocol logic, usable without sockets in tests. */
export class DnsServer {
  port = 0;
  private readonly opts: DnsServerOptions;
  private readonly q = new QueryView();
  private readonly now: () => number;
  private udp: UdpListener | undefined;
  private tcp: net.Server | undefined;
  private readonly conns = new Set<net.Socket>();
  private readonly loggedErrors = new Set<string>();
  /** Reused for cache hits (no allocation on the hot path). */
  private readonly renderOpts = { qlen: 0, hasOpt: false, maxSize: 0, now: 0, serial: 0 };
  /**
   * While a UDP batch is being answered: when it was read. Its synchronous answers are sent together
   * at the end of the batch, so each one's duration is the batch's (recorded when the batch ends).
   */
  private batchT0 = -1;

  constructor(opts: DnsServerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  /** Listen on UDP and TCP; with port 0, retries until both get the same free port. */
  async start(): Promise<void> {
    const v6 = net.isIPv6(this.opts.host);
    for (let attempt = 0; ; attempt++) {
      let udp: UdpListener;
      try {
        udp = await listenUdp(
          {
            host: this.opts.host,
            port: this.opts.port,
            bufferBytes: this.opts.socketBufferBytes ?? 4 << 20,
            mode: this.opts.udpMode,
            hooks: this.batchHooks,
          },
          (msg, v6, reply, keep) => this.handle(msg, v6 ? VIA_UDP6 : VIA_UDP4, reply, keep),
        );
      } catch (e) {
        throw listenError(e, this.opts.host, this.opts.port, 'UDP');
      }
      const port = udp.port;
      const tcp = net.createServer({ noDelay: true }, (s) => this.onTcp(s, v6));
      tcp.maxConnections = 1000;
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen({ host: this.opts.host, port, exclusive: true }, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        udp.close();
        if (this.opts.port === 0 && attempt < 20) continue;
        throw listenError(e, this.opts.host, port, 'TCP');
      }
      tcp.on('error', (e) => this.logOnce(`tcp: ${e.message}`));
      this.udp = udp;
      this.tcp = tcp;
      this.port = port;
      return;
    }
  }

  /** How UDP is read and written: `batch` (recvmmsg/sendmmsg addon) or `dgram`. */
  get udpKind(): 'batch' | 'dgram' | undefined {
    return this.udp?.kind;
  }

  async stop(): Promise<void> {
    this.udp?.close();
    for (const c of this.conns) c.destroy();
    await new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
    this.udp = undefined;
    this.tcp = undefined;
  }

  private onTcp(sock: net.Socket, v6: boolean): void {
    this.conns.add(sock);
    sock.setTimeout(this.opts.tcpIdleMs ?? 10_000, () => sock.destroy());
    sock.on('close', () => this.conns.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf: Buffer = Buffer.alloc(0);
    const reply: Reply = (b) => {
      if (sock.destroyed || !sock.writable) return;
      const len = Buffer.allocUnsafe(2);
      len.writeUInt16BE(b.length);
      sock.write(Buffer.concat([len, b]));
    };
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        this.handle(msg, { tcp: true, v6 }, reply);
      }
    });
  }

  private readonly batchHooks = {
    start: () => {
      this.batchT0 = performance.now();
    },
    end: () => {
      this.opts.metrics?.settleBatch((performance.now() - this.batchT0) / 1000);
      this.batchT0 = -1;
    },
  };

  /**
   * Answer one message: `reply` now, or later through `keep()` (a reply that outlives this call;
   * without `keep`, `reply` itself must), or never for a dropped packet.
   */
  handle(msg: Buffer, via: { tcp: boolean; v6: boolean }, reply: Reply, keep?: () => Reply): void {
    const t0 = this.batchT0 >= 0 ? this.batchT0 : performance.now();
    try {
      const q = this.q;
      const later = keep ?? (() => reply);
      if (q.parse(msg) && q.qclass === CLASS_IN) this.answer(msg, via, reply, later, t0);
      else this.slow(msg, via, reply, later, t0);
    } catch (e) {
      this.logOnce(`query failed: ${(e as Error)?.stack ?? String(e)}`);
      try {
        if (msg.length >= 12 && (msg[2]! & 0x80) === 0) reply(headerOnly(msg, RCODE.SERVFAIL));
      } catch {
        // nothing more to do for this packet
      }
    }
  }

  /** A response sent now (`t0`: when its query was read). */
  private responded(zone: number, plugin: number, rcode: number, qtype: number, t0: number): void {
    const m = this.opts.metrics;
    if (!m) return;
    if (this.batchT0 >= 0) m.responseInBatch(zone, plugin, rcode, qtype);
    else m.response(zone, plugin, rcode, qtype, (performance.now() - t0) / 1000);
  }

  /** `this.q` holds the parsed `msg`. */
  private answer(
    msg: Buffer,
    via: { tcp: boolean; v6: boolean },
    reply: Reply,
    later: () => Reply,
    t0: number,
  ): void {
    const q = this.q;
    const m = this.opts.metrics;
    const maxSize = via.tcp ? TCP_MAX : q.udpSize;
    const index = this.opts.source.index;
    const a = index.lookup(q.key, q.qtype, q.hash);
    if (a !== undefined) {
      m?.request(ZONE_CLUSTER, via.tcp, via.v6, q.qtype);
      if (a.chase !== undefined && q.qtype !== TYPE.CNAME && this.opts.forwarder) {
        const shape = { qtype: q.qtype, qlen: q.qlen, hasOpt: q.hasOpt, maxSize, serial: index.serial };
        this.chase(a, Buffer.from(msg), shape, later(), t0); // answered later: keep the query
        return;
      }
      const r = this.renderOpts;
      r.qlen = q.qlen;
      r.hasOpt = q.hasOpt;
      r.maxSize = maxSize;
      r.serial = index.serial;
      reply(renderAnswer(a, msg, r));
      this.responded(ZONE_CLUSTER, PLUGIN_KUBERNETES, a.rcode, q.qtype, t0);
      return;
    }
    m?.request(ZONE_OTHER, via.tcp, via.v6, q.qtype);
    const fwd = this.opts.forwarder;
    const qtype = q.qtype;
    if (!fwd) {
      const shape = { qlen: q.qlen, hasOpt: q.hasOpt, maxSize };
      reply(errorResponse(msg, shape, RCODE.REFUSED));
      this.responded(ZONE_OTHER, PLUGIN_NONE, RCODE.REFUSED, qtype, t0);
      return;
    }
    const hit = fwd.cached(q.key, qtype);
    if (hit) {
      m?.cacheHit(hit.negative);
      const r = this.renderOpts;
      r.qlen = q.qlen;
      r.hasOpt = q.hasOpt;
      r.maxSize = maxSize;
      r.now = this.now();
      reply(renderCached(hit, msg, r));
      this.responded(ZONE_OTHER, PLUGIN_CACHE, hit.rcode, qtype, t0);
      return;
    }
    m?.cacheMiss();
    const shape = { qlen: q.qlen, hasOpt: q.hasOpt, maxSize };
    const query = Buffer.from(msg); // answered later: the UDP batch reuses the query's bytes
    const send = later();
    fwd.resolve(q.key, qtype).then(
      (e) => {
        const rcode = e ? e.rcode : RCODE.SERVFAIL;
        send(
          e
            ? renderCached(e, query, { ...shape, now: this.now() })
            : errorResponse(query, shape, RCODE.SERVFAIL),
        );
        m?.response(ZONE_OTHER, PLUGIN_FORWARD, rcode, qtype, (performance.now() - t0) / 1000);
      },
      (err) => this.logOnce(`forward failed: ${String(err)}`),
    );
  }

  /** ExternalName outside the zone: the CNAME, then the target's records from upstream. */
  private chase(
    a: Answer,
    msg: Buffer,
    shape: { qtype: number; qlen: number; hasOpt: boolean; maxSize: number; serial: number },
    reply: Reply,
    t0: number,
  ): void {
    const target = a.chase!;
    // The CNAME, then as many of the target's records as fit (recordsThatFit); TC when some did
    // not. `extra` holds them uncompressed, one after another, ending at `ends`.
    const done = (extra: Buffer, ends: readonly number[]) => {
      const base = renderAnswer(a, msg, {
        qlen: shape.qlen,
        hasOpt: false,
        maxSize: TCP_MAX,
        serial: shape.serial,
      });
      const opt = shape.hasOpt ? OPT_RR : Buffer.alloc(0);
      const room = shape.maxSize - base.length - opt.length;
      if (room < 0) reply(truncated(a.head, msg, shape.qlen, shape.hasOpt));
      else {
        const k = recordsThatFit(ends, room);
        const out = Buffer.concat([base, extra.subarray(0, k > 0 ? ends[k - 1] : 0), opt]);
        out.writeUInt16BE(out.readUInt16BE(6) + k, 6);
        if (shape.hasOpt) out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
        if (k < ends.length) out[2]! |= 0x02;
        reply(out);
      }
      this.opts.metrics?.response(
        ZONE_CLUSTER,
        PLUGIN_KUBERNETES,
        a.rcode,
        shape.qtype,
        (performance.now() - t0) / 1000,
      );
    };
    const key = nameKey(target);
    this.opts.forwarder!.resolve(key, shape.qtype).then(
      (e) => {
        if (!e || e.an === 0) return done(Buffer.alloc(0), []);
        // Decode the upstream answers and re-encode them without compression to append them.
        const question = Buffer.alloc(key.length + 5);
        question.write(key, 0, 'latin1');
        question.writeUInt16BE(shape.qtype, key.length + 1);
        question.writeUInt16BE(CLASS_IN, key.length + 3);
        const fake = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), question]);
        const p = dnsPacket.decode(
          renderCached(e, fake, { qlen: question.length, hasOpt: false, maxSize: TCP_MAX, now: this.now() }),
        );
        const answers = (p.answers ?? []).filter((r) => r.type !== 'OPT');
        // Re-encoded one record at a time so that each one's end is known: none points at another.
        const rrs = answers.map((r) =>
          dnsPacket.encode({ type: 'response', id: 0, flags: 0, answers: [r] }).subarray(12),
        );
        const ends: number[] = [];
        for (const rr of rrs) ends.push((ends.at(-1) ?? 0) + rr.length);
        done(Buffer.concat(rrs), ends);
      },
      () => done(Buffer.alloc(0), []),
    );
  }

  private slow(
    msg: Buffer,
    via: { tcp: boolean; v6: boolean },
    reply: Reply,
    later: () => Reply,
    t0: number,
  ): void {
    if (msg.length < 12 || (msg[2]! & 0x80) !== 0) return; // no ID to answer, or not a query
    const fail = (rcode: number) => {
      reply(headerOnly(msg, rcode));
      this.responded(ZONE_OTHER, PLUGIN_NONE, rcode, 0, t0);
    };
    const opcode = (msg[2]! >> 3) & 0x0f;
    if (opcode !== 0) {
      fail(RCODE.NOTIMP);
      return;
    }
    let p: dnsPacket.Packet;
    try {
      p = dnsPacket.decode(msg);
    } catch {
      fail(RCODE.FORMERR);
      return;
    }
    const question = p.questions?.[0];
    if (p.questions?.length !== 1 || !question || (p.answers?.length ?? 0) > 0) {
      fail(RCODE.FORMERR);
      return;
    }
    const opts = (p.additionals ?? []).filter((r) => r.type === 'OPT') as dnsPacket.OptAnswer[];
    if (opts.length > 1) {
      fail(RCODE.FORMERR);
      return;
    }
    const opt = opts[0];
    if (opt && (opt.ednsVersion ?? 0) !== 0) {
      reply(badVersion(msg));
      this.responded(ZONE_OTHER, PLUGIN_NONE, 16, 0, t0);
      return;
    }
    let canon: Buffer;
    try {
      canon = dnsPacket.encode({
        type: 'query',
        id: p.id ?? 0,
        flags: ((msg[2]! << 8) | msg[3]!) & (dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED),
        questions: [question],
        additionals: opt ? [{ type: 'OPT', name: '.', udpPayloadSize: opt.udpPayloadSize } as any] : [],
      });
    } catch {
      fail(RCODE.FORMERR);
      return;
    }
    if (!this.q.parse(canon)) {
      fail(RCODE.FORMERR);
      return;
    }
    if (this.q.qclass !== CLASS_IN) {
      reply(errorResponse(canon, { qlen: this.q.qlen, hasOpt: false, maxSize: TCP_MAX }, RCODE.REFUSED));
      this.responded(ZONE_OTHER, PLUGIN_NONE, RCODE.REFUSED, this.q.qtype, t0);
      return;
    }
    this.answer(canon, via, reply, later, t0);
  }

  private logOnce(msg: string): void {
    if (this.loggedErrors.has(msg) || this.loggedErrors.size > 100) return;
    this.loggedErrors.add(msg);
    console.error(`k8ts dns: ${msg}`);
  }
}

/** A response with only the header: the query's ID, opcode and RD, and `rcode`. */
export function headerOnly(query: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out[0] = query[0]!;
  out[1] = query[1]!;
  out[2] = 0x80 | (query[2]! & 0x79);
  out[3] = 0x80 | rcode;
  return out;
}

/** A response with the question (and OPT), no records, and `rcode`. */
export function errorResponse(
  query: Buffer,
  shape: { qlen: number; hasOpt: boolean; maxSize: number },
  rcode: number,
): Buffer {
  const qend = 12 + shape.qlen;
  const out = Buffer.alloc(qend + (shape.hasOpt ? OPT_RR.length : 0));
  out[0] = query[0]!;
  out[1] = query[1]!;
  out[2] = 0x80 | (query[2]! & 0x79);
  out[3] = 0x80 | rcode;
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(shape.hasOpt ? 1 : 0, 10);
  query.copy(out, 12, 12, qend);
  if (shape.hasOpt) OPT_RR.copy(out, qend);
  return out;
}

/** BADVERS (extended rcode 16): header + our OPT carrying the upper rcode bits. */
function badVersion(query: Buffer): Buffer {
  const opt = Buffer.from(OPT_RR);
  opt[5] = 1; // extended rcode 1 << 4 = 16
  const out = Buffer.concat([headerOnly(query, 0), opt]);
  out.writeUInt16BE(1, 10);
  return out;
}

function listenError(e: unknown, host: string, port: number, proto: string): DnsListenError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EADDRINUSE')
    return new DnsListenError(`${proto} port ${port} on ${host} is already in use`);
  if (err.code === 'EACCES')
    return new DnsListenError(`not allowed to listen on ${host}:${port} (${proto}): ${err.message}`);
  if (err.code === 'EADDRNOTAVAIL')
    return new DnsListenError(`address ${host} is not on any interface of this network namespace`);
  return new DnsListenError(`cannot listen on ${host}:${port} (${proto}): ${err.message}`);
}
