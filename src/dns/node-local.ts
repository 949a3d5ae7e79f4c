/**
 * The node-local address of the cluster DNS (root mode): a dummy interface carrying the cluster
 * DNS IP (10.43.0.10/32) in this network namespace, so a pod's query is delivered locally and
 * never crosses the network or conntrack-DNATed service rules. Commands go through an injected
 * runner so the logic is tested without touching a kernel.
 */
import { execFile } from 'node:child_process';
import { DnsInterfaceError } from './errors.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (cmd: string, args: readonly string[]) => Promise<CommandResult>;

/** Run a command; never rejects (the exit code tells). */
export const execRunner: CommandRunner = (cmd, args) =>
  new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });

export interface DummyAddressOptions {
  /** Interface name (default k8ts-dns0). */
  ifname?: string | undefined;
  ip: string;
  runner?: CommandRunner | undefined;
}

export const DEFAULT_DNS_IFNAME = 'k8ts-dns0';

/** Create the dummy interface (if missing), bring it up and put `ip` on it (idempotent). */
export async function ensureDummyAddress(opts: DummyAddressOptions): Promise<void> {
  const run = opts.runner ?? execRunner;
  const dev = opts.ifname ?? DEFAULT_DNS_IFNAME;
  const prefix = opts.ip.includes(':') ? 128 : 32;
  const steps: [string[], (r: CommandResult) => boolean][] = [
    [['link', 'add', dev, 'type', 'dummy'], (r) => r.code === 0 || /File exists/i.test(r.stderr)],
    [['link', 'set', dev, 'up'], (r) => r.code === 0],
    [
      ['addr', 'add', `${opts.ip}/${prefix}`, 'dev', dev],
      (r) => r.code === 0 || /File exists/i.test(r.stderr),
    ],
  ];
  for (const [args, ok] of steps) {
    const r = await run('ip', args);
    if (!ok(r)) throw new DnsInterfaceError(`ip ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  }
}

/** Remove the dummy interface (missing is fine). */
export async function removeDummy(opts: {
  ifname?: string | undefined;
  runner?: CommandRunner | undefined;
}): Promise<void> {
  const run = opts.runner ?? execRunner;
  await run('ip', ['link', 'del', opts.ifname ?? DEFAULT_DNS_IFNAME]);
}
