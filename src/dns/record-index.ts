/**
 * An immutable index of the cluster zone: name -> records, with every ancestor of a record as an
 * empty non-terminal (NODATA, not NXDOMAIN), and the wire answer of each (name, type) built once
 * on first use. Records come in units (one per Service, one per Namespace, one for the zone's own
 * records): `update` replaces some units and returns the next index, which shares every untouched
 * name (and its built answers) with this one through persistent maps, so an update costs
 * O(names of the changed units), not O(zone). A lookup reads one index and never sees a
 * half-applied change (record-source.ts swaps the reference).
 *
 * What an answer depends on, and how an update keeps shared answers right:
 * - the records of its own name: a name whose records change gets a new node (empty answer cache);
 * - the records of the names it points at (CNAME targets followed in the zone, SRV/NS glue): a
 *   reverse dependency map (target -> sources) gives the sources fresh caches when a target changes;
 * - the SOA serial, which every update bumps: answers hold the offset of the serial, which the
 *   responder writes from the index (`Answer.serialAt`), so no cached answer goes stale with it;
 * - for names outside the index, whether `<ns>.pod.<zone>` exists (pod answers): the cache of
 *   those answers is dropped when a namespace comes or goes, and shared otherwise.
 */
import { parseClusterName } from './names.js';
import { MapEditor, PersistentMap } from './persistent-map.js';
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
  /** Offset in `tail` of the SOA serial, written from `RecordIndex.serial` when sent (-1: no SOA). */
  readonly serialAt: number;
  /**
   * Offset in `tail` just after each answer-section record: a response too large for the client
   * keeps the answers that fit, with TC set (responder.ts). Absent: nothing is kept.
   */
  readonly answerEnds?: readonly number[] | undefined;
}

export interface RecordIndexOptions {
  zone: string;
  ttl: number;
  /** SOA serial (the source bumps it on every update). */
  serial: number;
  /**
   * Pod names `a-b-c-d.<ns>.pod.<zone>` (CoreDNS's `pods` option): `insecure` (default) answers
   * any IP in an existing namespace; `verified` and `disabled` answer only the records in the
   * index (a source in verified mode puts every pod's IPs in; disabled puts none).
   */
  pods?: 'insecure' | 'verified' | 'disabled' | undefined;
}

/** What one source object puts in the zone: its records and the names it makes exist. */
export type ZoneUnit = ZoneRecords;

/** A unit as stored: its records grouped by name key, and its empty names as keys. */
interface UnitEntry {
  readonly byKey: ReadonlyMap<string, readonly RecordData[]>;
  readonly emptyKeys: readonly string[];
}

interface ZNode {
  readonly byType: ReadonlyMap<number, readonly RecordData[]>;
  readonly cname: RecordData | undefined;
  /** The records of this name, per unit that contributes them. */
  readonly contrib: ReadonlyMap<string, readonly RecordData[]>;
  /** Units naming this name as an empty name. */
  readonly empties: number;
  /** Child names that exist (an empty non-terminal exists while it has one). */
  readonly children: number;
  /** Answers built on first use; shared by every index version holding this node. */
  readonly answers: Map<number, Answer>;
}

/** A name being changed by one update (mutable until committed as a new ZNode). */
interface Draft {
  readonly key: string;
  readonly old: ZNode | undefined;
  contrib: Map<string, readonly RecordData[]> | undefined;
  empties: number;
  children: number;
  recordsChanged: boolean;
}

interface IndexState {
  readonly nodes: PersistentMap<ZNode>;
  readonly units: PersistentMap<UnitEntry>;
  /** Target name key -> keys of the names whose answers include the target's records. */
  readonly deps: PersistentMap<readonly string[]>;
  /** Answers of names not in `nodes` (pod names, NXDOMAIN), keyed `<qtype>/<key>`. */
  readonly dynamic: Map<string, Answer>;
}

const MAX_DYNAMIC = 10_000;
/** The unit of the records a full build (`new RecordIndex(zr)`) puts in. */
const FULL_UNIT = '';
const NO_CONTRIB: ReadonlyMap<string, readonly RecordData[]> = new Map();

