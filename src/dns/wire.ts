/**
 * The DNS wire format as the hot path needs it, written by hand (RFC 1035, RFC 6891):
 * - `QueryView.parse` reads the header, the one question and an optional OPT record straight from
 *   the bytes, lower-casing the name into a reusable key, with no allocation but the key string.
 * - `WireWriter` encodes the records this server builds (A, AAAA, CNAME, PTR, NS, SOA, SRV, TXT)
 *   with name compression, for the precomputed answers.
 * Anything the hot path does not recognise goes to the slow path (dns-packet). See
 * docs/architecture.md for the measurement that justifies the hand-written part.
 */

import { isIPv4, isIPv6 } from 'node:net';
import { formatIp } from '../core/apiserver/allocator/ip.js';

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
} as const;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export const CLASS_IN = 1;
/** The UDP payload size this server advertises (the DNS flag day 2020 value). */
export const EDNS_UDP_SIZE = 1232;
/** Largest response over UDP to a client without EDNS. */
export const PLAIN_UDP_SIZE = 512;

const LOWER = new Uint8Array(256);
for (let i = 0; i < 256; i++) LOWER[i] = i >= 65 && i <= 90 ? i + 32 : i;

/**
 * A parsed query, reused between packets (one per server: no allocation per query).
 * `parse` returns false when the packet is not a plain query the fast path handles.
 */
export class QueryView {
  /** Lower-cased wire name without the root label (the index key). */
  key = '';
  /** hashKey(key) (persistent-map.ts), computed while the name is read. */
  hash = 0;
  /** Bytes of the question section (name + type + class). */
  qlen = 0;
  qtype = 0;
  qclass = 0;
  hasOpt = false;
  /** Client's advertised UDP payload size (512 without EDNS). */
  udpSize = PLAIN_UDP_SIZE;
  private readonly scratch = Buffer.alloc(256);

  /** Parse a query from raw bytes; false when it needs the slow path (or is not a query at all). */
  parse(buf: Buffer): boolean {
    const len = buf.length;
    if (len < 17) return false;
    // QR=0, opcode QUERY; qd=1, an=0, ns=0, ar<=1
    if ((buf[2]! & 0xf8) !== 0) return false;
    if (buf[4] !== 0 || buf[5] !== 1 || buf[6] !== 0 || buf[7] !== 0 || buf[8] !== 0 || buf[9] !== 0)
      return false;
    if (buf[10] !== 0) return false;
    const ar = buf[11]!;
    if (ar > 1) return false;
    let off = 12;
    let k = 0;
    const s = this.scratch;
    // FNV-1a of the key's bytes, as hashKey computes it from the string.
    let h = 0x811c9dc5;
    for (;;) {
      if (off >= len) return false;
      const l = buf[off]!;
      if (l === 0) break;
      if (l > 63 || k + l + 1 > 254) return false;
      s[k++] = l;
      h = Math.imul(h ^ l, 0x01000193);
      const end = off + 1 + l;
      if (end >= len) return false;
      for (let i = off + 1; i < end; i++) {
        const c = LOWER[buf[i]!]!;
        s[k++] = c;
        h = Math.imul(h ^ c, 0x01000193);
      }
      off = end;
    }
    off++;
    if (off + 4 > len) return false;
    this.qtype = (buf[off]! << 8) | buf[off + 1]!;
    this.qclass = (buf[off + 2]! << 8) | buf[off + 3]!;
    off += 4;
    this.qlen = off - 12;
    this.hasOpt = false;
    this.udpSize = PLAIN_UDP_SIZE;
    if (ar === 1) {
      // OPT: root name, type 41, class = UDP size, ttl = ext-rcode/version/flags, rdlength, rdata.
      if (off + 11 > len || buf[off] !== 0 || buf[off + 1] !== 0 || buf[off + 2] !== TYPE.OPT) return false;
      if (buf[off + 6] !== 0) return false; // EDNS version other than 0 -> slow path answers BADVERS
      const size = (buf[off + 3]! << 8) | buf[off + 4]!;
      const rdlen = (buf[off + 9]! << 8) | buf[off + 10]!;
      off += 11 + rdlen;
      this.hasOpt = true;
      this.udpSize = Math.max(size, PLAIN_UDP_SIZE);
    }
    if (off !== len) return false;
    this.key = s.toString('latin1', 0, k);
    this.hash = h >>> 0;
    return true;
  }
}

/** The index key of a dotted name: lower-cased wire form without the root label. */
export function nameKey(name: string): string {
  const labels = splitName(name);
  let out = '';
  for (const l of labels) out += String.fromCharCode(l.length) + l.toLowerCase();
  return out;
}

/** Labels of a dotted name ('' and '.' are the root: no labels). */
export function splitName(name: string): string[] {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return n === '' ? [] : n.split('.');
}

/** The dotted name of an index key (for logs and the slow path). */
export function keyToName(key: string): string {
  return keyLabels(key).join('.');
}

/** True when the index key `key` is `suffix` or a name below it (on label boundaries). */
export function keyIsBelow(key: string, suffix: string): boolean {
  if (!key.endsWith(suffix)) return false;
  const prefix = key.length - suffix.length;
  let i = 0;
  while (i < prefix) i += 1 + key.charCodeAt(i);
  return i === prefix;
}

/** Labels of an index key, leftmost first. */
export function keyLabels(key: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < key.length) {
    const l = key.charCodeAt(i);
    out.push(key.slice(i + 1, i + 1 + l));
    i += 1 + l;
  }
  return out;
}

