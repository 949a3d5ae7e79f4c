/**
 * HTTP/1.x message heads, parsed by hand for the raw data path in one pass over the bytes: the
 * proxy only needs the start line, the framing headers and a few it acts on, so header names are
 * classified in place (no string per name) and every other line is passed through as written
 * (`keptLines`). Strict where smuggling lives (RFC 9112): conflicting Content-Length values, a
 * Transfer-Encoding other than `chunked`, TE with CL in a request, bare LF, NUL, obs-fold and
 * invalid name characters are refused.
 */
import { HttpHeadError } from '../errors.js';

/** nginx's large_client_header_buffers (4 x 8k) rounded: heads above this answer 431. */
export const MAX_HEAD_BYTES = 32 * 1024;

/** Header kinds the proxy acts on (0 = any other header). */
export const H_CONTENT_LENGTH = 1;
export const H_TRANSFER_ENCODING = 2;
export const H_CONNECTION = 3;
export const H_UPGRADE = 4;
export const H_HOST = 5;
export const H_KEEP_ALIVE = 6;
export const H_PROXY_CONNECTION = 7;
export const H_TE = 8;
export const H_TRAILER = 9;
export const H_PROXY_AUTHENTICATE = 10;
export const H_PROXY_AUTHORIZATION = 11;
/** From here on: request headers the proxy sets itself (received values are dropped). */
export const H_FIRST_OWN = 20;
export const H_X_FORWARDED_FOR = 20;

const KNOWN: [string, number][] = [
  ['content-length', H_CONTENT_LENGTH],
  ['transfer-encoding', H_TRANSFER_ENCODING],
  ['connection', H_CONNECTION],
  ['upgrade', H_UPGRADE],
  ['host', H_HOST],
  ['keep-alive', H_KEEP_ALIVE],
  ['proxy-connection', H_PROXY_CONNECTION],
  ['te', H_TE],
  ['trailer', H_TRAILER],
  ['proxy-authenticate', H_PROXY_AUTHENTICATE],
  ['proxy-authorization', H_PROXY_AUTHORIZATION],
  ['x-forwarded-for', H_X_FORWARDED_FOR],
  ['x-forwarded-host', 21],
  ['x-forwarded-port', 22],
  ['x-forwarded-proto', 23],
  ['x-forwarded-scheme', 24],
  ['x-scheme', 25],
  ['x-real-ip', 26],
  ['x-request-id', 27],
  ['x-original-forwarded-for', 28],
];
const BY_LENGTH: [string, number][][] = [];
for (const k of KNOWN) (BY_LENGTH[k[0].length] ??= []).push(k);

/** tchar (RFC 9110 5.6.2) lookup. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TCHAR[c.charCodeAt(0)] = 1;

export interface HttpHead {
  /** Request method (requests only, as written: methods are case-sensitive). */
  method: string;
  /** Request target as written. */
  target: string;
  /** Response status (responses only). */
  status: number;
  /** Response reason phrase (responses only). */
  reason: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** The head as latin1 text, from the start line to the CRLF that ends the last header line. */
  text: string;
  /** Number of header lines. */
  count: number;
  /** Per header i: name start, name end, value start, value end (offsets in `text`). */
  offs: number[];
  /** Per header i: its kind (H_* or 0). */
  kinds: number[];
  /** Offset in `text` where the first header line starts. */
  headersStart: number;
  /** -1 when absent. */
  contentLength: number;
  chunked: boolean;
  /** Lower-cased Connection value(s), comma separated ('' when absent). */
  connection: string;
  /** The Upgrade header ('' when absent). */
  upgrade: string;
  /** The Host header ('' when absent). */
  host: string;
  /** True when Connection, Upgrade, Keep-Alive, Proxy-Connection, TE or Proxy-Auth* is present. */
  hasHop: boolean;
  /** Offset in the buffer just after the blank line that ends the head. */
  end: number;
}

function classify(buf: Buffer, s: number, e: number): number {
  const cands = BY_LENGTH[e - s];
  if (cands === undefined) return 0;
  outer: for (let c = 0; c < cands.length; c++) {
    const name = cands[c]![0];
    for (let k = 0; k < name.length; k++) if ((buf[s + k]! | 0x20) !== name.charCodeAt(k)) continue outer;
    return cands[c]![1];
  }
  return 0;
}

