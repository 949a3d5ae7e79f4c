/**
 * The kubelet's HTTPS API (port 10250): /healthz, /pods, /containerLogs, /exec, /attach and
 * /portForward, authenticated by client certificates of the cluster CA (the API server's kubelet
 * client certificate) and served from a StreamingRuntime (../streams.ts). Exec and attach speak
 * WebSocket (v5/v4.channel.k8s.io) and SPDY/3.1; port-forward speaks SPDY/3.1, directly or
 * tunnelled in a WebSocket (`SPDY/3.1+portforward.k8s.io`, kubectl >= 1.31).
 *
 * This is the one public entry of the streaming server: startKubeletServer().
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import { GROUP_MASTERS, type UserInfo } from '../../apiserver/auth/authenticator.js';
import { X509Authenticator } from '../../apiserver/auth/x509-authenticator.js';
import { StreamError, type StreamingRuntime, type StreamSession } from '../streams.js';
import { WEBSOCKET_EXEC_PROTOCOLS } from './channel-protocol.js';
import { type KubeletRoute, parseExecQuery, parseKubeletPath, parseLogQuery } from './kubelet-paths.js';
import {
  headerList,
  negotiate,
  negotiationFailure,
  PORT_FORWARD_PROTOCOL_V1,
  SPDY_EXEC_PROTOCOLS,
  SPDY_TUNNEL_PREFIX,
  SPDY_UPGRADE,
  upgradeKind,
} from './negotiate.js';
import { servePortForward } from './port-forward.js';
import { serveRemoteCommand } from './remote-command.js';
import { spdyCommandTransport } from './spdy-command.js';
import { SpdySession } from './spdy-session.js';
import { websocketCommandTransport } from './ws-command.js';

/** Default port of the kubelet API. */
export const KUBELET_PORT = 10250;
/** Users the default authorizer lets in besides members of system:masters. */
export const KUBELET_API_USERS = ['kube-apiserver-kubelet-client', 'system:kube-apiserver'];
const STREAM_CREATION_TIMEOUT_MS = 30_000;
const TUNNEL_PROTOCOL = Symbol('k8ts.tunnelProtocol');

/** What a request to the kubelet asks to do, for the authorizer (upstream maps these onto nodes/<sub>). */
export interface KubeletRequestAttributes {
  verb: string;
  /** `proxy` for logs, exec, attach, port-forward and pods; `healthz` for /healthz. */
  subresource: string;
  path: string;
}

export interface KubeletServerOptions {
  runtime: StreamingRuntime;
  /** Default 10250; 0 picks a free port (tests). */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** Serving certificate and key (PEM) and the CA that client certificates must chain to. */
  tls: { cert: string; key: string; ca: string };
  /** Default: users in system:masters and KUBELET_API_USERS. */
  authorize?: (user: UserInfo, attrs: KubeletRequestAttributes) => boolean;
  /** Pods for GET /pods (a PodList); 404 when absent. */
  pods?: () => Promise<unknown[]> | unknown[];
  /** How long a SPDY client may take to open its streams. Default 30 s. */
  streamCreationTimeoutMs?: number;
  /**
   * Refuse WebSocket upgrades (400), leaving SPDY/3.1 only, as a kubelet before WebSocket support;
   * kubectl >= 1.30 then falls back to SPDY. Default false.
   */
  disableWebSockets?: boolean;
  /** Called for every upgraded connection (logging, metrics, tests). */
  onStreamStart?: (e: StreamStartEvent) => void;
}

/** An exec, attach or port-forward connection the server accepted, and how it is carried. */
export interface StreamStartEvent {
  kind: 'exec' | 'attach' | 'portForward';
  /** `websocket-tunnel` is SPDY carried in WebSocket binary messages. */
  transport: 'websocket' | 'spdy' | 'websocket-tunnel';
  protocol: string;
  path: string;
}

export interface KubeletServer {
  host: string;
  port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

function defaultAuthorize(user: UserInfo): boolean {
  return user.groups.includes(GROUP_MASTERS) || KUBELET_API_USERS.includes(user.name);
}

interface ErrorBody {
  code: number;
  reason: string;
  message: string;
}

function statusJson(e: ErrorBody): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: e.message,
    reason: e.reason,
    code: e.code,
  });
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  500: 'InternalError',
};

