/**
 * The HTTPS front of the API server on node:https: authentication, routing of resource and non-resource
 * paths, authorization, metrics, and Status errors. Resource verbs live in handlers.ts; this file
 * only decides which one runs and encodes the answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { parse as parseQuerystring } from 'node:querystring';
import type { Duplex } from 'node:stream';
import { gzip } from 'node:zlib';
import { isOpenApiV2ProtobufType, OPENAPI_V2_PROTOBUF_CONTENT_TYPE } from '../api/openapi/v2-protobuf.js';
import type { ResourceInfo } from '../api/resources.js';
import { resourceForPlural } from '../api/resources.js';
import { POD_TRACE, podTrace, traceNow } from '../client/pod-trace.js';
import type { Authenticator, UserInfo } from './auth/authenticator.js';
import type { Authorizer } from './auth/authorizer.js';
import { forbiddenMessage } from './auth/status.js';
import {
  aggregatedContentType,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
} from './discovery.js';
import { ApiError, forbidden, notFound, unauthorized } from './errors.js';
import {
  type HandlerDeps,
  type HandlerInput,
  type HandlerResult,
  handleCreate,
  handleDelete,
  handleDeleteCollection,
  handleGet,
  handleList,
  handlePatch,
  handleUpdate,
  handleWatch,
  type Query,
} from './handlers.js';
import { KUBELET_SUBRESOURCES, type KubeletConnector, UPGRADE_ONLY_SUBRESOURCES } from './kubelet-proxy.js';
import { metricsVerb, type RequestObservation } from './metrics.js';
import { encode, negotiateObject, parseAccept } from './negotiation.js';
import { toApiError } from './registry.js';
import { parseRequestInfo, type RequestInfo, type ResourceRequest } from './request-info.js';

export type { UserInfo } from './auth/authenticator.js';
export type ServerAuthn = Authenticator;
export type ServerAuthz = Authorizer;

export interface ServerMetrics {
  observeRequest(o: RequestObservation): void;
  inflight(kind: 'readOnly' | 'mutating', delta: number): void;
  watchers(info: ResourceInfo, delta: number): void;
  render(): Promise<{ body: string; contentType: string }>;
}

export interface OpenApiDocs {
  v2(): { json: string; etag: string };
  v2Protobuf(): { body: Buffer; etag: string };
  v3Index(): { json: string; etag: string };
  v3(path: string): { json: string; etag: string } | undefined;
}

export interface ApiServerOptions {
  host: string;
  port: number;
  tls: { key: string; cert: string; ca: string };
  authn: ServerAuthn;
  authz: ServerAuthz;
  handlers: HandlerDeps;
  openapi: OpenApiDocs;
  metrics?: ServerMetrics | undefined;
  /** Readiness checks beyond "the server answers" (e.g. storage reachable). */
  ready?: (() => Promise<void>) | undefined;
  /** Address published in /api's serverAddressByClientCIDRs. */
  advertiseAddress: string;
  version: VersionInfo;
  /** Largest accepted request body (upstream: 3 MiB). */
  maxBodyBytes?: number | undefined;
  /**
   * The CA bundle served without authentication at GET /cacerts (as k3s): agents fetch it before
   * they trust anything and check it against the hash in their join token.
   */
  cacerts?: string | undefined;
  /** pods/log, pods/exec, pods/attach, pods/portforward and nodes/proxy; 404 without it. */
  kubelet?: KubeletConnector | undefined;
}

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

const MAX_BODY = 3 * 1024 * 1024;
/**
 * Responses at least this large are gzipped for clients that accept it, as upstream's
 * APIResponseCompression does (same threshold; level 1, its speed-over-size choice).
 */
const GZIP_MIN_BYTES = 128 * 1024;

/** The API server's HTTPS listener. Build with `createApiServer`, then `start()`. */
export interface ApiServer {
  /** The node:https server (upgrade requests are handled on it too). */
  readonly listener: HttpsServer;
  /** The bound port after start() (the real one when started on port 0). */
  readonly port: number;
  /** Listens; rejects with the listen error (EADDRINUSE, EACCES). */
  start(): Promise<void>;
  /**
   * Stops accepting, ends idle keep-alive connections and watch streams at once, waits up to
   * `timeoutMs` (default 2000) for requests in flight, then drops what is left.
   */
  stop(opts?: { timeoutMs?: number | undefined }): Promise<void>;
}

