/**
 * nftables mode for one IP family: renders (nftables-render.ts) into our own table
 * (`table ip|ip6 k8ts-proxy`; no other table is ever named) and applies each sync through the
 * CommandRunner as `nft -f -` transactions: all of each or nothing.
 *
 * Partial syncs: the rendering of each service port is cached; a sync re-renders the service ports
 * of changed services and writes only the difference from what it last applied: `delete element`
 * / `add element` in the shared verdict maps and the endpoint maps, `flush chain` + `add rule` for
 * chains whose rules changed, `add chain` / `add set` for new ones, and `flush chain` + `delete
 * chain` / `delete set` for those no longer wanted (after every reference to them is gone, in the
 * same transaction). A spread chain keeps its slot range while its endpoints fit (nftables-slots.ts),
 * so a same-count endpoint change is element-only; the slots of a range given up are rewritten or
 * deleted in the transaction that gives it up, so ranges never overlap.
 * A full sync (first, periodic, after any failure) lists our table's chains, sets and maps, flushes
 * and rewrites every chain and map, allocates the slots afresh and deletes whatever chain, set or
 * map of the table is not wanted: one transaction. Into an empty kernel (a node's first sync) it is
 * three steps instead, see planFull.
 * Affinity sets are never flushed: their dynamic entries are the clients' affinity state.
 */
import type { ProxyBackend, SyncRequest, SyncResult } from './backend.js';
import { clearStaleConntrack } from './conntrack.js';
import { CommandFailedError } from './errors.js';
import type { IpFamily } from './model.js';
import {
  NFT_ENDPOINT_SHARDS,
  NFT_SPREAD_PROTOCOLS,
  NFT_TABLE,
  type NftElement,
  type NftMapName,
  type NftRenderConfig,
  type NftSpread,
  type NftSpreadGroup,
  nftBaseRuleset,
  nftEndpointMap,
  nftFamily,
  nftSharedSpreadChain,
  nftSharedSpreadMap,
  nftSharedSpreadMapSpec,
  nftSharedSpreadRules,
  nftSpreadRule,
  type RenderedNftServicePort,
  renderNftServicePort,
} from './nftables-render.js';
import { SlotAllocator, type SlotRange } from './nftables-slots.js';
import type { CommandResult, CommandRunner } from './runner.js';

export interface NftablesProxierOptions extends NftRenderConfig {
  runner: CommandRunner;
  /** Clear UDP conntrack entries of removed endpoints (default true). */
  conntrack?: boolean | undefined;
  now?: (() => number) | undefined;
  /**
   * Called once a sync's `nft -f` inputs all applied, with their text concatenated in order (tests
   * and the bench; when set, the streamed chunks are kept until then).
   */
  onApply?: ((input: string) => void) | undefined;
}

/** Past this slot number a sync is full (slots are allocated afresh). */
const SLOT_LIMIT = 2 ** 31;

/** Elements per `add element` / `delete element` command (and lines per streamed chunk). */
const ELEMENT_BATCH = 1000;

/**
 * Shares of a first sync's bulk for the `nft -f` run side by side: one per core of this 2-core
 * target, the first smaller. The kernel commits one transaction at a time (the nfnetlink mutex held
 * for a whole batch: with equal halves the second nft's sendmsg waited 0.135 s for the first's
 * 0.112 s, strace -T), so the smaller input parses ahead and commits while the larger still parses.
 * 4:5 is P / (2P + K) with K/P ~0.25, the kernel's share of nft's time per element here.
 */
const FULL_SYNC_SHARES = [4, 5] as const;

/**
 * nft's own cost of one input line or element, by kind, in thousands of instructions (callgrind, nft
 * 1.0.6): about 10 per address, port or number of a concatenation, plus the command around it. Used
 * to split a first sync's bulk into inputs of equal work (splitParts).
 */
const NFT_COST = {
  /** `slot : address . port` (an endpoint map). */
  slotElement: 32,
  /** `clusterIP . port . index : address . port` (a shared spread map). */
  spreadElement: 53,
  /** A shared map's element (`service-ips` and the like; the hairpin pairs are cheaper, no matter). */
  dispatchElement: 39,
  rule: 72,
} as const;

/** Chains, sets and maps of one table in a `nft -j list chains|sets|maps <family>` output. */
export function parseNftList(
  json: string,
  table: string,
): { chains: Set<string>; sets: Set<string>; maps: Set<string> } {
  const out = { chains: new Set<string>(), sets: new Set<string>(), maps: new Set<string>() };
  if (!json.trim()) return out;
  const doc = JSON.parse(json) as { nftables?: Record<string, { table?: string; name?: string }>[] };
  for (const item of doc.nftables ?? []) {
    if (item.chain?.table === table && item.chain.name) out.chains.add(item.chain.name);
    if (item.set?.table === table && item.set.name) out.sets.add(item.set.name);
    if (item.map?.table === table && item.map.name) out.maps.add(item.map.name);
  }
  return out;
}