const tooLarge = () => new HttpHeadError(431, 'request header too large');

/**
 * Parse a head starting at `start` of `buf`. Returns undefined while the head is incomplete;
 * throws HttpHeadError (with the status to answer) when it is invalid or too large.
 */
export function parseHead(buf: Buffer, start: number, kind: 'request' | 'response'): HttpHead | undefined {
  const len = buf.length;
  const limit = Math.min(len, start + MAX_HEAD_BYTES + 4);
  // Start line.
  let i = start;
  while (i < limit && buf[i] !== 10) i++;
  if (i >= limit) {
    if (len - start > MAX_HEAD_BYTES) throw tooLarge();
    return undefined;
  }
  if (i === start || buf[i - 1] !== 13) throw new HttpHeadError(400, 'bare LF in the start line');
  const firstEnd = i - 1; // the CR
  const offs: number[] = [];
  const kinds: number[] = [];
  let count = 0;
  let headEnd = -1;
  i++;
  // Header lines: name ":" OWS value OWS CRLF, until an empty line.
  while (i < limit) {
    const ls = i;
    const c0 = buf[i]!;
    if (c0 === 13) {
      if (i + 1 >= len) break;
      if (buf[i + 1] !== 10) throw new HttpHeadError(400, 'bare CR in the head');
      headEnd = i + 2;
      break;
    }
    if (c0 === 32 || c0 === 9) throw new HttpHeadError(400, 'obsolete line folding in the head');
    while (i < limit && TCHAR[buf[i]!] === 1) i++;
    if (i >= limit) break;
    if (buf[i] !== 58 || i === ls) throw new HttpHeadError(400, `invalid header name at byte ${i - start}`);
    const ne = i;
    i++;
    while (i < limit && (buf[i] === 32 || buf[i] === 9)) i++;
    const vs = i;
    let c = 0;
    while (i < limit && (c = buf[i]!) !== 13 && c !== 10 && c !== 0) i++;
    if (i >= limit) break;
    if (c !== 13) throw new HttpHeadError(400, c === 0 ? 'NUL in a header value' : 'bare LF in the head');
    if (i + 1 >= len) break;
    if (buf[i + 1] !== 10) throw new HttpHeadError(400, 'bare CR in the head');
    let ve = i;
    while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
    offs.push(ls - start, ne - start, vs - start, ve - start);
    kinds.push(classify(buf, ls, ne));
    count++;
    i += 2;
  }
  if (headEnd < 0) {
    if (len - start > MAX_HEAD_BYTES) throw tooLarge();
    return undefined;
  }
  if (headEnd - start > MAX_HEAD_BYTES + 4) throw tooLarge();
  const text = buf.toString('latin1', start, headEnd - 2);
  const head: HttpHead = {
    method: '',
    target: '',
    status: 0,
    reason: '',
    minor: 1,
    text,
    count,
    offs,
    kinds,
    headersStart: firstEnd - start + 2,
    contentLength: -1,
    chunked: false,
    connection: '',
    upgrade: '',
    host: '',
    hasHop: false,
    end: headEnd,
  };
  const first = text.slice(0, firstEnd - start);
  if (kind === 'request') parseRequestLine(first, head);
  else parseStatusLine(first, head);
  let sawHost = false;
  for (let h = 0; h < count; h++) {
    const k = kinds[h]!;
    if (k === 0 || k >= H_FIRST_OWN) continue;
    const value = text.slice(offs[h * 4 + 2]!, offs[h * 4 + 3]!);
    switch (k) {
      case H_CONTENT_LENGTH: {
        if (!/^\d{1,15}$/.test(value))
          throw new HttpHeadError(400, `invalid Content-Length ${JSON.stringify(value)}`);
        const n = Number(value);
        if (head.contentLength >= 0 && head.contentLength !== n)
          throw new HttpHeadError(400, 'conflicting Content-Length headers');
        head.contentLength = n;
        break;
      }
      case H_TRANSFER_ENCODING:
        if (value.toLowerCase() !== 'chunked')
          throw new HttpHeadError(501, `unsupported Transfer-Encoding ${JSON.stringify(value)}`);
        if (head.chunked) throw new HttpHeadError(400, 'repeated Transfer-Encoding');
        head.chunked = true;
        break;
      case H_CONNECTION:
        head.connection =
          head.connection === '' ? value.toLowerCase() : `${head.connection},${value.toLowerCase()}`;
        head.hasHop = true;
        break;
      case H_UPGRADE:
        head.upgrade = value;
        head.hasHop = true;
        break;
      case H_HOST:
        if (sawHost && kind === 'request') throw new HttpHeadError(400, 'more than one Host header');
        sawHost = true;
        head.host = value;
        break;
      case H_TRAILER:
        break; // not hop-by-hop any more (RFC 9110 6.6.2): passed on
      default:
        head.hasHop = true;
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
  for (let k = 0; k < a; k++)
    if (TCHAR[line.charCodeAt(k)] !== 1)
      throw new HttpHeadError(400, `invalid request line ${JSON.stringify(line.slice(0, 80))}`);
  if (head.target.includes(' '))
    throw new HttpHeadError(400, `invalid request line ${JSON.stringify(line.slice(0, 80))}`);
  if (version === 'HTTP/1.1') head.minor = 1;
  else if (version === 'HTTP/1.0') head.minor = 0;
  else throw new HttpHeadError(505, `unsupported HTTP version ${JSON.stringify(version.slice(0, 20))}`);
}

function parseStatusLine(line: string, head: HttpHead): void {
  // HTTP/1.1 200 OK  (the reason may be empty or contain spaces)
  if (!line.startsWith('HTTP/1.') || line.charCodeAt(8) !== 32)
    throw new HttpHeadError(502, `invalid status line ${JSON.stringify(line.slice(0, 80))}`);
  head.minor = line.charCodeAt(7) === 48 ? 0 : 1;
  const status = Number(line.slice(9, 12));
  if (!Number.isInteger(status) || status < 100 || status > 999)
    throw new HttpHeadError(502, `invalid status line ${JSON.stringify(line.slice(0, 80))}`);
  head.status = status;
  head.reason = line.slice(13);
}

/** Header i's name as written. */
export function headerName(head: HttpHead, i: number): string {
  return head.text.slice(head.offs[i * 4]!, head.offs[i * 4 + 1]!);
}

/** The value of a header by lower-case name (first occurrence), or undefined. */
export function headerValue(head: HttpHead, lower: string): string | undefined {
  const t = head.text;
  const o = head.offs;
  outer: for (let h = 0; h < head.count; h++) {
    const s = o[h * 4]!;
    if (o[h * 4 + 1]! - s !== lower.length) continue;
    for (let k = 0; k < lower.length; k++)
      if ((t.charCodeAt(s + k) | 0x20) !== lower.charCodeAt(k)) continue outer;
    return t.slice(o[h * 4 + 2]!, o[h * 4 + 3]!);
  }
  return undefined;
}

/** True when the Connection header lists `token` (lower-case). */
export function connectionHas(head: HttpHead, token: string): boolean {
  if (head.connection === '') return false;
  if (head.connection === token) return true;
  return head.connection.split(',').some((t) => t.trim() === token);
}

/**
 * The header lines of `head` (each with its CRLF) without those `drop` rejects, as one string:
 * runs of kept lines are sliced from the head text, so the usual case is one or two slices.
 */
export function keptLines(head: HttpHead, drop: (kind: number, i: number) => boolean): string {
  const o = head.offs;
  let out = '';
  let runStart = -1;
  for (let h = 0; h < head.count; h++) {
    if (drop(head.kinds[h]!, h)) {
      if (runStart >= 0) {
        out += head.text.slice(runStart, o[h * 4]!);
        runStart = -1;
      }
    } else if (runStart < 0) runStart = o[h * 4]!;
  }
  if (runStart >= 0) out += head.text.slice(runStart);
  return out;
}

/** Lower-cased tokens named by the Connection header other than keep-alive/close/upgrade. */
export function connectionTokens(head: HttpHead): string[] | undefined {
  const c = head.connection;
  if (c === '' || c === 'keep-alive' || c === 'close' || c === 'upgrade') return undefined;
  const t = c
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '' && x !== 'keep-alive' && x !== 'close' && x !== 'upgrade');
  return t.length > 0 ? t : undefined;
}

/** True when header i's name, lower-cased, is one of `names`. */
export function nameIn(head: HttpHead, i: number, names: readonly string[]): boolean {
  return names.includes(headerName(head, i).toLowerCase());
}
