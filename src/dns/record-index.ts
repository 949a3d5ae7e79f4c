/**
 * An immutable index of the cluster zone: name -> records, with every ancestor of a record as an
 * empty non-terminal (NODATA, not NXDOMAIN), and the wire answer of each (name, type) built once
 * on first use and kept for the life of the index. The server swaps in a new index when the
 * cluster changes (record-source.ts), so a lookup never sees a half-built zone.
 */
import { parseClusterName } from './names.js';
import type { ZoneRecords } from './records.js';
import {
  CLASS_IN,
  keyIsBelow,
  keyLabels,
  keyToName,
  nameKey,
  RCODE,
  type RecordData,
  TYPE,
  WireWriter,
} from './wire.js';

/** A prebuilt answer: header template and the sections after the question. */
export interface Answer {
  /** 12 header bytes (ID, RD and CD are patched from the query). */
  readonly head: Buffer;
  /** Answer, authority and additional sections, encoded for a question of the looked-up name. */
  readonly tail: Buffer;
  readonly rcode: number;
  /** An ExternalName target outside the zone: resolve it upstream and append (CNAME chasing). */
  readonly chase?: string | undefined;
}

export interface RecordIndexOptions {
  zone: string;
  ttl: number;
  /** SOA serial (the source bumps it on every rebuild). */
  serial: number;
}

class ZNode {
  readonly byType = new Map<number, RecordData[]>();
  readonly answers = new Map<number, Answer>();
  cname: RecordData | undefined;
}

const MAX_DYNAMIC = 10_000;

/** Lookup result: an answer, or undefined when the name is not ours (forward it). */
export class RecordIndex {
  readonly zone: string;
  readonly zoneKey: string;
  readonly ttl: number;
  readonly serial: number;
  /** Number of distinct names (for logs and tests). */
  readonly size: number;
  private readonly zoneLabelCount: number;
  private readonly nodes = new Map<string, ZNode>();
  private readonly soa: RecordData;
  private readonly nxdomain: Answer;
  private readonly nodataNoName: Answer;
  private readonly dynamic = new Map<string, Answer>();
  private readonly namespaces = new Set<string>();

  constructor(zr: ZoneRecords, opts: RecordIndexOptions) {
    this.zone = opts.zone.replace(/\.$/, '').toLowerCase();
    this.zoneKey = nameKey(this.zone);
    this.zoneLabelCount = this.zone.split('.').length;
    this.ttl = opts.ttl;
    this.serial = opts.serial >>> 0;
    this.soa = {
      name: this.zone,
      type: TYPE.SOA,
      ttl: opts.ttl,
      soa: {
        mname: `ns.dns.${this.zone}`,
        rname: `hostmaster.${this.zone}`,
        serial: this.serial,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: opts.ttl,
      },
    };
    this.ensure(this.zoneKey);
    this.put(this.soa);
    for (const r of zr.records) this.put(r);
    for (const n of zr.emptyNames) this.ensure(nameKey(n));
    for (const n of zr.emptyNames) {
      const parsed = parseClusterName(keyLabels(nameKey(n)).slice(0, -this.zoneLabelCount));
      if (parsed.kind === 'pod' && parsed.namespace) this.namespaces.add(parsed.namespace);
    }
    this.size = this.nodes.size;
    this.nxdomain = this.fixedAnswer(RCODE.NXDOMAIN);
    this.nodataNoName = this.fixedAnswer(RCODE.NOERROR);
  }

  private ensure(key: string): ZNode {
    let node = this.nodes.get(key);
    if (node) return node;
    node = new ZNode();
    this.nodes.set(key, node);
    // Every ancestor down to the zone apex exists (empty non-terminals answer NODATA).
    if (key !== this.zoneKey && keyIsBelow(key, this.zoneKey)) {
      const parent = key.slice(key.charCodeAt(0) + 1);
      if (parent.length >= this.zoneKey.length) this.ensure(parent);
    }
    return node;
  }

  private put(r: RecordData): void {
    const node = this.ensure(nameKey(r.name));
    if (r.type === TYPE.CNAME) {
      node.cname = r;
      return;
    }
    const list = node.byType.get(r.type);
    if (list) list.push(r);
    else node.byType.set(r.type, [r]);
  }

  /** Records of one name and type (tests and the slow path). */
  records(name: string, type: number): RecordData[] {
    const node = this.nodes.get(nameKey(name));
    if (!node) return [];
    if (type === TYPE.CNAME) return node.cname ? [node.cname] : [];
    return node.byType.get(type) ?? [];
  }

