/**
 * Private network namespaces for kernel tests (root): random names (`k8ts-<test>-<random>`), no
 * route to the machine's uplink, every namespace removed (with its links) by `cleanup()`, which
 * tests call in afterAll so it runs also on failure. Processes started inside are tracked by PID
 * and killed by PID.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** True when running as root with `ip` and iptables available (else tests skip or, in CI, fail). */
export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  return (
    spawnSync('ip', ['netns', 'list']).status === 0 &&
    spawnSync('iptables-restore', ['--version']).status === 0
  );
}

/** True when canUseNetns() and the nft CLI (nftables) is installed. */
export function canUseNft(): boolean {
  return canUseNetns() && spawnSync('nft', ['--version']).status === 0;
}

/** Run a command, throwing with its stderr on failure. */
export function sh(cmd: string, args: string[], opts: { input?: string } = {}): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    input: opts.input ?? '',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export class Netns {
  readonly namespaces: string[] = [];
  private readonly procs: ChildProcess[] = [];
  private readonly tag: string;

  constructor(test: string) {
    this.tag = `${test}-${randomBytes(3).toString('hex')}`;
  }

  /** Create a namespace with loopback up; returns its name. */
  add(role: string): string {
    const name = `k8ts-${this.tag}-${role}`.slice(0, 60);
    sh('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    this.exec(name, ['ip', 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** Run a command inside a namespace (synchronously). */
  exec(ns: string, argv: string[], opts: { input?: string } = {}): string {
    return sh('ip', ['netns', 'exec', ns, ...argv], opts);
  }

  /** Short link names unique to this test (interface names are limited to 15 characters). */
  link(suffix: string): string {
    return `k${this.tag.slice(-6)}${suffix}`.slice(0, 15);
  }

  /** A veth pair from `a` (name aIf) to `b` (name bIf), both up. */
  veth(a: string, aIf: string, b: string, bIf: string): void {
    const tmpA = this.link('a');
    const tmpB = this.link('b');
    sh('ip', ['link', 'add', tmpA, 'netns', a, 'type', 'veth', 'peer', 'name', tmpB, 'netns', b]);
    this.exec(a, ['ip', 'link', 'set', tmpA, 'name', aIf]);
    this.exec(b, ['ip', 'link', 'set', tmpB, 'name', bIf]);
    this.exec(a, ['ip', 'link', 'set', aIf, 'up']);
    this.exec(b, ['ip', 'link', 'set', bIf, 'up']);
  }

  /** Start a long-running process inside a namespace (killed by PID in cleanup). */
  spawn(ns: string, argv: string[]): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(p);
    return p;
  }

  /** Run a command inside a namespace asynchronously; resolves with its exit code and output. */
  run(ns: string, argv: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
    const started = performance.now();
    return new Promise((resolve) => {
      const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, ms: performance.now() - started }));
    });
  }

  /** Kill every process started here (by PID) and delete every namespace (links go with them). */
  cleanup(): void {
    for (const p of this.procs) if (p.pid && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const ns of this.namespaces.reverse()) spawnSync('ip', ['netns', 'del', ns]);
    this.namespaces.length = 0;
  }
}
