/**
 * Service proxy bench (iptables mode), each figure beside its anchor from the same run:
 *  (1) full sync of N services x 10 endpoints: rule generation (in process) and iptables-restore
 *      into a private network namespace, beside the kernel's floor: `iptables-restore --noflush` of
 *      the very same input as one plain file through the CLI, into a fresh namespace;
 *  (2) one endpoint change -> rules in the kernel (partial sync, in process: checkout + render +
 *      restore; informer delivery excluded) at the largest N, beside the CLI restore of the same
 *      partial input.
 * Run as root (namespaces are created and removed by the bench; nothing touches the host's rules).
 * `--write` replaces the service-proxy section of bench/RESULTS.md.
 *
 *   npm run bench:service-proxy [-- --write] [-- --services 1000,2000]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EndpointsChangeTracker, ServiceChangeTracker } from '../../src/service-proxy/change-tracker.js';
import { IptablesProxier } from '../../src/service-proxy/iptables-proxier.js';
import { ProxyState } from '../../src/service-proxy/proxy-state.js';
import { NetnsRunner, RecordingRunner } from '../../src/service-proxy/runner.js';
import { slice, svc } from '../../src/service-proxy/testing/fixtures.js';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const { values } = parseArgs({
  options: { write: { type: 'boolean' }, services: { type: 'string' }, changes: { type: 'string' } },
});
// 10,000 is possible with --services but iptables-nft needs more than 14 min to restore it here (RESULTS.md).
const SIZES = (values.services ?? '1000,2000').split(',').map(Number);
const EPS = 10;
const CHANGES = Number(values.changes ?? 7);

function epIp(k: number): string {
  return `10.${42 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;
}

function svcObj(i: number) {
  return svc({ name: `s${i}`, clusterIP: `10.43.${i >> 8}.${i & 255}`, ports: [{ name: 'http', port: 80 }] });
}
function sliceObj(i: number, shift = 0) {
  return slice(
    Array.from({ length: EPS }, (_, j) => epIp(i * EPS + j + shift)),
    { service: `s${i}`, name: `s${i}-1` },
  );
}

function netnsAdd(): string {
  const name = `k8ts-bench-sp-${randomBytes(3).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', name]);
  if (r.status !== 0) throw new Error(`ip netns add: ${r.stderr}`);
  return name;
}
function netnsDel(name: string): void {
  spawnSync('ip', ['netns', 'del', name]);
}
function cliRestore(ns: string, text: string): number {
  const t = performance.now();
  const r = spawnSync('ip', ['netns', 'exec', ns, 'iptables-restore', '-w', '5', '--noflush'], {
    input: text,
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`iptables-restore: ${r.stderr}`);
  return performance.now() - t;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the bench creates network namespaces');
  const rows: string[][] = [];
  const namespaces: string[] = [];
  try {
    for (const n of SIZES) {
      const state = new ProxyState();
      const st = new ServiceChangeTracker();
      const et = new EndpointsChangeTracker();
      for (let i = 0; i < n; i++) {
        st.update(undefined, svcObj(i));
        et.update(sliceObj(i));
      }
      const s = st.checkout(state);
      const e = et.checkout(state);
      const req = (full: boolean, changed: Set<string>) => ({
        state,
        changedServices: changed,
        full,
        staleEndpoints: [],
        newlyActiveUdp: [],
        removedServicePorts: [],
      });
      const all = new Set([...s.changed, ...e.changed]);
      // (1a) generation only.
      let text = '';
      const gen = new IptablesProxier({
        family: 'IPv4',
        nodeName: 'node-a',
        clusterCidr: '10.42.0.0/16',
        runner: new RecordingRunner(),
        onRestore: (t) => (text = t),
        conntrack: false,
      });
      const g = await gen.sync(req(true, all));
      const lines = text.split('\n').length;
      // (1b) the proxier's full sync into a namespace.
      const ns = netnsAdd();
      namespaces.push(ns);
      const proxier = new IptablesProxier({
        family: 'IPv4',
        nodeName: 'node-a',
        clusterCidr: '10.42.0.0/16',
        runner: new NetnsRunner(ns),
        conntrack: false,
      });
      const t0 = performance.now();
      const k = await proxier.sync(req(true, all));
      const fullMs = performance.now() - t0;
      // (1c) anchor: the same input through the CLI into a fresh namespace.
      const ns2 = netnsAdd();
      namespaces.push(ns2);
      const floor = cliRestore(ns2, text);
      netnsDel(ns2);
      rows.push([
        `full sync, ${n.toLocaleString('en')} services x ${EPS} endpoints (${lines.toLocaleString('en')} restore lines)`,
        `${ms(fullMs)} total: generate ${ms(g.generateMs)}, iptables-restore ${ms(k.applyMs)}`,
        `${ms(floor)} (CLI iptables-restore of the same file, fresh netns)`,
      ]);
      if (n !== Math.max(...SIZES)) {
        netnsDel(ns);
        continue;
      }
      // (2) one endpoint change -> in the kernel, partial sync.
      const lat: number[] = [];
      const restoreOnly: number[] = [];
      const cli: number[] = [];
      let partialText = '';
      const partial = new IptablesProxier({
        family: 'IPv4',
        nodeName: 'node-a',
        clusterCidr: '10.42.0.0/16',
        runner: new NetnsRunner(ns),
        conntrack: false,
        onRestore: (t) => (partialText = t),
      });
      await partial.sync(req(true, all)); // take over the namespace's state (full)
      for (let c = 0; c < CHANGES; c++) {
        const i = Math.floor(n / 2) + c;
        const t1 = performance.now();
        et.update(sliceObj(i, 1_000_000 + c)); // one slice, its endpoints replaced: one service changes
        const ch = et.checkout(state);
        const r = await partial.sync(req(false, ch.changed));
        lat.push(performance.now() - t1);
        restoreOnly.push(r.applyMs);
        cli.push(cliRestore(ns, partialText));
      }
      rows.push([
        `one endpoint slice change at ${n.toLocaleString('en')} services, in the kernel (median of ${CHANGES})`,
        `${ms(median(lat))} (iptables-restore ${ms(median(restoreOnly))}; ${partialText.split('\n').length} restore lines)`,
        `${ms(median(cli))} (CLI iptables-restore of the same partial input)`,
      ]);
      netnsDel(ns);
    }
  } finally {
    for (const ns of namespaces) netnsDel(ns);
  }
  const table = `| measure | k8ts | anchor (same run) |\n|---|---|---|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`;
  console.log(table);
  if (values.write) {
    const path = join(REPO, 'bench', 'RESULTS.md');
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {}
    const section = `<!-- service-proxy:start -->\n## Service proxy, iptables mode (issue 5)\n\nCommand: \`npm run bench:service-proxy -- --write\`, run ${new Date().toISOString().slice(0, 16)}Z as root on this 2-vCPU shared VM (iptables ${spawnSync('iptables', ['--version']).stdout.toString().trim()}); every restore goes into a private network namespace the bench creates and deletes.\n\n${table}\n\nRequests/s and p99 through a ClusterIP vs direct: the service-proxy-datapath section (\`npm run bench:service-proxy-datapath\`). Userspace mode beside HAProxy: the service-proxy-userspace section.\n<!-- service-proxy:end -->`;
    if (text.includes('<!-- service-proxy:start -->'))
      text = text.replace(/<!-- service-proxy:start -->[\s\S]*<!-- service-proxy:end -->/, section);
    else text = `${text || '# Benchmark results\n'}\n${section}\n`;
    writeFileSync(path, text);
  }
}

await main();
