/**
 * Start a real `k8ts server` child process (the compiled CLI) on a free port with a temp data dir,
 * and run the real kubectl against it. Every process started here is killed by PID on stop.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'dist', 'src', 'cli', 'main.js');
export const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

/** Fail in CI, skip with a message elsewhere, when a system dependency is missing. */
export function requireTool(path: string, install: string): boolean {
  if (existsSync(path)) return true;
  if (process.env.CI) throw new Error(`${path} is missing: ${install}`);
  console.warn(`skipping: ${path} not found (${install})`);
  return false;
}

export interface RunningServer {
  dataDir: string;
  url: string;
  kubeconfig: string;
  proc: ChildProcess;
  output(): string;
  /** Kill -9 (crash) or SIGTERM (graceful); resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Start `k8ts server` on an existing or fresh data dir; resolves once it prints its URL. */
export interface StartServerOptions {
  dataDir?: string;
  port?: number;
  /**
   * Node components to run (kubelet, service-proxy, dns, ingress, cloud-controller). None by
   * default: a test server must not touch the host's network; tests that need a component
   * ask for it and run it rootless or inside a network namespace of their own.
   */
  components?: string[];
  /** Extra `k8ts server` flags. */
  args?: string[];
}

const ALL_COMPONENTS = ['kubelet', 'service-proxy', 'dns', 'ingress', 'cloud-controller'];

/** Start `k8ts server` on an existing or fresh data dir; resolves once it prints its URL. */
export async function startServer(opts: StartServerOptions = {}): Promise<RunningServer> {
  const disabled = ALL_COMPONENTS.filter((c) => !(opts.components ?? []).includes(c));
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'k8ts-test-'));
  const proc = spawn(
    process.execPath,
    [
      CLI,
      'server',
      '--data-dir',
      dataDir,
      '--https-port',
      String(opts.port ?? 0),
      '--bind-address',
      '127.0.0.1',
      ...(disabled.length ? ['--disable', disabled.join(',')] : []),
      ...(opts.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`server did not start in 20s:\n${out}`)), 20_000);
    const check = () => {
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  return {
    dataDir,
    url,
    kubeconfig: join(dataDir, 'kubeconfig.yaml'),
    proc,
    output: () => out,
    kill: async (signal = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

/** Remove a test data dir. */
export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run kubectl with the server's kubeconfig; never throws on a non-zero exit. */
export function kubectl(
  server: { kubeconfig: string },
  args: string[],
  opts: { stdin?: string; env?: Record<string, string>; bin?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return new Promise((res) => {
    const child = execFile(
      opts.bin ?? KUBECTL,
      args,
      {
        env: { ...process.env, KUBECONFIG: server.kubeconfig, ...opts.env },
        timeout: opts.timeoutMs ?? 30_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        res({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin!.on('error', () => {}); // EPIPE when kubectl exits without reading stdin
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
    else child.stdin!.end();
  });
}

/** kubectl that must succeed; returns stdout. */
export async function kubectlOk(
  server: { kubeconfig: string },
  args: string[],
  opts: Parameters<typeof kubectl>[2] = {},
): Promise<string> {
  const r = await kubectl(server, args, opts);
  if (r.code !== 0)
    throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}
