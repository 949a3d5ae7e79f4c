/**
 * The HTTPS front of the API server on hapi: authentication, routing of resource and non-resource
 * paths, authorization, metrics, and Status errors. Resource verbs live in handlers.ts; this file
 * only decides which one runs and encodes the answer.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Hapi from '@hapi/hapi';
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

/** Build (not start) the hapi server. */
export async function createApiServer(opts: ApiServerOptions): Promise<Hapi.Server> {
  const server = Hapi.server({
    host: opts.host,
    port: opts.port,
    tls: {
      key: opts.tls.key,
      cert: opts.tls.cert,
      ca: opts.tls.ca,
      requestCert: true,
      rejectUnauthorized: false,
    },
    routes: { timeout: { server: false, socket: false }, payload: { timeout: false } },
    router: { stripTrailingSlash: true },
    // kubectl keeps connections alive across many calls; watches are long-lived.
    load: { sampleInterval: 0 },
  });
  server.listener.keepAliveTimeout = 120_000;
  server.listener.headersTimeout = 125_000;
  server.listener.requestTimeout = 0;

  server.route({
    method: '*',
    path: '/{path*}',
    options: {
      payload: {
        output: 'data',
        parse: false,
        maxBytes: opts.maxBodyBytes ?? MAX_BODY,
        failAction: async (_req, h, err) =>
          respondError(h, new ApiError(413, 'RequestEntityTooLarge', (err as Error).message)),
      },
      // The default hapi 404/405 machinery never runs: every path lands here.
    },
    handler: async (request, h) => {
      const start = process.hrtime.bigint();
      const startMs = POD_TRACE ? traceNow() : 0;
      const method = request.method.toUpperCase();
      const path = request.path;
      const query = request.query as Query;
      const watchParam = typeof query.watch === 'string' ? query.watch : undefined;
      const info = parseRequestInfo(method, path, { watchParam });
      const mutating = method !== 'GET' && method !== 'HEAD';
      opts.metrics?.inflight(mutating ? 'mutating' : 'readOnly', 1);
      let code = 500;
      let resource: ResourceInfo | undefined;
      try {
        if (path === '/cacerts' && opts.cacerts !== undefined && (method === 'GET' || method === 'HEAD')) {
          code = 200;
          return h.response(opts.cacerts).code(200).type('text/plain; charset=utf-8');
        }
        const user = opts.authn.authenticate({
          headers: request.raw.req.headers,
          socket: request.raw.req.socket,
        });
        if (!user) throw unauthorized();
        const res = await route({ opts, request, info, query, user, setResource: (r) => (resource = r) });
        code = res.code;
        if (res.stream) {
          // Watches bypass hapi's response pipeline so that headers go out at once and every event
          // is flushed as it is written.
          const raw = request.raw.res;
          raw.writeHead(res.code, {
            'content-type': res.contentType ?? 'application/json',
            'cache-control': 'no-cache, private',
            'transfer-encoding': 'chunked',
          });
          raw.flushHeaders();
          res.stream.pipe(raw);
          return h.abandon;
        }
        let resp: Hapi.ResponseObject;
        if (typeof res.body === 'string' || Buffer.isBuffer(res.body)) {
          resp = h
            .response(res.body)
            .code(res.code)
            .type(res.contentType ?? 'text/plain');
        } else {
          const { payload, contentType } = encode(res.body, negotiateObject(hdr(request, 'accept')).format);
          resp = h
            .response(payload)
            .code(res.code)
            .type(res.contentType ?? contentType);
        }
        for (const [k, v] of Object.entries(res.headers ?? {})) resp.header(k, v);
        return resp;
      } catch (e) {
        const err = toApiError(e);
        code = err.httpCode;
        if (err.httpCode === 500) console.error(`k8ts apiserver: ${method} ${path}:`, e);
        return respondError(h, err, hdr(request, 'accept'));
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
                  apply: hdr(request, 'content-type')?.startsWith('application/apply-patch') ?? false,
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
        void resource;
      }
    },
  });
  // HTTP upgrades (SPDY/3.1 and WebSocket for exec, attach, port-forward, nodes/proxy) never reach
  // hapi: they are authenticated and authorized here like any request, then spliced to the kubelet.
  server.listener.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void handleUpgrade(opts, req, socket, head);
  });
  return server;
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

function hdr(request: Hapi.Request, name: string): string | undefined {
  const v = request.raw.req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function respondError(h: Hapi.ResponseToolkit, err: ApiError, accept?: string) {
  const { payload, contentType } = encode(err.toStatus(), negotiateObject(accept).format);
  return h.response(payload).code(err.httpCode).type(contentType).takeover();
}

interface RouteInput {
  opts: ApiServerOptions;
  request: Hapi.Request;
  info: RequestInfo;
  query: Query;
  user: UserInfo;
  setResource(r: ResourceInfo): void;
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
  r.setResource(res);
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
      method: request.method.toUpperCase(),
      query: request.url.searchParams,
      headers: request.raw.req.headers,
      body: request.payload as Buffer | undefined,
      onClose: (fn) => request.raw.res.once('close', fn),
    });
  }
  const input: HandlerInput = {
    req: info,
    info: res,
    query,
    body: request.payload as Buffer | undefined,
    contentType: hdr(request, 'content-type'),
    negotiated: negotiateObject(hdr(request, 'accept')),
    userAgent: hdr(request, 'user-agent'),
    user,
    onClose: (fn) => {
      request.raw.req.once('close', fn);
      request.raw.res.once('close', fn);
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
  const accept = parseAccept(hdr(request, 'accept'));
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
    const hash = (request.query as Record<string, unknown>).hash;
    const headers: Record<string, string> = { etag, vary: 'Accept' };
    if (hash === d.etag) headers['cache-control'] = 'public, immutable';
    else headers['cache-control'] = 'no-cache, private';
    if (hdr(request, 'if-none-match') === etag)
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
