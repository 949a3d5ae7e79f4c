/**
 * The process runtime's long-lived helper shell: it makes FIFOs and starts containers, so that the
 * kubelet's event loop never forks. A fork from Node copies the page tables of a ~100 MB process
 * (~10 ms each on this VM: 0.95 s of a 100-pod burst was `ChildProcess.spawn` in a CPU profile);
 * the helper is a small `sh` whose fork is cheap, and the kubelet only writes a line to its stdin.
 *
 * Protocol: one request per line, `eval`ed by the helper, answered by exactly one line starting
 * with the request's sequence number (`<seq> ok [...]` or `<seq> fail`). Every argument is
 * single-quoted, newlines inside values travel as `"$nl"`, so a request is always one line.
 *
 * A container started here is a child of the helper, not of the kubelet: its end is learned from
 * the wrapper's exit file when its output FIFOs reach EOF (see process-runtime.ts). The helper
 * reaps exited children whenever it runs a foreground command (`reap()` asks it to).
 *
 * Background jobs of a non-interactive shell start with SIGINT and SIGQUIT ignored (POSIX), and a
 * shell cannot undo that, so the command goes through `env -i --default-signal` (coreutils >= 8.31)
 * and `setsid` (own session and process group, as `spawn({ detached: true })`). `supported()`
 * checks both once; without them the runtime spawns from Node as before.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { KubeletError } from '../errors.js';

const LOOP = [`nl='`, `'`, 'while IFS= read -r line; do eval "$line"; done'].join('\n');

/** Single-quote one word for the helper shell (newlines as `"$nl"`, see LOOP). */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''").replaceAll('\n', `'"$nl"'`)}'`;
}

export interface HelperSpawn {
  argv: string[];
  /** The whole environment of the process (nothing is inherited from the kubelet). */
  env: Record<string, string>;
  cwd?: string | undefined;
  /** FIFOs (or files) opened read-write as the process's stdin (else /dev/null), stdout, stderr. */
  stdin?: string | undefined;
  stdout: string;
  stderr: string;
}

export interface HelperProcess {
  pid: number;
  /** Field 22 of /proc/<pid>/stat, read by the helper before it could reap the process. */
  startTime: string;
}

let supportedCache: boolean | undefined;

export class SpawnHelper {
  private proc: ChildProcess | undefined;
  private readonly waiting = new Map<
    number,
    { resolve: (rest: string) => void; reject: (e: Error) => void }
  >();
  private seq = 0;
  private readonly fifoBatch: { paths: string[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  private buf = '';

  /** Whether this machine's env and setsid can start processes for the helper (checked once). */
  static supported(): boolean {
    supportedCache ??=
      spawnSync('env', ['-i', '--default-signal', '--', 'setsid', 'true'], { stdio: 'ignore' }).status === 0;
    return supportedCache;
  }

  /**
   * Create FIFOs (mode 0600); rejects if one of them is not a FIFO afterwards (e.g. a file was in
   * the way). Requests made in the same tick share one `mkfifo` (one exec for a burst of pods).
   */
  make(paths: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.fifoBatch.push({ paths: [...paths], resolve, reject });
      if (this.fifoBatch.length === 1) setImmediate(() => this.flushFifos());
    });
  }

  private flushFifos(): void {
    const batch = this.fifoBatch.splice(0);
    const all = batch.flatMap((b) => b.paths.map(shellQuote));
    const checks = batch.map((b) => b.paths.map((p) => `[ -p ${shellQuote(p)} ]`).join(' && '));
    // One reply line per request: "ok" / "fail" words, in order.
    this.request(
      (seq) =>
        `mkfifo -m 600 -- ${all.join(' ')} 2>/dev/null; r=; ` +
        `${checks.map((c) => `if ${c}; then r="$r ok"; else r="$r fail"; fi`).join('; ')}; echo "${seq} ok$r"`,
      'mkfifo',
    ).then(
      (rest) => {
        const words = rest.split(' ').filter(Boolean);
        batch.forEach((b, i) => {
          if (words[i] === 'ok') b.resolve();
          else b.reject(new KubeletError('RUNTIME', `mkfifo failed for ${b.paths.join(', ')}`));
        });
      },
      (e: Error) => {
        for (const b of batch) b.reject(e);
      },
    );
  }

  /** Start a process in its own session; resolves with its PID once it exists. */
  async spawn(s: HelperSpawn): Promise<HelperProcess> {
    const env = Object.entries(s.env).map(([k, v]) => shellQuote(`${k}=${v}`));
    const cd = s.cwd ? `cd ${shellQuote(s.cwd)} && ` : '';
    const io = `0${s.stdin ? `<>${shellQuote(s.stdin)}` : '</dev/null'} 1<>${shellQuote(s.stdout)} 2<>${shellQuote(s.stderr)}`;
    const rest = await this.request(
      (seq) =>
        `{ ${cd}exec env -i --default-signal -- ${env.join(' ')} setsid ${s.argv.map(shellQuote).join(' ')}; } ${io} & ` +
        `p=$!; read -r s < /proc/$p/stat; s=\${s##*) }; set -- $s; echo "${seq} ok $p \${20}"`,
      `cannot start ${s.argv[0]}`,
    );
    const [pid, startTime] = rest.split(' ');
    if (!pid || !startTime)
      throw new KubeletError('RUNTIME', `cannot start ${s.argv[0]}: helper said "${rest}"`);
    return { pid: Number(pid), startTime };
  }

  /** Let the helper collect exited children (any foreground command reaps them). */
  reap(): void {
    void this.request((seq) => `env true; echo ${seq} ok`, 'reap').catch(() => {});
  }

  close(): void {
    this.proc?.stdin?.end();
    this.proc = undefined;
  }

  private request(line: (seq: number) => string, failure: string): Promise<string> {
    const proc = this.ensure();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, {
        resolve: (rest) => {
          if (rest.startsWith('ok')) resolve(rest.slice(3));
          else reject(new KubeletError('RUNTIME', failure));
        },
        reject,
      });
      proc.stdin!.write(`${line(seq)}\n`);
    });
  }

  private ensure(): ChildProcess {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) return this.proc;
    // An empty environment: everything a container gets is passed explicitly.
    const proc = spawn('sh', ['-c', LOOP], { stdio: ['pipe', 'pipe', 'ignore'], env: {} });
    proc.stdin!.on('error', () => {});
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => {
      this.buf += d;
      let nl = this.buf.indexOf('\n');
      while (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        nl = this.buf.indexOf('\n');
        const sp = line.indexOf(' ');
        const seq = Number(line.slice(0, sp));
        if (sp < 0 || !Number.isInteger(seq)) continue;
        // Replies come in order: an earlier request without its reply failed inside eval.
        for (const [s, w] of this.waiting) {
          if (s > seq) break;
          this.waiting.delete(s);
          if (s === seq) w.resolve(line.slice(sp + 1));
          else w.reject(new KubeletError('RUNTIME', 'the runtime helper did not answer'));
        }
      }
    });
    proc.once('exit', () => {
      if (this.proc === proc) this.proc = undefined;
      for (const [s, w] of this.waiting) {
        this.waiting.delete(s);
        w.reject(new KubeletError('RUNTIME', 'the runtime helper exited'));
      }
    });
    proc.unref();
    (proc.stdout as unknown as { unref?: () => void }).unref?.();
    (proc.stdin as unknown as { unref?: () => void }).unref?.();
    this.proc = proc;
    return proc;
  }
}
