/**
 * Root mode, node-local: inside a private network namespace (no route out), the API server and
 * `k8ts dns` run with `ip netns exec`; `k8ts dns` puts 10.43.0.10 on its dummy interface and
 * answers on port 53; a pod-like resolver (search path, ndots:5, nameserver 10.43.0.10, bind-mounted
 * over /etc/resolv.conf in a private mount namespace) resolves `web` and `web.default` with getent.
 * Then `k8ts server` itself (root, dns component on) in a second namespace. The host's network
 * namespace is never touched; every namespace and process is removed in afterAll, also on failure.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIG } from './helpers/dig.js';
import { CLI, cleanup, KUBECTL, requireTool } from './helpers/server.js';

const IP = '/usr/sbin/ip';
const isRoot = process.getuid?.() === 0;
const ready =
  isRoot && requireTool(IP, 'apt-get install iproute2') && requireTool(DIG, 'apt-get install bind9-dnsutils');

function run(cmd: string, args: string[], timeout = 20_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

async function ok(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.out}`);
  return r.out;
}

interface Proc {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Start a process inside `ns` (ip netns exec execs it: the PID is the process's own). */
async function startIn(ns: string, args: string[], ready: RegExp): Promise<Proc> {
  const proc = spawn(IP, ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not started in 30 s:\n${out}`)), 30_000);
    const check = () => {
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${out}`));
    });
  });
  return {
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

describe.skipIf(!ready)('node-local cluster DNS in a network namespace (root mode)', () => {
  const ns = `k8ts-dns-${randomBytes(3).toString('hex')}`;
  const ns2 = `k8ts-dnss-${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-dns-netns-'));
  const procs: Proc[] = [];
  let kubeconfig = '';

  beforeAll(async () => {
    for (const n of [ns, ns2]) {
      await ok(IP, ['netns', 'add', n]);
      await ok(IP, ['-n', n, 'link', 'set', 'lo', 'up']);
    }
    const api = await startIn(
      ns,
      [
        process.execPath,
        CLI,
        'server',
        '--data-dir',
        join(dir, 'data'),
        '--bind-address',
        '127.0.0.1',
        '--https-port',
        '0',
        '--disable',
        'kubelet,service-proxy,dns,ingress,cloud-controller',
      ],
      /listening on https:\/\//,
    );
    procs.push(api);
    kubeconfig = join(dir, 'data', 'kubeconfig.yaml');
    const svc = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { ports: [{ port: 80 }] },
    });
    writeFileSync(join(dir, 'web.json'), svc);
    await ok(IP, [
      'netns',
      'exec',
      ns,
      KUBECTL,
      '--kubeconfig',
      kubeconfig,
      'apply',
      '-f',
      join(dir, 'web.json'),
    ]);
    procs.push(
      await startIn(
        ns,
        [
          process.execPath,
          CLI,
          'dns',
          '--kubeconfig',
          kubeconfig,
          '--listen',
          '10.43.0.10:53',
          '--http-listen',
          '127.0.0.1:0',
          '--upstream',
          '127.0.0.1:9',
          '--kube-dns-service-ip',
          '10.43.0.10',
        ],
        /cluster DNS listening on/,
      ),
    );
    writeFileSync(
      join(dir, 'resolv.conf'),
      'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n',
    );
  });

  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop().catch(() => {});
    for (const n of [ns, ns2]) await run(IP, ['netns', 'del', n]);
    cleanup(dir);
  });

  it('puts 10.43.0.10 on the k8ts-dns0 dummy interface (or lo without the driver) inside the namespace only', async () => {
    const addrs = await ok(IP, ['-n', ns, '-o', 'addr', 'show']);
    expect(addrs).toMatch(/ (k8ts-dns0|lo) +inet 10\.43\.0\.10\/32/);
    expect(await ok(IP, ['-o', 'addr', 'show'])).not.toContain('10.43.0.10/32');
  });

  it('getent resolves web and web.default through the pod search path', async () => {
    const script = `mount --bind ${join(dir, 'resolv.conf')} /etc/resolv.conf && getent hosts web && getent hosts web.default && getent hosts kubernetes.default.svc.cluster.local`;
    const ip = (
      await ok(IP, [
        'netns',
        'exec',
        ns,
        KUBECTL,
        '--kubeconfig',
        kubeconfig,
        'get',
        'svc',
        'web',
        '-o',
        'jsonpath={.spec.clusterIP}',
      ])
    ).trim();
    const out = await ok(IP, ['netns', 'exec', ns, 'unshare', '-m', 'sh', '-c', script]);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/));
    expect(lines[0]).toEqual([ip, 'web.default.svc.cluster.local']);
    expect(lines[1]).toEqual([ip, 'web.default.svc.cluster.local']);
    expect(lines[2]).toEqual(['10.43.0.1', 'kubernetes.default.svc.cluster.local']);
  });

  it('answers dig on 10.43.0.10:53 and created the kube-dns Service', async () => {
    const out = await ok(IP, [
      'netns',
      'exec',
      ns,
      DIG,
      '@10.43.0.10',
      '+short',
      'kube-dns.kube-system.svc.cluster.local',
    ]);
    expect(out.trim()).toBe('10.43.0.10');
  });

  it('k8ts server as root runs the dns component node-locally on 10.43.0.10:53', async () => {
    const server = await startIn(
      ns2,
      [
        process.execPath,
        CLI,
        'server',
        '--data-dir',
        join(dir, 'data2'),
        '--bind-address',
        '127.0.0.1',
        '--https-port',
        '0',
        '--disable',
        'kubelet,service-proxy,ingress,cloud-controller',
      ],
      /cluster DNS listening on 10\.43\.0\.10:53/,
    );
    procs.push(server);
    const out = await ok(IP, [
      'netns',
      'exec',
      ns2,
      DIG,
      '@10.43.0.10',
      '+short',
      '+tcp',
      'kubernetes.default.svc.cluster.local',
    ]);
    expect(out.trim()).toBe('10.43.0.1');
    await server.stop();
    // The address goes with the component.
    expect(await ok(IP, ['-n', ns2, '-o', 'addr', 'show'])).not.toContain('10.43.0.10/32');
  });
});
