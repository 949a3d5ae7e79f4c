/**
 * iptables mode for one IP family: renders (iptables-render.ts) and applies with one
 * `iptables-restore --noflush` per sync.
 *
 * Partial syncs: the rendering of each service port is cached; a sync re-renders only the service
 * ports of changed services, writes only chains whose content differs from what it last wrote
 * (a `:CHAIN` line flushes the chain in --noflush mode, so untouched chains are simply not named),
 * and deletes chains that are no longer wanted. A full sync (first, periodic, after any failure)
 * rewrites every chain, deletes stale chains with our prefixes found in `iptables-save`, and
 * inserts the jumps from the built-in chains that are missing. Rules and chains we do not own are
 * never touched: only KUBE-* chains are declared, and built-in chains only get `-I` of our jumps.
 */

import type { ProxyBackend, SyncRequest, SyncResult } from './backend.js';
import { isOwnedServiceChain } from './chain-names.js';
import { clearStaleConntrack } from './conntrack.js';
import { CommandFailedError } from './errors.js';
import {
  baseRules,
  JUMP_RULES,
  localhostNodePortsOn,
  type RenderConfig,
  type RenderedServicePort,
  renderServicePort,
} from './iptables-render.js';
import type { IpFamily } from './model.js';
import type { CommandRunner } from './runner.js';

type Table = 'nat' | 'filter';

export interface IptablesProxierOptions extends RenderConfig {
  runner: CommandRunner;
  /** Clear UDP conntrack entries of removed endpoints (default true). */
  conntrack?: boolean | undefined;
  /** Set net.ipv4.conf.all.route_localnet=1 when localhost NodePorts are on (default true). */
  setRouteLocalnet?: boolean | undefined;
  now?: (() => number) | undefined;
  /** Called with each restore input (tests and the bench). */
  onRestore?: ((input: string) => void) | undefined;
}

const SHARED_NAT = ['KUBE-SERVICES', 'KUBE-NODEPORTS'] as const;
const SHARED_FILTER = [
  'KUBE-SERVICES',
  'KUBE-EXTERNAL-SERVICES',
  'KUBE-NODEPORTS',
  'KUBE-PROXY-FIREWALL',
] as const;

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameShared(a: RenderedServicePort | undefined, b: RenderedServicePort | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    sameLines(a.natServices, b.natServices) &&
    sameLines(a.natNodePorts, b.natNodePorts) &&
    sameLines(a.filterServices, b.filterServices) &&
    sameLines(a.filterExternal, b.filterExternal) &&
    sameLines(a.filterNodePorts, b.filterNodePorts) &&
    sameLines(a.filterFirewall, b.filterFirewall)
  );
}

/** The iptables (or ip6tables) backend of one family. */
export class IptablesProxier implements ProxyBackend {
  readonly mode = 'iptables' as const;
  private readonly opts: IptablesProxierOptions;
  private readonly restoreCmd: string;
  private readonly saveCmd: string;
  private readonly now: () => number;
  /** service port key -> its rendering (insertion order = order in the dispatch chains). */
  private readonly rendered = new Map<string, RenderedServicePort>();
  /** What we believe is in the kernel: table -> chain -> its rules. */
  private readonly applied = {
    nat: new Map<string, readonly string[]>(),
    filter: new Map<string, readonly string[]>(),
  };
  private readonly ruleCounts = { nat: 0, filter: 0 };
  private needFull = true;
  private routeLocalnetDone = false;

  constructor(opts: IptablesProxierOptions) {
    this.opts = opts;
    const v6 = opts.family === 'IPv6';
    this.restoreCmd = v6 ? 'ip6tables-restore' : 'iptables-restore';
    this.saveCmd = v6 ? 'ip6tables-save' : 'iptables-save';
    this.now = opts.now ?? (() => performance.now());
  }

  /** Force the next sync to be full (e.g. after the node's addresses changed). */
  invalidate(): void {
    this.needFull = true;
  }