/** A spread chain's slot range and the targets in its first slots (the kernel holds exactly these). */
interface ChainSlots extends SlotRange {
  targets: readonly string[];
}

/**
 * One `nft -f` input (one transaction): its text (a small one), or its text in chunks, made afresh
 * on each call (a failed input runs again) and only as nft reads them, so generation overlaps nft's
 * parsing (a full sync's).
 */
type NftInput = string | Chunks;
type Chunks = () => Iterable<string>;

/** A piece of a full sync's bulk (elements of one map, rules of some chains) and nft's cost of it. */
interface Part {
  cost: number;
  chunks: Chunks;
}

/**
 * A sync's `nft -f` inputs: steps run one after the other, the inputs of one step side by side;
 * each input is one transaction. commit() records the new state once all have applied.
 */
interface Plan {
  steps: NftInput[][];
  commit: () => number;
}

/** The kernel's table as listed before a full sync. */
interface KernelTable {
  chains: Set<string>;
  sets: Set<string>;
  maps: Set<string>;
}

/** The nftables backend of one family. */
export class NftablesProxier implements ProxyBackend {
  readonly mode = 'nftables' as const;
  private readonly opts: NftablesProxierOptions;
  private readonly fam: 'ip' | 'ip6';
  private readonly prefix: string;
  private readonly now: () => number;
  /** service port key -> its rendering. */
  private readonly rendered = new Map<string, RenderedNftServicePort>();
  /** What we believe is in the kernel: per-service chain -> its rules, sets -> timeout, elements. */
  private chains = new Map<string, readonly string[]>();
  private sets = new Map<string, number>();
  private elements = new Map<string, NftElement>();
  /**
   * Spread chains' slot ranges with their targets: slot offset+i of their shard holds targets[i], and
   * no other slot of the endpoint maps holds anything.
   */
  private ranges = new Map<string, ChainSlots>();
  private allocator: SlotAllocator;
  /** N of the shared spread chains spread-N (and maps spread-endpoints-N-<proto>) in the kernel. */
  private spreadNs = new Set<number>();
  /** N -> how many rendered service ports use spread-N. */
  private readonly spreadUsers = new Map<number, number>();
  /** Plain service ports' endpoint elements in the kernel, by their `service-ips` element id. */
  private groups = new Map<string, NftSpreadGroup>();
  /**
   * Element id -> the service ports rendering it. Two services may claim the same destination
   * (one externalIP:port given to both); the map holds one verdict per key, so the service port with
   * the smallest key wins, in full and partial syncs alike.
   */
  private readonly owners = new Map<string, string | string[]>();
  private ruleCount = 0;
  private needFull = true;
  /** Time spent making streamed chunks in the current sync (generation, reported as such). */
  private chunkMs = 0;
  private readonly shards: number;

  constructor(opts: NftablesProxierOptions) {
    this.opts = opts;
    this.fam = nftFamily(opts.family);
    this.prefix = `${this.fam} ${NFT_TABLE}`;
    this.now = opts.now ?? (() => performance.now());
    this.shards = opts.endpointShards ?? NFT_ENDPOINT_SHARDS;
    this.allocator = new SlotAllocator(this.shards);
  }

  /** Force the next sync to be full. */
  invalidate(): void {
    this.needFull = true;
  }

  async sync(req: SyncRequest): Promise<SyncResult> {
    const t0 = this.now();
    // Slot numbers are 32-bit in the kernel: far from it in practice (freed ranges are reused), and a
    // full sync compacts them.
    const full = req.full || this.needFull || this.allocator.high() > SLOT_LIMIT;
    let kernel: KernelTable | undefined;
    let renderMs = 0;
    if (full) {
      // Rendering replaces the cached renderings: until this sync applies, only a full one may follow.
      this.needFull = true;
      // The listing runs (nft processes) while this renders.
      const listing = this.listKernel();
      listing.catch(() => {}); // awaited below; not unhandled while rendering
      const tr = this.now();
      this.renderAll(req);
      renderMs = this.now() - tr;
      kernel = await listing;
    }
    const t1 = this.now();
    const plan = full ? this.planFull(kernel!) : this.planPartial(req);
    const t2 = this.now();
    let written = 0;
    // Time spent making the chunks of streamed inputs: generation, though it runs while nft does.
    this.chunkMs = 0;
    if (plan.steps.length) {
      const texts = this.opts.onApply ? plan.steps.map((step) => step.map(() => [] as string[])) : undefined;
      // Until every transaction is known to have applied, the kernel's state is unknown.
      this.needFull = true;
      for (let i = 0; i < plan.steps.length; i++) await this.applyStep(plan.steps[i]!, texts?.[i]);
      written = plan.commit();
      if (texts) this.opts.onApply!(texts.flat(2).join(''));
    }
    this.needFull = false;
    const t3 = this.now();
    if (this.opts.conntrack !== false) await clearStaleConntrack(this.opts.runner, this.opts.family, req);
    const generateMs = t2 - t1 + renderMs + this.chunkMs;
    return {
      full,
      generateMs,
      applyMs: t3 - t0 - generateMs,
      ruleCounts: { [NFT_TABLE]: this.ruleCount },
      rulesWritten: { [NFT_TABLE]: written },
    };
  }

