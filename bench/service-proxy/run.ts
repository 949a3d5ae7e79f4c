/**
 * Service proxy bench, both kernel modes side by side, each figure beside its anchor from the same
 * run, for N services x 10 endpoints spread over 100 nodes (default N = 1,000, 2,000, 10,000):
 *  (1) full sync: iptables mode (generation + iptables-restore into a private namespace), nftables
 *      mode (generation + `nft -f` into another), and the anchor: `nft -f` of the very same input
 *      through the CLI alone, into a fresh namespace;
 *  (2) one endpoint change -> rules in the kernel (partial sync, in process: checkout + render +
 *      apply; informer delivery excluded), median of --changes: iptables mode beside the CLI
 *      restore of the same partial input (re-applied in place: it is idempotent), nftables mode
 *      beside the CLI `nft -f` of the same partial input into a twin namespace holding the same
 *      table (an nft partial input deletes chains, so it cannot be re-applied in place).
 * iptables mode runs only up to --iptables-max services (default 2,000): iptables-nft needs more
 * than 14 minutes for 10,000 here (RESULTS.md, earlier run).
 * Run as root (namespaces are created and removed by the bench; nothing touches the host's rules).
 * `--write` replaces the service-proxy section of bench/RESULTS.md.
 *
 *   npm run bench:service-proxy [-- --write] [-- --services 1000,2000,10000] [-- --iptables-max 2000]
 */

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { SyncRequest } from '../../src/service-proxy/backend.js';
import { EndpointsChangeTracker, ServiceChangeTracker } from '../../src/service-proxy/change-tracker.js';
import { IptablesProxier } from '../../src/service-proxy/iptables-proxier.js';
import { NftablesProxier } from '../../src/service-proxy/nftables-proxier.js';
import { ProxyState } from '../../src/service-proxy/proxy-state.js';
import { NetnsRunner, RecordingRunner } from '../../src/service-proxy/runner.js';
import { slice, svc } from '../../src/service-proxy/testing/fixtures.js';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const { values } = parseArgs({
  options: {
    write: { type: 'boolean' },
    services: { type: 'string' },
    changes: { type: 'string' },
    'iptables-max': { type: 'string' },
  },
});
const SIZES = (values.services ?? '1000,2000,10000').split(',').map(Number);
const IPTABLES_MAX = Number(values['iptables-max'] ?? 2000);
const EPS = 10;
const NODES = 100;
const CHANGES = Number(values.changes ?? 7);

