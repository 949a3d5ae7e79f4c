/**
 * The hand-written HTTP/1.1 data path (the default engine): request and response heads are
 * parsed here (http-head.ts), bodies are forwarded as the bytes they are (Content-Length counted,
 * chunked tracked by chunked.ts, close-delimited until EOF), over upstream sockets kept alive
 * in a pool keyed by `ip:port` that outlives table swaps. One request at a time per client
 * connection: bytes a client pipelines are buffered and parsed when the response before ends.
 *
 * Invariants: every socket has exactly one set of listeners for its whole life (installed when
 * created) and dispatches on the state of its owner object; an upstream socket is in the pool
 * only when it has no exchange, no unread data and its last response ended cleanly.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import type { ChunkedFramingError, HttpHeadError } from '../errors.js';
import type { Backend, Route, RouteTable, UpstreamEndpoint } from '../route-table.js';
import { endpointKey } from './balancer.js';
import { ChunkedTracker } from './chunked.js';
import { type EngineContext, type ProxyEngine, RequestIds } from './engine.js';
import {
  connectionHas,
  connectionTokens,
  H_CONNECTION,
  H_FIRST_OWN,
  H_HOST,
  H_KEEP_ALIVE,
  H_PROXY_CONNECTION,
  H_TRAILER,
  H_TRANSFER_ENCODING,
  H_UPGRADE,
  H_X_FORWARDED_FOR,
  type HttpHead,
  headerValue,
  keptLines,
  nameIn,
  parseHead,
} from './http-head.js';
import { errorPage, statusText } from './pages.js';
import { cookieValue, type Decision, decide, plainIp } from './route-policy.js';

/** nginx keepalive_timeout for clients. */
const CLIENT_IDLE_MS = 75_000;
/** Upstream keep-alive idle time (ingress-nginx upstream-keepalive-timeout 60 s). */
const UPSTREAM_IDLE_MS = 60_000;
/** ingress-nginx upstream-keepalive-connections. */
const MAX_IDLE_PER_UPSTREAM = 320;
/** Request bytes kept for a retry on another endpoint; above it the request is not retried. */
const RETAIN_BYTES = 64 * 1024;
/** Retries on a pooled socket the upstream had closed under us (not counted as tries). */
const MAX_STALE_RETRIES = 8;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

type UpState = 'connecting' | 'busy' | 'idle' | 'tunnel' | 'dead';

/** One upstream socket. */
class UpConn {
  readonly socket: net.Socket;
  readonly key: string;
  readonly addr: string;
  readonly pool: UpstreamPool;
  state: UpState = 'connecting';
  ex: Exchange | undefined;
  reused = false;
  timeoutMs = 0;
  lastError: Error | undefined;
  tunnelPeer: ClientConn | undefined;

  constructor(pool: UpstreamPool, key: string, addr: string, socket: net.Socket) {
    this.pool = pool;
    this.key = key;
    this.addr = addr;
    this.socket = socket;
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('error', (err) => {
      this.lastError = err;
    });
    socket.on('close', () => this.onClose());
    socket.on('timeout', () => this.onTimeout());
    socket.on('drain', () => {
      if (this.ex) this.ex.client.socket.resume();
      else if (this.tunnelPeer) this.tunnelPeer.socket.resume();
    });
  }

  setTimeoutMs(ms: number): void {
    if (this.timeoutMs !== ms) {
      this.timeoutMs = ms;
      this.socket.setTimeout(ms);
    }
  }

  onConnected(): void {
    if (this.state !== 'connecting') return;
    this.state = 'busy';
    this.ex?.upConnected(this);
  }

  private onData(b: Buffer): void {
    if (this.state === 'tunnel') {
      const peer = this.tunnelPeer!;
      if (!peer.socket.write(b)) this.socket.pause();
    } else if (this.ex) this.ex.upData(b);
    else this.socket.destroy();
  }

  private onClose(): void {
    const prev = this.state;
    this.state = 'dead';
    if (prev === 'idle') this.pool.forget(this);
    else if (prev === 'tunnel') {
      // Flush what was relayed, then FIN; an error on our side cuts the peer at once.
      if (this.lastError) this.tunnelPeer?.socket.destroy();
      else this.tunnelPeer?.socket.end();
    } else if (this.ex) this.ex.upClosed(this, prev === 'connecting');
  }

  private onTimeout(): void {
    if (this.state === 'idle' || this.state === 'tunnel') {
      this.socket.destroy();
      return;
    }
    const ex = this.ex;
    if (ex) ex.upTimeout(this, this.state === 'connecting');
    else this.socket.destroy();
  }
}

/** Idle upstream sockets by `scheme:ip:port`, LIFO (the warmest socket first). */
class UpstreamPool {
  private readonly idle = new Map<string, UpConn[]>();
  readonly all = new Set<UpConn>();

