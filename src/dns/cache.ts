/**
 * The positive and negative cache of forwarded answers (RFC 2308), keyed by (type, lower-cased
 * name). An entry keeps the upstream response's sections as bytes (its OPT record removed) with
 * the offsets of every TTL, so a hit is served by copying bytes and writing the remaining TTLs:
 * no decoding, no encoding. Positive answers live for their smallest TTL, negative ones (NXDOMAIN,
 * NODATA) for min(SOA TTL, SOA minimum); answers without a SOA, errors and truncated answers are
 * not cached.
 */
import { OPT_RR, RCODE, recordsThatFit, TYPE } from './wire.js';

export interface CachedAnswer {
  /** Header bytes 2-3 (flags and rcode) of the upstream answer. */
  readonly flags: number;
  readonly rcode: number;
  readonly an: number;
  readonly ns: number;
  /** Additional records without the OPT. */
  readonly ar: number;
  /** Sections after the question, the OPT removed. */
  readonly body: Buffer;
  /** Offsets of each record's TTL inside `body`, and the TTLs as received. */
  readonly ttlAt: readonly number[];
  /** End offset inside `body` of each answer record (a prefix of them is whole: see renderCached). */
  readonly answerEnds: readonly number[];
  readonly ttls: readonly number[];
  /** When it was received and how long it may be served (ms). */
  readonly storedAt: number;
  readonly lifetimeMs: number;
  readonly negative: boolean;
}

export interface DnsCacheOptions {
  /** Entries kept at most (the oldest is dropped first; default 10000). */
  maxEntries?: number | undefined;
  /** Caps on the lifetime of positive / negative entries (seconds; CoreDNS: 3600 / 1800). */
  maxTtl?: number | undefined;
  maxNegativeTtl?: number | undefined;
}

/** Parse an upstream response whose question is `qlen` bytes; undefined if malformed or unusable. */
export function parseUpstreamAnswer(res: Buffer, qlen: number, now: number): CachedAnswer | undefined {
  if (res.length < 12 + qlen) return undefined;
  const an = res.readUInt16BE(6);
  const ns = res.readUInt16BE(8);
  const arAll = res.readUInt16BE(10);
  if (res.readUInt16BE(4) !== 1) return undefined;
  let off = 12 + qlen;
  const start = off;
  const ttlAt: number[] = [];
  const ttls: number[] = [];
  const answerEnds: number[] = [];
  let minAnswerTtl = Number.POSITIVE_INFINITY;
  let soaTtl: number | undefined;
  let optStart = -1;
  const total = an + ns + arAll;
  for (let i = 0; i < total; i++) {
    const nameEnd = skipName(res, off);
    if (nameEnd < 0 || nameEnd + 10 > res.length) return undefined;
    const type = res.readUInt16BE(nameEnd);
    const ttl = res.readUInt32BE(nameEnd + 4);
    const rdlen = res.readUInt16BE(nameEnd + 8);
    const end = nameEnd + 10 + rdlen;
    if (end > res.length) return undefined;
    if (type === TYPE.OPT) {
      if (i < an + ns || optStart >= 0) return undefined;
      optStart = off;
    } else {
      if (optStart >= 0) return undefined; // records after the OPT: keep it simple, do not cache
      ttlAt.push(nameEnd + 4 - start);
      ttls.push(ttl);
      if (i < an) {
        minAnswerTtl = Math.min(minAnswerTtl, ttl);
        answerEnds.push(end - start);
      }
      if (i >= an && i < an + ns && type === TYPE.SOA && rdlen >= 22) {
        const minimum = res.readUInt32BE(end - 4);
        soaTtl = Math.min(ttl, minimum);
      }
    }
    off = end;
  }
  if (off !== res.length) return undefined;
  const body =
    optStart >= 0 ? Buffer.from(res.subarray(start, optStart)) : Buffer.from(res.subarray(start, off));
  const rcode = res[3]! & 0x0f;
  const negative = rcode === RCODE.NXDOMAIN || (rcode === RCODE.NOERROR && an === 0);
  const ttl = negative ? soaTtl : an > 0 ? minAnswerTtl : undefined;
  return {
    flags: res.readUInt16BE(2),
    rcode,
    an,
    ns,
    ar: arAll - (optStart >= 0 ? 1 : 0),
    body,
    ttlAt,
    ttls,
    answerEnds,
    storedAt: now,
    lifetimeMs: ttl === undefined || !Number.isFinite(ttl) ? 0 : ttl * 1000,
    negative,
  };
}