  async sync(req: SyncRequest): Promise<SyncResult> {
    const t0 = this.now();
    const full = req.full || this.needFull;
    const { state } = req;
    // 1. Re-render what changed (everything on a full sync).
    let sharedChanged = full;
    const natWrite = new Map<string, string[]>();
    const natDelete = new Set<string>();
    if (full) {
      this.rendered.clear();
      for (const [k, sp] of state.services) {
        const r = renderServicePort(sp, state.endpoints.get(k) ?? [], this.opts);
        if (r) this.rendered.set(k, r);
      }
      for (const r of this.rendered.values()) for (const [c, rules] of r.chains) natWrite.set(c, rules);
    } else {
      const keys = new Set<string>();
      for (const s of req.changedServices) for (const k of state.portsOf(s)) keys.add(k);
      for (const [k, r] of this.rendered) if (req.changedServices.has(r.service)) keys.add(k);
      for (const k of keys) {
        const old = this.rendered.get(k);
        const sp = state.services.get(k);
        const r = sp ? renderServicePort(sp, state.endpoints.get(k) ?? [], this.opts) : undefined;
        if (r) this.rendered.set(k, r);
        else this.rendered.delete(k);
        if (!sameShared(old, r)) sharedChanged = true;
        for (const [c, rules] of r?.chains ?? []) {
          const old = this.applied.nat.get(c);
          if (!old || !sameLines(old, rules)) natWrite.set(c, rules);
        }
        for (const c of old?.chains.keys() ?? []) if (!r?.chains.has(c)) natDelete.add(c);
      }
    }

    // 2. The shared chains (rebuilt when any service port's lines in them changed).
    const filterWrite = new Map<string, string[]>();
    if (sharedChanged) {
      const base = baseRules(this.opts);
      const nat = base.nat;
      const filter = base.filter;
      const natSvc: string[] = [];
      const natNp: string[] = [];
      const fSvc: string[] = [];
      const fExt: string[] = [];
      const fNp: string[] = [];
      const fFw: string[] = [];
      for (const r of this.rendered.values()) {
        for (const l of r.natServices) natSvc.push(l);
        for (const l of r.natNodePorts) natNp.push(l);
        for (const l of r.filterServices) fSvc.push(l);
        for (const l of r.filterExternal) fExt.push(l);
        for (const l of r.filterNodePorts) fNp.push(l);
        for (const l of r.filterFirewall) fFw.push(l);
      }
      nat.set('KUBE-SERVICES', [...natSvc, ...nat.get('KUBE-SERVICES')!]);
      nat.set('KUBE-NODEPORTS', natNp);
      filter.set('KUBE-SERVICES', fSvc);
      filter.set('KUBE-EXTERNAL-SERVICES', fExt);
      filter.set('KUBE-NODEPORTS', fNp);
      filter.set('KUBE-PROXY-FIREWALL', fFw);
      for (const [c, rules] of nat)
        if (
          full ||
          ((SHARED_NAT as readonly string[]).includes(c) && !sameLines(this.applied.nat.get(c) ?? [], rules))
        )
          natWrite.set(c, rules);
      for (const [c, rules] of filter)
        if (
          full ||
          ((SHARED_FILTER as readonly string[]).includes(c) &&
            !sameLines(this.applied.filter.get(c) ?? [], rules))
        )
          filterWrite.set(c, rules);
    }
    for (const c of natWrite.keys()) natDelete.delete(c);

    // 3. Full sync: what is in the kernel (stale chains, missing jumps).
    const jumps: { table: Table; chain: string; spec: string }[] = [];
    if (full) {
      const saved = await this.opts.runner.run(this.saveCmd, []);
      if (saved.code !== 0) throw new CommandFailedError(this.saveCmd, saved.code, saved.stderr);
      const kernel = parseSave(saved.stdout);
      for (const c of kernel.nat.chains) if (isOwnedServiceChain(c) && !natWrite.has(c)) natDelete.add(c);
      for (const j of JUMP_RULES) if (!hasJump(kernel[j.table].rules, j.chain, j.spec)) jumps.push(j);
    }
    if (this.opts.setRouteLocalnet !== false && !this.routeLocalnetDone && this.localhostNodePorts()) {
      await this.opts.runner.run('sysctl', ['-w', 'net.ipv4.conf.all.route_localnet=1']);
      this.routeLocalnetDone = true;
    }

    // 4. One restore input for both tables.
    const input = buildRestore({ natWrite, natDelete, filterWrite, jumps });
    const t1 = this.now();
    let written = { nat: 0, filter: 0 };
    if (input.changed) {
      this.opts.onRestore?.(input.text);
      this.needFull = true;
      const r = await this.opts.runner.run(this.restoreCmd, ['-w', '5', '--noflush'], { stdin: input.text });
      if (r.code !== 0) throw new CommandFailedError(this.restoreCmd, r.code, r.stderr);
      written = input.written;
      this.commit('nat', natWrite, natDelete);
      this.commit('filter', filterWrite, new Set());
    }
    this.needFull = false;
    const t2 = this.now();
    if (this.opts.conntrack !== false) await clearStaleConntrack(this.opts.runner, this.opts.family, req);
    return {
      full,
      generateMs: t1 - t0,
      applyMs: t2 - t1,
      ruleCounts: { ...this.ruleCounts },
      rulesWritten: written,
    };
  }

  async stop(): Promise<void> {}

  private localhostNodePorts(): boolean {
    return localhostNodePortsOn(this.opts);
  }

  private commit(table: Table, write: Map<string, string[]>, del: Set<string>): void {
    const m = this.applied[table];
    for (const [c, rules] of write) {
      this.ruleCounts[table] += rules.length - (m.get(c)?.length ?? 0);
      m.set(c, rules);
    }
    for (const c of del) {
      this.ruleCounts[table] -= m.get(c)?.length ?? 0;
      m.delete(c);
    }
  }
}