  acquire(key: string): UpConn | undefined {
    const list = this.idle.get(key);
    if (!list) return undefined;
    while (list.length > 0) {
      const c = list.pop()!;
      if (c.state === 'idle' && !c.socket.destroyed && c.socket.writable) {
        c.state = 'busy';
        c.reused = true;
        return c;
      }
    }
    return undefined;
  }

  connect(key: string, e: UpstreamEndpoint, https: boolean): UpConn {
    const socket = https
      ? tls.connect({ host: e.ip, port: e.port, rejectUnauthorized: false })
      : net.connect({ host: e.ip, port: e.port, noDelay: true });
    if (https) socket.setNoDelay(true);
    const c = new UpConn(this, key, endpointKey(e), socket);
    this.all.add(c);
    socket.once(https ? 'secureConnect' : 'connect', () => c.onConnected());
    socket.once('close', () => this.all.delete(c));
    return c;
  }

  release(c: UpConn): void {
    c.ex = undefined;
    let list = this.idle.get(c.key);
    if (!list) {
      list = [];
      this.idle.set(c.key, list);
    }
    if (list.length >= MAX_IDLE_PER_UPSTREAM) {
      c.state = 'dead';
      c.socket.destroy();
      return;
    }
    c.state = 'idle';
    c.setTimeoutMs(UPSTREAM_IDLE_MS);
    list.push(c);
  }

  forget(c: UpConn): void {
    const list = this.idle.get(c.key);
    if (!list) return;
    const i = list.indexOf(c);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.idle.delete(c.key);
  }

  /** Close idle sockets to endpoints no backend references any more (busy ones finish). */
  prune(live: ReadonlySet<string>): void {
    for (const [key, list] of this.idle) {
      if (live.has(key.slice(key.indexOf(':') + 1))) continue;
      for (const c of list) c.socket.destroy();
      this.idle.delete(key);
    }
  }

  closeAll(): void {
    for (const c of this.all) c.socket.destroy();
    this.idle.clear();
  }
}

/** One client connection. */
class ClientConn {
  readonly socket: net.Socket;
  readonly secure: boolean;
  readonly engine: RawEngine;
  readonly remoteIp: string;
  readonly localPort: number;
  /** Received bytes not yet consumed (a partial head, or pipelined requests). */
  buf: Buffer | undefined;
  ex: Exchange | undefined;
  tunnelPeer: UpConn | undefined;
  closed = false;
  lastError: Error | undefined;

  constructor(engine: RawEngine, socket: net.Socket, secure: boolean) {
    this.engine = engine;
    this.socket = socket;
    this.secure = secure;
    this.remoteIp = plainIp(socket.remoteAddress);
    this.localPort = socket.localPort ?? 0;
    socket.setTimeout(CLIENT_IDLE_MS);
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('error', (err) => {
      this.lastError = err;
    });
    socket.on('close', () => this.onClose());
    socket.on('timeout', () => this.onTimeout());
    socket.on('drain', () => {
      if (this.ex?.up) this.ex.up.socket.resume();
      else if (this.tunnelPeer) this.tunnelPeer.socket.resume();
    });
  }

  private onData(b: Buffer): void {
    if (this.tunnelPeer) {
      if (!this.tunnelPeer.socket.write(b)) this.socket.pause();
      return;
    }
    const ex = this.ex;
    if (ex && !ex.reqDone) {
      ex.clientBody(b, 0);
      return;
    }
    this.buf = this.buf ? Buffer.concat([this.buf, b]) : b;
    if (!ex) this.next();
    else if (this.buf.length > 2 * RETAIN_BYTES) this.socket.pause();
  }

  /** Parse and start the next buffered request, if any (called when idle). */
  next(): void {
    while (!this.ex && !this.closed && this.buf && this.buf.length > 0) {
      const buf = this.buf;
      let head: HttpHead | undefined;
      try {
        head = parseHead(buf, 0, 'request');
      } catch (err) {
        this.buf = undefined;
        const e = err as HttpHeadError;
        this.engine.localResponse(this, undefined, e.status ?? 400, e.message, {
          close: true,
          method: 'GET',
          target: '-',
          minor: 1,
        });
        return;
      }
      if (!head) {
        this.socket.resume();
        return;
      }
      const rest = head.end < buf.length ? buf.subarray(head.end) : undefined;
      this.buf = undefined;
      this.engine.startRequest(this, head, head.end, rest);
    }
    if (!this.ex && !this.closed) this.socket.resume();
  }

  private onClose(): void {
    this.closed = true;
    if (this.tunnelPeer) {
      if (this.lastError) this.tunnelPeer.socket.destroy();
      else this.tunnelPeer.socket.end();
    }
    this.ex?.clientGone();
    this.engine.clients.delete(this);
  }

  private onTimeout(): void {
    if (this.ex?.up && this.ex.reqDone) return; // the upstream's timeouts govern
    this.socket.destroy();
  }
}

