/**
 * Turn a prebuilt answer into the response to one query: copy the header template, patch the
 * query's ID, RD and CD bits, copy the query's question bytes (so the name's exact case is
 * echoed, which 0x20-randomising resolvers check), then the prebuilt sections and our OPT record
 * when the client used EDNS. A response larger than the client can take keeps the answer records
 * that fit, drops the other sections and sets TC (as CoreDNS does), so a client that cannot retry
 * over TCP still gets addresses.
 */
import type { Answer } from './record-index.js';
import { OPT_RR, recordsThatFit } from './wire.js';

export interface RenderOptions {
  /** Length of the query's question section (at offset 12). */
  qlen: number;
  hasOpt: boolean;
  maxSize: number;
  /** The SOA serial of the index the answer came from (written where `a.serialAt` says). */
  serial: number;
}

/** The response bytes for `query` (whose question is `qlen` bytes at offset 12). */
export function renderAnswer(a: Answer, query: Buffer, opts: RenderOptions): Buffer {
  const { qlen, hasOpt } = opts;
  const qend = 12 + qlen;
  const optLen = hasOpt ? OPT_RR.length : 0;
  const size = qend + a.tail.length + optLen;
  if (size > opts.maxSize) return partial(a, query, opts);
  const out = Buffer.allocUnsafe(size);
  // Byte loops and set() rather than Buffer#copy: for these few bytes copy's argument handling
  // costs more than the copying (the hot path answers in about a microsecond).
  const head = a.head;
  out[0] = query[0]!;
  out[1] = query[1]!;
  out[2] = (head[2]! & 0xfe) | (query[2]! & 0x01);
  out[3] = (head[3]! & 0xef) | (query[3]! & 0x10);
  for (let i = 4; i < 12; i++) out[i] = head[i]!;
  for (let i = 12; i < qend; i++) out[i] = query[i]!;
  out.set(a.tail, qend);
  if (a.serialAt >= 0) out.writeUInt32BE(opts.serial, qend + a.serialAt);
  if (hasOpt) {
    out.set(OPT_RR, qend + a.tail.length);
    out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  }
  return out;
}

/** The answer records that fit in `maxSize`, TC set, no authority or additional records. */
function partial(a: Answer, query: Buffer, opts: RenderOptions): Buffer {
  const { qlen, hasOpt } = opts;
  const qend = 12 + qlen;
  const room = opts.maxSize - qend - (hasOpt ? OPT_RR.length : 0);
  const ends = a.answerEnds ?? [];
  const k = recordsThatFit(ends, room);
  const out = truncated(a.head, query, qlen, hasOpt);
  if (k === 0) return out;
  // Answer records only point backwards (at the question or earlier answers): a prefix is whole.
  const keep = ends[k - 1]!;
  const res = Buffer.allocUnsafe(out.length + keep);
  out.copy(res, 0, 0, qend);
  a.tail.copy(res, qend, 0, keep);
  out.copy(res, qend + keep, qend);
  res.writeUInt16BE(k, 6);
  if (a.serialAt >= 0 && a.serialAt + 4 <= keep) res.writeUInt32BE(opts.serial, qend + a.serialAt);
  return res;
}

/** Header (TC set, no records) + question (+ OPT): the client retries over TCP. */
export function truncated(head: Buffer, query: Buffer, qlen: number, hasOpt: boolean): Buffer {
  const qend = 12 + qlen;
  const out = Buffer.allocUnsafe(qend + (hasOpt ? OPT_RR.length : 0));
  head.copy(out, 0, 0, 4);
  out[0] = query[0]!;
  out[1] = query[1]!;
  out[2] = (out[2]! & 0xfe) | (query[2]! & 0x01) | 0x02;
  out[3] = (out[3]! & 0xef) | (query[3]! & 0x10);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(hasOpt ? 1 : 0, 10);
  query.copy(out, 12, 12, qend);
  if (hasOpt) OPT_RR.copy(out, qend);
  return out;
}
