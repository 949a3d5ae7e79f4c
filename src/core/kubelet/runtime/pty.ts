/**
 * Terminals for `kubectl exec -it` and `attach -it` without a native module: Node cannot open a
 * pty, so the command runs under util-linux `script`, which allocates one, makes it the
 * command's controlling terminal, copies our pipe into its master and its output back (stdout
 * and stderr merged, with the terminal's echo and CRLF, as a TTY gives), and returns the
 * command's exit code (`-e`; 128+n for a signal). Resizes are applied from outside: the pty's
 * slave is fd 0 of the command (a descendant of the `script` process), and `stty -F <slave>`
 * sets its window size (TIOCSWINSZ), which delivers SIGWINCH to the terminal's foreground group.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';

/** argv run under a new pty (`script` runs its command through `$SHELL -c`, so quote it). */
export function ptyArgv(argv: readonly string[]): string[] {
  const cmd = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return ['script', '--quiet', '--flush', '--return', '--command', `exec ${cmd}`, '/dev/null'];
}

/** Environment of a TTY session: TERM as container runtimes set it when the client gives none. */
export function ptyEnv(env: Record<string, string>): Record<string, string> {
  return env.TERM ? env : { ...env, TERM: 'xterm' };
}

/** The pty slave (/dev/pts/N) that is fd 0 of `pid` or of its nearest descendant, if any. */
export function findPtySlave(pid: number): string | undefined {
  const queue = [pid];
  for (let i = 0; i < queue.length && i < 64; i++) {
    const p = queue[i]!;
    try {
      const fd0 = readlinkSync(`/proc/${p}/fd/0`);
      if (fd0.startsWith('/dev/pts/')) return fd0;
    } catch {
      // gone or not ours to read
    }
    try {
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').split(' '))
        if (c.trim()) queue.push(Number(c));
    } catch {
      // gone
    }
  }
  return undefined;
}

export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * Applies window sizes to the pty under `pid`. The first size usually arrives before `script`
 * has made the pty, so it is retried briefly; only the latest size is kept.
 */
export class PtyResizer {
  private readonly pid: number;
  private pending: TerminalSize | undefined;
  private running = false;
  private slave: string | undefined;
  private closed = false;

  constructor(pid: number) {
    this.pid = pid;
  }

  resize(size: TerminalSize): void {
    if (!(size.width > 0 && size.height > 0) || this.closed) return;
    this.pending = size;
    if (!this.running) void this.drain();
  }

  close(): void {
    this.closed = true;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let tries = 0; this.pending && !this.closed && tries < 100; ) {
        this.slave ??= findPtySlave(this.pid);
        if (!this.slave) {
          tries++;
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const { width, height } = this.pending;
        this.pending = undefined;
        await new Promise<void>((resolve) => {
          const c = spawn('stty', ['-F', this.slave!, 'rows', String(height), 'cols', String(width)], {
            stdio: 'ignore',
          });
          c.once('error', () => resolve());
          c.once('close', () => resolve());
        });
      }
    } finally {
      this.running = false;
    }
  }
}
