/**
 * Access log lines in ingress-nginx's default `upstreaminfo` format:
 *   $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer"
 *   "$http_user_agent" $request_length $request_time [$proxy_upstream_name]
 *   [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length
 *   $upstream_response_time $upstream_status $req_id
 * Lines are batched and written once per event-loop turn (one write per burst, not per request).
 */
import type { Writable } from 'node:stream';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** nginx's $time_local for `ms` (UTC: the offset is always +0000). */
export function timeLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => (n < 10 ? `0${n}` : String(n));
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export interface AccessEntry {
  remoteAddr: string;
  method: string;
  target: string;
  minor: number;
  status: number;
  bodyBytesSent: number;
  referer: string;
  userAgent: string;
  requestLength: number;
  requestTimeMs: number;
  upstreamName: string;
  alternativeUpstreamName: string;
  /** Every tried upstream, comma separated as nginx does. */
  upstreamAddr: string;
  upstreamResponseLength: number;
  /** Seconds text, per try, comma separated ('-' when none). */
  upstreamResponseTime: string;
  upstreamStatus: string;
  requestId: string;
}

const dash = (s: string) => (s === '' ? '-' : s);
const q = (s: string) => s.replace(/["\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** One log line (no newline). */
export function formatAccess(e: AccessEntry, now: string): string {
  return (
    `${e.remoteAddr} - - [${now}] "${q(e.method)} ${q(e.target)} HTTP/1.${e.minor}" ${e.status} ${e.bodyBytesSent} ` +
    `"${q(dash(e.referer))}" "${q(dash(e.userAgent))}" ${e.requestLength} ${(e.requestTimeMs / 1000).toFixed(3)} ` +
    `[${e.upstreamName}] [${e.alternativeUpstreamName}] ${dash(e.upstreamAddr)} ${e.upstreamAddr === '' ? '-' : e.upstreamResponseLength} ` +
    `${dash(e.upstreamResponseTime)} ${dash(e.upstreamStatus)} ${e.requestId}`
  );
}

/** Batches lines to a writable; `log` is cheap (string push), the write happens once per turn. */
export class AccessLog {
  private lines: string[] = [];
  private scheduled = false;
  private second = -1;
  private stamp = '';
  private readonly out: Writable;

  constructor(out: Writable) {
    this.out = out;
  }

  log(e: AccessEntry): void {
    const now = Date.now();
    const sec = Math.floor(now / 1000);
    if (sec !== this.second) {
      this.second = sec;
      this.stamp = timeLocal(now);
    }
    this.lines.push(formatAccess(e, this.stamp));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  readonly flush = (): void => {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const text = `${this.lines.join('\n')}\n`;
    this.lines = [];
    this.out.write(text);
  };
}