/** Lookup result: an answer, or undefined when the name is not ours (forward it). */
export class RecordIndex {
  readonly zone: string;
  readonly zoneKey: string;
  readonly ttl: number;
  readonly serial: number;
  readonly pods: 'insecure' | 'verified' | 'disabled';
  /** Number of distinct names (for logs and tests). */
  readonly size: number;
  private readonly zoneLabelCount: number;
  private readonly podZoneKey: string;
  private readonly state: IndexState;
  /** The SOA with this index's serial (`records()`); answers carry it with serial 0, patched. */
  private readonly soa: RecordData;
  private readonly soaTemplate: RecordData;
  private readonly nxdomain: Answer;
  private readonly nodataNoName: Answer;

  /**
   * The full build: every record of `zr` as one unit. `previous` + `changes` instead derives the
   * next version of `previous` (see `update`).
   */
  constructor(
    zr: ZoneRecords,
    opts: RecordIndexOptions & {
      previous?: RecordIndex | undefined;
      changes?: ReadonlyMap<string, ZoneUnit | undefined> | undefined;
    },
  ) {
    this.zone = opts.zone.replace(/\.$/, '').toLowerCase();
    this.zoneKey = nameKey(this.zone);
    this.zoneLabelCount = this.zone.split('.').length;
    this.podZoneKey = nameKey(`pod.${this.zone}`);
    this.ttl = opts.ttl;
    this.serial = opts.serial >>> 0;
    this.pods = opts.previous?.pods ?? opts.pods ?? 'insecure';
    const soa = (serial: number): RecordData => ({
      name: this.zone,
      type: TYPE.SOA,
      ttl: opts.ttl,
      soa: {
        mname: `ns.dns.${this.zone}`,
        rname: `hostmaster.${this.zone}`,
        serial,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: opts.ttl,
      },
    });
    this.soa = soa(this.serial);
    this.soaTemplate = soa(0);
    const prev = opts.previous;
    if (prev && (prev.zoneKey !== this.zoneKey || prev.ttl !== this.ttl))
      throw new RangeError('an index update cannot change the zone or the TTL');
    const base: IndexState = prev?.state ?? {
      nodes: PersistentMap.empty(),
      units: PersistentMap.empty(),
      deps: PersistentMap.empty(),
      dynamic: new Map(),
    };
    this.state = this.apply(base, opts.changes ?? new Map([[FULL_UNIT, zr]]));
    this.size = this.state.nodes.size;
    this.nxdomain = prev?.nxdomain ?? this.fixedAnswer(RCODE.NXDOMAIN);
    this.nodataNoName = prev?.nodataNoName ?? this.fixedAnswer(RCODE.NOERROR);
  }

  /**
   * The next index: each unit in `changes` replaced by its new content (undefined: removed). Unit
   * keys are the caller's (one per Service, Namespace, ...); '' is the full build's unit.
   */
  update(changes: ReadonlyMap<string, ZoneUnit | undefined>, opts: { serial: number }): RecordIndex {
    return new RecordIndex(
      { records: [], emptyNames: [] },
      { zone: this.zone, ttl: this.ttl, serial: opts.serial, previous: this, changes },
    );
  }

  /** Keys of every name in the index (tests). */
  names(): string[] {
    return this.state.nodes.keys();
  }

  /** Records of one name and type (tests and the slow path). */
  records(name: string, type: number): readonly RecordData[] {
    const key = nameKey(name);
    if (type === TYPE.SOA) return key === this.zoneKey ? [this.soa] : [];
    const node = this.state.nodes.get(key);
    if (!node) return [];
    if (type === TYPE.CNAME) return node.cname ? [node.cname] : [];
    return node.byType.get(type) ?? [];
  }

