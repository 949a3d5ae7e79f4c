/**
 * The packet tracer of packet-tracer.ts for nftables: walks one new connection through the base
 * chains of our table in a FakeNft the way netfilter orders the hooks (remote: filter prerouting
 * -110, nat prerouting -100, routing, filter input or forward, nat postrouting; local: filter output
 * -110, nat output -100, filter output, nat postrouting) and returns every outcome with its
 * probability (each `numgen random mod K == 0` splits the walk into a matched and an unmatched
 * branch, as `-m statistic` does in packet-tracer.ts; `dnat to numgen random mod N offset O map @M`
 * into N branches of 1/N, one per slot O..O+N-1, where a slot missing from M makes that branch's
 * lookup fail and the walk go on past the rule, as the kernel's lookup does; likewise
 * `dnat to ip daddr . th dport . numgen random mod N map @M`, keyed by destination, port and
 * index; the rule's own `meta l4proto` match picks the map of the protocol).
 *
 * It reads exactly the statements the proxy writes; anything else throws, so a rule the tracer
 * cannot read fails the test instead of being skipped.
 */
import { cidrContains } from '../cidr.js';
import type { FakeNftTable } from './fake-nft.js';
import { merge, type Outcome, type Packet, type TraceContext } from './packet-tracer.js';

interface State {
  dst: string;
  dport: number;
  mark: number;
  dnat: string | undefined;
  masquerade: boolean;
  recentSet: string[];
  prob: number;
}

type Term = 'accept' | 'drop' | 'reject' | 'return';

/** Words, with `{ ... }` groups kept as one token. */
function tokenize(rule: string): string[] {
  const out: string[] = [];
  const re = /\{[^}]*\}|\S+/g;
  for (let m = re.exec(rule); m; m = re.exec(rule)) out.push(m[0]);
  return out;
}

function hostOf(to: string): { ip: string; port: number } {
  const m = /^\[(.*)\]:(\d+)$/.exec(to) ?? /^(.*):(\d+)$/.exec(to);
  if (!m) throw new Error(`nft tracer: bad dnat destination ${to}`);
  return { ip: m[1]!, port: Number(m[2]) };
}