  async stop(): Promise<void> {}

  /**
   * Run the inputs of one step side by side, each streamed into its `nft -f -`. Each is its own
   * transaction and independent of the others, so one that failed (e.g. because another committed
   * while it was being prepared) is run once more alone before the sync fails. A failure to make an
   * input fails the sync without retry (nft was killed before reading an end: nothing applied).
   * `texts[i]` receives input i's chunks (of its last run) when given.
   */
  private async applyStep(inputs: readonly NftInput[], texts?: string[][]): Promise<void> {
    const run = (i: number) => {
      const input = inputs[i]!;
      const seen = texts?.[i];
      if (seen) seen.length = 0;
      if (typeof input === 'string') seen?.push(input);
      const stdin = typeof input === 'string' ? input : this.timed(input(), seen);
      return this.opts.runner.run('nft', ['-f', '-'], { stdin });
    };
    const results = await Promise.allSettled(inputs.map((_, i) => run(i)));
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    for (let i = 0; i < inputs.length; i++) {
      let r = (results[i] as PromiseFulfilledResult<CommandResult>).value;
      if (r.code !== 0 && inputs.length > 1) r = await run(i);
      if (r.code !== 0) throw new CommandFailedError('nft -f', r.code, r.stderr);
    }
  }

  /** The chunks of `chunks`, the time spent making each added to chunkMs, each kept in `seen` if given. */
  private *timed(chunks: Iterable<string>, seen: string[] | undefined): Generator<string> {
    const it = chunks[Symbol.iterator]();
    for (;;) {
      const t = this.now();
      const r = it.next();
      this.chunkMs += this.now() - t;
      if (r.done) return;
      seen?.push(r.value);
      yield r.value;
    }
  }

  /** Our table's chains, sets and maps as the kernel has them now (empty when the table does not exist). */
  private async listKernel(): Promise<KernelTable> {
    const list = async (what: 'chains' | 'sets' | 'maps') => {
      // -t: without their elements (the endpoint maps hold one per endpoint).
      const args = what === 'chains' ? ['-j', 'list', what, this.fam] : ['-j', '-t', 'list', what, this.fam];
      const r = await this.opts.runner.run('nft', args);
      if (r.code !== 0) throw new CommandFailedError(`nft list ${what}`, r.code, r.stderr);
      return parseNftList(r.stdout, NFT_TABLE);
    };
    const [chains, sets, maps] = await Promise.all([list('chains'), list('sets'), list('maps')]);
    return { chains: chains.chains, sets: sets.sets, maps: maps.maps };
  }

  private renderAll(req: SyncRequest): void {
    this.rendered.clear();
    this.owners.clear();
    this.spreadUsers.clear();
    for (const [k, sp] of req.state.services) {
      const r = renderNftServicePort(sp, req.state.endpoints.get(k) ?? [], this.opts);
      if (r) this.setRendered(k, r);
    }
  }

  /**
   * Record (or with undefined, drop) the rendering of one service port and its element claims.
   * (Owners are a key, or an array only when shared.)
   */
  private setRendered(key: string, r: RenderedNftServicePort | undefined): void {
    for (const e of this.rendered.get(key)?.elements ?? []) {
      const id = e.id;
      const o = this.owners.get(id);
      if (o === key) this.owners.delete(id);
      else if (Array.isArray(o)) {
        const rest = o.filter((k) => k !== key);
        this.owners.set(id, rest.length === 1 ? rest[0]! : rest);
      }
    }
    const was = this.rendered.get(key)?.sharedSpread ?? 0;
    if (was > 0) this.spreadUsers.set(was, (this.spreadUsers.get(was) ?? 1) - 1);
    if (r && r.sharedSpread > 0)
      this.spreadUsers.set(r.sharedSpread, (this.spreadUsers.get(r.sharedSpread) ?? 0) + 1);
    if (!r) {
      this.rendered.delete(key);
      return;
    }
    this.rendered.set(key, r);
    for (const e of r.elements) {
      const id = e.id;
      const o = this.owners.get(id);
      if (o === undefined) this.owners.set(id, key);
      else if (Array.isArray(o)) o.push(key);
      else if (o !== key) this.owners.set(id, [o, key]);
    }
  }

  /** The element the map should hold for `id`, if any service port claims it. */
  private wantedElement(id: string): NftElement | undefined {
    const o = this.owners.get(id);
    if (o === undefined) return undefined;
    const best = Array.isArray(o) ? [...o].sort()[0]! : o;
    return this.rendered.get(best)?.elements.find((e) => e.id === id);
  }

