/**
 * An in-memory nftables for tests: applies `nft -f` inputs with the kernel's rules for the commands
 * the proxy writes (one transaction: all or nothing; commands take effect in order, so a rule can
 * only name a chain or set declared before it; `flush chain` of a missing chain, `delete chain` of a
 * chain that still has rules or is still referenced, `delete set` of a set a rule uses, `delete
 * element` of a missing element all fail, so do an element of the wrong shape and a rule naming a
 * missing set or map) and answers `nft -j list chains|sets|maps`. Tests run the proxier against it
 * through a runner, then trace packets through what it holds (nft-tracer.ts).
 */
import { type CommandResult, type CommandRunner, type RunOptions, stdinText } from '../runner.js';

export interface FakeNftChain {
  /** `type nat hook prerouting priority -100 ;` for a base chain. */
  base: string | undefined;
  rules: string[];
}

export interface FakeNftTable {
  chains: Map<string, FakeNftChain>;
  /** Named sets: name -> declaration body. */
  sets: Map<string, string>;
  /** Elements of every map and named set: name -> key -> verdict ('' in a set). */
  maps: Map<string, Map<string, string>>;
  /** Maps (not sets): name -> declaration body. */
  mapDecls: Map<string, string>;
}

/** `numgen random mod N offset O map @M` (offset optional, as `nft list` prints offset 0). */
const NUMGEN_MAP = /to numgen random mod (\d+)(?: offset (\d+))? map @(\S+)/;

function clone(t: FakeNftTable): FakeNftTable {
  return {
    chains: new Map([...t.chains].map(([n, c]) => [n, { base: c.base, rules: [...c.rules] }])),
    sets: new Map(t.sets),
    maps: new Map([...t.maps].map(([n, m]) => [n, new Map(m)])),
    mapDecls: new Map(t.mapDecls),
  };
}

/** Chains a rule or verdict jumps or goes to. */
function chainRefs(text: string): string[] {
  return [...text.matchAll(/\b(?:jump|goto) (\S+?)(?=[\s,}]|$)/g)].map((m) => m[1]!);
}

/** `{ a, b : c }` -> ['a', 'b : c'] (elements never contain commas themselves). */
function elementList(text: string): string[] {
  const m = /^\{(.*)\}$/.exec(text.trim());
  if (!m) throw new Error(`nft: expected { elements }, got ${text}`);
  return m[1]!
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
}

export class FakeNft {
  /** `ip k8ts-proxy` -> table. */
  readonly tables = new Map<string, FakeNftTable>();
  applied = 0;

  /** Apply an `nft -f` input; throws (leaving every table unchanged) on the first error. */
  apply(text: string): void {
    const work = new Map([...this.tables].map(([n, t]) => [n, clone(t)]));
    let lineNo = 0;
    for (const raw of text.split('\n')) {
      lineNo++;
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      try {
        this.command(work, line);
      } catch (e) {
        throw new Error(`/dev/stdin:${lineNo}: ${(e as Error).message}: ${line}`);
      }
    }
    this.tables.clear();
    for (const [n, t] of work) this.tables.set(n, t);
    this.applied++;
  }

