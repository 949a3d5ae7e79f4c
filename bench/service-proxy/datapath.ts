/**
 * Service proxy data path, iptables mode: HTTP requests/s and latency through a ClusterIP beside
 * the same pod reached directly by its IP (the physical limit), in the same run.
 *
 * Topology (all private network namespaces, created and removed here; nothing on the host):
 *   client (10.42.0.20) --veth-- node (br0 10.42.0.1/24, the proxy's rules) --veth-- pod (10.42.0.11)
 * The pod runs a small Node HTTP server (one process); the rules are the proxier's own restore
 * input for one Service 10.43.0.10:80 -> 10.42.0.11:8080. wrk (one thread, 50 connections) runs
 * in the client namespace; direct and ClusterIP rounds alternate, 3 each, and the medians are
 * reported. `--write` replaces the service-proxy-datapath section of bench/RESULTS.md.
 *
 *   npm run bench:service-proxy-datapath [-- --seconds 5] [-- --write]
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EndpointsChangeTracker, ServiceChangeTracker } from '../../src/service-proxy/change-tracker.js';
import { IptablesProxier } from '../../src/service-proxy/iptables-proxier.js';
import { ProxyState } from '../../src/service-proxy/proxy-state.js';
import { NetnsRunner } from '../../src/service-proxy/runner.js';
import { slice, svc } from '../../src/service-proxy/testing/fixtures.js';
import { median, parseWrk, type WrkResult, wrkRow } from './wrk.js';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const { values } = parseArgs({ options: { write: { type: 'boolean' }, seconds: { type: 'string' } } });
const SECONDS = Number(values.seconds ?? 5);
const ROUNDS = 3;
const POD_IP = '10.42.0.11';
const CLIENT_IP = '10.42.0.20';
const CLUSTER_IP = '10.43.0.10';
const SERVER_JS =
  "require('http').createServer((q,s)=>s.end('ok')).listen(8080, process.argv[1], ()=>console.log('ready'))";

const tag = randomBytes(3).toString('hex');
const namespaces: string[] = [];
const procs: ChildProcess[] = [];

function run(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const inNs = (ns: string, argv: string[]) => run(['ip', 'netns', 'exec', ns, ...argv]);

function addNs(role: string): string {
  const name = `k8ts-bench-dp-${tag}-${role}`;
  run(['ip', 'netns', 'add', name]);
  namespaces.push(name);
  inNs(name, ['ip', 'link', 'set', 'lo', 'up']);
  return name;
}

function attach(node: string, ns: string, ip: string, i: number): void {
  const a = `kdp${tag}${i}a`.slice(0, 15);
  const b = `kdp${tag}${i}b`.slice(0, 15);
  run(['ip', 'link', 'add', a, 'netns', node, 'type', 'veth', 'peer', 'name', b, 'netns', ns]);
  inNs(node, ['ip', 'link', 'set', a, 'name', `vp${i}`]);
  inNs(ns, ['ip', 'link', 'set', b, 'name', 'eth0']);
  inNs(node, ['ip', 'link', 'set', `vp${i}`, 'master', 'br0']);
  inNs(node, ['ip', 'link', 'set', `vp${i}`, 'up']);
  inNs(ns, ['ip', 'link', 'set', 'eth0', 'up']);
  inNs(ns, ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  inNs(ns, ['ip', 'route', 'add', 'default', 'via', '10.42.0.1']);
}

/** wrk --latency in the client namespace; latencies in ms. */
function wrk(client: string, url: string): WrkResult {
  return parseWrk(inNs(client, ['wrk', '-t1', '-c50', `-d${SECONDS}s`, '--latency', url]));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the bench creates network namespaces');
  if (spawnSync('wrk', ['--version']).error) throw new Error('wrk is missing (apt-get install wrk)');
  try {
    const node = addNs('node');
    const pod = addNs('pod');
    const client = addNs('cli');
    inNs(node, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    inNs(node, ['ip', 'addr', 'add', '10.42.0.1/24', 'dev', 'br0']);
    inNs(node, ['ip', 'link', 'set', 'br0', 'up']);
    inNs(node, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    attach(node, pod, POD_IP, 0);
    attach(node, client, CLIENT_IP, 1);
    const server = spawn('ip', ['netns', 'exec', pod, process.execPath, '-e', SERVER_JS, POD_IP], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    procs.push(server);
    await new Promise<void>((res, rej) => {
      server.stdout!.on('data', (d) => String(d).includes('ready') && res());
      server.once('exit', (c) => rej(new Error(`pod server exited with ${c}`)));
    });

    // The proxier's own rules for one Service, applied in the node namespace.
    const state = new ProxyState();
    const st = new ServiceChangeTracker();
    const et = new EndpointsChangeTracker();
    st.update(undefined, svc({ name: 'web', clusterIP: CLUSTER_IP, ports: [{ name: 'http', port: 80 }] }));
    et.update(slice([POD_IP], { service: 'web', name: 'web-1' }));
    const changed = new Set([...st.checkout(state).changed, ...et.checkout(state).changed]);
    const proxier = new IptablesProxier({
      family: 'IPv4',
      nodeName: 'node-a',
      clusterCidr: '10.42.0.0/16',
      runner: new NetnsRunner(node),
      conntrack: false,
    });
    await proxier.sync({
      state,
      changedServices: changed,
      full: true,
      staleEndpoints: [],
      newlyActiveUdp: [],
      removedServicePorts: [],
    });
    const check = inNs(client, ['curl', '-s', '-m', '3', `http://${CLUSTER_IP}/`]);
    if (check !== 'ok') throw new Error(`ClusterIP does not answer: ${JSON.stringify(check)}`);

    wrk(client, `http://${POD_IP}:8080/`); // warm-up, not measured
    const direct: WrkResult[] = [];
    const viaService: WrkResult[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      direct.push(wrk(client, `http://${POD_IP}:8080/`));
      viaService.push(wrk(client, `http://${CLUSTER_IP}/`));
    }
    const row = wrkRow;
    const ratio = median(viaService.map((r) => r.rps)) / median(direct.map((r) => r.rps));
    const table = [
      '| path | requests/s (median of 3) | latency (median of 3) | errors | note |',
      '|---|---|---|---|---|',
      row('pod IP directly (anchor: the physical limit)', direct, 'same pod, same client'),
      row(
        'through the ClusterIP (iptables DNAT by the proxier)',
        viaService,
        `${(ratio * 100).toFixed(1)}% of direct; target >= 95%`,
      ),
    ].join('\n');
    console.log(table);
    if (values.write) {
      const path = join(REPO, 'bench', 'RESULTS.md');
      let text = readFileSync(path, 'utf8');
      const section = `<!-- service-proxy-datapath:start -->\n## Service proxy data path, iptables mode (issue 5)\n\nCommand: \`npm run bench:service-proxy-datapath -- --write\` (wrk -t1 -c50 -d${SECONDS}s from a client namespace; one pod running a Node HTTP server; rounds alternate direct / ClusterIP), run ${new Date().toISOString().slice(0, 16)}Z as root on this 2-vCPU VM; private namespaces only.\n\n${table}\n\nUserspace mode beside HAProxy: the service-proxy-userspace section.\n<!-- service-proxy-datapath:end -->`;
      if (text.includes('<!-- service-proxy-datapath:start -->'))
        text = text.replace(
          /<!-- service-proxy-datapath:start -->[\s\S]*<!-- service-proxy-datapath:end -->/,
          section,
        );
      else text = `${text.trimEnd()}\n\n${section}\n`;
      writeFileSync(path, text);
      console.log(`wrote ${path}`);
    }
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    // `ip netns exec` children: kill what is left in the namespaces, then delete them.
    for (const ns of namespaces) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
        .stdout.split(/\s+/)
        .filter(Boolean);
      for (const pid of pids) spawnSync('kill', ['-9', pid]);
      spawnSync('ip', ['netns', 'del', ns]);
    }
  }
}

await main();
