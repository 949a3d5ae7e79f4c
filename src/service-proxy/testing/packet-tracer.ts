/**
 * A packet tracer for tests: walks one new connection through the nat and filter chains of a
 * FakeIptables the way netfilter does (nat PREROUTING or OUTPUT, routing, filter INPUT/FORWARD/
 * OUTPUT, nat POSTROUTING) and returns every possible outcome with its probability: each
 * `-m statistic --mode random` rule splits the walk into a matched and an unmatched branch, so
 * "which endpoints can this client reach, and how often" is a set, not a sample.
 *
 * It understands exactly the matches and targets the proxy writes; an unknown option throws, so
 * a rule the tracer cannot read fails the test instead of being silently skipped.
 */
import { cidrContains } from '../cidr.js';
import type { FakeIptables } from './fake-iptables.js';

export interface Packet {
  src: string;
  dst: string;
  dport: number;
  protocol?: 'tcp' | 'udp' | 'sctp';
  /** 'local': sent by a process of the node (nat OUTPUT); 'remote': arriving from a pod or outside (PREROUTING). */
  origin: 'local' | 'remote';
}

export interface TraceContext {
  /** Addresses of the node itself (matched by `-m addrtype --dst-type LOCAL`); 127.0.0.1 and ::1 are added. */
  localAddresses: readonly string[];
  /** `-m recent` lists: name -> source addresses in it (a client with affinity). */
  recent?: Record<string, readonly string[]> | undefined;
}

export interface Outcome {
  verdict: 'ACCEPT' | 'DROP' | 'REJECT';
  /** `ip:port` the connection was DNATed to, if any. */
  dnat: string | undefined;
  masquerade: boolean;
  /** Delivered to the node itself (INPUT) or forwarded / sent out. */
  path: 'input' | 'forward' | 'output';
  /** `-m recent --set` lists the connection was added to. */
  recentSet: string[];
  probability: number;
}

interface State {
  dst: string;
  dport: number;
  mark: number;
  dnat: string | undefined;
  masquerade: boolean;
  recentSet: string[];
  prob: number;
}

const MODULES = new Set([
  'tcp',
  'udp',
  'sctp',
  'comment',
  'addrtype',
  'statistic',
  'recent',
  'mark',
  'conntrack',
]);
const RECENT_OPTS = new Set(['--mask', '--rsource', '--rcheck', '--seconds', '--reap', '--set']);

type Term = 'ACCEPT' | 'DROP' | 'REJECT' | 'RETURN' | 'END';

function tokenize(rule: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(rule); m; m = re.exec(rule)) out.push(m[1] ?? m[2]!);
  return out;
}

function hostOf(ep: string): { ip: string; port: number } {
  const m = /^\[(.*)\]:(\d+)$/.exec(ep) ?? /^(.*):(\d+)$/.exec(ep);
  if (!m) throw new Error(`tracer: bad DNAT destination ${ep}`);
  return { ip: m[1]!, port: Number(m[2]) };
}

function parseMark(v: string): { value: number; mask: number } {
  const [a, b] = v.split('/');
  return { value: Number(a), mask: b === undefined ? 0xffffffff : Number(b) };
}