const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
const BODY_CLOSE = 3;

/** One request/response exchange on a client connection, across retries. */
class Exchange {
  readonly engine: RawEngine;
  readonly client: ClientConn;
  readonly head: HttpHead;
  readonly route: Route;
  readonly backend: Backend;
  readonly canary: boolean;
  readonly upgrade: boolean;
  readonly start = performance.now();
  readonly requestId: string;
  readonly headLength: number;
  /** The head sent upstream (same for every try). */
  private readonly upHead: string;
  private readonly https: boolean;
  /** EWMA needs begin/end per request; round robin does not (skip the bookkeeping). */
  private readonly ewma: boolean;
  /** Affinity: the Set-Cookie line to add to the response ('' when none). */
  private setCookie = '';
  closeAfter: boolean;

  // request body
  reqDone: boolean;
  private reqRemaining: number;
  private readonly reqChunks: ChunkedTracker | undefined;
  private reqBodyBytes = 0;
  /** Body bytes received so far, kept for a retry until the first response byte (or the limit). */
  private retained: Buffer[] = [];
  private retainedBytes = 0;
  private retainOverflow = false;

  // upstream
  up: UpConn | undefined;
  private endpoint: UpstreamEndpoint | undefined;
  private readonly tried = new Set<string>();
  private tries = 0;
  private staleRetries = 0;
  private upAddrs = '';
  private upTimes = '';
  private upStatuses = '';
  private upStart = 0;
  private upSeconds: number | undefined;

  // response
  private respBuf: Buffer | undefined;
  private resp: HttpHead | undefined;
  private gotResponseByte = false;
  private respMode = BODY_NONE;
  private respRemaining = 0;
  private respChunks: ChunkedTracker | undefined;
  /** Chunked response to an HTTP/1.0 client: decode it. */
  private dechunk = false;
  private respBytes = 0;
  private upRespBytes = 0;
  private finished = false;

  constructor(
    engine: RawEngine,
    client: ClientConn,
    head: HttpHead,
    d: Extract<Decision, { kind: 'proxy' }>,
    headLength: number,
  ) {
    this.engine = engine;
    this.client = client;
    this.head = head;
    this.route = d.route;
    this.backend = d.backend;
    this.canary = d.canary;
    this.headLength = headLength;
    this.https = d.route.options.backendProtocol === 'HTTPS';
    this.ewma = d.route.options.loadBalance === 'ewma';
    this.upgrade = head.upgrade !== '' && connectionHas(head, 'upgrade');
    this.closeAfter = head.minor === 0 || connectionHas(head, 'close');
    this.requestId = headerValue(head, 'x-request-id') || engine.ids.next();
    if (head.chunked) {
      this.reqChunks = new ChunkedTracker();
      this.reqRemaining = 0;
      this.reqDone = false;
    } else {
      this.reqRemaining = Math.max(head.contentLength, 0);
      this.reqDone = this.reqRemaining === 0;
    }
    this.upHead = this.buildUpstreamHead(d.target);
  }

  private buildUpstreamHead(target: string): string {
    const h = this.head;
    const c = this.client;
    const tokens = connectionTokens(h);
    let xff = '';
    // Kept as written: everything but hop-by-hop headers (Transfer-Encoding is re-added), the
    // headers the proxy sets itself, and those the Connection header names.
    const lines = keptLines(h, (k, i) => {
      if (k === H_X_FORWARDED_FOR) {
        const o = h.offs;
        const v = h.text.slice(o[i * 4 + 2]!, o[i * 4 + 3]!);
        xff = xff === '' ? v : `${xff}, ${v}`;
        return true;
      }
      if (k >= H_FIRST_OWN) return true;
      if (k >= H_TRANSFER_ENCODING && k !== H_HOST && k !== H_TRAILER) return true;
      return tokens !== undefined && nameIn(h, i, tokens);
    });
    let s = `${h.method} ${target} HTTP/1.1\r\n${lines}`;
    if (h.host === '') s += `Host: ${this.route.host || c.engine.fallbackHost}\r\n`;
    if (h.chunked) s += 'Transfer-Encoding: chunked\r\n';
    const proto = c.secure ? 'https' : 'http';
    s +=
      `X-Request-ID: ${this.requestId}\r\nX-Real-IP: ${c.remoteIp}\r\nX-Forwarded-For: ${c.remoteIp}\r\n` +
      `X-Forwarded-Host: ${h.host}\r\nX-Forwarded-Port: ${c.localPort}\r\nX-Forwarded-Proto: ${proto}\r\n` +
      `X-Forwarded-Scheme: ${proto}\r\nX-Scheme: ${proto}\r\n`;
    if (xff !== '') s += `X-Original-Forwarded-For: ${xff}\r\n`;
    if (this.upgrade) s += `Upgrade: ${h.upgrade}\r\nConnection: upgrade\r\n`;
    return `${s}\r\n`;
  }