function errorBody(code: number, message: string): ErrorBody {
  return { code, reason: REASONS[code] ?? 'InternalError', message };
}

/** Maps a runtime failure onto an HTTP error. */
export function runtimeErrorBody(e: unknown): ErrorBody {
  if (e instanceof StreamError) {
    const code = e.code === 'NotFound' ? 404 : e.code === 'Internal' ? 500 : 400;
    return errorBody(code, e.message);
  }
  return errorBody(500, (e as Error).message ?? String(e));
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
};

/** Answers an upgrade request that will not be upgraded, on the raw socket. */
function rejectUpgrade(socket: Duplex, e: ErrorBody): void {
  const body = statusJson(e);
  socket.end(
    `HTTP/1.1 ${e.code} ${STATUS_TEXT[e.code] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function sendError(res: ServerResponse, e: ErrorBody): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = statusJson(e);
  res.writeHead(e.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function routeSubresource(route: KubeletRoute): string {
  return route.kind === 'healthz' ? 'healthz' : 'proxy';
}

function verbOf(method: string | undefined): string {
  switch (method) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return 'get';
  }
}

/** Starts the kubelet API server; resolves once it listens. */
export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const authn = new X509Authenticator();
  const authorize = opts.authorize ?? defaultAuthorize;
  const timeoutMs = opts.streamCreationTimeoutMs ?? STREAM_CREATION_TIMEOUT_MS;
  const runtime = opts.runtime;
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (protocols, req) => {
      const route = parseKubeletPath(new URL(req.url ?? '/', 'https://kubelet').pathname);
      if (route?.kind !== 'exec' && route?.kind !== 'attach') return false;
      return negotiate([...protocols], WEBSOCKET_EXEC_PROTOCOLS) ?? false;
    },
  });
  // `SPDY/3.1+portforward.k8s.io` is not an RFC 7230 token (the slash), so `ws` refuses it as a
  // subprotocol: the kubelet negotiates it itself and adds the response header here.
  wss.on('headers', (headers: string[], req: IncomingMessage) => {
    const p = (req as IncomingMessage & { [TUNNEL_PROTOCOL]?: string })[TUNNEL_PROTOCOL];
    if (p) headers.push(`Sec-WebSocket-Protocol: ${p}`);
  });
  const sockets = new Set<Duplex>();

  /** Authenticates and authorizes; the error to answer with, or the route. */
  const admit = (req: IncomingMessage): { route: KubeletRoute; url: URL } | ErrorBody => {
    const user = authn.authenticate({ headers: req.headers, socket: req.socket });
    if (!user) return errorBody(401, 'Unauthorized');
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const route = parseKubeletPath(url.pathname);
    const attrs: KubeletRequestAttributes = {
      verb: verbOf(req.method),
      subresource: route ? routeSubresource(route) : 'proxy',
      path: url.pathname,
    };
    if (!authorize(user, attrs))
      return errorBody(
        403,
        `Forbidden (user=${user.name}, verb=${attrs.verb}, resource=nodes, subresource(s)=[${attrs.subresource}])`,
      );
    if (!route) return errorBody(404, `the server could not find the requested resource: ${url.pathname}`);
    return { route, url };
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const a = admit(req);
    if (!('route' in a)) {
      sendError(res, a);
      return;
    }
    const { route, url } = a;
    switch (route.kind) {
      case 'healthz':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      case 'pods': {
        if (!opts.pods) {
          sendError(res, errorBody(404, 'pods are not served by this kubelet'));
          return;
        }
        void Promise.resolve(opts.pods()).then(
          (items) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items }));
          },
          (e) => sendError(res, runtimeErrorBody(e)),
        );
        return;
      }
      case 'containerLogs':
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          sendError(res, errorBody(405, `method ${req.method} is not allowed on ${url.pathname}`));
          return;
        }
        void serveLogs(runtime, route.ref, url.searchParams, req, res);
        return;
      case 'exec':
      case 'attach':
      case 'portForward':
        sendError(res, errorBody(400, 'Upgrade request required'));
        return;
    }
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const a = admit(req);
    if (!('route' in a)) {
      rejectUpgrade(socket, a);
      return;
    }
    const { route, url } = a;
    const kind = upgradeKind(req.headers);
    if (!kind) {
      rejectUpgrade(socket, errorBody(400, 'unable to upgrade: missing upgrade headers in request'));
      return;
    }
    if (kind === 'websocket' && opts.disableWebSockets) {
      rejectUpgrade(
        socket,
        errorBody(400, 'unable to upgrade: WebSocket upgrades are disabled on this kubelet'),
      );
      return;
    }
    const started = (transport: StreamStartEvent['transport'], protocol: string) => {
      if (route.kind === 'exec' || route.kind === 'attach' || route.kind === 'portForward')
        opts.onStreamStart?.({ kind: route.kind, transport, protocol, path: url.pathname });
    };
    switch (route.kind) {
      case 'exec':
      case 'attach':
        void upgradeCommand({ runtime, started, wss, route, url, req, socket, head, kind, timeoutMs });
        return;
      case 'portForward':
        upgradePortForward({ runtime, started, wss, route, req, socket, head, kind, timeoutMs });
        return;
      default:
        rejectUpgrade(socket, errorBody(400, `${url.pathname} cannot be upgraded`));
        return;
    }
  };

  const server = https.createServer(
    {
      cert: opts.tls.cert,
      key: opts.tls.key,
      ca: opts.tls.ca,
      requestCert: true,
      rejectUnauthorized: false,
    },
    onRequest,
  );
  server.on('upgrade', onUpgrade);
  server.on('connection', (s: Duplex) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.requestTimeout = 0;
  server.keepAliveTimeout = 120_000;
  const host = opts.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? KUBELET_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        for (const c of wss.clients) c.terminate();
        wss.close();
      }),
  };
}

async function serveLogs(
  runtime: StreamingRuntime,
  ref: import('../streams.js').ContainerRef,
  q: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const parsed = parseLogQuery(q);
  if ('error' in parsed) {
    sendError(res, errorBody(400, parsed.error));
    return;
  }
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  let stream: Readable;
  try {
    stream = await runtime.logs(ref, parsed, abort.signal);
  } catch (e) {
    sendError(res, runtimeErrorBody(e));
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/plain',
    ...(parsed.follow ? { 'cache-control': 'no-cache' } : {}),
  });
  if (req.method === 'HEAD') {
    stream.destroy();
    res.end();
    return;
  }
  res.flushHeaders();
  let remaining = parsed.limitBytes ?? Number.POSITIVE_INFINITY;
  stream.on('data', (chunk: Buffer) => {
    if (remaining <= 0) return;
    const part = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
    remaining -= part.length;
    if (!res.write(part)) {
      stream.pause();
      res.once('drain', () => stream.resume());
    }
    if (remaining <= 0) {
      abort.abort();
      stream.destroy();
      res.end();
    }
  });
  stream.once('end', () => res.end());
  stream.once('error', () => res.destroy());
  abort.signal.addEventListener('abort', () => stream.destroy());
}

interface UpgradeInput {
  runtime: StreamingRuntime;
  started: (transport: StreamStartEvent['transport'], protocol: string) => void;
  wss: WebSocketServer;
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  kind: 'websocket' | 'spdy';
  timeoutMs: number;
}

async function upgradeCommand(
  u: UpgradeInput & { route: Extract<KubeletRoute, { kind: 'exec' | 'attach' }>; url: URL },
): Promise<void> {
  const opts = parseExecQuery(u.url.searchParams);
  if (!opts.stdin && !opts.stdout && !opts.stderr) {
    rejectUpgrade(u.socket, errorBody(400, 'you must specify at least 1 of stdin, stdout, stderr'));
    return;
  }
  if (u.route.kind === 'exec' && opts.command.length === 0) {
    rejectUpgrade(u.socket, errorBody(400, 'you must specify at least one command for the container'));
    return;
  }
  // Negotiate before anything starts: a failed negotiation must not leave a process behind.
  let protocol: string | undefined;
  if (u.kind === 'websocket') {
    const offered = headerList(u.req.headers['sec-websocket-protocol']);
    protocol = negotiate(offered, WEBSOCKET_EXEC_PROTOCOLS);
    if (!protocol) {
      rejectUpgrade(u.socket, errorBody(400, negotiationFailure(offered, WEBSOCKET_EXEC_PROTOCOLS)));
      return;
    }
  } else {
    const offered = headerList(u.req.headers['x-stream-protocol-version']);
    protocol = negotiate(offered, SPDY_EXEC_PROTOCOLS);
    if (!protocol) {
      rejectUpgrade(u.socket, errorBody(403, negotiationFailure(offered, SPDY_EXEC_PROTOCOLS)));
      return;
    }
  }
  let session: StreamSession;
  try {
    session =
      u.route.kind === 'exec'
        ? await u.runtime.exec(u.route.ref, opts)
        : await u.runtime.attach(u.route.ref, {
            stdin: opts.stdin,
            stdout: opts.stdout,
            stderr: opts.stderr,
            tty: opts.tty,
          });
  } catch (e) {
    rejectUpgrade(u.socket, runtimeErrorBody(e));
    return;
  }
  if (u.socket.destroyed) {
    session.close();
    return;
  }
  if (u.kind === 'websocket') {
    const chosen = protocol;
    u.wss.handleUpgrade(u.req, u.socket, u.head, (ws: WebSocket) => {
      u.started('websocket', chosen);
      void serveRemoteCommand(session, websocketCommandTransport(ws, { ...opts, protocol: chosen }));
    });
    return;
  }
  const spdy = acceptSpdy(u.socket, u.head, protocol);
  u.started('spdy', protocol);
  try {
    const transport = await spdyCommandTransport(spdy, { ...opts, timeoutMs: u.timeoutMs });
    await serveRemoteCommand(session, transport);
  } catch {
    session.close();
    spdy.close();
  }
}

function upgradePortForward(
  u: UpgradeInput & { route: Extract<KubeletRoute, { kind: 'portForward' }> },
): void {
  const pod = u.route.pod;
  const pf = {
    dial: (port: number) => u.runtime.portForward(pod, port),
    describePod: `pod ${pod.namespace}/${pod.pod}${pod.uid ? `, uid ${pod.uid}` : ''}`,
    pairTimeoutMs: u.timeoutMs,
  };
  if (u.kind === 'websocket') {
    // TODO(#4): the older channel-based WebSocket port-forward (v4.channel.k8s.io on /portForward).
    const offered = headerList(u.req.headers['sec-websocket-protocol']);
    const server = [SPDY_TUNNEL_PREFIX + PORT_FORWARD_PROTOCOL_V1];
    const chosen = negotiate(offered, server);
    if (!chosen) {
      rejectUpgrade(u.socket, errorBody(400, negotiationFailure(offered, server)));
      return;
    }
    delete u.req.headers['sec-websocket-protocol'];
    (u.req as IncomingMessage & { [TUNNEL_PROTOCOL]?: string })[TUNNEL_PROTOCOL] = chosen;
    u.wss.handleUpgrade(u.req, u.socket, u.head, (ws: WebSocket) => {
      u.started('websocket-tunnel', chosen);
      const tunnel = createWebSocketStream(ws);
      tunnel.on('error', () => tunnel.destroy());
      const spdy = new SpdySession(tunnel, { server: true, autoReply: true });
      servePortForward(spdy, pf);
    });
    return;
  }
  const offered = headerList(u.req.headers['x-stream-protocol-version']);
  const protocol = negotiate(offered, [PORT_FORWARD_PROTOCOL_V1]);
  if (!protocol) {
    rejectUpgrade(u.socket, errorBody(403, negotiationFailure(offered, [PORT_FORWARD_PROTOCOL_V1])));
    return;
  }
  const spdy = acceptSpdy(u.socket, u.head, protocol);
  u.started('spdy', protocol);
  servePortForward(spdy, pf);
}

/** Answers 101 for SPDY/3.1 and starts a server session on the socket. */
function acceptSpdy(socket: Duplex, head: Buffer, protocol: string): SpdySession {
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Connection: Upgrade\r\n' +
      `Upgrade: ${SPDY_UPGRADE}\r\n` +
      `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
  );
  if (head.length > 0) socket.unshift(head);
  return new SpdySession(socket, { server: true, autoReply: true });
}
