/**
 * The one door to the kernel: every command the proxy runs (iptables-restore, iptables-save,
 * conntrack, sysctl) goes through a CommandRunner, injected so that unit tests record commands
 * instead of running them and kernel tests run them inside a private network namespace.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin (e.g. an iptables-restore input). */
  stdin?: string | undefined;
}

export interface CommandRunner {
  /** Run `cmd args...`; never throws for a non-zero exit (the caller reads `code`). */
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult>;
}

/** Runs commands directly on this machine. */
export class ExecRunner implements CommandRunner {
  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    return new Promise((resolve) => {
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e) => resolve({ code: 127, stdout: '', stderr: e.message }));
      child.on('close', (code) =>
        resolve({
          code: code ?? 1,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        }),
      );
      child.stdin.on('error', () => {});
      child.stdin.end(opts.stdin ?? '');
    });
  }
}

/** Runs every command inside network namespace `netns` (`ip netns exec NAME cmd ...`). */
export class NetnsRunner implements CommandRunner {
  private readonly netns: string;
  private readonly inner: CommandRunner;

  constructor(netns: string, inner: CommandRunner = new ExecRunner()) {
    this.netns = netns;
    this.inner = inner;
  }

  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    return this.inner.run('ip', ['netns', 'exec', this.netns, cmd, ...args], opts);
  }
}

/** Records every command and answers from a handler (unit tests). */
export class RecordingRunner implements CommandRunner {
  readonly calls: { cmd: string; args: string[]; stdin: string | undefined }[] = [];
  private readonly answer: (cmd: string, args: readonly string[]) => CommandResult;

  constructor(answer?: (cmd: string, args: readonly string[]) => CommandResult) {
    this.answer = answer ?? (() => ({ code: 0, stdout: '', stderr: '' }));
  }

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    this.calls.push({ cmd, args: [...args], stdin: opts.stdin });
    return this.answer(cmd, args);
  }
}