  /** Choose the endpoint (affinity first) and send. */
  begin(): void {
    const aff = this.route.options.affinity;
    let e: UpstreamEndpoint | undefined;
    if (aff) {
      const v = cookieValue(headerValue(this.head, 'cookie'), aff.cookieName);
      if (v) e = this.engine.ctx.balancer.byCookie(this.backend, v);
      if (!e) {
        e = this.engine.ctx.balancer.pick(this.backend, this.route.options.loadBalance, this.tried);
        if (e) {
          const value = this.engine.ctx.balancer.cookieFor(this.backend, e);
          const path = aff.path ?? (this.route.path || '/');
          const age = aff.maxAgeSeconds !== undefined ? `; Max-Age=${aff.maxAgeSeconds}` : '';
          this.setCookie = `Set-Cookie: ${aff.cookieName}=${value}; Path=${path}${age}; HttpOnly${this.client.secure ? '; Secure' : ''}\r\n`;
        }
      }
    } else e = this.engine.ctx.balancer.pick(this.backend, this.route.options.loadBalance, this.tried);
    if (!e) {
      this.fail(
        503,
        `no endpoints available for service "${this.backend.namespace}/${this.backend.service}" port ${this.backend.servicePort}`,
      );
      return;
    }
    this.sendTo(e);
  }

  private sendTo(e: UpstreamEndpoint): void {
    this.endpoint = e;
    const addr = endpointKey(e);
    const key = (this.https ? 'https:' : 'http:') + addr;
    if (this.ewma) this.engine.ctx.balancer.begin(addr);
    this.upStart = performance.now();
    const pooled = this.upgrade ? undefined : this.engine.pool.acquire(key);
    if (pooled) {
      pooled.ex = this;
      this.up = pooled;
      pooled.setTimeoutMs(this.route.options.readTimeoutMs);
      this.writeRequest(pooled);
      return;
    }
    const c = this.engine.pool.connect(key, e, this.https);
    c.ex = this;
    c.setTimeoutMs(this.route.options.connectTimeoutMs);
    this.up = c;
  }

  upConnected(c: UpConn): void {
    c.setTimeoutMs(this.route.options.readTimeoutMs);
    this.writeRequest(c);
  }

  private writeRequest(c: UpConn): void {
    const s = c.socket;
    if (this.retained.length === 0) s.write(this.upHead, 'latin1');
    else {
      s.cork();
      s.write(this.upHead, 'latin1');
      for (const b of this.retained) s.write(b);
      s.uncork();
    }
    // A client paused while we were connecting can go on.
    if (!this.reqDone) this.client.socket.resume();
  }

  /** Bytes from the client while the request body is incomplete (`b[from..]`). */
  clientBody(b: Buffer, from: number): void {
    let end = b.length;
    if (this.reqChunks) {
      let r: number;
      try {
        r = this.reqChunks.feed(b, from, end);
      } catch (err) {
        this.abortRequest(400, (err as ChunkedFramingError).message);
        return;
      }
      if (r >= 0) {
        end = r;
        this.reqDone = true;
      }
      this.reqBodyBytes = this.reqChunks.decoded;
    } else {
      const n = Math.min(this.reqRemaining, end - from);
      end = from + n;
      this.reqRemaining -= n;
      this.reqBodyBytes += n;
      if (this.reqRemaining === 0) this.reqDone = true;
    }
    const max = this.route.options.maxBodyBytes;
    if (max > 0 && this.reqBodyBytes > max) {
      this.abortRequest(
        413,
        `request body is over the limit of ${max} bytes (proxy-body-size) of Ingress ${this.route.ingress}`,
      );
      return;
    }
    if (end > from) {
      const slice = from === 0 && end === b.length ? b : b.subarray(from, end);
      const connected = this.up && this.up.state === 'busy';
      if (!this.gotResponseByte && !this.retainOverflow) {
        this.retained.push(slice);
        this.retainedBytes += slice.length;
        if (this.retainedBytes > RETAIN_BYTES && connected) {
          this.retainOverflow = true;
          this.retained = [];
        }
      }
      if (connected) {
        if (!this.up!.socket.write(slice)) this.client.socket.pause();
      } else if (this.retainedBytes > RETAIN_BYTES) this.client.socket.pause();
    }
    if (end < b.length) {
      // Pipelined bytes after the body: keep them for the next request.
      const rest = b.subarray(end);
      this.client.buf = this.client.buf ? Buffer.concat([this.client.buf, rest]) : rest;
    }
  }

  /** The request cannot go on (bad chunked body, body too large): answer if we still can. */
  private abortRequest(status: number, reason: string): void {
    this.closeAfter = true;
    if (this.gotResponseByte) {
      this.client.socket.destroy();
      return;
    }
    this.fail(status, reason);
  }

