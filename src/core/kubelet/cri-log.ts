/**
 * Container logs in the CRI log format (`<RFC3339Nano> <stdout|stderr> <F|P> <message>`, one line
 * per line of output; P marks a partial line cut at 16 KiB), written per container instance to
 * `<data-dir>/pods/<ns>_<pod>_<uid>/<container>/<n>.log` and rotated by size to
 * `<n>.log.<UTC timestamp>` keeping `maxFiles` files, as upstream's container log manager does.
 * The reader turns files back into what `kubectl logs` prints.
 */
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { rfc3339Nano } from './time-format.js';

export const MAX_LINE_BYTES = 16 * 1024;

export interface LogLine {
  time: string;
  timeMs: number;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  message: string;
}

/** Parse one CRI log line; undefined for a malformed one. */
export function parseCriLine(line: string): LogLine | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  const time = line.slice(0, a);
  return {
    time,
    timeMs: Date.parse(time),
    stream,
    partial: tag.split(':').includes('P'),
    message: c < 0 ? '' : line.slice(c + 1),
  };
}

/** Split output into CRI lines: complete lines are F, a line longer than MAX_LINE_BYTES is cut into P pieces. */
export class LineSplitter {
  private buf: Buffer = Buffer.alloc(0);

  /** Feed bytes; returns the [partial, message] records ready to write. */
  push(chunk: Buffer): [boolean, Buffer][] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: [boolean, Buffer][] = [];
    for (;;) {
      const nl = this.buf.indexOf(10);
      if (nl >= 0 && nl <= MAX_LINE_BYTES) {
        out.push([false, this.buf.subarray(0, nl)]);
        this.buf = this.buf.subarray(nl + 1);
        continue;
      }
      if (this.buf.length > MAX_LINE_BYTES) {
        out.push([true, this.buf.subarray(0, MAX_LINE_BYTES)]);
        this.buf = this.buf.subarray(MAX_LINE_BYTES);
        continue;
      }
      break;
    }
    return out;
  }

  /** What is left at end of stream, as one full line. */
  flush(): [boolean, Buffer][] {
    if (!this.buf.length) return [];
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return [[false, rest]];
  }
}

export interface CriLogWriterOptions {
  /** Rotate when the file reaches this size (default 10 MiB). */
  maxBytes?: number | undefined;
  /** Files kept per container instance, the live one included (default 5). */
  maxFiles?: number | undefined;
  now?: (() => number) | undefined;
}

/** Appends CRI lines to one container instance's log file, rotating by size. */
export class CriLogWriter {
  readonly path: string;
  private fd: number;
  private size: number;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly now: () => number;
  private seq = 0;
  private lastMs = 0;

  constructor(path: string, opts: CriLogWriterOptions = {}) {
    this.path = path;
    this.maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
    this.maxFiles = Math.max(1, opts.maxFiles ?? 5);
    this.now = opts.now ?? Date.now;
    this.fd = openSync(path, 'a', 0o640);
    this.size = statSync(path).size;
  }

  /** Write one record of `stream`. */
  write(stream: 'stdout' | 'stderr', partial: boolean, message: Buffer): void {
    const ms = this.now();
    // Sub-millisecond digits keep lines of one millisecond ordered for readers that sort by time.
    this.seq = ms === this.lastMs ? this.seq + 1 : 0;
    this.lastMs = ms;
    const head = Buffer.from(`${rfc3339Nano(ms, this.seq * 1000)} ${stream} ${partial ? 'P' : 'F'} `);
    const line = Buffer.concat([head, message, Buffer.from('\n')]);
    if (this.size > 0 && this.size + line.length > this.maxBytes) this.rotate();
    writeSync(this.fd, line);
    this.size += line.length;
  }

  private rotate(): void {
    closeSync(this.fd);
    const stamp = new Date(this.now()).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    let target = `${this.path}.${stamp}`;
    for (let i = 1; existsSync(target); i++) target = `${this.path}.${stamp}.${i}`;
    renameSync(this.path, target);
    const old = rotatedFiles(this.path);
    while (old.length > this.maxFiles - 1) unlinkSync(old.shift()!);
    this.fd = openSync(this.path, 'a', 0o640);
    this.size = 0;
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

/** Rotated files of a live log path, oldest first. */
export function rotatedFiles(path: string): string[] {
  const dir = dirname(path);
  const base = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(base))
    .sort()
    .map((n) => join(dir, n));
}

/** Every CRI line of a container instance, rotated files first. */
export function readCriLines(path: string): LogLine[] {
  const out: LogLine[] = [];
  for (const f of [...rotatedFiles(path), path]) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const l of text.split('\n')) {
      if (!l) continue;
      const p = parseCriLine(l);
      if (p) out.push(p);
    }
  }
  return out;
}

export interface LogSelection {
  tailLines?: number | undefined;
  sinceMs?: number | undefined;
  timestamps?: boolean | undefined;
  limitBytes?: number | undefined;
}

/** What `kubectl logs` prints for these lines: messages (P pieces joined), filtered by since/tail/limit. */
export function renderLogs(lines: LogLine[], sel: LogSelection): string {
  const full: { time: string; timeMs: number; text: string }[] = [];
  let pending = '';
  let pendingTime: LogLine | undefined;
  for (const l of lines) {
    if (sel.sinceMs !== undefined && l.timeMs < sel.sinceMs) continue;
    pendingTime ??= l;
    pending += l.message;
    if (!l.partial) {
      full.push({ time: pendingTime.time, timeMs: pendingTime.timeMs, text: pending });
      pending = '';
      pendingTime = undefined;
    }
  }
  const picked =
    sel.tailLines !== undefined && sel.tailLines >= 0
      ? full.slice(Math.max(0, full.length - sel.tailLines))
      : full;
  let out = picked.map((l) => (sel.timestamps ? `${l.time} ${l.text}\n` : `${l.text}\n`)).join('');
  if (sel.limitBytes !== undefined && sel.limitBytes >= 0)
    out = Buffer.from(out).subarray(0, sel.limitBytes).toString('utf8');
  return out;
}