  /**
   * The answer for a question (index key + type, class IN), or undefined when the name is outside
   * the cluster zone and not a known reverse name (the caller forwards it).
   */
  lookup(key: string, qtype: number, hash?: number): Answer | undefined {
    const node = this.state.nodes.get(key, hash);
    if (node) {
      let a = node.answers.get(qtype);
      if (!a) {
        a = this.build(key, node, qtype);
        node.answers.set(qtype, a);
      }
      return a;
    }
    if (!keyIsBelow(key, this.zoneKey)) return undefined;
    const dynamic = this.state.dynamic;
    const cached = dynamic.get(`${qtype}/${key}`);
    if (cached) return cached;
    const a = this.dynamicAnswer(key, qtype);
    if (dynamic.size >= MAX_DYNAMIC) dynamic.clear();
    dynamic.set(`${qtype}/${key}`, a);
    return a;
  }

  /** Replace units and derive the next state, touching only the names those units own. */
  private apply(prev: IndexState, changes: ReadonlyMap<string, ZoneUnit | undefined>): IndexState {
    const nodes0 = prev.nodes;
    const units = new MapEditor(prev.units, { expectedEdits: changes.size });
    const drafts = new Map<string, Draft>();
    const draft = (key: string): Draft => {
      let d = drafts.get(key);
      if (!d) {
        const old = nodes0.get(key);
        d = {
          key,
          old,
          contrib: undefined,
          empties: old?.empties ?? 0,
          children: old?.children ?? 0,
          recordsChanged: false,
        };
        drafts.set(key, d);
      }
      return d;
    };
    const contribOf = (d: Draft): Map<string, readonly RecordData[]> => {
      d.contrib ??= new Map(d.old?.contrib ?? NO_CONTRIB);
      return d.contrib;
    };
    if (!prev.nodes.has(this.zoneKey)) {
      const d = draft(this.zoneKey);
      contribOf(d);
      d.recordsChanged = true;
    }
    for (const [uk, unit] of changes) {
      const before = units.get(uk);
      const next = unit ? toEntry(unit) : undefined;
      if (before) {
        for (const [k, rs] of before.byKey) {
          if (next && sameRecords(rs, next.byKey.get(k))) continue;
          const d = draft(k);
          contribOf(d).delete(uk);
          d.recordsChanged = true;
        }
        for (const k of before.emptyKeys) draft(k).empties--;
      }
      if (next) {
        for (const [k, rs] of next.byKey) {
          if (before && sameRecords(rs, before.byKey.get(k))) continue;
          const d = draft(k);
          contribOf(d).set(uk, rs);
          d.recordsChanged = true;
        }
        for (const k of next.emptyKeys) draft(k).empties++;
        units.set(uk, next);
      } else if (before) units.delete(uk);
    }

    // Existence, deepest names first: a name that appears or vanishes changes its parent's count
    // of children, which may make the parent appear or vanish in turn (empty non-terminals).
    const exists = (d: Draft) =>
      d.key === this.zoneKey ||
      (d.contrib ?? d.old?.contrib ?? NO_CONTRIB).size > 0 ||
      d.empties > 0 ||
      d.children > 0;
    const byDepth: Draft[][] = [];
    for (const d of drafts.values()) {
      if (d.key === this.zoneKey || !keyIsBelow(d.key, this.zoneKey)) continue;
      (byDepth[labelCount(d.key)] ??= []).push(d);
    }
    for (let depth = byDepth.length - 1; depth > this.zoneLabelCount; depth--) {
      for (const d of byDepth[depth] ?? []) {
        const now = exists(d);
        if (now === (d.old !== undefined)) continue;
        const parentKey = d.key.slice(d.key.charCodeAt(0) + 1);
        const known = drafts.has(parentKey);
        const p = draft(parentKey);
        p.children += now ? 1 : -1;
        if (!known && parentKey !== this.zoneKey) (byDepth[depth - 1] ??= []).push(p);
      }
    }

    // Commit: new nodes for changed names; a name whose only change is a count keeps its answers.
    const nodes = new MapEditor(prev.nodes, { expectedEdits: drafts.size });
    const deps = new MapEditor(prev.deps, { expectedEdits: drafts.size });
    const changedNames: string[] = [];
    let namespacesChanged = false;
    for (const d of drafts.values()) {
      const now = exists(d);
      const old = d.old;
      if ((old !== undefined) !== now && d.key.slice(d.key.charCodeAt(0) + 1) === this.podZoneKey)
        namespacesChanged = true;
      if (!now) {
        if (old) {
          nodes.delete(d.key);
          moveDeps(deps, d.key, targetsOf(old), []);
          changedNames.push(d.key);
        }
        continue;
      }
      if (d.recordsChanged || !old) {
        const node = makeNode(d.contrib ?? old?.contrib ?? NO_CONTRIB, d.empties, d.children);
        nodes.set(d.key, node);
        moveDeps(deps, d.key, old ? targetsOf(old) : [], targetsOf(node));
        changedNames.push(d.key);
      } else if (d.empties !== old.empties || d.children !== old.children) {
        nodes.set(d.key, { ...old, empties: d.empties, children: d.children });
      }
    }
    // Names whose answers include a changed name's records get fresh answer caches.
    const refreshed = new Set<string>();
    for (const t of changedNames) {
      for (const s of deps.get(t) ?? []) {
        if (refreshed.has(s) || (drafts.get(s)?.recordsChanged ?? false)) continue;
        refreshed.add(s);
        const n = nodes.get(s);
        if (n) nodes.set(s, { ...n, answers: new Map() });
      }
    }
    const dynamic = namespacesChanged || prev.nodes.size === 0 ? new Map<string, Answer>() : prev.dynamic;
    return { nodes: nodes.done(), units: units.done(), deps: deps.done(), dynamic };
  }