  upData(b: Buffer): void {
    if (!this.gotResponseByte) {
      this.gotResponseByte = true;
      this.retained = [];
      this.retainOverflow = true;
    }
    this.upRespBytes += b.length;
    if (this.resp === undefined) {
      this.respBuf = this.respBuf ? Buffer.concat([this.respBuf, b]) : b;
      this.parseResponse();
      return;
    }
    this.forwardBody(b, 0);
  }

  private parseResponse(): void {
    let buf = this.respBuf!;
    let head: HttpHead | undefined;
    for (;;) {
      try {
        head = parseHead(buf, 0, 'response');
      } catch (err) {
        this.upstreamBroken(502, `upstream sent an invalid response head: ${(err as Error).message}`);
        return;
      }
      if (!head) {
        this.respBuf = buf;
        return;
      }
      if (head.status >= 100 && head.status < 200 && head.status !== 101) {
        // 100 Continue, 103 Early Hints: relay to HTTP/1.1 clients, then read the real head.
        if (this.head.minor === 1) this.client.socket.write(buf.subarray(0, head.end));
        buf = buf.subarray(head.end);
        if (buf.length === 0) {
          this.respBuf = undefined;
          return;
        }
        continue;
      }
      break;
    }
    this.respBuf = undefined;
    this.resp = head;
    this.upSeconds = (performance.now() - this.upStart) / 1000;
    this.upStatuses += (this.upStatuses ? ', ' : '') + head.status;
    if (head.status === 101) {
      if (!this.upgrade) {
        this.upstreamBroken(502, 'upstream sent 101 Switching Protocols to a request that asked no upgrade');
        return;
      }
      this.startTunnel(buf, head);
      return;
    }
    const noBody =
      this.head.method === 'HEAD' || head.status === 204 || head.status === 304 || head.status < 200;
    if (noBody) this.respMode = BODY_NONE;
    else if (head.chunked) {
      this.respMode = BODY_CHUNKED;
      this.respChunks = new ChunkedTracker();
      if (this.head.minor === 0) {
        this.dechunk = true;
        this.closeAfter = true;
      }
    } else if (head.contentLength >= 0) {
      this.respMode = BODY_LENGTH;
      this.respRemaining = head.contentLength;
    } else {
      this.respMode = BODY_CLOSE;
      this.closeAfter = true;
    }
    if (!this.reqDone) this.closeAfter = true; // answered before the body ended: the rest is not read
    const bodyHere = head.end < buf.length;
    const client = this.client.socket;
    // Head and the body bytes that came with it leave in one write (one writev, one TLS record).
    if (bodyHere) client.cork();
    this.writeResponseHead(buf, head);
    if (this.respMode === BODY_NONE || (this.respMode === BODY_LENGTH && this.respRemaining === 0)) {
      if (bodyHere) client.uncork();
      const used = head.end + (this.respMode === BODY_LENGTH ? head.contentLength : 0);
      this.finish(buf.length > used);
      return;
    }
    if (bodyHere) {
      this.forwardBody(buf, head.end);
      client.uncork();
    }
  }

  private writeResponseHead(buf: Buffer, head: HttpHead): void {
    const plain = !this.closeAfter && this.setCookie === '' && head.minor === 1 && !head.hasHop;
    if (plain) {
      this.respBytes += head.end;
      const whole = this.respMode === BODY_LENGTH && buf.length - head.end === this.respRemaining;
      if (whole) {
        // The common small response: head and whole body in one read, forwarded as it came.
        this.respBytes += this.respRemaining;
        this.respRemaining = 0;
        this.client.socket.write(buf);
      } else this.client.socket.write(head.end === buf.length ? buf : buf.subarray(0, head.end));
      return;
    }
    const tokens = connectionTokens(head);
    const dechunk = this.dechunk;
    let s = `HTTP/1.1 ${head.status} ${head.reason}\r\n${keptLines(
      head,
      (k, i) =>
        k === H_CONNECTION ||
        k === H_KEEP_ALIVE ||
        k === H_PROXY_CONNECTION ||
        k === H_UPGRADE ||
        (k === H_TRANSFER_ENCODING && dechunk) ||
        (tokens !== undefined && nameIn(head, i, tokens)),
    )}`;
    s += this.setCookie;
    if (this.closeAfter) s += 'Connection: close\r\n';
    s += '\r\n';
    this.respBytes += s.length;
    const bodyBytes = buf.length - head.end;
    if (this.respMode === BODY_LENGTH && bodyBytes === this.respRemaining && bodyBytes <= 16 * 1024) {
      // A small whole response: the new head and the body in one buffer, one write.
      const out = Buffer.allocUnsafe(s.length + bodyBytes);
      out.write(s, 0, 'latin1');
      buf.copy(out, s.length, head.end);
      this.respBytes += bodyBytes;
      this.respRemaining = 0;
      this.client.socket.write(out);
      return;
    }
    this.client.socket.write(s, 'latin1');
  }