/** Every outcome of a new connection through our table, probabilities summing to 1. */
export function traceNft(table: FakeNftTable, pkt: Packet, ctx: TraceContext): Outcome[] {
  const proto = pkt.protocol ?? 'tcp';
  const v6 = pkt.dst.includes(':');
  const locals = new Set([...ctx.localAddresses, v6 ? '::1' : '127.0.0.1']);
  const isLocal = (ip: string) => locals.has(ip) || (!v6 && cidrContains('127.0.0.0/8', ip));
  const inValue = (value: string, ip: string): boolean => {
    if (value.startsWith('@')) return (ctx.recent?.[value.slice(1)] ?? []).includes(ip);
    const list = value.startsWith('{') ? value.slice(1, -1).split(',') : [value];
    return list.map((x) => x.trim()).some((c) => cidrContains(c, ip));
  };

  const walk = (chain: string, st: State, depth: number): { st: State; term: Term }[] => {
    if (depth > 20) throw new Error('nft tracer: chain depth exceeded');
    const c = table.chains.get(chain);
    if (!c) throw new Error(`nft tracer: no chain ${chain}`);
    const done: { st: State; term: Term }[] = [];
    let active: State[] = [st];
    for (const rule of c.rules) {
      const tokens = tokenize(rule);
      const next: State[] = [];
      for (const s of active)
        for (const r of runRule(tokens, s, depth))
          if (r.term) done.push({ st: r.st, term: r.term });
          else next.push(r.st);
      active = next;
    }
    for (const s of active) done.push({ st: s, term: 'return' });
    return done;
  };

  /** One rule on one state (from token `from`): continuing states (term undefined) and finished ones. */
  const runRule = (
    tk: string[],
    st: State,
    depth: number,
    from = 0,
  ): { st: State; term: Term | undefined }[] => {
    let s = st;
    for (let i = from; i < tk.length; i++) {
      const t = tk[i]!;
      const at = (k: number) => tk[i + k];
      // Matches.
      if (t === 'ct' && at(1) === 'state' && at(2) === 'new') {
        i += 2;
        continue;
      }
      if (t === 'ct' && at(1) === 'status' && at(2) === 'dnat') {
        i += 2;
        if (!s.dnat) return [{ st, term: undefined }];
        continue;
      }
      if ((t === 'ip' || t === 'ip6') && at(1) === 'saddr' && at(2) === '.' && at(4) === 'daddr') {
        // `ip saddr . ip daddr @set`: the pair in a named set.
        const ok = table.maps.get(at(5)!.slice(1))?.has(`${pkt.src} . ${s.dst}`) ?? false;
        i += 5;
        if (!ok) return [{ st, term: undefined }];
        continue;
      }
      if ((t === 'ip' || t === 'ip6') && (at(1) === 'saddr' || at(1) === 'daddr') && at(2) !== '.') {
        const addr = at(1) === 'saddr' ? pkt.src : s.dst;
        const neg = at(2) === '!=';
        const value = neg ? at(3)! : at(2)!;
        i += neg ? 3 : 2;
        if (inValue(value, addr) === neg) return [{ st, term: undefined }];
        continue;
      }
      if (t === 'fib' && at(2) === 'type' && at(3) === 'local') {
        const addr = at(1) === 'saddr' ? pkt.src : s.dst;
        i += 3;
        if (!isLocal(addr)) return [{ st, term: undefined }];
        continue;
      }
      if (t === 'meta' && at(1) === 'mark' && at(2) === '&' && at(4) === '==') {
        const ok = (s.mark & Number(at(3))) === Number(at(5));
        i += 5;
        if (!ok) return [{ st, term: undefined }];
        continue;
      }
      if (t === 'numgen' && at(1) === 'random' && at(2) === 'mod' && at(4) === '==' && at(5) === '0') {
        // Matches with probability 1/K: the rule splits the walk.
        const k = Number(at(3));
        return [
          { st: { ...st, prob: st.prob * (1 - 1 / k) }, term: undefined },
          ...runRule(tk, { ...s, prob: s.prob / k }, depth, i + 6),
        ];
      }
      if (t === 'meta' && at(1) === 'l4proto' && at(2) !== '.') {
        const p = at(2);
        i += 2;
        if (p !== proto) return [{ st, term: undefined }];
        continue;
      }
      // Statements.
      if (t === 'meta' && at(1) === 'mark' && at(2) === 'set') {
        const op = at(5);
        const v = Number(at(6));
        s = { ...s, mark: op === '|' ? s.mark | v : s.mark ^ v };
        i += 6;
        continue;
      }
      if (t === 'update') {
        s = { ...s, recentSet: [...s.recentSet, at(1)!.slice(1)] };
        i += 2;
        continue;
      }
      const rest = tk.slice(i).join(' ');
      let vm = /^(?:(ip6?) daddr \. )?meta l4proto \. th dport vmap @(\S+)$/.exec(rest);
      if (vm) {
        const key = vm[1] ? `${s.dst} . ${proto} . ${s.dport}` : `${proto} . ${s.dport}`;
        const verdict = table.maps.get(vm[2]!)?.get(key);
        if (verdict === undefined) return [{ st: s, term: undefined }];
        return verdictOf(verdict, s, depth);
      }
      vm = /^numgen random mod (\d+) vmap \{ (.*) \}$/.exec(rest);
      if (vm) {
        const n = Number(vm[1]);
        const branches = vm[2]!.split(',').map((e) => e.trim().split(' : ')[1]!);
        if (branches.length !== n)
          throw new Error(`nft tracer: numgen mod ${n} with ${branches.length} entries`);
        return branches.flatMap((v) => verdictOf(v, { ...s, prob: s.prob / n }, depth));
      }
      vm = /^dnat (?:ip6? )?to numgen random mod (\d+)(?: offset (\d+))? map @(\S+)$/.exec(rest);
      if (vm) {
        const n = Number(vm[1]);
        const off = Number(vm[2] ?? 0);
        const map = table.maps.get(vm[3]!);
        if (!map) throw new Error(`nft tracer: no map ${vm[3]}`);
        const branches: { st: State; term: Term | undefined }[] = [];
        for (let k = 0; k < n; k++) {
          const b = { ...s, prob: s.prob / n };
          const v = map.get(String(off + k));
          if (v === undefined) {
            branches.push({ st: b, term: undefined });
            continue;
          }
          const m = /^(\S+) \. (\d+)$/.exec(v);
          if (!m) throw new Error(`nft tracer: bad endpoint map value ${v}`);
          const to = m[1]!.includes(':') ? `[${m[1]}]:${m[2]}` : `${m[1]}:${m[2]}`;
          branches.push({ st: { ...b, dst: m[1]!, dport: Number(m[2]), dnat: to }, term: 'accept' });
        }
        return branches;
      }
      vm = /^dnat (?:ip6? )?to (ip6?) daddr \. th dport \. numgen random mod (\d+) map @(\S+)$/.exec(rest);
      if (vm) {
        // Keyed by the (pre-DNAT) destination, the port and the random index.
        const n = Number(vm[2]);
        const map = table.maps.get(vm[3]!);
        if (!map) throw new Error(`nft tracer: no map ${vm[3]}`);
        const branches: { st: State; term: Term | undefined }[] = [];
        for (let k = 0; k < n; k++) {
          const b = { ...s, prob: s.prob / n };
          const v = map.get(`${s.dst} . ${s.dport} . ${k}`);
          const m = v === undefined ? undefined : /^(\S+) \. (\d+)$/.exec(v);
          if (v !== undefined && !m) throw new Error(`nft tracer: bad endpoint map value ${v}`);
          if (!m) {
            branches.push({ st: b, term: undefined });
            continue;
          }
          const to = m[1]!.includes(':') ? `[${m[1]}]:${m[2]}` : `${m[1]}:${m[2]}`;
          branches.push({ st: { ...b, dst: m[1]!, dport: Number(m[2]), dnat: to }, term: 'accept' });
        }
        return branches;
      }
      vm = /^dnat to (\S+)$/.exec(rest);
      if (vm) {
        const h = hostOf(vm[1]!);
        return [{ st: { ...s, dst: h.ip, dport: h.port, dnat: vm[1]! }, term: 'accept' }];
      }
      if (rest === 'masquerade fully-random') return [{ st: { ...s, masquerade: true }, term: 'accept' }];
      return verdictOf(rest, s, depth);
    }
    return [{ st: s, term: undefined }];
  };

  /** A verdict: accept/drop/reject/return end the rule; jump continues after the called chain returns. */
  const verdictOf = (v: string, s: State, depth: number): { st: State; term: Term | undefined }[] => {
    if (v === 'accept' || v === 'drop' || v === 'reject' || v === 'return') return [{ st: s, term: v }];
    const m = /^(jump|goto) (\S+)$/.exec(v);
    if (!m) throw new Error(`nft tracer: cannot read "${v}"`);
    return walk(m[2]!, s, depth + 1).map((r) => {
      if (m[1] === 'jump') return { st: r.st, term: r.term === 'return' ? undefined : r.term };
      // goto: the called chain's return is a return from this chain.
      return { st: r.st, term: r.term };
    });
  };

  /** One hook: states going on (accepted or fell through) and those dropped or rejected. */
  const hook = (chain: string, states: State[]) => {
    const on: State[] = [];
    const stopped: { st: State; term: 'drop' | 'reject' }[] = [];
    for (const s of states)
      for (const r of walk(chain, s, 0))
        if (r.term === 'drop' || r.term === 'reject') stopped.push({ st: r.st, term: r.term });
        else on.push(r.st);
    return { on, stopped };
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
  const out = (st: State, verdict: Outcome['verdict'], path: Outcome['path']) =>
    results.push({
      verdict,
      dnat: st.dnat,
      masquerade: st.masquerade,
      path,
      recentSet: st.recentSet,
      probability: st.prob,
    });
  const local = pkt.origin === 'local';
  const upper = (t: 'drop' | 'reject') => (t === 'drop' ? 'DROP' : 'REJECT');
  const pre = hook(local ? 'filter-output-pre-dnat' : 'filter-prerouting-pre-dnat', [start]);
  for (const x of pre.stopped) out(x.st, upper(x.term), local ? 'output' : 'forward');
  const nat = hook(local ? 'nat-output' : 'nat-prerouting', pre.on);
  for (const x of nat.stopped) out(x.st, upper(x.term), local ? 'output' : 'forward');
  for (const s of nat.on) {
    const path: Outcome['path'] = local ? 'output' : isLocal(s.dst) ? 'input' : 'forward';
    const f = hook(
      path === 'output' ? 'filter-output' : path === 'input' ? 'filter-input' : 'filter-forward',
      [s],
    );
    for (const x of f.stopped) out(x.st, upper(x.term), path);
    for (const a of f.on) {
      if (path === 'input') {
        out(a, 'ACCEPT', path);
        continue;
      }
      const post = hook('nat-postrouting', [a]);
      for (const x of post.stopped) out(x.st, upper(x.term), path);
      for (const p of post.on) out(p, 'ACCEPT', path);
    }
  }
  return merge(results);
}