  /** Pod names (`a-b-c-d.<ns>.pod.<zone>`) in `pods insecure` mode; anything else is NXDOMAIN. */
  private dynamicAnswer(key: string, qtype: number): Answer {
    const labels = keyLabels(key).slice(0, -this.zoneLabelCount);
    const parsed = parseClusterName(labels);
    if (parsed.kind !== 'pod' || !parsed.ip || this.pods !== 'insecure') return this.nxdomain;
    const ns = parsed.namespace!;
    if (!this.state.nodes.has(String.fromCharCode(ns.length) + ns + this.podZoneKey)) return this.nxdomain;
    const type = parsed.ip.includes(':') ? TYPE.AAAA : TYPE.A;
    if (qtype !== type && qtype !== TYPE.ANY) return this.nodataNoName;
    // The owner is the question itself: a pointer to offset 12 is valid whatever its length.
    const w = new WireWriter({ compress: false });
    w.u16(0xc00c);
    const rr = new WireWriter({ compress: false });
    rr.record({ name: '', type, ttl: this.ttl, data: parsed.ip });
    w.bytes(rr.result().subarray(1));
    return { head: header(RCODE.NOERROR, 1, 0, 0), tail: w.result(), rcode: RCODE.NOERROR, serialAt: -1 };
  }

  /** NXDOMAIN / NODATA with the SOA, position independent (no pointer into the question). */
  private fixedAnswer(rcode: number): Answer {
    const w = new WireWriter({ compress: false });
    w.record(this.soaTemplate);
    return { head: header(rcode, 0, 1, 0), tail: w.result(), rcode, serialAt: w.serialAt };
  }