  private forwardBody(b: Buffer, from: number): void {
    const client = this.client.socket;
    let end = b.length;
    let done = false;
    if (this.respMode === BODY_LENGTH) {
      const n = Math.min(this.respRemaining, end - from);
      end = from + n;
      this.respRemaining -= n;
      done = this.respRemaining === 0;
    } else if (this.respMode === BODY_CHUNKED) {
      let r: number;
      try {
        r = this.dechunk
          ? this.respChunks!.feed(b, from, end, (d) => {
              this.respBytes += d.length;
              client.write(d);
            })
          : this.respChunks!.feed(b, from, end);
      } catch (err) {
        this.upstreamBroken(502, `upstream sent an invalid chunked body: ${(err as Error).message}`);
        return;
      }
      if (r >= 0) {
        end = r;
        done = true;
      }
      if (this.dechunk) {
        if (done) this.finish(end < b.length);
        return;
      }
    }
    if (end > from) {
      this.respBytes += end - from;
      const ok = client.write(from === 0 && end === b.length ? b : b.subarray(from, end));
      if (!ok && !done) this.up!.socket.pause();
    }
    if (done) this.finish(end < b.length);
  }

  private startTunnel(buf: Buffer, head: HttpHead): void {
    const up = this.up!;
    const client = this.client;
    this.respBytes += head.end;
    client.socket.write(buf.subarray(0, head.end));
    if (head.end < buf.length) client.socket.write(buf.subarray(head.end));
    this.finished = true;
    this.log(101);
    up.ex = undefined;
    up.state = 'tunnel';
    up.tunnelPeer = client;
    client.ex = undefined;
    client.tunnelPeer = up;
    const idle = this.route.options.readTimeoutMs;
    up.setTimeoutMs(idle);
    client.socket.setTimeout(idle);
    if (this.ewma) this.engine.ctx.balancer.end(endpointKey(this.endpoint!), this.upSeconds! * 1000);
    if (client.buf) {
      up.socket.write(client.buf);
      client.buf = undefined;
    }
    client.socket.resume();
  }

  /** The response ended; `extra` = the upstream sent bytes past its end (not reusable). */
  private finish(extra: boolean): void {
    if (this.finished) return;
    this.finished = true;
    const up = this.up!;
    const resp = this.resp!;
    if (this.ewma) this.engine.ctx.balancer.end(endpointKey(this.endpoint!), this.upSeconds! * 1000);
    const reusable =
      !extra &&
      this.reqDone &&
      this.respMode !== BODY_CLOSE &&
      resp.minor === 1 &&
      !connectionHas(resp, 'close');
    if (reusable && up.state === 'busy') this.engine.pool.release(up);
    else {
      up.ex = undefined;
      up.state = 'dead';
      up.socket.destroy();
    }
    this.log(resp.status);
    this.endClient();
  }

  private endClient(): void {
    const client = this.client;
    client.ex = undefined;
    if (this.closeAfter) {
      client.closed = true;
      client.socket.end();
      return;
    }
    if (client.buf) setImmediate(() => client.next());
  }

  /** Failure after the response started or an unusable upstream answer. */
  private upstreamBroken(status: number, reason: string): void {
    const up = this.up;
    if (up) {
      up.ex = undefined;
      up.state = 'dead';
      up.socket.destroy();
    }
    if (this.resp) {
      // Part of a response went out: the client cannot be told, only cut.
      this.finished = true;
      this.log(this.resp.status);
      this.client.socket.destroy();
      return;
    }
    this.fail(status, reason);
  }

  upClosed(c: UpConn, connecting: boolean): void {
    if (this.finished || c !== this.up) return;
    if (this.resp && this.respMode === BODY_CLOSE) {
      this.finish(false);
      return;
    }
    const err = c.lastError;
    const why = err ? `${(err as NodeJS.ErrnoException).code ?? err.message}` : 'connection closed';
    if (this.resp) {
      this.upstreamBroken(
        502,
        `upstream ${c.addr} closed the connection in the middle of the response (${why})`,
      );
      return;
    }
    if (connecting) this.retryOrFail(`connect() to ${c.addr} failed (${why})`, 502, true, false);
    else
      this.retryOrFail(
        `upstream ${c.addr} closed the connection before answering (${why})`,
        502,
        false,
        c.reused,
      );
  }

  upTimeout(c: UpConn, connecting: boolean): void {
    if (this.finished || c !== this.up) return;
    c.ex = undefined;
    c.state = 'dead';
    c.socket.destroy();
    if (connecting) {
      this.retryOrFail(
        `connect() to ${c.addr} timed out after ${this.route.options.connectTimeoutMs} ms (proxy-connect-timeout)`,
        504,
        true,
        false,
      );
      return;
    }
    const which = this.reqDone ? 'proxy-read-timeout' : 'proxy-send-timeout';
    const ms = this.reqDone ? this.route.options.readTimeoutMs : this.route.options.sendTimeoutMs;
    if (this.resp) this.upstreamBroken(504, '');
    else this.fail(504, `upstream ${c.addr} timed out after ${ms} ms (${which})`);
  }