  /** The endpoint elements that go with `service-ips` element `id`: its owner's, if plain. */
  private wantedGroup(id: string): NftSpreadGroup | undefined {
    const o = this.owners.get(id);
    if (o === undefined) return undefined;
    const g = this.rendered.get(Array.isArray(o) ? [...o].sort()[0]! : o)?.spreadGroup;
    return g?.serviceIpsId === id ? g : undefined;
  }

  /** A spread chain's complete rules: its own, then the numgen lookup into its slots. */
  private spreadRules(rules: readonly string[], spread: NftSpread, offset: number): string[] {
    return [...rules, nftSpreadRule(this.opts.family, spread, offset)];
  }

  /**
   * Everything (rendered by renderAll just before), flushed and rewritten; whatever the table holds
   * beyond that is deleted.
   */
  private planFull(kernel: KernelTable): Plan {
    const p = this.prefix;
    const base = nftBaseRuleset(this.opts);
    const wantChains = new Map<string, readonly string[]>();
    const wantSets = new Map<string, number>();
    const wantElements = new Map<string, NftElement>();
    // Slots are allocated afresh: the transaction flushes every endpoint map.
    const allocator = new SlotAllocator(this.shards);
    const ranges = new Map<string, ChainSlots>();
    const shardRanges = Array.from({ length: this.shards }, (): ChainSlots[] => []);
    const wantNs = new Set<number>();
    const wantGroups = new Map<string, NftSpreadGroup>();
    for (const [k, r] of this.rendered) {
      for (const [c, rules] of r.chains) {
        const spread = r.spreads.get(c);
        if (!spread) {
          wantChains.set(c, rules);
          continue;
        }
        const { targets } = spread;
        const range = allocator.alloc(spread.shard, targets.length);
        const slots = { shard: range.shard, offset: range.offset, cap: range.cap, targets };
        ranges.set(c, slots);
        shardRanges[spread.shard]!.push(slots);
        wantChains.set(c, this.spreadRules(rules, spread, range.offset));
      }
      if (r.sharedSpread > 0) wantNs.add(r.sharedSpread);
      const g = r.spreadGroup;
      if (g) {
        const o = this.owners.get(g.serviceIpsId);
        if (o === k || (Array.isArray(o) && [...o].sort()[0] === k)) wantGroups.set(g.serviceIpsId, g);
      }
      for (const [s, t] of r.sets) wantSets.set(s, t);
      for (const e of r.elements) {
        const id = e.id;
        const o = this.owners.get(id);
        if (o === k) wantElements.set(id, e);
        else if (Array.isArray(o) && !wantElements.has(id)) wantElements.set(id, this.wantedElement(id)!);
      }
    }
    // Shared spread map -> its protocol.
    const spreadMaps = new Map<string, string>();
    for (const n of [...wantNs].sort((a, b) => a - b)) {
      wantChains.set(nftSharedSpreadChain(n), nftSharedSpreadRules(this.opts, n));
      for (const proto of NFT_SPREAD_PROTOCOLS) spreadMaps.set(nftSharedSpreadMap(n, proto), proto);
    }
    // Sections of the input, in transaction order.
    const decl: string[] = [`add table ${p}`];
    for (const [m, { kind, type }] of base.maps) decl.push(`add ${kind} ${p} ${m} { type ${type} ; }`);
    for (const [m, spec] of base.endpointMaps) decl.push(`add map ${p} ${m} { ${spec} }`);
    for (const [m, proto] of spreadMaps)
      decl.push(`add map ${p} ${m} { ${nftSharedSpreadMapSpec(this.opts.family, proto)} }`);
    for (const c of base.baseChains) decl.push(`add chain ${p} ${c.name} { ${c.spec} }`);
    const hooked = new Set(base.baseChains.map((c) => c.name));
    for (const c of base.chains.keys()) if (!hooked.has(c)) decl.push(`add chain ${p} ${c}`);
    for (const c of wantChains.keys()) decl.push(`add chain ${p} ${c}`);
    for (const [s, t] of wantSets) decl.push(this.addSet(s, t));
    const flushes: string[] = [];
    for (const [m, { kind }] of base.maps) flushes.push(`flush ${kind} ${p} ${m}`);
    for (const m of base.endpointMaps.keys()) flushes.push(`flush map ${p} ${m}`);
    for (const m of spreadMaps.keys()) if (kernel.maps.has(m)) flushes.push(`flush map ${p} ${m}`);
    for (const c of [...base.chains.keys(), ...wantChains.keys()])
      if (kernel.chains.has(c)) flushes.push(`flush chain ${p} ${c}`);
    // The bulk: rules of the per-service and shared spread chains, the elements of every map. Its
    // parts do not depend on each other (everything they name is declared above).
    const parts: Part[] = [];
    let written = 0;
    let chunk: [string, readonly string[]][] = [];
    let lines = 0;
    const flushRules = () => {
      const chains = chunk;
      parts.push({ cost: lines * NFT_COST.rule, chunks: () => [ruleLines(p, chains)] });
      chunk = [];
      lines = 0;
    };
    for (const entry of wantChains) {
      chunk.push(entry);
      lines += entry[1].length;
      written += entry[1].length;
      if (lines >= ELEMENT_BATCH) flushRules();
    }
    if (lines) flushRules();
    for (let shard = 0; shard < this.shards; shard++) {
      const list = shardRanges[shard]!;
      const n = list.reduce((a, r) => a + r.targets.length, 0);
      if (n) parts.push({ cost: n * NFT_COST.slotElement, chunks: () => this.slotChunks(shard, list) });
    }
    // A plain service's endpoints in its spread map, ELEMENT_BATCH or so elements a part.
    const open = new Map<string, NftSpreadGroup[]>();
    const spreadPart = (groups: readonly NftSpreadGroup[]) =>
      parts.push({
        cost: groups.length * groups[0]!.targets.length * NFT_COST.spreadElement,
        chunks: () => [spreadLine(p, groups)],
      });
    for (const g of wantGroups.values()) {
      let list = open.get(g.map);
      if (!list) open.set(g.map, (list = []));
      list.push(g);
      if (list.length * g.targets.length >= ELEMENT_BATCH) {
        spreadPart(list);
        open.delete(g.map);
      }
    }
    for (const list of open.values()) spreadPart(list);
    const dispatch = this.elementParts([...wantElements.values()]);
    parts.push(...dispatch);
    // The base chains' rules (and the other fixed chains'): the dispatch into everything above.
    const baseRules: string[] = [];
    for (const [c, rules] of base.chains) {
      for (const r of rules) baseRules.push(`add rule ${p} ${c} ${r}`);
      written += rules.length;
    }
    const deletes: string[] = [];
    for (const c of kernel.chains)
      if (!wantChains.has(c) && !base.chains.has(c))
        deletes.push(`flush chain ${p} ${c}`, `delete chain ${p} ${c}`);
    for (const s of kernel.sets)
      if (!wantSets.has(s) && !base.maps.has(s as NftMapName)) deletes.push(`delete set ${p} ${s}`);
    for (const m of kernel.maps)
      if (!base.endpointMaps.has(m) && !spreadMaps.has(m) && !base.maps.has(m as NftMapName))
        deletes.push(`delete map ${p} ${m}`);
    const text = (lines: readonly string[]) => (lines.length ? `${lines.join('\n')}\n` : '');
    // Into an empty kernel (the first sync of a node): three steps, each one transaction, and the
    // middle one, the bulk, as `nft -f` run side by side (FULL_SYNC_SHARES; parsing is most of
    // nft's time, and there are two cores). Nothing is reachable before the last step:
    // until then the base chains have no rules, so no service is ever seen half-built. Otherwise
    // (chains of ours exist) one transaction, which flushes what it rewrites.
    const fresh = kernel.chains.size === 0 && kernel.sets.size === 0 && kernel.maps.size === 0;
    const head = text(decl);
    const steps: NftInput[][] = fresh
      ? [
          [head],
          splitParts(parts, FULL_SYNC_SHARES).map((group) => () => partChunks(group)),
          [text(baseRules)],
        ]
      : [
          [
            () =>
              partChunks([
                fixed(text([...decl, ...flushes])),
                ...parts,
                fixed(text(baseRules)),
                fixed(text(deletes)),
              ]),
          ],
        ];
    return {
      steps,
      commit: () => {
        this.chains = wantChains;
        this.sets = wantSets;
        this.elements = wantElements;
        this.ranges = ranges;
        this.allocator = allocator;
        this.spreadNs = wantNs;
        this.groups = wantGroups;
        this.ruleCount = written;
        return written;
      },
    };
  }