/** Every outcome of a new connection through the fake kernel, with probabilities summing to 1. */
export function trace(ipt: FakeIptables, pkt: Packet, ctx: TraceContext): Outcome[] {
  const proto = pkt.protocol ?? 'tcp';
  const v6 = pkt.dst.includes(':');
  const locals = new Set([...ctx.localAddresses, v6 ? '::1' : '127.0.0.1']);
  const isLocal = (ip: string) => locals.has(ip) || (!v6 && cidrContains('127.0.0.0/8', ip));

  /** Whether a rule matches: false, or the probability it matches (statistic) and the state after its matches. */
  const matches = (tokens: string[], st: State): { p: number; st: State } | false => {
    let p = 1;
    let neg = false;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      const arg = () => tokens[++i]!;
      let ok: boolean | undefined;
      switch (t) {
        case '!':
          neg = true;
          continue;
        case '-s':
          ok = cidrContains(arg(), pkt.src);
          break;
        case '-d':
          ok = cidrContains(arg(), st.dst);
          break;
        case '-p':
          ok = arg() === proto;
          break;
        case '--dport':
          ok = Number(arg()) === st.dport;
          break;
        case '-m': {
          const mod = arg();
          if (!MODULES.has(mod)) throw new Error(`tracer: unknown match module ${mod}`);
          continue;
        }
        case '--comment':
          arg();
          continue;
        case '--dst-type':
          ok = arg() === 'LOCAL' ? isLocal(st.dst) : false;
          break;
        case '--src-type':
          ok = arg() === 'LOCAL' ? isLocal(pkt.src) : false;
          break;
        case '--mode':
          if (arg() !== 'random') throw new Error('tracer: only statistic random is supported');
          continue;
        case '--probability':
          p *= Number(arg());
          continue;
        case '--name': {
          const name = arg();
          let check = false;
          let set = false;
          while (i + 1 < tokens.length && RECENT_OPTS.has(tokens[i + 1]!)) {
            const o = tokens[++i]!;
            if (o === '--mask' || o === '--seconds') i++;
            if (o === '--rcheck') check = true;
            if (o === '--set') set = true;
          }
          if (set) {
            st = { ...st, recentSet: [...st.recentSet, name] };
            continue;
          }
          if (!check) throw new Error('tracer: -m recent without --rcheck or --set');
          ok = (ctx.recent?.[name] ?? []).includes(pkt.src);
          break;
        }
        case '--mark': {
          const m = parseMark(arg());
          ok = (st.mark & m.mask) === m.value;
          break;
        }
        case '--ctstate': {
          const states = arg().split(',');
          const cur = st.dnat ? ['NEW', 'DNAT'] : ['NEW'];
          ok = states.some((x) => cur.includes(x));
          break;
        }
        case '-j':
          i = tokens.length;
          continue;
        default:
          throw new Error(`tracer: unknown option ${t} in: ${tokens.join(' ')}`);
      }
      if (ok === undefined) continue;
      if (neg) ok = !ok;
      neg = false;
      if (!ok) return false;
    }
    return { p, st };
  };

  const walk = (table: string, chain: string, st: State, depth: number): { st: State; term: Term }[] => {
    if (depth > 20) throw new Error('tracer: chain depth exceeded');
    const rules = ipt.chain(table, chain);
    if (!rules) throw new Error(`tracer: no chain ${table}/${chain}`);
    const done: { st: State; term: Term }[] = [];
    let active: State[] = [st];
    for (const rule of rules) {
      const tokens = tokenize(rule);
      const j = tokens.indexOf('-j');
      const target = j >= 0 ? tokens[j + 1]! : undefined;
      const next: State[] = [];
      for (const s of active) {
        const m = matches(tokens, s);
        if (!m) {
          next.push(s);
          continue;
        }
        if (m.p < 1) next.push({ ...s, prob: s.prob * (1 - m.p) });
        if (m.p <= 0) continue;
        const branch: State = { ...m.st, prob: s.prob * m.p };
        if (!target) {
          next.push(branch);
          continue;
        }
        switch (target) {
          case 'ACCEPT':
          case 'DROP':
          case 'REJECT':
          case 'RETURN':
            done.push({ st: branch, term: target });
            break;
          case 'DNAT': {
            const to = tokens[tokens.indexOf('--to-destination') + 1]!;
            const h = hostOf(to);
            done.push({ st: { ...branch, dst: h.ip, dport: h.port, dnat: to }, term: 'ACCEPT' });
            break;
          }
          case 'MARK': {
            const or = tokens.indexOf('--or-mark');
            const xor = tokens.indexOf('--xor-mark');
            const mark =
              or >= 0 ? branch.mark | Number(tokens[or + 1]) : branch.mark ^ Number(tokens[xor + 1]);
            next.push({ ...branch, mark });
            break;
          }
          case 'MASQUERADE':
            done.push({ st: { ...branch, masquerade: true }, term: 'ACCEPT' });
            break;
          default:
            for (const r of walk(table, target, branch, depth + 1)) {
              if (r.term === 'RETURN' || r.term === 'END') next.push(r.st);
              else done.push(r);
            }
        }
      }
      active = next;
    }
    for (const s of active) done.push({ st: s, term: 'END' });
    return done;
  };

  const start: State = {
    dst: pkt.dst,
    dport: pkt.dport,
    mark: 0,
    dnat: undefined,
    masquerade: false,
    recentSet: [],
    prob: 1,
  };
  const results: Outcome[] = [];
  for (const n of walk('nat', pkt.origin === 'local' ? 'OUTPUT' : 'PREROUTING', start, 0)) {
    if (n.term === 'DROP' || n.term === 'REJECT') {
      results.push(outcome(n.st, n.term, 'forward'));
      continue;
    }
    const path: Outcome['path'] = pkt.origin === 'local' ? 'output' : isLocal(n.st.dst) ? 'input' : 'forward';
    const filterChain = path === 'output' ? 'OUTPUT' : path === 'input' ? 'INPUT' : 'FORWARD';
    for (const f of walk('filter', filterChain, n.st, 0)) {
      if (f.term === 'DROP' || f.term === 'REJECT') {
        results.push(outcome(f.st, f.term, path));
        continue;
      }
      if (path === 'input') {
        results.push(outcome(f.st, 'ACCEPT', path));
        continue;
      }
      for (const p of walk('nat', 'POSTROUTING', f.st, 0)) {
        if (p.term === 'DROP' || p.term === 'REJECT') results.push(outcome(p.st, p.term, path));
        else results.push(outcome(p.st, 'ACCEPT', path));
      }
    }
  }
  return merge(results);
}

function outcome(st: State, verdict: Outcome['verdict'], path: Outcome['path']): Outcome {
  return {
    verdict,
    dnat: st.dnat,
    masquerade: st.masquerade,
    path,
    recentSet: st.recentSet,
    probability: st.prob,
  };
}

/** Outcomes with the same verdict, destination, masquerade, path and sets merged (probabilities added). */
export function merge(list: Outcome[]): Outcome[] {
  const by = new Map<string, Outcome>();
  for (const o of list) {
    const k = `${o.verdict}|${o.dnat}|${o.masquerade}|${o.path}|${o.recentSet.join(',')}`;
    const prev = by.get(k);
    if (prev) prev.probability += o.probability;
    else by.set(k, { ...o });
  }
  return [...by.values()].sort((a, b) => (String(a.dnat) < String(b.dnat) ? -1 : 1));
}

/** Outcomes summarised for assertions: `verdict dnat [masq]` -> probability rounded to 4 digits. */
export function summarize(outcomes: readonly Outcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) {
    const k = `${o.verdict}${o.dnat ? ` ${o.dnat}` : ''}${o.masquerade ? ' masq' : ''}`;
    out[k] = Math.round(((out[k] ?? 0) + o.probability) * 10000) / 10000;
  }
  return out;
}