/** Offset after the name at `off` (labels or a pointer), or -1. */
function skipName(b: Buffer, off: number): number {
  for (let n = 0; n < 128; n++) {
    if (off >= b.length) return -1;
    const l = b[off]!;
    if (l === 0) return off + 1;
    if ((l & 0xc0) === 0xc0) return off + 2;
    if (l > 63) return -1;
    off += 1 + l;
  }
  return -1;
}

/**
 * The response to `query` from a cached (or just received) upstream answer, TTLs aged to `now`.
 * An answer larger than `maxSize` keeps the answer records that fit, drops the other sections
 * and sets TC (as CoreDNS does), so a client that cannot retry over TCP still gets addresses
 * (recordsThatFit).
 */
export function renderCached(
  e: CachedAnswer,
  query: Buffer,
  opts: { qlen: number; hasOpt: boolean; maxSize: number; now: number },
): Buffer {
  const qend = 12 + opts.qlen;
  const optLen = opts.hasOpt ? OPT_RR.length : 0;
  let bodyLen = e.body.length;
  let records = e.ttlAt.length;
  const truncated = qend + bodyLen + optLen > opts.maxSize;
  let an = e.an;
  if (truncated) {
    an = recordsThatFit(e.answerEnds, opts.maxSize - qend - optLen);
    bodyLen = an > 0 ? e.answerEnds[an - 1]! : 0;
    records = an;
  }
  const out = Buffer.allocUnsafe(qend + bodyLen + optLen);
  out[0] = query[0]!;
  out[1] = query[1]!;
  // QR, opcode, RD from the query; RA and rcode from upstream; AA off (we are not the authority).
  out[2] = 0x80 | (query[2]! & 0x79) | (truncated ? 0x02 : 0);
  out[3] = 0x80 | (e.flags & 0x2f) | (query[3]! & 0x10);
  out.writeUInt16BE(1, 4);
  for (let i = 12; i < qend; i++) out[i] = query[i]!; // a loop: cheaper than copy() for a question
  out.writeUInt16BE(an, 6);
  out.writeUInt16BE(truncated ? 0 : e.ns, 8);
  out.writeUInt16BE((truncated ? 0 : e.ar) + (opts.hasOpt ? 1 : 0), 10);
  if (bodyLen === e.body.length) out.set(e.body, qend);
  else e.body.copy(out, qend, 0, bodyLen);
  const aged = Math.floor((opts.now - e.storedAt) / 1000);
  if (aged > 0)
    for (let i = 0; i < records; i++) out.writeUInt32BE(Math.max(0, e.ttls[i]! - aged), qend + e.ttlAt[i]!);
  if (opts.hasOpt) OPT_RR.copy(out, qend + bodyLen);
  return out;
}

/**
 * Bounded map of cached answers: name key -> type -> answer (the name key is the string the
 * index lookup already hashed, so a hit costs no new string). Expired entries are dropped when
 * read; past `maxEntries` names, the oldest name goes first.
 */
export class DnsCache {
  private readonly map = new Map<string, Map<number, CachedAnswer>>();
  private readonly max: number;
  private readonly maxTtlMs: number;
  private readonly maxNegMs: number;

  constructor(opts: DnsCacheOptions = {}) {
    this.max = opts.maxEntries ?? 10_000;
    this.maxTtlMs = (opts.maxTtl ?? 3600) * 1000;
    this.maxNegMs = (opts.maxNegativeTtl ?? 1800) * 1000;
  }

  /** Names cached. */
  get size(): number {
    return this.map.size;
  }

  /** A live entry, or undefined (an expired one is removed). */
  get(key: string, qtype: number, now: number): CachedAnswer | undefined {
    const byType = this.map.get(key);
    if (byType === undefined) return undefined;
    const e = byType.get(qtype);
    if (e === undefined) return undefined;
    if (now - e.storedAt >= Math.min(e.lifetimeMs, e.negative ? this.maxNegMs : this.maxTtlMs)) {
      byType.delete(qtype);
      if (byType.size === 0) this.map.delete(key);
      return undefined;
    }
    return e;
  }

  /** Keep an answer if it is cacheable (a lifetime above zero, not truncated, NOERROR/NXDOMAIN). */
  put(key: string, qtype: number, e: CachedAnswer): void {
    if (e.lifetimeMs <= 0 || (e.flags & 0x0200) !== 0) return;
    if (e.rcode !== RCODE.NOERROR && e.rcode !== RCODE.NXDOMAIN) return;
    let byType = this.map.get(key);
    if (!byType) {
      if (this.map.size >= this.max) {
        const oldest = this.map.keys().next().value;
        if (oldest !== undefined) this.map.delete(oldest);
      }
      byType = new Map();
      this.map.set(key, byType);
    }
    byType.set(qtype, e);
  }

  clear(): void {
    this.map.clear();
  }
}