  /** Only what the changed services' renderings add, change or drop. */
  private planPartial(req: SyncRequest): Plan {
    const p = this.prefix;
    const keys = new Set<string>();
    for (const s of req.changedServices) for (const k of req.state.portsOf(s)) keys.add(k);
    for (const [k, r] of this.rendered) if (req.changedServices.has(r.service)) keys.add(k);
    const oldChains = new Set<string>();
    const oldSets = new Set<string>();
    const touched = new Set<string>();
    const newChains = new Map<string, readonly string[]>();
    const newSpreads = new Map<string, NftSpread>();
    const newSets = new Map<string, number>();
    // Shared spread chains (and their maps) this sync adds; those left without a user go at the end.
    const addNs = new Set<number>();
    for (const k of keys) {
      const old = this.rendered.get(k);
      for (const c of old?.chains.keys() ?? []) oldChains.add(c);
      for (const s of old?.sets.keys() ?? []) oldSets.add(s);
      for (const e of old?.elements ?? []) touched.add(e.id);
      const sp = req.state.services.get(k);
      const r = sp ? renderNftServicePort(sp, req.state.endpoints.get(k) ?? [], this.opts) : undefined;
      this.setRendered(k, r);
      for (const [c, rules] of r?.chains ?? []) newChains.set(c, rules);
      for (const [c, s] of r?.spreads ?? []) newSpreads.set(c, s);
      for (const [s, t] of r?.sets ?? []) newSets.set(s, t);
      for (const e of r?.elements ?? []) touched.add(e.id);
      if (r && r.sharedSpread > 0 && !this.spreadNs.has(r.sharedSpread)) addNs.add(r.sharedSpread);
    }

    // Slots. A chain keeps its range while its endpoints fit (same count: only elements change);
    // ranges of chains that outgrew theirs or stopped spreading are freed first, so that this very
    // transaction may reuse them (every slot they held is rewritten or deleted below).
    const allocator = this.allocator;
    const newRanges = new Map<string, ChainSlots>();
    // Per shard: slot -> its target now (from the old ranges of the touched chains: by the ranges'
    // invariant no other chain's slot can be touched) and slot -> its target wanted.
    const haveSlot = new Map<number, Map<number, string>>();
    const wantSlot = new Map<number, Map<number, string>>();
    const put = (into: Map<number, Map<number, string>>, r: ChainSlots) => {
      let m = into.get(r.shard);
      if (!m) into.set(r.shard, (m = new Map()));
      for (let i = 0; i < r.targets.length; i++) m.set(r.offset + i, r.targets[i]!);
    };
    for (const c of oldChains) {
      const have = this.ranges.get(c);
      if (!have) continue;
      put(haveSlot, have);
      const spread = newSpreads.get(c);
      if (spread && spread.shard === have.shard && spread.targets.length <= have.cap)
        newRanges.set(c, { ...have, targets: spread.targets });
      else allocator.release(have);
    }
    for (const [c, spread] of newSpreads) {
      let r = newRanges.get(c);
      if (!r) {
        r = { ...allocator.alloc(spread.shard, spread.targets.length), targets: spread.targets };
        newRanges.set(c, r);
      }
      put(wantSlot, r);
      newChains.set(c, this.spreadRules(newChains.get(c)!, spread, r.offset));
    }
    const delSlots = new Map<number, number[]>();
    const addSlots = new Map<number, string[]>();
    for (const shard of new Set([...haveSlot.keys(), ...wantSlot.keys()])) {
      const have = haveSlot.get(shard);
      const want = wantSlot.get(shard);
      const del: number[] = [];
      const add: string[] = [];
      for (const [slot, h] of have ?? []) if (want?.get(slot) !== h) del.push(slot);
      for (const [slot, w] of want ?? []) if (have?.get(slot) !== w) add.push(`${slot} : ${w}`);
      if (del.length) delSlots.set(shard, del);
      if (add.length) addSlots.set(shard, add);
    }

    // Chains and sets are named after their service port, so what one stopped rendering is gone;
    // an element may be claimed by another service port too (wantedElement).
    const delElements: string[] = [];
    const addElements: NftElement[] = [];
    for (const id of touched) {
      const want = this.wantedElement(id);
      const have = this.elements.get(id);
      if (have && have.verdict !== want?.verdict) delElements.push(id);
      if (want && have?.verdict !== want.verdict) addElements.push(want);
    }
    // Plain service ports' endpoint elements go with their `service-ips` element.
    const delGroup = new Map<string, string[]>();
    const addGroup = new Map<string, string[]>();
    const groupChanges = new Map<string, NftSpreadGroup | undefined>();
    const push = (m: Map<string, string[]>, map: string, x: string) => {
      let list = m.get(map);
      if (!list) m.set(map, (list = []));
      list.push(x);
    };
    for (const id of touched) {
      if (!id.startsWith('service-ips ')) continue;
      const want = this.wantedGroup(id);
      const have = this.groups.get(id);
      if (want === have) continue;
      groupChanges.set(id, want);
      const hn = have?.targets.length ?? 0;
      const wn = want?.targets.length ?? 0;
      // Same map and keys: only the changed indexes; else every element out, every element in.
      const same = hn === wn && have?.map === want?.map && have?.key === want?.key;
      for (let i = 0; i < hn; i++)
        if (!same || have!.targets[i] !== want!.targets[i]) push(delGroup, have!.map, `${have!.key} . ${i}`);
      for (let i = 0; i < wn; i++)
        if (!same || have!.targets[i] !== want!.targets[i])
          push(addGroup, want!.map, `${want!.key} . ${i} : ${want!.targets[i]}`);
    }
    const addChains = [...newChains.keys()].filter((c) => !this.chains.has(c));
    const writeChains = [...newChains].filter(([c, rules]) => !sameRules(this.chains.get(c), rules));
    const delChains = [...oldChains].filter((c) => !newChains.has(c));
    const addSets = [...newSets].filter(([s]) => !this.sets.has(s));
    const delSets = [...oldSets].filter((s) => !newSets.has(s));

    const out: string[] = [];
    this.addElements(
      out,
      'delete',
      delElements.map((id) => this.elements.get(id)!),
    );
    for (const [shard, list] of delSlots)
      out.push(`delete element ${p} ${nftEndpointMap(shard)} { ${list.join(', ')} }`);
    for (const [m, list] of delGroup) out.push(`delete element ${p} ${m} { ${list.join(', ')} }`);
    const addSpread = [...addNs].map(
      (n) => [nftSharedSpreadChain(n), nftSharedSpreadRules(this.opts, n)] as const,
    );
    for (const n of addNs)
      for (const proto of NFT_SPREAD_PROTOCOLS)
        out.push(
          `add map ${p} ${nftSharedSpreadMap(n, proto)} { ${nftSharedSpreadMapSpec(this.opts.family, proto)} }`,
        );
    for (const [c, rules] of addSpread) {
      out.push(`add chain ${p} ${c}`);
      for (const r of rules) out.push(`add rule ${p} ${c} ${r}`);
    }
    for (const c of addChains) out.push(`add chain ${p} ${c}`);
    for (const [s, t] of addSets) out.push(this.addSet(s, t));
    for (const [c] of writeChains) if (this.chains.has(c)) out.push(`flush chain ${p} ${c}`);
    for (const c of delChains) out.push(`flush chain ${p} ${c}`);
    for (const [shard, list] of addSlots) this.addSlotElements(out, shard, list);
    let written = 0;
    for (const [c, rules] of writeChains) {
      for (const r of rules) out.push(`add rule ${p} ${c} ${r}`);
      written += rules.length;
    }
    for (const [m, list] of addGroup) this.addMapElements(out, m, list);
    this.addElements(out, 'add', addElements);
    for (const c of delChains) out.push(`delete chain ${p} ${c}`);
    for (const s of delSets) out.push(`delete set ${p} ${s}`);
    // Shared spread chains no service port uses any more (their elements went above).
    const delNs = [...this.spreadNs].filter((n) => !this.spreadUsers.get(n));
    for (const n of delNs) {
      out.push(`flush chain ${p} ${nftSharedSpreadChain(n)}`, `delete chain ${p} ${nftSharedSpreadChain(n)}`);
      for (const proto of NFT_SPREAD_PROTOCOLS) out.push(`delete map ${p} ${nftSharedSpreadMap(n, proto)}`);
    }
    const text = `${out.join('\n')}\n`;
    return {
      steps: out.length ? [[text]] : [],
      commit: () => {
        for (const id of delElements) this.elements.delete(id);
        for (const e of addElements) this.elements.set(e.id, e);
        for (const c of oldChains) this.ranges.delete(c);
        for (const [c, r] of newRanges) this.ranges.set(c, r);
        for (const [c, rules] of writeChains) {
          this.ruleCount += rules.length - (this.chains.get(c)?.length ?? 0);
          this.chains.set(c, rules);
        }
        for (const c of delChains) {
          this.ruleCount -= this.chains.get(c)?.length ?? 0;
          this.chains.delete(c);
        }
        for (const [s, t] of addSets) this.sets.set(s, t);
        for (const s of delSets) this.sets.delete(s);
        for (const [c, rules] of addSpread) {
          this.chains.set(c, rules);
          this.ruleCount += rules.length;
        }
        for (const n of addNs) this.spreadNs.add(n);
        for (const [id, g] of groupChanges)
          if (g) this.groups.set(id, g);
          else this.groups.delete(id);
        for (const n of delNs) {
          this.spreadNs.delete(n);
          this.ruleCount -= this.chains.get(nftSharedSpreadChain(n))?.length ?? 0;
          this.chains.delete(nftSharedSpreadChain(n));
        }
        return written + addSpread.reduce((a, [, rules]) => a + rules.length, 0);
      },
    };
  }

