/**
 * The one door to the kernel: every command the proxy runs (iptables-restore, iptables-save,
 * conntrack, sysctl) goes through a CommandRunner, injected so that unit tests record commands
 * instead of running them and kernel tests run them inside a private network namespace.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A command's stdin: one string, or chunks made as the command reads them (a big `nft -f` input is
 * generated while nft parses what came before). A source that throws fails the run, and the command
 * never sees the end of its input (it is killed first), so it cannot act on a part of it.
 */
export type StdinSource = string | Iterable<string> | AsyncIterable<string>;

export interface RunOptions {
  /** Written to the command's stdin (e.g. an iptables-restore input). */
  stdin?: StdinSource | undefined;
}

/** The whole of a stdin source as one string (recorders and fakes). */
export async function stdinText(src: StdinSource | undefined): Promise<string> {
  if (src === undefined || typeof src === 'string') return src ?? '';
  let text = '';
  for await (const chunk of src) text += chunk;
  return text;
}

export interface CommandRunner {
  /** Run `cmd args...`; never throws for a non-zero exit (the caller reads `code`). */
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult>;
}

/** Runs commands directly on this machine. */
export class ExecRunner implements CommandRunner {
  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.stdin.on('error', () => {});
      const src = opts.stdin ?? '';
      // Settles once the source is done with (its end written, or abandoned): only then the run.
      let fed = Promise.resolve();
      if (typeof src === 'string') child.stdin.end(src);
      else fed = pump(child, src);
      fed.catch(() => {}); // handled once the child is gone (below): not an unhandled rejection before
      child.on('error', (e) => {
        const failed = () => resolve({ code: 127, stdout: '', stderr: e.message });
        fed.then(failed, failed);
      });
      child.on('close', (code) => {
        fed.then(
          () =>
            resolve({
              code: code ?? 1,
              stdout: Buffer.concat(out).toString('utf8'),
              stderr: Buffer.concat(err).toString('utf8'),
            }),
          reject,
        );
      });
    });
  }
}

/**
 * Write a chunked stdin source to a child, pulling the next chunk only once the pipe took the last
 * (so the chunks are made while the child reads) and yielding to the event loop between chunks
 * (so several children are fed side by side). If the source throws, the child is killed before its
 * stdin is closed: it never reads an end of input, so it never acts on the part it got.
 */
async function pump(child: ChildProcess, src: Iterable<string> | AsyncIterable<string>): Promise<void> {
  const stdin = child.stdin!;
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    const done = () => {
      gone = true;
      resolve();
    };
    child.once('exit', done);
    child.once('error', done);
  });
  const it = Symbol.asyncIterator in src ? src[Symbol.asyncIterator]() : src[Symbol.iterator]();
  try {
    for (;;) {
      // A child that stopped reading (it failed: its exit code tells why) ends the source.
      if (gone) {
        await it.return?.();
        return;
      }
      const r = await it.next();
      if (r.done) break;
      if (stdin.write(r.value)) await nextTurn();
      else await Promise.race([once(stdin, 'drain').catch(() => {}), exited]);
    }
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  stdin.end();
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
    const stdin = opts.stdin === undefined ? undefined : await stdinText(opts.stdin);
    this.calls.push({ cmd, args: [...args], stdin });
    return this.answer(cmd, args);
  }
}