  private command(work: Map<string, FakeNftTable>, line: string): void {
    const m = /^(add|delete|flush) (table|chain|rule|set|map|element) (ip6?) (\S+)(?: (.*))?$/.exec(line);
    if (!m) throw new Error('cannot parse');
    const [, verb, what, fam, tableName, rest = ''] = m;
    const key = `${fam} ${tableName}`;
    if (what === 'table') {
      if (verb === 'add') {
        if (!work.has(key))
          work.set(key, { chains: new Map(), sets: new Map(), maps: new Map(), mapDecls: new Map() });
      } else if (verb === 'delete') {
        if (!work.delete(key)) throw new Error('No such file or directory (table)');
      } else throw new Error('unsupported');
      return;
    }
    const t = work.get(key);
    if (!t) throw new Error('No such file or directory (table)');
    const sp = rest.indexOf(' ');
    const name = sp < 0 ? rest : rest.slice(0, sp);
    const body = sp < 0 ? '' : rest.slice(sp + 1).trim();
    const refsTo = (target: string): boolean => {
      const setRef = new RegExp(`@${target.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?:\\s|$)`);
      for (const c of t.chains.values())
        for (const r of c.rules) if (chainRefs(r).includes(target) || setRef.test(r)) return true;
      for (const mp of t.maps.values())
        for (const v of mp.values()) if (chainRefs(v).includes(target)) return true;
      return false;
    };
    const needChain = (c: string) => {
      if (!t.chains.has(c)) throw new Error(`No such file or directory (chain ${c})`);
    };
    switch (`${verb} ${what}`) {
      case 'add chain': {
        const base = /^\{ (.*) \}$/.exec(body)?.[1];
        const cur = t.chains.get(name);
        if (cur && cur.base !== base) throw new Error('chain exists with other hook parameters');
        if (!cur) t.chains.set(name, { base, rules: [] });
        return;
      }
      case 'flush chain':
        needChain(name);
        t.chains.get(name)!.rules = [];
        return;
      case 'delete chain':
        needChain(name);
        if (t.chains.get(name)!.rules.length) throw new Error('Device or resource busy (chain has rules)');
        if (refsTo(name)) throw new Error('Device or resource busy (chain referenced)');
        t.chains.delete(name);
        return;
      case 'add rule': {
        needChain(name);
        for (const c of chainRefs(body)) needChain(c);
        for (const s of body.matchAll(/@(\S+)/g))
          if (!t.sets.has(s[1]!) && !t.maps.has(s[1]!))
            throw new Error(`No such file or directory (set ${s[1]})`);
        t.chains.get(name)!.rules.push(body);
        return;
      }
      case 'add set':
        if (t.maps.has(name) && !t.sets.has(name)) throw new Error('File exists (a map of that name)');
        if (!t.sets.has(name)) t.sets.set(name, body);
        else if (t.sets.get(name) !== body) throw new Error('File exists (set with other properties)');
        if (!t.maps.has(name)) t.maps.set(name, new Map());
        return;
      case 'delete set':
        if (!t.sets.has(name)) throw new Error(`No such file or directory (set ${name})`);
        if (refsTo(name)) throw new Error('Device or resource busy (set in use)');
        t.sets.delete(name);
        t.maps.delete(name);
        return;
      case 'add map':
        if (t.sets.has(name)) throw new Error('File exists (a set of that name)');
        if (t.mapDecls.has(name) && t.mapDecls.get(name) !== body)
          throw new Error('File exists (map with other properties)');
        if (!t.maps.has(name)) t.maps.set(name, new Map());
        t.mapDecls.set(name, body);
        return;
      case 'delete map':
        if (!t.mapDecls.has(name)) throw new Error(`No such file or directory (map ${name})`);
        if (refsTo(name)) throw new Error('Device or resource busy (map in use)');
        t.maps.delete(name);
        t.mapDecls.delete(name);
        return;
      case 'flush map':
      case 'flush set':
        if (!t.maps.has(name) || t.sets.has(name) !== (what === 'set'))
          throw new Error(`No such file or directory (${what} ${name})`);
        t.maps.get(name)!.clear();
        return;
      case 'add element': {
        const mp = t.maps.get(name);
        if (!mp) throw new Error(`No such file or directory (map ${name})`);
        const isSet = t.sets.has(name);
        // A numgen-keyed map (typeof numgen ...): integer slots -> `address . port`.
        const slotMap = t.mapDecls.get(name)?.includes('typeof numgen') ?? false;
        // A shared spread map (typeof ... daddr . th dport . numgen ..., or of the earlier layout
        // ... daddr . meta l4proto . th dport . numgen ...): `address . port . index` (or `address .
        // proto . port . index`) -> `address . port`, a key of as many parts as the typeof's.
        const decl = t.mapDecls.get(name) ?? '';
        const spreadMap = decl.includes('th dport . numgen');
        const keyParts = (/typeof (.*?) :/.exec(decl)?.[1] ?? '').split(' . ').length;
        for (const e of elementList(body)) {
          const [k, v = ''] = e.split(' : ') as [string, string | undefined];
          if (isSet !== (v === ''))
            throw new Error(`element does not fit ${isSet ? 'set' : 'map'} ${name}: ${e}`);
          if (slotMap && !(/^\d+$/.test(k) && /^\S+ \. \d+$/.test(v)))
            throw new Error(`element does not fit map ${name}: ${e}`);
          const parts = k.split(' . ');
          const keyOk =
            parts.length === keyParts && /^\d+$/.test(parts.at(-1)!) && /^\d+$/.test(parts.at(-2)!);
          if (spreadMap && !(keyOk && /^\S+ \. \d+$/.test(v)))
            throw new Error(`element does not fit map ${name}: ${e}`);
          for (const c of chainRefs(v)) needChain(c);
          // As the kernel: adding an existing key is accepted and keeps the old verdict.
          if (!mp.has(k)) mp.set(k, v);
        }
        return;
      }
      case 'delete element': {
        const mp = t.maps.get(name);
        if (!mp) throw new Error(`No such file or directory (map ${name})`);
        for (const k of elementList(body))
          if (!mp.delete(k)) throw new Error(`No such file or directory (element ${k})`);
        return;
      }
      default:
        throw new Error('unsupported command');
    }
  }