  /** The `add element` commands of endpoint map `shard`, for these ranges' targets. */
  private *slotChunks(shard: number, ranges: readonly ChainSlots[]): Generator<string> {
    const head = `add element ${this.prefix} ${nftEndpointMap(shard)} { `;
    let line = '';
    let n = 0;
    for (const r of ranges)
      for (let i = 0; i < r.targets.length; i++) {
        line += `${n ? ', ' : head}${r.offset + i} : ${r.targets[i]}`;
        if (++n === ELEMENT_BATCH) {
          yield `${line} }\n`;
          line = '';
          n = 0;
        }
      }
    if (n) yield `${line} }\n`;
  }

  /** The shared maps' elements as parts of ELEMENT_BATCH elements. */
  private elementParts(elements: readonly NftElement[]): Part[] {
    const byMap = new Map<NftMapName, NftElement[]>();
    for (const e of elements) {
      let list = byMap.get(e.map);
      if (!list) byMap.set(e.map, (list = []));
      list.push(e);
    }
    const parts: Part[] = [];
    for (const [m, list] of byMap)
      for (let i = 0; i < list.length; i += ELEMENT_BATCH) {
        const batch = list.slice(i, i + ELEMENT_BATCH);
        const head = `add element ${this.prefix} ${m} { `;
        parts.push({
          cost: batch.length * NFT_COST.dispatchElement,
          chunks: () => [
            `${head}${batch.map((e) => (e.verdict ? `${e.key} : ${e.verdict}` : e.key)).join(', ')} }\n`,
          ],
        });
      }
    return parts;
  }

