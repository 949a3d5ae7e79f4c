/**
 * A real `k8ts agent` child process (the compiled CLI) for join and multi-node tests. Rootless by
 * default with the kubelet on a free port and pods on loopback IPs; `args` adds flags (e.g.
 * netns-mode options). Every process is stopped by PID, and `cleanup()` kills the pods its data
 * dir records (`k8ts kubelet --cleanup`) and removes the data dir.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './server.js';

export interface AgentOptions {
  /** --server and --token, or --kubeconfig. */
  server?: string;
  token?: string;
  kubeconfig?: string;
  nodeName: string;
  dataDir?: string;
  /** Default true: --rootless --node-ip 127.0.0.1 (rootless agents pick free kubelet and DNS ports). */
  rootless?: boolean;
  args?: string[];
  /** Prefix of the command line (e.g. `nsenter --net=...`). */
  wrap?: string[];
  /** Resolve once the output contains this (default: the "joined" line). */
  readyLine?: string;
  timeoutMs?: number;
}

export interface RunningAgent {
  nodeName: string;
  dataDir: string;
  proc: ChildProcess;
  output(): string;
  /** SIGTERM (pods keep running) or SIGKILL; resolves when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stop, kill the pods of the data dir, remove it. */
  cleanup(): Promise<void>;
}

function argv(o: AgentOptions, dataDir: string): string[] {
  const rootless = o.rootless ?? true;
  return [
    ...(o.wrap ?? []),
    process.execPath,
    CLI,
    'agent',
    ...(o.server ? ['--server', o.server] : []),
    ...(o.token ? ['--token', o.token] : []),
    ...(o.kubeconfig ? ['--kubeconfig', o.kubeconfig] : []),
    '--node-name',
    o.nodeName,
    '--data-dir',
    dataDir,
    ...(rootless ? ['--rootless', '--node-ip', '127.0.0.1'] : []),
    ...(o.args ?? []),
  ];
}

/** Run an agent that is expected to fail; resolves with its exit code and output. */
export function runAgentToExit(o: AgentOptions): Promise<{ code: number; out: string; dataDir: string }> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'k8ts-agent-test-'));
  const a = argv(o, dataDir);
  return new Promise((resolve) => {
    execFile(a[0]!, a.slice(1), { timeout: o.timeoutMs ?? 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}`, dataDir });
    });
  });
}

/** Start an agent; resolves once it printed that it joined (rejects with its output otherwise). */
export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'k8ts-agent-test-'));
  const a = argv(o, dataDir);
  const proc = spawn(a[0]!, a.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  };
  const agent: RunningAgent = {
    nodeName: o.nodeName,
    dataDir,
    proc,
    output: () => out,
    stop,
    async cleanup() {
      await stop();
      const c = [
        ...(o.wrap ?? []),
        process.execPath,
        CLI,
        'kubelet',
        '--cleanup',
        '--data-dir',
        dataDir,
        '--node-name',
        o.nodeName,
        ...((o.rootless ?? true) ? ['--rootless'] : []),
      ];
      await new Promise<void>((res) => execFile(c[0]!, c.slice(1), { timeout: 30_000 }, () => res()));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const ready = o.readyLine ?? `node ${o.nodeName} joined`;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`agent did not join in ${(o.timeoutMs ?? 60_000) / 1000}s:\n${out}`)),
        o.timeoutMs ?? 60_000,
      );
      const check = () => {
        if (out.includes(ready)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', check);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`agent exited with ${code}:\n${out}`));
      });
    });
  } catch (e) {
    await agent.cleanup();
    throw e;
  }
  return agent;
}