  /** `nft -j list chains|sets|maps <family>`. */
  listJson(kind: 'chains' | 'sets' | 'maps', family: string): string {
    const items: unknown[] = [{ metainfo: { version: 'fake' } }];
    for (const [key, t] of this.tables) {
      const [fam, table] = key.split(' ') as [string, string];
      if (fam !== family) continue;
      if (kind === 'chains')
        for (const name of t.chains.keys()) items.push({ chain: { family, table, name } });
      else if (kind === 'sets')
        for (const name of t.sets.keys()) items.push({ set: { family, table, name } });
      else for (const name of t.mapDecls.keys()) items.push({ map: { family, table, name } });
    }
    return JSON.stringify({ nftables: items });
  }

  /**
   * A table as comparable text: chains, sets and map elements, each sorted by name. Slot numbers
   * are where the proxier happened to place a chain's endpoints, not what the table does, so a
   * `numgen random mod N offset O map @M` is printed as the N values it can pick (`?` for a missing
   * slot); map elements no such rule covers are printed as elements, and a slot two rules cover as
   * `overlap`. Two tables that program the same DNATs therefore dump the same.
   */
  dump(family: string, table: string): string {
    const t = this.tables.get(`${family} ${table}`);
    if (!t) return '';
    const out: string[] = [];
    const covered = new Map<string, Set<string>>();
    const resolve = (rule: string) =>
      rule.replace(new RegExp(NUMGEN_MAP, 'g'), (_all, n: string, off: string | undefined, map: string) => {
        const mp = t.maps.get(map);
        let c = covered.get(map);
        if (!c) covered.set(map, (c = new Set()));
        const values: string[] = [];
        for (let i = 0; i < Number(n); i++) {
          const slot = String(Number(off ?? 0) + i);
          if (c.has(slot)) out.push(`overlap ${map} ${slot}`);
          c.add(slot);
          values.push(mp?.get(slot) ?? '?');
        }
        return `to numgen random mod ${n} map @${map} { ${values.join(', ')} }`;
      });
    for (const n of [...t.chains.keys()].sort()) {
      const c = t.chains.get(n)!;
      out.push(`chain ${n}${c.base ? ` { ${c.base} }` : ''}`, ...c.rules.map((r) => `  ${resolve(r)}`));
    }
    for (const n of [...t.sets.keys()].sort()) out.push(`set ${n} ${t.sets.get(n)}`);
    for (const n of [...t.maps.keys()].sort()) {
      const c = covered.get(n);
      out.push(
        `map ${n}`,
        ...[...t.maps.get(n)!]
          .filter(([k]) => !c?.has(k))
          .map(([k, v]) => `  ${k} : ${v}`)
          .sort(),
      );
    }
    return out.join('\n');
  }
}

/** A runner backed by a FakeNft (`nft -f -` and `nft -j list`); records every other command. */
export class FakeNftRunner implements CommandRunner {
  readonly nft = new FakeNft();
  readonly inputs: string[] = [];
  readonly other: { cmd: string; args: string[] }[] = [];
  /** Make the next `nft -f` runs fail (exit 1) this many times. */
  failApplies = 0;
  /** Make an `nft -f` run fail when this returns true (before applying anything). */
  failIf: ((input: string) => boolean) | undefined;
  /** Called after each `nft -f` run that applied. */
  afterApply: (() => void) | undefined;

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    if (cmd !== 'nft') {
      this.other.push({ cmd, args: [...args] });
      return { code: 0, stdout: '', stderr: '' };
    }
    if (args[0] === '-f') {
      // As nft: the whole input is read (a source that throws fails the run) before anything applies.
      const input = await stdinText(opts.stdin);
      if (this.failApplies > 0 || this.failIf?.(input)) {
        if (this.failApplies > 0) this.failApplies--;
        return { code: 1, stdout: '', stderr: 'Error: injected failure' };
      }
      try {
        this.nft.apply(input);
        this.inputs.push(input);
        this.afterApply?.();
        return { code: 0, stdout: '', stderr: '' };
      } catch (e) {
        return { code: 1, stdout: '', stderr: (e as Error).message };
      }
    }
    if (args[0] === 'list' && args[1] === 'table') {
      const has = this.nft.tables.has(`${args[2]} ${args[3]}`);
      return has
        ? { code: 0, stdout: '', stderr: '' }
        : { code: 1, stdout: '', stderr: 'No such file or directory' };
    }
    if (args[0] === 'delete' && args[1] === 'table') {
      try {
        this.nft.apply(`delete table ${args[2]} ${args[3]}`);
        return { code: 0, stdout: '', stderr: '' };
      } catch (e) {
        return { code: 1, stdout: '', stderr: (e as Error).message };
      }
    }
    const a = args.filter((x) => x !== '-t');
    if (a[0] === '-j' && a[1] === 'list' && (a[2] === 'chains' || a[2] === 'sets' || a[2] === 'maps'))
      return { code: 0, stdout: this.nft.listJson(a[2], a[3] ?? 'ip'), stderr: '' };
    return { code: 1, stdout: '', stderr: `fake nft: unsupported ${args.join(' ')}` };
  }
}