  private addSet(name: string, timeoutSeconds: number): string {
    const type = this.opts.family === 'IPv4' ? 'ipv4_addr' : 'ipv6_addr';
    return `add set ${this.prefix} ${name} { type ${type} ; flags dynamic,timeout ; timeout ${timeoutSeconds}s ; }`;
  }

  /** `add|delete element` commands, batched per map. */
  private addElements(out: string[], verb: 'add' | 'delete', elements: readonly NftElement[]): void {
    const byMap = new Map<NftMapName, string[]>();
    for (const e of elements) {
      let list = byMap.get(e.map);
      if (!list) byMap.set(e.map, (list = []));
      list.push(verb === 'add' && e.verdict ? `${e.key} : ${e.verdict}` : e.key);
    }
    for (const [m, list] of byMap)
      for (let i = 0; i < list.length; i += ELEMENT_BATCH)
        out.push(`${verb} element ${this.prefix} ${m} { ${list.slice(i, i + ELEMENT_BATCH).join(', ')} }`);
  }

  /** `add element` commands of one endpoint map (elements: `slot : address . port`). */
  private addSlotElements(out: string[], shard: number, elements: readonly string[]): void {
    this.addMapElements(out, nftEndpointMap(shard), elements);
  }

  /** `add element` commands of one map, ELEMENT_BATCH elements (`key : value`) each. */
  private addMapElements(out: string[], map: string, elements: readonly string[]): void {
    const head = `add element ${this.prefix} ${map} { `;
    for (let i = 0; i < elements.length; i += ELEMENT_BATCH)
      out.push(`${head}${elements.slice(i, i + ELEMENT_BATCH).join(', ')} }`);
  }
}

