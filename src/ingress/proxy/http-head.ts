/**
 * HTTP/1.x message heads, parsed by hand for the raw data path: the proxy only needs the start
 * line, the framing headers and a few it acts on; everything else is passed through as written.
 * Strict where smuggling lives (RFC 9112 section 6): conflicting Content-Length values, a
 * Transfer-Encoding other than `chunked`, obs-fold and bare LF in names are refused.
 */
import { HttpHeadError } from '../errors.js';

/** nginx's large_client_header_buffers (4 x 8k) rounded: heads above this answer 431. */
export const MAX_HEAD_BYTES = 32 * 1024;

export interface HttpHead {
  /** Request method (requests only, as written: methods are case-sensitive). */
  method: string;
  /** Request target as written (origin-form normally). */
  target: string;
  /** Response status (responses only). */
  status: number;
  /** Response reason phrase (responses only). */
  reason: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** Header names as written, and lower-cased, and values (trimmed), same indexes. */
  names: string[];
  lower: string[];
  values: string[];
  /** -1 when absent. */
  contentLength: number;
  chunked: boolean;
  /** Lower-cased tokens of Connection, comma separated as received ('' when absent). */
  connection: string;
  /** The Upgrade header ('' when absent). */
  upgrade: string;
  /** The Host header ('' when absent). */
  host: string;
  /** Offset just after the blank line that ends the head. */
  end: number;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parse a head starting at `start` of `buf`. Returns undefined while the head is incomplete;
 * throws HttpHeadError (with the status to answer) when it is invalid or too large.
 */
export function parseHead(buf: Buffer, start: number, kind: 'request' | 'response'): HttpHead | undefined {
  const idx = buf.indexOf('\r\n\r\n', start, 'latin1');
  if (idx < 0) {
    if (buf.length - start > MAX_HEAD_BYTES) throw new HttpHeadError(431, 'request header too large');
    return undefined;
  }
  if (idx - start > MAX_HEAD_BYTES) throw new HttpHeadError(431, 'request header too large');
  const text = buf.toString('latin1', start, idx);
  const head: HttpHead = {
    method: '',
    target: '',
    status: 0,
    reason: '',
    minor: 1,
    names: [],
    lower: [],
    values: [],
    contentLength: -1,
    chunked: false,
    connection: '',
    upgrade: '',
    host: '',
    end: idx + 4,
  };
  let lineEnd = text.indexOf('\r\n');
  const first = lineEnd < 0 ? text : text.slice(0, lineEnd);
  if (kind === 'request') parseRequestLine(first, head);
  else parseStatusLine(first, head);
  let sawHost = false;
  while (lineEnd >= 0) {
    const from = lineEnd + 2;
    lineEnd = text.indexOf('\r\n', from);
    const line = lineEnd < 0 ? text.slice(from) : text.slice(from, lineEnd);
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpHeadError(400, `invalid header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name))
      throw new HttpHeadError(400, `invalid header name ${JSON.stringify(name.slice(0, 80))}`);
    const value = line.slice(colon + 1).trim();
    if (value.includes('\n') || value.includes('\r') || value.includes('\0'))
      throw new HttpHeadError(400, `invalid value of header ${name}`);
    const lower = name.toLowerCase();
    head.names.push(name);
    head.lower.push(lower);
    head.values.push(value);
    switch (lower) {
      case 'content-length': {
        if (!/^\d{1,15}$/.test(value))
          throw new HttpHeadError(400, `invalid Content-Length ${JSON.stringify(value)}`);
        const n = Number(value);
        if (head.contentLength >= 0 && head.contentLength !== n)
          throw new HttpHeadError(400, 'conflicting Content-Length headers');
        head.contentLength = n;
        break;
      }
      case 'transfer-encoding': {
        const v = value.toLowerCase();
        if (v !== 'chunked')
          throw new HttpHeadError(501, `unsupported Transfer-Encoding ${JSON.stringify(value)}`);
        if (head.chunked) throw new HttpHeadError(400, 'repeated Transfer-Encoding');
        head.chunked = true;
        break;
      }
      case 'connection':
        head.connection =
          head.connection === '' ? value.toLowerCase() : `${head.connection},${value.toLowerCase()}`;
        break;
      case 'upgrade':
        head.upgrade = value;
        break;
      case 'host':
        if (sawHost && kind === 'request') throw new HttpHeadError(400, 'more than one Host header');
        sawHost = true;
        head.host = value;
        break;
    }
  }
  // RFC 9112 6.3: Transfer-Encoding overrides Content-Length; the proxy forwards chunked only.
  if (head.chunked && head.contentLength >= 0) {
    if (kind === 'request') throw new HttpHeadError(400, 'both Transfer-Encoding and Content-Length');
    head.contentLength = -1;
  }
  if (kind === 'request' && head.minor === 1 && !sawHost) throw new HttpHeadError(400, 'missing Host header');
  return head;
}

function parseRequestLine(line: string, head: HttpHead): void {
  const a = line.indexOf(' ');
  const b = line.lastIndexOf(' ');
  if (a <= 0 || b <= a + 1)
    throw new HttpHeadError(400, `invalid request line ${JSON.stringify(line.slice(0, 80))}`);
  head.method = line.slice(0, a);
  head.target = line.slice(a + 1, b);
  const version = line.slice(b + 1);
  if (!TOKEN.test(head.method) || head.target.includes(' '))
    throw new HttpHeadError(400, `invalid request line ${JSON.stringify(line.slice(0, 80))}`);
  if (version === 'HTTP/1.1') head.minor = 1;
  else if (version === 'HTTP/1.0') head.minor = 0;
  else throw new HttpHeadError(505, `unsupported HTTP version ${JSON.stringify(version.slice(0, 20))}`);
}

function parseStatusLine(line: string, head: HttpHead): void {
  // HTTP/1.1 200 OK  (reason may be empty or contain spaces)
  if (!line.startsWith('HTTP/1.') || line.charCodeAt(8) !== 32)
    throw new HttpHeadError(502, `invalid status line ${JSON.stringify(line.slice(0, 80))}`);
  head.minor = line.charCodeAt(7) === 48 ? 0 : 1;
  const status = Number(line.slice(9, 12));
  if (!Number.isInteger(status) || status < 100 || status > 999)
    throw new HttpHeadError(502, `invalid status line ${JSON.stringify(line.slice(0, 80))}`);
  head.status = status;
  head.reason = line.slice(13);
}

/** The value of a header by lower-case name (first occurrence), or undefined. */
export function headerValue(head: HttpHead, lower: string): string | undefined {
  const i = head.lower.indexOf(lower);
  return i < 0 ? undefined : head.values[i];
}

/** True when the Connection header lists `token` (lower-case). */
export function connectionHas(head: HttpHead, token: string): boolean {
  if (head.connection === '') return false;
  if (head.connection === token) return true;
  return head.connection.split(',').some((t) => t.trim() === token);
}

/** Hop-by-hop headers (RFC 9110 7.6.1) a proxy never forwards as received. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);