function epIp(k: number): string {
  return `10.${42 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;
}

function svcObj(i: number) {
  return svc({ name: `s${i}`, clusterIP: `10.43.${i >> 8}.${i & 255}`, ports: [{ name: 'http', port: 80 }] });
}
/** Endpoint k runs on node-(k % 100): the proxy's node (node-a = node-0) holds 1 in 100, as in a cluster of 100 nodes. */
function sliceObj(i: number, shift = 0) {
  return slice(
    Array.from({ length: EPS }, (_, j) => {
      const k = i * EPS + j + shift;
      return { ip: epIp(k), node: k % NODES === 0 ? 'node-a' : `node-${k % NODES}` };
    }),
    { service: `s${i}`, name: `s${i}-1` },
  );
}

const namespaces = new Set<string>();
function netnsAdd(): string {
  const name = `k8ts-bench-sp-${randomBytes(3).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', name]);
  if (r.status !== 0) throw new Error(`ip netns add: ${r.stderr}`);
  namespaces.add(name);
  return name;
}
function netnsDel(name: string): void {
  spawnSync('ip', ['netns', 'del', name]);
  namespaces.delete(name);
}
/** Time one CLI run (`ip netns exec NS cmd...` with `text` on stdin). */
function cli(ns: string, cmd: string[], text: string): number {
  const t = performance.now();
  const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { input: text, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${String(r.stderr).slice(0, 500)}`);
  return performance.now() - t;
}
const cliRestore = (ns: string, text: string) => cli(ns, ['iptables-restore', '-w', '5', '--noflush'], text);
const cliNft = (ns: string, text: string) => cli(ns, ['nft', '-f', '-'], text);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;
const lines = (t: string) => t.split('\n').length - 1;

/** A proxier of either kernel mode with its last apply input captured. */
function proxier(mode: 'iptables' | 'nftables', runner: NetnsRunner | RecordingRunner) {
  const box = { text: '' };
  const common = {
    family: 'IPv4' as const,
    nodeName: 'node-a',
    clusterCidr: '10.42.0.0/16',
    runner,
    conntrack: false,
  };
  const p =
    mode === 'iptables'
      ? new IptablesProxier({ ...common, onRestore: (t) => (box.text = t) })
      : new NftablesProxier({ ...common, onApply: (t) => (box.text = t) });
  return { p, box };
}

interface Row {
  n: number;
  cells: Record<string, string>;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the bench creates network namespaces');
  const rows: Row[] = [];
  try {
    for (const n of SIZES) {
      const row: Row = { n, cells: {} };
      rows.push(row);
      const state = new ProxyState();
      const st = new ServiceChangeTracker();
      const et = new EndpointsChangeTracker();
      for (let i = 0; i < n; i++) {
        st.update(undefined, svcObj(i));
        et.update(sliceObj(i));
      }
      const s = st.checkout(state);
      const e = et.checkout(state);
      const req = (full: boolean, changed: Set<string>): SyncRequest => ({
        state,
        changedServices: changed,
        full,
        staleEndpoints: [],
        newlyActiveUdp: [],
        removedServicePorts: [],
      });
      const all = new Set([...s.changed, ...e.changed]);

      // (1) full syncs. Generation alone (a recording runner), then the real thing, then the anchor.
      const modes = (n <= IPTABLES_MAX ? ['iptables', 'nftables'] : ['nftables']) as (
        | 'iptables'
        | 'nftables'
      )[];
      const live: Record<
        string,
        { p: IptablesProxier | NftablesProxier; box: { text: string }; ns: string }
      > = {};
      for (const mode of modes) {
        const dry = proxier(mode, new RecordingRunner());
        const g = await dry.p.sync(req(true, all));
        const ns = netnsAdd();
        const real = proxier(mode, new NetnsRunner(ns));
        const t0 = performance.now();
        const k = await real.p.sync(req(true, all));
        const total = performance.now() - t0;
        live[mode] = { ...real, ns };
        const applyName = mode === 'iptables' ? 'iptables-restore' : 'nft -f';
        row.cells[`${mode} full`] =
          `${ms(total)} (generate ${ms(g.generateMs)}, ${applyName} ${ms(k.applyMs)}; ${lines(real.box.text).toLocaleString('en')} lines)`;
        if (mode === 'nftables') {
          const fresh = netnsAdd();
          // The proxier's first sync is three steps (nftables-proxier.ts); the anchor replays their
          // concatenation as one transaction.
          row.cells['nft -f anchor full'] = ms(cliNft(fresh, real.box.text));
          // The twin: the same table through the CLI, for the partial-input anchor below.
          live.twin = { ...dry, ns: fresh };
        } else {
          const fresh = netnsAdd();
          row.cells['iptables-restore anchor full'] = ms(cliRestore(fresh, real.box.text));
          netnsDel(fresh);
        }
      }

      // (2) one endpoint change -> in the kernel (partial syncs).
      const lat: Record<string, number[]> = { iptables: [], nftables: [], iptablesCli: [], nftCli: [] };
      for (let c = 0; c < CHANGES; c++) {
        const i = Math.floor(n / 2) + c;
        et.update(sliceObj(i, 1_000_000 + c)); // one slice, its endpoints replaced: one service changes
        const t1 = performance.now();
        const ch = et.checkout(state);
        const changed = new Set(ch.changed);
        const checkoutMs = performance.now() - t1;
        for (const mode of modes) {
          const l = live[mode]!;
          const t = performance.now();
          await l.p.sync(req(false, changed));
          lat[mode]!.push(checkoutMs + performance.now() - t);
        }
        if (live.iptables) lat.iptablesCli!.push(cliRestore(live.iptables.ns, live.iptables.box.text));
        const twin = live.twin!;
        await twin.p.sync(req(false, changed));
        if (twin.box.text !== live.nftables!.box.text)
          throw new Error('twin input differs from the proxier input');
        lat.nftCli!.push(cliNft(twin.ns, twin.box.text));
      }
      const partialLines = lines(live.nftables!.box.text);
      row.cells['nftables change'] = `${ms(median(lat.nftables!))} (${partialLines} lines)`;
      row.cells['nft -f anchor change'] = ms(median(lat.nftCli!));
      if (live.iptables) {
        row.cells['iptables change'] =
          `${ms(median(lat.iptables!))} (${lines(live.iptables.box.text)} lines)`;
        row.cells['iptables-restore anchor change'] = ms(median(lat.iptablesCli!));
      }
      for (const l of Object.values(live)) netnsDel(l.ns);
      console.log(`${n} services: ${JSON.stringify(row.cells)}`);
    }
  } finally {
    for (const ns of [...namespaces]) netnsDel(ns);
  }
  const cols = [
    'iptables full',
    'iptables-restore anchor full',
    'nftables full',
    'nft -f anchor full',
    'iptables change',
    'iptables-restore anchor change',
    'nftables change',
    'nft -f anchor change',
  ];
  const head = [
    'services x 10 endpoints',
    'iptables mode: full sync',
    'anchor: CLI iptables-restore, same input',
    'nftables mode: full sync',
    'anchor: CLI nft -f, same input',
    'iptables mode: one endpoint change (median of 7)',
    'anchor: CLI iptables-restore, same partial input',
    'nftables mode: one endpoint change (median of 7)',
    'anchor: CLI nft -f, same partial input',
  ];
  const table = [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map(
      (r) =>
        `| ${r.n.toLocaleString('en')} | ${cols.map((c) => r.cells[c] ?? `not run (over --iptables-max ${IPTABLES_MAX.toLocaleString('en')})`).join(' | ')} |`,
    ),
  ].join('\n');
  console.log(table);
  if (values.write) {
    const path = join(REPO, 'bench', 'RESULTS.md');
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {}
    const version = (cmd: string) => spawnSync(cmd, ['--version']).stdout.toString().trim();
    const section = `<!-- service-proxy:start -->\n## Service proxy, iptables and nftables modes (issue 5)\n\nCommand: \`npm run bench:service-proxy -- ${process.argv.slice(2).join(' ')}\`, run ${new Date().toISOString().slice(0, 16)}Z as root on this 2-vCPU VM (load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )}), ${version('iptables')}, ${version('nft')}, kernel ${spawnSync('uname', ['-r']).stdout.toString().trim()}; every apply goes into a private network namespace the bench creates and deletes. Change latency = checkout + render + apply (informer delivery excluded).\n\n${table}\n\nRequests/s and p99 through a ClusterIP vs direct: the service-proxy-datapath section (\`npm run bench:service-proxy-datapath\`). Userspace mode beside HAProxy: the service-proxy-userspace section.\n<!-- service-proxy:end -->`;
    if (text.includes('<!-- service-proxy:start -->'))
      text = text.replace(/<!-- service-proxy:start -->[\s\S]*<!-- service-proxy:end -->/, section);
    else text = `${text || '# Benchmark results\n'}\n${section}\n`;
    writeFileSync(path, text);
  }
}

await main();