/** A part made of one fixed text. */
function fixed(text: string): Part {
  return { cost: 0, chunks: () => [text] };
}

/** The chunks of the parts, in order (empty ones left out). */
function* partChunks(parts: readonly Part[]): Generator<string> {
  for (const part of parts) for (const c of part.chunks()) if (c) yield c;
}

/** `add rule` lines of these chains. */
function ruleLines(prefix: string, chains: readonly (readonly [string, readonly string[]])[]): string {
  let out = '';
  for (const [c, rules] of chains) for (const r of rules) out += `add rule ${prefix} ${c} ${r}\n`;
  return out;
}

/** One `add element` command of a shared spread map: these plain services' endpoints (all in that map). */
function spreadLine(prefix: string, groups: readonly NftSpreadGroup[]): string {
  let out = `add element ${prefix} ${groups[0]!.map} { `;
  let first = true;
  for (const g of groups)
    for (let i = 0; i < g.targets.length; i++) {
      out += `${first ? '' : ', '}${g.key} . ${i} : ${g.targets[i]}`;
      first = false;
    }
  return `${out} }\n`;
}

/**
 * Parts into groups whose costs are about in the proportions of `shares` (greedy: each part to the
 * group it leaves least loaded for its share; every part is small against the whole), leaving out
 * empty groups.
 */
export function splitParts<T extends { cost: number }>(
  parts: readonly T[],
  shares: readonly number[],
): T[][] {
  const groups = shares.map((): T[] => []);
  const costs = shares.map(() => 0);
  for (const part of parts) {
    // The group left least loaded for its share by this part.
    let best = 0;
    for (let i = 1; i < shares.length; i++)
      if ((costs[i]! + part.cost) / shares[i]! < (costs[best]! + part.cost) / shares[best]!) best = i;
    groups[best]!.push(part);
    costs[best]! += part.cost;
  }
  return groups.filter((g) => g.length > 0);
}

function sameRules(a: readonly string[] | undefined, b: readonly string[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Remove our nftables table of one family, if any (when a node switches to iptables mode, as
 * kube-proxy cleans up the other mode). Returns whether there was one.
 */
export async function cleanupNftablesRules(runner: CommandRunner, family: IpFamily): Promise<boolean> {
  const fam = nftFamily(family);
  const list = await runner.run('nft', ['list', 'table', fam, NFT_TABLE]);
  if (list.code !== 0) return false; // no table (or no nft here)
  const r = await runner.run('nft', ['delete', 'table', fam, NFT_TABLE]);
  if (r.code !== 0) throw new CommandFailedError('nft delete table', r.code, r.stderr);
  return true;
}
