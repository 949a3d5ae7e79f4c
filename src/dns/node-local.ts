/**
 * The node-local address of the cluster DNS (root mode): a dummy interface carrying the cluster
 * DNS IP (10.43.0.10/32) in this network namespace, so a pod's query is delivered locally and
 * never crosses the network or conntrack-DNATed service rules. A kernel built without the dummy
 * driver ("Unknown device type") gets the address on `lo` instead: local delivery is the same.
 * Commands go through an injected runner so the logic is tested without touching a kernel.
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

/** Where the address went: the dummy interface, or `lo` when the kernel has no dummy driver. */
export interface NodeLocalAddress {
  dev: string;
  ip: string;
  dummy: boolean;
}

/** Create the dummy interface (if missing), bring it up and put `ip` on it (idempotent). */
export async function ensureDummyAddress(opts: DummyAddressOptions): Promise<NodeLocalAddress> {
  const run = opts.runner ?? execRunner;
  let dev = opts.ifname ?? DEFAULT_DNS_IFNAME;
  const cidr = `${opts.ip}/${opts.ip.includes(':') ? 128 : 32}`;
  const fail = (args: string[], r: CommandResult) =>
    new DnsInterfaceError(`ip ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  const add = ['link', 'add', dev, 'type', 'dummy'];
  const r = await run('ip', add);
  let dummy = true;
  if (r.code !== 0 && /Unknown device type/i.test(r.stderr)) {
    dev = 'lo';
    dummy = false;
  } else if (r.code !== 0 && !/File exists/i.test(r.stderr)) throw fail(add, r);
  for (const args of [
    ['link', 'set', dev, 'up'],
    ['addr', 'add', cidr, 'dev', dev],
  ]) {
    const res = await run('ip', args);
    if (res.code !== 0 && !(args[0] === 'addr' && /File exists/i.test(res.stderr))) throw fail(args, res);
  }
  return { dev, ip: opts.ip, dummy };
}

/** Undo `ensureDummyAddress`: delete the dummy interface, or the address from `lo`. */
export async function removeDummy(addr: NodeLocalAddress, runner: CommandRunner = execRunner): Promise<void> {
  if (addr.dummy) await runner('ip', ['link', 'del', addr.dev]);
  else await runner('ip', ['addr', 'del', `${addr.ip}/${addr.ip.includes(':') ? 128 : 32}`, 'dev', addr.dev]);
}