  private retryOrFail(reason: string, status: number, connectFailure: boolean, stale: boolean): void {
    const addr = endpointKey(this.endpoint!);
    if (this.ewma) this.engine.ctx.balancer.end(addr, undefined);
    this.upAddrs += (this.upAddrs ? ', ' : '') + addr;
    this.upTimes += (this.upTimes ? ', ' : '') + ((performance.now() - this.upStart) / 1000).toFixed(3);
    this.upStatuses += (this.upStatuses ? ', ' : '') + status;
    this.up = undefined;
    const replayable = !this.retainOverflow;
    const idempotent = IDEMPOTENT.has(this.head.method);
    // As nginx: a request that may have reached the pod is retried only when idempotent (a POST
    // on a pooled socket the pod closed under us could also have been half processed).
    const canRetry = !this.client.closed && replayable && (connectFailure || idempotent);
    if (canRetry && stale && this.staleRetries < MAX_STALE_RETRIES) {
      this.staleRetries++;
      this.sendTo(this.endpoint!);
      return;
    }
    this.tries++;
    this.tried.add(addr);
    if (canRetry && this.tries < Math.max(1, this.route.options.retries)) {
      const e = this.engine.ctx.balancer.pick(this.backend, this.route.options.loadBalance, this.tried);
      if (e) {
        this.sendTo(e);
        return;
      }
    }
    this.fail(
      status,
      `${reason} for service "${this.backend.namespace}/${this.backend.service}" port ${this.backend.servicePort}`,
    );
  }

  /** Answer the client with an error page; the exchange ends. */
  private fail(status: number, reason: string): void {
    if (this.finished) return;
    this.finished = true;
    const up = this.up;
    if (up && up.state !== 'dead') {
      up.ex = undefined;
      up.state = 'dead';
      up.socket.destroy();
    }
    if (!this.reqDone) this.closeAfter = true;
    this.client.ex = undefined;
    this.engine.localResponse(this.client, this.route, status, reason, {
      close: this.closeAfter,
      method: this.head.method,
      target: this.head.target,
      minor: this.head.minor,
      exchange: this,
    });
  }

  /** The client went away: stop the upstream side. */
  clientGone(): void {
    if (this.finished) return;
    this.finished = true;
    const up = this.up;
    if (up) {
      up.ex = undefined;
      up.state = 'dead';
      up.socket.destroy();
      if (this.endpoint && this.ewma) this.engine.ctx.balancer.end(endpointKey(this.endpoint), undefined);
    }
    this.log(499);
  }

  /** Access log and metrics for the exchange (status as answered). */
  log(status: number, bodyBytes = this.respBytes): void {
    const ctx = this.engine.ctx;
    const seconds = (performance.now() - this.start) / 1000;
    if (this.endpoint && this.resp) {
      this.upAddrs += (this.upAddrs ? ', ' : '') + endpointKey(this.endpoint);
      this.upTimes += (this.upTimes ? ', ' : '') + this.upSeconds!.toFixed(3);
    }
    ctx.metrics.record(this.route, {
      ingress: this.route.ingress,
      namespace: this.backend.namespace,
      service: this.backend.service,
      host: this.route.host,
      method: this.head.method,
      status,
      requestSeconds: seconds,
      upstreamSeconds: this.resp ? this.upSeconds : undefined,
      requestBytes: this.headLength + this.reqBodyBytes,
      responseBytes: bodyBytes,
    });
    if (ctx.accessLog)
      ctx.accessLog.log({
        remoteAddr: this.client.remoteIp,
        method: this.head.method,
        target: this.head.target,
        minor: this.head.minor,
        status,
        bodyBytesSent: bodyBytes,
        referer: headerValue(this.head, 'referer') ?? '',
        userAgent: headerValue(this.head, 'user-agent') ?? '',
        requestLength: this.headLength + this.reqBodyBytes,
        requestTimeMs: seconds * 1000,
        upstreamName: `${this.backend.namespace}-${this.backend.service}-${this.backend.servicePort}`,
        alternativeUpstreamName: this.route.canary
          ? `${this.route.canary.backend.namespace}-${this.route.canary.backend.service}-${this.route.canary.backend.servicePort}`
          : '',
        upstreamAddr: this.upAddrs,
        upstreamResponseLength: this.upRespBytes,
        upstreamResponseTime: this.upTimes,
        upstreamStatus: this.upStatuses,
        requestId: this.requestId,
      });
  }
}

interface LocalOptions {
  close: boolean;
  method: string;
  target: string;
  minor: number;
  location?: string | undefined;
  exchange?: Exchange | undefined;
  head?: HttpHead | undefined;
  headLength?: number | undefined;
}