export interface RecordData {
  name: string;
  type: number;
  ttl: number;
  /** A/AAAA: address; CNAME/PTR/NS: target name; TXT: the text. */
  data?: string | undefined;
  srv?: { priority: number; weight: number; port: number; target: string } | undefined;
  soa?:
    | {
        mname: string;
        rname: string;
        serial: number;
        refresh: number;
        retry: number;
        expire: number;
        minimum: number;
      }
    | undefined;
}

/** A growable buffer that encodes DNS messages with name compression. */
export class WireWriter {
  buf: Buffer;
  len = 0;
  /** Offset of the serial of the last SOA record written (-1: none yet). */
  serialAt = -1;
  /** Lower-cased dotted suffix -> offset, for compression (absent: compression off). */
  private readonly names: Map<string, number> | undefined;

  constructor(opts: { size?: number; compress?: boolean } = {}) {
    this.buf = Buffer.alloc(opts.size ?? 512);
    this.names = opts.compress === false ? undefined : new Map();
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.len);
    this.len += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Write a name, pointing at an earlier copy of its longest known suffix. */
  name(name: string): void {
    const labels = splitName(name);
    for (let i = 0; i < labels.length; i++) {
      if (this.names) {
        const suffix = labels.slice(i).join('.').toLowerCase();
        const at = this.names.get(suffix);
        if (at !== undefined) {
          this.u16(0xc000 | at);
          return;
        }
        if (this.len < 0x3fff) this.names.set(suffix, this.len);
      }
      const label = Buffer.from(labels[i]!, 'latin1');
      if (label.length === 0 || label.length > 63) throw new RangeError(`bad label in name "${name}"`);
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }

  /** Write a resource record of the types this server produces. */
  record(r: RecordData): void {
    this.name(r.name);
    this.u16(r.type);
    this.u16(CLASS_IN);
    this.u32(r.ttl);
    const lenAt = this.len;
    this.u16(0);
    const start = this.len;
    switch (r.type) {
      case TYPE.A:
        this.bytes(ipv4Bytes(r.data!));
        break;
      case TYPE.AAAA:
        this.bytes(ipv6Bytes(r.data!));
        break;
      case TYPE.CNAME:
      case TYPE.PTR:
      case TYPE.NS:
        this.name(r.data!);
        break;
      case TYPE.TXT: {
        const t = Buffer.from(r.data!, 'utf8');
        for (let i = 0; i < t.length || i === 0; i += 255) {
          const part = t.subarray(i, i + 255);
          this.u8(part.length);
          this.bytes(part);
        }
        break;
      }
      case TYPE.SRV: {
        const s = r.srv!;
        this.u16(s.priority);
        this.u16(s.weight);
        this.u16(s.port);
        // RFC 2782: the target must not be compressed.
        this.nameNoCompress(s.target);
        break;
      }
      case TYPE.SOA: {
        const s = r.soa!;
        this.name(s.mname);
        this.name(s.rname);
        this.serialAt = this.len;
        this.u32(s.serial);
        this.u32(s.refresh);
        this.u32(s.retry);
        this.u32(s.expire);
        this.u32(s.minimum);
        break;
      }
      default:
        throw new RangeError(`cannot encode record type ${r.type}`);
    }
    this.buf.writeUInt16BE(this.len - start, lenAt);
  }

  private nameNoCompress(name: string): void {
    for (const l of splitName(name)) {
      const label = Buffer.from(l, 'latin1');
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }

  /** An OPT pseudo-record advertising our UDP size (no options). */
  opt(udpSize: number = EDNS_UDP_SIZE): void {
    this.u8(0);
    this.u16(TYPE.OPT);
    this.u16(udpSize);
    this.u32(0);
    this.u16(0);
  }

  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/**
 * How many leading records fit in `room` bytes, given where each record ends (offsets from the
 * first one's start). Compression pointers only point backwards (RFC 1035 4.1.4), so a prefix of
 * an answer section is whole: a truncated answer (TC) keeps that many records.
 */
export function recordsThatFit(ends: readonly number[], room: number): number {
  let k = 0;
  while (k < ends.length && ends[k]! <= room) k++;
  return k;
}

/** The 11 bytes of our OPT record. */
export const OPT_RR: Buffer = (() => {
  const w = new WireWriter({ compress: false });
  w.opt();
  return w.result();
})();

function ipv4Bytes(ip: string): Uint8Array {
  if (!isIPv4(ip)) throw new RangeError(`not an IPv4 address: ${ip}`);
  return Uint8Array.from(ip.split('.').map(Number));
}

/** The 16 bytes of an IPv6 address. */
export function ipv6Bytes(ip: string): Uint8Array {
  if (!isIPv6(ip)) throw new RangeError(`not an IPv6 address: ${ip}`);
  let s = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = ipv4Bytes(v4[1]!);
    s = `${s.slice(0, -v4[1]!.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** The canonical (RFC 5952) text of 16 IPv6 bytes (the allocator's formatter). */
export function ipv6Text(b: Uint8Array): string {
  let value = 0n;
  for (const x of b) value = (value << 8n) | BigInt(x);
  return formatIp(value, 6);
}

/** The reverse-lookup name of an IP (in-addr.arpa / ip6.arpa nibbles). */
export function reverseName(ip: string): string {
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const b = ipv6Bytes(ip);
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) nibbles.push((b[i]! & 0xf).toString(16), (b[i]! >> 4).toString(16));
  return `${nibbles.join('.')}.ip6.arpa`;
}