  private build(key: string, node: ZNode, qtype: number): Answer {
    const nodes = this.state.nodes;
    const answer: RecordData[] = [];
    const authority: RecordData[] = [];
    const additional: RecordData[] = [];
    const apex = key === this.zoneKey;
    let chase: string | undefined;
    if (qtype === TYPE.ANY) {
      if (apex) answer.push(this.soaTemplate);
      for (const list of node.byType.values()) answer.push(...list);
      if (node.cname) answer.push(node.cname);
    } else if (qtype === TYPE.CNAME) {
      if (node.cname) answer.push(node.cname);
    } else if (qtype === TYPE.SOA) {
      if (apex) answer.push(this.soaTemplate);
    } else {
      answer.push(...(node.byType.get(qtype) ?? []));
      if (answer.length === 0 && node.cname) {
        answer.push(node.cname);
        const target = nodes.get(nameKey(node.cname.data!));
        if (target) answer.push(...(target.byType.get(qtype) ?? []));
        else if (!keyIsBelow(nameKey(node.cname.data!), this.zoneKey)) chase = node.cname.data!;
      }
    }
    if (answer.length === 0) authority.push(this.soaTemplate);
    const seen = new Set<string>();
    for (const r of answer) {
      const glueName = r.type === TYPE.SRV ? r.srv!.target : r.type === TYPE.NS ? r.data! : undefined;
      if (!glueName || seen.has(glueName)) continue;
      seen.add(glueName);
      const t = nodes.get(nameKey(glueName));
      if (t) additional.push(...(t.byType.get(TYPE.A) ?? []), ...(t.byType.get(TYPE.AAAA) ?? []));
    }
    const w = new WireWriter();
    w.bytes(header(RCODE.NOERROR, answer.length, authority.length, additional.length));
    w.name(keyToName(key));
    w.u16(qtype);
    w.u16(CLASS_IN);
    const qend = w.len;
    const answerEnds: number[] = [];
    for (const r of answer) {
      w.record(r);
      answerEnds.push(w.len - qend);
    }
    for (const r of authority) w.record(r);
    for (const r of additional) w.record(r);
    const all = w.result();
    const serialAt = w.serialAt < 0 ? -1 : w.serialAt - qend;
    return {
      head: all.subarray(0, 12),
      tail: all.subarray(qend),
      rcode: RCODE.NOERROR,
      chase,
      serialAt,
      answerEnds,
    };
  }
}

function toEntry(unit: ZoneUnit): UnitEntry {
  const byKey = new Map<string, RecordData[]>();
  for (const r of unit.records) {
    const k = nameKey(r.name);
    const list = byKey.get(k);
    if (list) list.push(r);
    else byKey.set(k, [r]);
  }
  return { byKey, emptyKeys: [...new Set(unit.emptyNames.map(nameKey))] };
}

function recordId(r: RecordData): string {
  const s = r.srv;
  return `${r.type}|${r.ttl}|${r.name}|${r.data ?? ''}|${s ? `${s.priority} ${s.weight} ${s.port} ${s.target}` : ''}`;
}

function sameRecords(a: readonly RecordData[], b: readonly RecordData[] | undefined): boolean {
  if (!b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && recordId(a[i]!) !== recordId(b[i]!)) return false;
  return true;
}

function makeNode(
  contrib: ReadonlyMap<string, readonly RecordData[]>,
  empties: number,
  children: number,
): ZNode {
  const byType = new Map<number, RecordData[]>();
  let cname: RecordData | undefined;
  for (const list of contrib.values()) {
    for (const r of list) {
      if (r.type === TYPE.CNAME) {
        cname = r;
        continue;
      }
      const l = byType.get(r.type);
      if (l) l.push(r);
      else byType.set(r.type, [r]);
    }
  }
  return { byType, cname, contrib, empties, children, answers: new Map() };
}

/** Keys of the other names whose records a node's answers include (CNAME target, SRV/NS glue). */
function targetsOf(node: ZNode): string[] {
  const out = new Set<string>();
  if (node.cname) out.add(nameKey(node.cname.data!));
  for (const r of node.byType.get(TYPE.SRV) ?? []) out.add(nameKey(r.srv!.target));
  for (const r of node.byType.get(TYPE.NS) ?? []) out.add(nameKey(r.data!));
  return [...out];
}

/** Move `source` from the `before` targets to the `after` targets in the dependency map. */
function moveDeps(
  deps: MapEditor<readonly string[]>,
  source: string,
  before: readonly string[],
  after: readonly string[],
): void {
  for (const t of before) {
    if (t === source || after.includes(t)) continue;
    const list = (deps.get(t) ?? []).filter((s) => s !== source);
    if (list.length) deps.set(t, list);
    else deps.delete(t);
  }
  for (const t of after) {
    if (t === source || before.includes(t)) continue;
    deps.set(t, [...(deps.get(t) ?? []), source]);
  }
}

function labelCount(key: string): number {
  let n = 0;
  for (let i = 0; i < key.length; i += 1 + key.charCodeAt(i)) n++;
  return n;
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