/** Chains and rules per table of an `iptables-save` output. */
export function parseSave(text: string): Record<Table, { chains: Set<string>; rules: string[] }> {
  const out: Record<Table, { chains: Set<string>; rules: string[] }> = {
    nat: { chains: new Set(), rules: [] },
    filter: { chains: new Set(), rules: [] },
  };
  let cur: { chains: Set<string>; rules: string[] } | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) cur = out[line.slice(1).trim() as Table];
    else if (!cur) continue;
    else if (line.startsWith(':')) cur.chains.add(line.slice(1).split(' ')[0]!);
    else if (line.startsWith('-A ')) cur.rules.push(line);
  }
  return out;
}

/** A jump is present when a rule of `chain` has the same target and comment (iptables-save may reorder matches). */
function hasJump(rules: readonly string[], chain: string, spec: string): boolean {
  const target = / -j (\S+)$/.exec(` ${spec}`)?.[1];
  const comment = /--comment "([^"]*)"/.exec(spec)?.[1];
  return rules.some(
    (r) =>
      r.startsWith(`-A ${chain} `) &&
      r.endsWith(`-j ${target}`) &&
      (comment === undefined || r.includes(comment)),
  );
}

/** The iptables-restore input of one sync. */
export function buildRestore(parts: {
  natWrite: ReadonlyMap<string, readonly string[]>;
  natDelete: ReadonlySet<string>;
  filterWrite: ReadonlyMap<string, readonly string[]>;
  jumps: readonly { table: Table; chain: string; spec: string }[];
}): { text: string; changed: boolean; written: { nat: number; filter: number } } {
  const out: string[] = [];
  const written = { nat: 0, filter: 0 };
  const table = (name: Table, write: ReadonlyMap<string, readonly string[]>, del: ReadonlySet<string>) => {
    const jumps = parts.jumps.filter((j) => j.table === name);
    if (write.size === 0 && del.size === 0 && jumps.length === 0) return;
    out.push(`*${name}`);
    for (const c of write.keys()) out.push(`:${c} - [0:0]`);
    for (const c of del) out.push(`:${c} - [0:0]`);
    for (const rules of write.values()) {
      if (rules.length === 0) continue;
      out.push(rules.join('\n'));
      written[name] += rules.length;
    }
    for (const c of del) out.push(`-X ${c}`);
    // Inserted in reverse so that they end up first and in JUMP_RULES order.
    for (let i = jumps.length - 1; i >= 0; i--) out.push(`-I ${jumps[i]!.chain} 1 ${jumps[i]!.spec}`);
    out.push('COMMIT');
  };
  table('nat', parts.natWrite, parts.natDelete);
  table('filter', parts.filterWrite, new Set());
  return { text: out.length ? `${out.join('\n')}\n` : '', changed: out.length > 0, written };
}

/**
 * Remove what iptables mode left in one family (when a node switches to nftables mode, as
 * kube-proxy cleans up the other mode): the jumps from the built-in chains into our chains, then
 * our chains (the fixed KUBE-* chains baseRules writes and the per-service ones). Chains and rules
 * of anyone else are kept. Returns the number of chains removed.
 */
export async function cleanupIptablesRules(runner: CommandRunner, family: IpFamily): Promise<number> {
  const v6 = family === 'IPv6';
  const save = await runner.run(v6 ? 'ip6tables-save' : 'iptables-save', []);
  if (save.code !== 0) return 0; // no iptables here: nothing to clean
  const base = baseRules({ family, nodeName: '' });
  const kernel = parseSave(save.stdout);
  const out: string[] = [];
  let removed = 0;
  for (const table of ['nat', 'filter'] as const) {
    const fixed = new Set(base[table].keys());
    const ours = [...kernel[table].chains].filter((c) => fixed.has(c) || isOwnedServiceChain(c));
    if (ours.length === 0) continue;
    const oursSet = new Set(ours);
    out.push(`*${table}`);
    for (const rule of kernel[table].rules) {
      const m = /^-A (\S+)((?: .*)?) -j (\S+)$/.exec(rule);
      // Only built-in chains need their jumps removed: our own chains are flushed below.
      if (m && !oursSet.has(m[1]!) && oursSet.has(m[3]!)) out.push(`-D ${m[1]}${m[2]} -j ${m[3]}`);
    }
    for (const c of ours) out.push(`:${c} - [0:0]`);
    for (const c of ours) out.push(`-X ${c}`);
    out.push('COMMIT');
    removed += ours.length;
  }
  if (removed === 0) return 0;
  const cmd = v6 ? 'ip6tables-restore' : 'iptables-restore';
  const r = await runner.run(cmd, ['-w', '5', '--noflush'], { stdin: `${out.join('\n')}\n` });
  if (r.code !== 0) throw new CommandFailedError(cmd, r.code, r.stderr);
  return removed;
}