/** The raw engine. */
export class RawEngine implements ProxyEngine {
  readonly ctx: EngineContext;
  readonly pool = new UpstreamPool();
  readonly clients = new Set<ClientConn>();
  readonly ids = new RequestIds();
  /** Host header sent upstream for HTTP/1.0 requests without one. */
  readonly fallbackHost = 'localhost';

  constructor(ctx: EngineContext) {
    this.ctx = ctx;
  }

  accept(socket: net.Socket, secure: boolean): void {
    this.clients.add(new ClientConn(this, socket, secure));
  }

  tableChanged(table: RouteTable): void {
    const live = new Set<string>();
    for (const b of table.backends()) for (const e of b.endpoints) live.add(endpointKey(e));
    this.pool.prune(live);
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.socket.destroy();
    this.clients.clear();
    this.pool.closeAll();
  }

  /** A request head arrived on an idle client connection. */
  startRequest(client: ClientConn, head: HttpHead, headLength: number, rest: Buffer | undefined): void {
    const d = decide(
      this.ctx.table,
      {
        method: head.method,
        target: head.target,
        hostHeader: head.host,
        contentLength: head.contentLength,
        header: (l) => headerValue(head, l),
        remoteIp: client.remoteIp,
        secure: client.secure,
      },
      { httpsPort: this.ctx.httpsPort, random: this.ctx.random },
    );
    if (d.kind === 'local') {
      const hasBody = head.chunked || head.contentLength > 0;
      if (rest && !hasBody) client.buf = rest;
      this.localResponse(client, d.route, d.status, d.reason, {
        close: hasBody || head.minor === 0 || connectionHas(head, 'close'),
        method: head.method,
        target: head.target,
        minor: head.minor,
        location: d.location,
        head,
        headLength,
      });
      return;
    }
    const ex = new Exchange(this, client, head, d, headLength);
    client.ex = ex;
    ex.begin();
    if (rest && client.ex === ex) {
      if (!ex.reqDone) ex.clientBody(rest, 0);
      else client.buf = client.buf ? Buffer.concat([rest, client.buf]) : rest;
    } else if (rest && !client.ex && !ex.closeAfter) client.buf = rest;
  }

  /** Answer from the proxy itself (redirects, error pages). */
  localResponse(
    client: ClientConn,
    route: Route | undefined,
    status: number,
    reason: string,
    o: LocalOptions,
  ): void {
    if (client.closed || client.socket.destroyed) {
      o.exchange?.log(499, 0);
      return;
    }
    const body = status === 308 || status === 301 ? '' : errorPage(status, reason);
    const bodyLen = o.method === 'HEAD' ? 0 : Buffer.byteLength(body);
    let s =
      `HTTP/1.1 ${status} ${statusText(status)}\r\nServer: k8ts-ingress\r\nDate: ${new Date().toUTCString()}\r\n` +
      `Content-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
    if (o.location) s += `Location: ${o.location}\r\n`;
    if (o.close) s += 'Connection: close\r\n';
    s += '\r\n';
    if (bodyLen > 0) s += body;
    client.socket.write(s);
    if (o.exchange) o.exchange.log(status, bodyLen);
    else this.logLocal(client, route, status, bodyLen, o);
    if (o.close) {
      client.closed = true;
      client.socket.end();
    } else if (client.buf) setImmediate(() => client.next());
  }

  private logLocal(
    client: ClientConn,
    route: Route | undefined,
    status: number,
    bodyLen: number,
    o: LocalOptions,
  ): void {
    const head = o.head;
    const requestLength = o.headLength ?? 0;
    this.ctx.metrics.record(route ?? UNROUTED, {
      ingress: route?.ingress ?? '',
      namespace: route?.backend.namespace ?? '',
      service: route?.backend.service ?? '',
      host: route?.host ?? '',
      method: o.method,
      status,
      requestSeconds: 0,
      upstreamSeconds: undefined,
      requestBytes: requestLength,
      responseBytes: bodyLen,
    });
    this.ctx.accessLog?.log({
      remoteAddr: client.remoteIp,
      method: o.method,
      target: o.target,
      minor: o.minor,
      status,
      bodyBytesSent: bodyLen,
      referer: (head && headerValue(head, 'referer')) ?? '',
      userAgent: (head && headerValue(head, 'user-agent')) ?? '',
      requestLength,
      requestTimeMs: 0,
      upstreamName: route
        ? `${route.backend.namespace}-${route.backend.service}-${route.backend.servicePort}`
        : 'upstream-default-backend',
      alternativeUpstreamName: '',
      upstreamAddr: '',
      upstreamResponseLength: 0,
      upstreamResponseTime: '',
      upstreamStatus: '',
      requestId: (head && headerValue(head, 'x-request-id')) || this.ids.next(),
    });
  }
}

/** The metrics key of requests that matched no route. */
const UNROUTED = {};