/** One request as the router sees it. */
interface Req {
  method: string;
  path: string;
  /** The raw query string (after '?', '' when none). */
  rawQuery: string;
  query: Query;
  body: Buffer | undefined;
  raw: IncomingMessage;
  res: ServerResponse;
}

/**
 * Build (not start) the API server: node:https with one request handler. hapi served this before;
 * it was dropped because its per-request overhead alone was above the latency budget
 * (docs/architecture.md, "HTTP server").
 */
export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const sockets = new Set<Duplex>();
  /** Sockets that carry a watch (or another streamed response): ended at once on stop. */
  const streaming = new Set<Duplex>();
  const listener = createHttpsServer(
    {
      key: opts.tls.key,
      cert: opts.tls.cert,
      ca: opts.tls.ca,
      requestCert: true,
      rejectUnauthorized: false,
      // kubectl keeps connections alive across many calls; watches are long-lived.
      keepAliveTimeout: 120_000,
      headersTimeout: 125_000,
      requestTimeout: 0,
    },
    (req, res) => void serve(opts, req, res, streaming),
  );
  listener.on('connection', (socket: Duplex) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      streaming.delete(socket);
    });
  });
  // HTTP upgrades (SPDY/3.1 and WebSocket for exec, attach, port-forward, nodes/proxy) are
  // authenticated and authorized like any request, then spliced to the kubelet.
  listener.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void handleUpgrade(opts, req, socket, head);
  });
  let port = 0;
  let listening = false;
  return {
    listener,
    get port() {
      return port;
    },
    start: () =>
      new Promise<void>((resolve, reject) => {
        const onError = (e: Error) => reject(e);
        listener.once('error', onError);
        listener.listen(opts.port, opts.host, () => {
          listener.off('error', onError);
          listening = true;
          const addr = listener.address();
          port = typeof addr === 'object' && addr ? addr.port : opts.port;
          resolve();
        });
      }),
    stop: async (stopOpts = {}) => {
      if (!listening) return;
      listening = false;
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      listener.closeIdleConnections();
      for (const s of streaming) s.destroy();
      const timer = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, stopOpts.timeoutMs ?? 2000);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** Handles one request; never throws (every failure becomes a Status response). */
async function serve(
  opts: ApiServerOptions,
  raw: IncomingMessage,
  res: ServerResponse,
  streaming: Set<Duplex>,
): Promise<void> {
  const start = process.hrtime.bigint();
  const startMs = POD_TRACE ? traceNow() : 0;
  const method = (raw.method ?? 'GET').toUpperCase();
  const { path, rawQuery } = splitUrl(raw.url ?? '/');
  const query = (rawQuery === '' ? {} : parseQuerystring(rawQuery)) as Query;
  const watchParam = typeof query.watch === 'string' ? query.watch : undefined;
  const info = parseRequestInfo(method, path, { watchParam });
  const mutating = method !== 'GET' && method !== 'HEAD';
  opts.metrics?.inflight(mutating ? 'mutating' : 'readOnly', 1);
  let code = 500;
  try {
    if (path === '/cacerts' && opts.cacerts !== undefined && (method === 'GET' || method === 'HEAD')) {
      code = 200;
      send(raw, res, { code: 200, body: opts.cacerts, contentType: 'text/plain; charset=utf-8' });
      return;
    }
    const user = opts.authn.authenticate({ headers: raw.headers, socket: raw.socket });
    if (!user) throw unauthorized();
    const body = mutating ? await readBody(raw, opts.maxBodyBytes ?? MAX_BODY) : undefined;
    const request: Req = { method, path, rawQuery, query, body, raw, res };
    const out = await route({ opts, request, info, query, user });
    code = out.code;
    if (out.stream) {
      // Headers go out at once and every event is flushed as it is written.
      streaming.add(raw.socket);
      res.writeHead(out.code, {
        'content-type': out.contentType ?? 'application/json',
        'cache-control': 'no-cache, private',
        'transfer-encoding': 'chunked',
      });
      res.flushHeaders();
      out.stream.pipe(res);
      return;
    }
    if (typeof out.body === 'string' || Buffer.isBuffer(out.body)) {
      send(raw, res, {
        code: out.code,
        body: out.body,
        contentType: out.contentType ?? 'text/plain',
        headers: out.headers,
      });
    } else {
      const { payload, contentType } = encode(out.body, negotiateObject(header(raw, 'accept')).format);
      send(raw, res, {
        code: out.code,
        body: payload ?? '',
        contentType: out.contentType ?? contentType,
        headers: out.headers,
      });
    }
  } catch (e) {
    const err = toApiError(e);
    code = err.httpCode;
    if (err.httpCode === 500) console.error(`k8ts apiserver: ${method} ${path}:`, e);
    const { payload, contentType } = encode(err.toStatus(), negotiateObject(header(raw, 'accept')).format);
    // A body that was cut off (too large) cannot be read further: close the connection after this.
    send(raw, res, {
      code: err.httpCode,
      body: payload,
      contentType,
      headers: err.httpCode === 413 ? { connection: 'close' } : undefined,
    });
  } finally {
    opts.metrics?.inflight(mutating ? 'mutating' : 'readOnly', -1);
    if (POD_TRACE && info.type === 'resource' && info.resource === 'pods' && info.name && mutating) {
      const step = `api-${info.subresource ?? info.verb}`;
      podTrace(`${step}-start`, `${info.namespace}/${info.name}`, startMs);
      podTrace(`${step}-end`, `${info.namespace}/${info.name}`);
    }
    if (opts.metrics) {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const isRes = info.type === 'resource';
      opts.metrics.observeRequest({
        verb: isRes
          ? metricsVerb(info.verb, {
              apply: header(raw, 'content-type')?.startsWith('application/apply-patch') ?? false,
            })
          : method,
        group: isRes ? info.group : '',
        version: isRes ? info.version : '',
        resource: isRes ? info.resource : '',
        subresource: isRes ? (info.subresource ?? '') : '',
        scope: isRes
          ? info.name || info.verb === 'create'
            ? 'resource'
            : info.namespace
              ? 'namespace'
              : 'cluster'
          : '',
        code,
        dryRun: query.dryRun !== undefined,
        seconds,
      });
    }
  }
}

/**
 * The path (percent-escapes of unreserved characters decoded, one trailing slash dropped) and the
 * raw query of a request target. An absolute-form target (a proxy's) is reduced to its path.
 */
export function splitUrl(target: string): { path: string; rawQuery: string } {
  let t = target;
  if (t[0] !== '/') {
    try {
      const u = new URL(t);
      t = u.pathname + u.search;
    } catch {
      t = '/';
    }
  }
  const q = t.indexOf('?');
  let path = q === -1 ? t : t.slice(0, q);
  let rawQuery = q === -1 ? '' : t.slice(q + 1);
  const hash = rawQuery.indexOf('#');
  if (hash !== -1) rawQuery = rawQuery.slice(0, hash);
  else if (q === -1 && path.includes('#')) path = path.slice(0, path.indexOf('#'));
  if (path.includes('%')) path = path.replace(/%([0-9a-fA-F]{2})/g, normalizeEscape);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return { path, rawQuery };
}

function normalizeEscape(seq: string, hex: string): string {
  const c = String.fromCharCode(Number.parseInt(hex, 16));
  return /[A-Za-z0-9\-._~]/.test(c) ? c : seq.toUpperCase();
}

/** Reads the whole body; a 413 Status past `max` bytes (announced or sent). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const announced = Number(req.headers['content-length']);
  if (announced > max) return Promise.reject(tooLarge(max));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        req.pause();
        reject(tooLarge(max));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

function tooLarge(max: number): ApiError {
  return new ApiError(
    413,
    'RequestEntityTooLarge',
    `Payload content length greater than maximum allowed: ${max}`,
  );
}

interface Reply {
  code: number;
  body: string | Buffer;
  contentType: string;
  headers?: Record<string, string> | undefined;
}

/** Writes a whole response; gzipped when large and the client accepts gzip. */
function send(req: IncomingMessage, res: ServerResponse, r: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = {
    'content-type': r.contentType,
    'cache-control': 'no-cache, private',
    ...r.headers,
  };
  const size = typeof r.body === 'string' ? Buffer.byteLength(r.body) : r.body.length;
  if (size >= GZIP_MIN_BYTES && r.code !== 304 && acceptsGzip(req)) {
    gzip(r.body, { level: 1 }, (err, zipped) => {
      if (err || res.destroyed) {
        res.destroy();
        return;
      }
      headers['content-encoding'] = 'gzip';
      headers.vary = 'Accept-Encoding';
      headers['content-length'] = zipped.length;
      res.writeHead(r.code, headers);
      res.end(zipped);
    });
    return;
  }
  if (r.code !== 304) headers['content-length'] = size;
  res.writeHead(r.code, headers);
  res.end(r.code === 304 ? undefined : r.body);
}

function acceptsGzip(req: IncomingMessage): boolean {
  const v = header(req, 'accept-encoding');
  return v !== undefined && /(^|,)\s*gzip\s*(;\s*q=(?!0(\.0*)?\s*(,|$))[0-9.]+)?\s*(,|$)/i.test(v);
}

/** The verb a kubelet subresource is authorized as (exec/attach/portforward need create even on GET, as upstream since 1.31). */
function connectVerb(info: ResourceRequest): string {
  if (info.subresource && UPGRADE_ONLY_SUBRESOURCES.has(info.subresource)) return 'create';
  return info.verb === 'list' ? 'get' : info.verb;
}

function writeRawStatus(socket: Duplex, err: ApiError): void {
  const body = JSON.stringify(err.toStatus());
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${err.httpCode} ${err.reason}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

async function handleUpgrade(
  opts: ApiServerOptions,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  socket.on('error', () => socket.destroy());
  const start = process.hrtime.bigint();
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'https://apiserver');
  let code = 500;
  let observed: ResourceRequest | undefined;
  try {
    const user = opts.authn.authenticate({ headers: req.headers, socket: req.socket });
    if (!user) throw unauthorized();
    const info = parseRequestInfo(method, url.pathname, {});
    if (
      info.type !== 'resource' ||
      !info.name ||
      !info.subresource ||
      !KUBELET_SUBRESOURCES.has(info.subresource) ||
      info.subresource === 'log'
    )
      throw new ApiError(400, 'BadRequest', `upgrade is not supported on ${url.pathname}`);
    const res = resourceForPlural(info.group, info.version, info.resource);
    if (!res?.subresources.includes(info.subresource) || res?.namespaced !== (info.namespace !== undefined))
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    const attrs = {
      user,
      verb: connectVerb(info),
      apiGroup: info.group,
      resource: info.resource,
      subresource: info.subresource,
      namespace: info.namespace,
      name: info.name,
      resourceRequest: true,
    };
    const decision = opts.authz.authorize(attrs);
    if (!decision.allowed)
      throw forbidden(forbiddenMessage(attrs, decision.reason), {
        kind: info.resource,
        group: info.group,
        name: info.name,
      });
    if (!opts.kubelet)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    observed = info;
    code = await opts.kubelet.upgrade({ req: info, query: url.searchParams, raw: req, socket, head });
  } catch (e) {
    const err = toApiError(e);
    code = err.httpCode;
    if (err.httpCode === 500) console.error(`k8ts apiserver: upgrade ${method} ${url.pathname}:`, e);
    writeRawStatus(socket, err);
  } finally {
    // Upstream counts streaming requests under the verb CONNECT; the time is to the kubelet's answer.
    opts.metrics?.observeRequest({
      verb: 'CONNECT',
      group: observed?.group ?? '',
      version: observed?.version ?? '',
      resource: observed?.resource ?? '',
      subresource: observed?.subresource ?? '',
      scope: observed ? 'resource' : '',
      code,
      dryRun: false,
      seconds: Number(process.hrtime.bigint() - start) / 1e9,
    });
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

interface RouteInput {
  opts: ApiServerOptions;
  request: Req;
  info: RequestInfo;
  query: Query;
  user: UserInfo;
}

async function route(r: RouteInput): Promise<HandlerResult> {
  const { opts, request, info, query, user } = r;
  if (info.type === 'nonresource') {
    const decision = opts.authz.authorize({
      user,
      verb: info.verb,
      apiGroup: '',
      resource: '',
      path: info.path,
      resourceRequest: false,
    });
    if (!decision.allowed)
      throw forbidden(
        forbiddenMessage(
          { user, verb: info.verb, apiGroup: '', resource: '', path: info.path, resourceRequest: false },
          decision.reason,
        ),
      );
    return nonResource(r);
  }
  const res = resourceForPlural(info.group, info.version, info.resource);
  if (!res) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
  if (!res.namespaced && info.namespace !== undefined)
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
  if (info.subresource !== undefined && !res.subresources.includes(info.subresource))
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
  const decision = opts.authz.authorize({
    user,
    verb: info.verb,
    apiGroup: info.group,
    resource: info.resource,
    subresource: info.subresource,
    namespace: info.namespace,
    name: info.name,
    resourceRequest: true,
  });
  if (!decision.allowed) {
    const attrs = {
      user,
      verb: info.verb,
      apiGroup: info.group,
      resource: info.resource,
      subresource: info.subresource,
      namespace: info.namespace,
      name: info.name,
      resourceRequest: true,
    };
    throw forbidden(forbiddenMessage(attrs, decision.reason), {
      kind: info.resource,
      group: info.group,
      ...(info.name ? { name: info.name } : {}),
    });
  }
  if (info.subresource && KUBELET_SUBRESOURCES.has(info.subresource)) {
    if (!opts.kubelet || !info.name)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    return opts.kubelet.request({
      req: info,
      method: request.method,
      query: new URLSearchParams(request.rawQuery),
      headers: request.raw.headers,
      body: request.body,
      onClose: (fn) => request.res.once('close', fn),
    });
  }
  const input: HandlerInput = {
    req: info,
    info: res,
    query,
    body: request.body,
    contentType: header(request.raw, 'content-type'),
    negotiated: negotiateObject(header(request.raw, 'accept')),
    userAgent: header(request.raw, 'user-agent'),
    user,
    onClose: (fn) => {
      request.raw.once('close', fn);
      request.res.once('close', fn);
    },
  };
  const deps = opts.handlers;
  switch (info.verb) {
    case 'get':
      return handleGet(input, deps);
    case 'list':
      return handleList(input, deps);
    case 'watch':
      return handleWatch(input, deps);
    case 'create':
      return handleCreate(input, deps);
    case 'update':
      return handleUpdate(input, deps);
    case 'patch':
      return handlePatch(input, deps);
    case 'delete':
      return handleDelete(input, deps);
    case 'deletecollection':
      return handleDeleteCollection(input, deps);
  }
}

async function nonResource(r: RouteInput): Promise<HandlerResult> {
  const { opts, request, info } = r;
  const path = info.type === 'nonresource' ? info.path.replace(/\/+$/, '') || '/' : '/';
  const accept = parseAccept(header(request.raw, 'accept'));
  const wantsAggregated = (): 'v2' | 'v2beta1' | undefined => {
    for (const m of accept) {
      if (m.params.as === 'APIGroupDiscoveryList' && m.params.g === 'apidiscovery.k8s.io') {
        if (m.params.v === 'v2' || m.params.v === 'v2beta1') return m.params.v;
      }
      if (m.type === 'application/json' && !m.params.as) return undefined;
    }
    return undefined;
  };
  switch (path) {
    case '/healthz':
    case '/livez':
    case '/readyz':
    case '/healthz/ping':
    case '/livez/ping':
    case '/readyz/ping': {
      if (path.startsWith('/readyz') && opts.ready) {
        try {
          await opts.ready();
        } catch (e) {
          return {
            code: 500,
            body: `[-]storage failed: ${(e as Error).message}\nreadyz check failed`,
            contentType: 'text/plain',
          };
        }
      }
      if (request.query.verbose !== undefined)
        return {
          code: 200,
          body: `[+]ping ok\n[+]storage ok\n${path.slice(1)} check passed\n`,
          contentType: 'text/plain',
        };
      return { code: 200, body: 'ok', contentType: 'text/plain' };
    }
    case '/version':
      return { code: 200, body: opts.version };
    case '/metrics': {
      if (!opts.metrics) throw notFound({ plural: 'metrics', group: '' }, 'metrics');
      const m = await opts.metrics.render();
      return { code: 200, body: m.body, contentType: m.contentType };
    }
    case '/api': {
      const v = wantsAggregated();
      if (v) return { code: 200, body: aggregatedDiscovery('api', v), contentType: aggregatedContentType(v) };
      return { code: 200, body: apiVersions(opts.advertiseAddress) };
    }
    case '/apis': {
      const v = wantsAggregated();
      if (v)
        return { code: 200, body: aggregatedDiscovery('apis', v), contentType: aggregatedContentType(v) };
      return { code: 200, body: apiGroupList() };
    }
    case '/openapi/v2': {
      // kubectl asks for gnostic protobuf first; JSON for everyone else.
      for (const m of accept) {
        if (isOpenApiV2ProtobufType(m.type)) {
          const d = opts.openapi.v2Protobuf();
          return {
            code: 200,
            body: d.body,
            contentType: OPENAPI_V2_PROTOBUF_CONTENT_TYPE,
            headers: { etag: `"${d.etag}"`, vary: 'Accept' },
          };
        }
        if (m.type === 'application/json' || m.type === '*/*' || m.type === 'application/*') {
          const d = opts.openapi.v2();
          return {
            code: 200,
            body: d.json,
            contentType: 'application/json',
            headers: { etag: `"${d.etag}"`, vary: 'Accept' },
          };
        }
      }
      throw new ApiError(
        406,
        'NotAcceptable',
        'only application/json and gnostic protobuf are served for /openapi/v2',
      );
    }
    case '/openapi/v3': {
      const d = opts.openapi.v3Index();
      return { code: 200, body: d.json, contentType: 'application/json' };
    }
    default:
      break;
  }
  if (path.startsWith('/openapi/v3/')) {
    const d = opts.openapi.v3(path.slice('/openapi/v3/'.length));
    if (!d) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    // As kube-openapi: the index links each document with ?hash=<etag>; a request with the current
    // hash may be cached forever (kubectl keeps them on disk), and a matching If-None-Match is a 304.
    const etag = `"${d.etag}"`;
    const hash = request.query.hash;
    const headers: Record<string, string> = { etag, vary: 'Accept' };
    if (hash === d.etag) headers['cache-control'] = 'public, immutable';
    else headers['cache-control'] = 'no-cache, private';
    if (header(request.raw, 'if-none-match') === etag)
      return { code: 304, body: '', contentType: 'application/json', headers };
    return { code: 200, body: d.json, contentType: 'application/json', headers };
  }
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'api' && parts.length === 2) {
    const doc = apiResourceList('', parts[1]!);
    if (doc) return { code: 200, body: doc };
  }
  if (parts[0] === 'apis' && parts.length === 2) {
    const doc = apiGroup(parts[1]!);
    if (doc) return { code: 200, body: doc };
  }
  if (parts[0] === 'apis' && parts.length === 3) {
    const doc = apiResourceList(parts[1]!, parts[2]!);
    if (doc) return { code: 200, body: doc };
  }
  if (path === '/') {
    return {
      code: 200,
      body: {
        paths: [
          '/api',
          '/api/v1',
          '/apis',
          '/healthz',
          '/livez',
          '/metrics',
          '/openapi/v2',
          '/openapi/v3',
          '/readyz',
          '/version',
        ],
      },
    };
  }
  throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}