  /**
   * The answer for a question (index key + type, class IN), or undefined when the name is outside
   * the cluster zone and not a known reverse name (the caller forwards it).
   */
  lookup(key: string, qtype: number): Answer | undefined {
    const node = this.nodes.get(key);
    if (node) {
      let a = node.answers.get(qtype);
      if (!a) {
        a = this.build(key, node, qtype);
        node.answers.set(qtype, a);
      }
      return a;
    }
    if (!keyIsBelow(key, this.zoneKey)) return undefined;
    const cached = this.dynamic.get(`${qtype}/${key}`);
    if (cached) return cached;
    const a = this.dynamicAnswer(key, qtype);
    if (this.dynamic.size >= MAX_DYNAMIC) this.dynamic.clear();
    this.dynamic.set(`${qtype}/${key}`, a);
    return a;
  }

  /** Pod names (`a-b-c-d.<ns>.pod.<zone>`, CoreDNS "pods insecure"); anything else is NXDOMAIN. */
  private dynamicAnswer(key: string, qtype: number): Answer {
    const labels = keyLabels(key).slice(0, -this.zoneLabelCount);
    const parsed = parseClusterName(labels);
    if (parsed.kind !== 'pod' || !parsed.ip || !this.namespaces.has(parsed.namespace!)) return this.nxdomain;
    const type = parsed.ip.includes(':') ? TYPE.AAAA : TYPE.A;
    if (qtype !== type && qtype !== TYPE.ANY) return this.nodataNoName;
    // The owner is the question itself: a pointer to offset 12 is valid whatever its length.
    const w = new WireWriter({ compress: false });
    w.u16(0xc00c);
    const rr = new WireWriter({ compress: false });
    rr.record({ name: '', type, ttl: this.ttl, data: parsed.ip });
    w.bytes(rr.result().subarray(1));
    return { head: header(RCODE.NOERROR, 1, 0, 0), tail: w.result(), rcode: RCODE.NOERROR };
  }

  /** NXDOMAIN / NODATA with the SOA, position independent (no pointer into the question). */
  private fixedAnswer(rcode: number): Answer {
    const w = new WireWriter({ compress: false });
    w.record(this.soa);
    return { head: header(rcode, 0, 1, 0), tail: w.result(), rcode };
  }

  private build(key: string, node: ZNode, qtype: number): Answer {
    const answer: RecordData[] = [];
    const authority: RecordData[] = [];
    const additional: RecordData[] = [];
    let chase: string | undefined;
    if (qtype === TYPE.ANY) {
      for (const list of node.byType.values()) answer.push(...list);
      if (node.cname) answer.push(node.cname);
    } else if (qtype === TYPE.CNAME) {
      if (node.cname) answer.push(node.cname);
    } else {
      answer.push(...(node.byType.get(qtype) ?? []));
      if (answer.length === 0 && node.cname) {
        answer.push(node.cname);
        const target = this.nodes.get(nameKey(node.cname.data!));
        if (target) answer.push(...(target.byType.get(qtype) ?? []));
        else if (!keyIsBelow(nameKey(node.cname.data!), this.zoneKey)) chase = node.cname.data!;
      }
    }
    if (answer.length === 0) authority.push(this.soa);
    const seen = new Set<string>();
    for (const r of answer) {
      const glueName = r.type === TYPE.SRV ? r.srv!.target : r.type === TYPE.NS ? r.data! : undefined;
      if (!glueName || seen.has(glueName)) continue;
      seen.add(glueName);
      const t = this.nodes.get(nameKey(glueName));
      if (t) additional.push(...(t.byType.get(TYPE.A) ?? []), ...(t.byType.get(TYPE.AAAA) ?? []));
    }
    const w = new WireWriter();
    w.bytes(header(RCODE.NOERROR, answer.length, authority.length, additional.length));
    w.name(keyToName(key));
    w.u16(qtype);
    w.u16(CLASS_IN);
    const qend = w.len;
    for (const r of answer) w.record(r);
    for (const r of authority) w.record(r);
    for (const r of additional) w.record(r);
    const all = w.result();
    return { head: all.subarray(0, 12), tail: all.subarray(qend), rcode: RCODE.NOERROR, chase };
  }
}

/** Header template: QR, AA, RA set; one question; the given counts. */
function header(rcode: number, an: number, ns: number, ar: number): Buffer {
  const h = Buffer.alloc(12);
  h[2] = 0x84; // QR | AA
  h[3] = 0x80 | rcode; // RA
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ns, 8);
  h.writeUInt16BE(ar, 10);
  return h;
}
