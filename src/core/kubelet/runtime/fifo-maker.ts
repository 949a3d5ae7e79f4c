/**
 * Creates FIFOs without blocking the kubelet: Node has no mkfifo, and `spawnSync('mkfifo')` held
 * the event loop for a fork + exec per container (the main cost of starting 100 pods at once).
 * One long-lived `sh` runs `mkfifo` for every request instead; requests are answered in order.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { KubeletError } from '../errors.js';

const LOOP = 'while IFS= read -r line; do eval "mkfifo -m 600 -- $line" && echo ok || echo fail; done';

/** Single-quote a path for the helper shell. */
function quote(path: string): string {
  return `'${path.replaceAll("'", "'\\''")}'`;
}

export class FifoMaker {
  private proc: ChildProcess | undefined;
  private readonly waiting: { resolve: () => void; reject: (e: Error) => void; paths: string[] }[] = [];
  private buf = '';

  /** Create the FIFOs (mode 0600); rejects if mkfifo fails (e.g. a path exists). */
  make(paths: readonly string[]): Promise<void> {
    const proc = this.ensure();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject, paths: [...paths] });
      proc.stdin!.write(`${paths.map(quote).join(' ')}\n`);
    });
  }

  close(): void {
    this.proc?.stdin?.end();
    this.proc = undefined;
  }

  private ensure(): ChildProcess {
    if (this.proc && this.proc.exitCode === null) return this.proc;
    const proc = spawn('sh', ['-c', LOOP], { stdio: ['pipe', 'pipe', 'ignore'] });
    proc.stdin!.on('error', () => {});
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => {
      this.buf += d;
      let nl = this.buf.indexOf('\n');
      while (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiting.shift();
        if (w) {
          if (line === 'ok') w.resolve();
          else w.reject(new KubeletError('RUNTIME', `mkfifo failed for ${w.paths.join(', ')}`));
        }
        nl = this.buf.indexOf('\n');
      }
    });
    proc.once('exit', () => {
      if (this.proc === proc) this.proc = undefined;
      for (const w of this.waiting.splice(0))
        w.reject(new KubeletError('RUNTIME', 'the mkfifo helper exited'));
    });
    proc.unref();
    (proc.stdout as unknown as { unref?: () => void }).unref?.();
    (proc.stdin as unknown as { unref?: () => void }).unref?.();
    this.proc = proc;
    return proc;
  }
}
