/**
 * The API server's connection to kubelets: pods/log, pods/exec, pods/attach, pods/portforward and
 * nodes/proxy. It finds the pod's node, the node's address (InternalIP first, then Hostname, ...)
 * and kubelet port (status.daemonEndpoints.kubeletEndpoint.Port), and forwards the request over
 * HTTPS with the API server's kubelet client certificate, verifying the kubelet against the cluster
 * CA. Upgrades (SPDY/3.1 and WebSocket) are passed through byte for byte after the kubelet's
 * `101 Switching Protocols`, as upstream's UpgradeAwareHandler does, so whatever protocol kubectl
 * and the kubelet agree on works without the API server speaking it.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { PassThrough } from 'node:stream';
import { resourceForPlural } from '../api/resources.js';
import { ApiError, badRequest } from './errors.js';
import type { HandlerResult } from './handlers.js';
import type { Registry } from './registry.js';
import type { ResourceRequest } from './request-info.js';

const PODS = resourceForPlural('', 'v1', 'pods')!;
const NODES = resourceForPlural('', 'v1', 'nodes')!;
const DEFAULT_KUBELET_PORT = 10250;
/** Address types tried in order to reach a kubelet. */
export const KUBELET_ADDRESS_TYPES = ['InternalIP', 'Hostname', 'InternalDNS', 'ExternalIP', 'ExternalDNS'];
/** Subresources served by a kubelet; the first four need an upgrade except pods/log. */
export const KUBELET_SUBRESOURCES = new Set(['log', 'exec', 'attach', 'portforward', 'proxy']);
export const UPGRADE_ONLY_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);
/** Request headers never forwarded to a kubelet (credentials of the caller, hop-by-hop). */
const DROPPED_HEADERS = new Set([
  'authorization',
  'host',
  'proxy-authorization',
  'keep-alive',
  'te',
  'trailer',
]);
const MAX_ERROR_BODY = 64 * 1024;

export interface KubeletLocation {
  host: string;
  port: number;
  /** Path and query on the kubelet. */
  path: string;
}

export interface KubeletRequest {
  req: ResourceRequest;
  method: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body?: Buffer | undefined;
  /** Registers a callback for the client going away. */
  onClose(fn: () => void): void;
}

export interface KubeletUpgrade {
  req: ResourceRequest;
  query: URLSearchParams;
  raw: IncomingMessage;
  socket: Duplex;
  head: Buffer;
}

/** What the API server's router needs from the kubelet proxy. */
export interface KubeletConnector {
  request(r: KubeletRequest): Promise<HandlerResult>;
  /** Resolves with the kubelet's status code (101 when upgraded) once the answer is relayed. */
  upgrade(u: KubeletUpgrade): Promise<number>;
}

export interface KubeletProxyOptions {
  registry: Registry;
  /** The API server's kubelet client certificate and key, and the CA kubelet serving certificates chain to. */
  tls: { cert: string; key: string; ca: string };
}

interface KObjLike {
  metadata: { name?: string; namespace?: string; uid?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1';
}

/** Upstream's container choice: the named one, or the only one. */
export function chooseContainer(pod: KObjLike, requested: string | null): string {
  const name = pod.metadata.name ?? '';
  const spec = (pod.spec ?? {}) as {
    containers?: { name: string }[];
    initContainers?: { name: string }[];
    ephemeralContainers?: { name: string }[];
  };
  const containers = (spec.containers ?? []).map((c) => c.name);
  const inits = (spec.initContainers ?? []).map((c) => c.name);
  const ephemeral = (spec.ephemeralContainers ?? []).map((c) => c.name);
  if (requested) {
    if (![...containers, ...inits, ...ephemeral].includes(requested))
      throw badRequest(`container ${requested} is not valid for pod ${name}`);
    return requested;
  }
  if (containers.length === 1) return containers[0]!;
  if (containers.length === 0) throw badRequest(`pod ${name} does not have a container`);
  let msg = `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`;
  if (inits.length) msg += ` or one of the init containers: [${inits.join(' ')}]`;
  if (ephemeral.length) msg += ` or one of the ephemeral containers: [${ephemeral.join(' ')}]`;
  throw badRequest(msg);
}

/** The address and port of a node's kubelet. */
export function kubeletEndpoint(node: KObjLike): { host: string; port: number } {
  const status = (node.status ?? {}) as {
    addresses?: { type: string; address: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
  const addrs = status.addresses ?? [];
  for (const t of KUBELET_ADDRESS_TYPES) {
    const a = addrs.find((x) => x.type === t && x.address);
    if (a)
      return { host: a.address, port: status.daemonEndpoints?.kubeletEndpoint?.Port || DEFAULT_KUBELET_PORT };
  }
  throw new ApiError(
    503,
    'ServiceUnavailable',
    `no preferred addresses found; known addresses: [${addrs.map((a) => `{${a.type} ${a.address}}`).join(' ')}]`,
  );
}

/** The kubelet query of a pods/exec or pods/attach request. */
export function streamQuery(q: URLSearchParams, opts: { command: boolean }): URLSearchParams {
  const out = new URLSearchParams();
  if (opts.command) for (const c of q.getAll('command')) out.append('command', c);
  // PodExecOptions / PodAttachOptions default stdout and stderr to true.
  const stdin = isTrue(q.get('stdin'));
  const stdout = q.has('stdout') ? isTrue(q.get('stdout')) : true;
  const stderr = q.has('stderr') ? isTrue(q.get('stderr')) : true;
  const tty = isTrue(q.get('tty'));
  if (!stdin && !stdout && !stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (opts.command && out.getAll('command').length === 0)
    throw badRequest('you must specify at least one command for the container');
  if (stdin) out.set('input', '1');
  if (stdout) out.set('output', '1');
  if (stderr) out.set('error', '1');
  if (tty) out.set('tty', '1');
  return out;
}

const LOG_PARAMS = [
  'follow',
  'previous',
  'timestamps',
  'sinceSeconds',
  'sinceTime',
  'tailLines',
  'limitBytes',
];

function enc(s: string): string {
  return encodeURIComponent(s);
}

export class KubeletProxy implements KubeletConnector {
  readonly #opts: KubeletProxyOptions;

  constructor(opts: KubeletProxyOptions) {
    this.#opts = opts;
  }

  /** Where on which kubelet a request goes; undefined for the logs of a pod without a node. */
  async locate(req: ResourceRequest, query: URLSearchParams): Promise<KubeletLocation | undefined> {
    const name = req.name ?? '';
    if (req.resource === 'nodes' && req.subresource === 'proxy') {
      const node = (await this.#opts.registry.get(NODES, undefined, name)) as KObjLike;
      const ep = kubeletEndpoint(node);
      const qs = query.toString();
      return { ...ep, path: `/${req.subpath ?? ''}${qs ? `?${qs}` : ''}` };
    }
    const pod = (await this.#opts.registry.get(PODS, req.namespace, name)) as KObjLike;
    const ns = req.namespace ?? 'default';
    const sub = req.subresource;
    let path: string;
    let qs: URLSearchParams;
    if (sub === 'portforward') {
      path = `/portForward/${enc(ns)}/${enc(name)}`;
      qs = new URLSearchParams();
      for (const p of query.getAll('ports')) qs.append('port', p);
    } else {
      const container = chooseContainer(pod, query.get('container'));
      if (sub === 'log') {
        path = `/containerLogs/${enc(ns)}/${enc(name)}/${enc(container)}`;
        qs = new URLSearchParams();
        for (const p of LOG_PARAMS) {
          const v = query.get(p);
          if (v !== null && v !== '') qs.set(p, v);
        }
      } else {
        path = `/${sub}/${enc(ns)}/${enc(name)}/${enc(container)}`;
        qs = streamQuery(query, { command: sub === 'exec' });
      }
    }
    const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    if (!nodeName) {
      // Upstream: the logs of an unscheduled pod are empty; the streams are a 400.
      if (sub === 'log') return undefined;
      throw badRequest(`pod ${name} does not have a host assigned`);
    }
    const node = (await this.#opts.registry.get(NODES, undefined, nodeName)) as KObjLike;
    const ep = kubeletEndpoint(node);
    const s = qs.toString();
    return { ...ep, path: `${path}${s ? `?${s}` : ''}` };
  }

  #tlsOptions(host: string): https.RequestOptions {
    return {
      cert: this.#opts.tls.cert,
      key: this.#opts.tls.key,
      ca: this.#opts.tls.ca,
      ...(isIP(host) ? {} : { servername: host }),
      agent: false,
    };
  }

  /** pods/log and nodes/proxy without an upgrade. */
  async request(r: KubeletRequest): Promise<HandlerResult> {
    if (r.req.subresource && UPGRADE_ONLY_SUBRESOURCES.has(r.req.subresource))
      throw badRequest('Upgrade request required');
    const loc = await this.locate(r.req, r.query);
    if (!loc) return { code: 200, body: '', contentType: 'text/plain' };
    const headers = forwardHeaders(r.headers, loc);
    delete headers.connection;
    delete headers.upgrade;
    if (r.body?.length) headers['content-length'] = String(r.body.length);
    const upstreamReq = https.request({
      ...this.#tlsOptions(loc.host),
      host: loc.host,
      port: loc.port,
      method: r.method,
      path: loc.path,
      headers,
    });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      upstreamReq.once('response', resolve);
      upstreamReq.once('error', (e) => reject(dialError(loc, e)));
      upstreamReq.end(r.body?.length ? r.body : undefined);
    });
    const code = res.statusCode ?? 502;
    if (r.req.subresource === 'log' && code !== 200) throw await errorFromKubelet(res, code);
    const out = new PassThrough();
    res.pipe(out);
    res.once('error', () => out.destroy());
    r.onClose(() => {
      upstreamReq.destroy();
      res.destroy();
    });
    return { code, stream: out, contentType: String(res.headers['content-type'] ?? 'text/plain') };
  }

  /** exec, attach, portforward and nodes/proxy with an upgrade: relay the kubelet's answer, then splice. */
  async upgrade(u: KubeletUpgrade): Promise<number> {
    const loc = await this.locate(u.req, u.query);
    if (!loc) throw badRequest(`pod ${u.req.name} does not have a host assigned`);
    const client = u.socket;
    const upstreamReq = https.request({
      ...this.#tlsOptions(loc.host),
      host: loc.host,
      port: loc.port,
      method: u.raw.method ?? 'GET',
      path: loc.path,
      headers: forwardHeaders(u.raw.headers, loc),
    });
    return new Promise<number>((resolve, reject) => {
      upstreamReq.once('upgrade', (res: IncomingMessage, kubelet: Duplex, kubeletHead: Buffer) => {
        client.write(responseHead(res));
        if (kubeletHead.length) client.write(kubeletHead);
        if (u.head.length) kubelet.write(u.head);
        kubelet.pipe(client);
        client.pipe(kubelet);
        const kill = () => {
          kubelet.destroy();
          client.destroy();
        };
        kubelet.once('error', kill);
        client.once('error', kill);
        kubelet.once('close', () => client.end());
        client.once('close', () => kubelet.destroy());
        resolve(res.statusCode ?? 101);
      });
      upstreamReq.once('response', (res: IncomingMessage) => {
        // The kubelet refused the upgrade: hand its answer to the client, which may fall back
        // (kubectl retries exec over SPDY when the WebSocket upgrade fails).
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_ERROR_BODY) chunks.push(c);
        });
        res.once('end', () => {
          const body = Buffer.concat(chunks);
          const skip = new Set(['transfer-encoding', 'connection', 'content-length', 'keep-alive']);
          let head = `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n`;
          for (let i = 0; i < res.rawHeaders.length; i += 2)
            if (!skip.has(res.rawHeaders[i]!.toLowerCase()))
              head += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
          head += `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
          client.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
          resolve(res.statusCode ?? 502);
        });
        res.once('error', (e) => reject(dialError(loc, e)));
      });
      upstreamReq.once('error', (e) => reject(dialError(loc, e)));
      client.once('close', () => upstreamReq.destroy());
      upstreamReq.end();
    });
  }
}

function forwardHeaders(h: IncomingHttpHeaders, loc: KubeletLocation): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || DROPPED_HEADERS.has(k) || k.startsWith('impersonate-')) continue;
    out[k] = v;
  }
  out.host = `${loc.host.includes(':') ? `[${loc.host}]` : loc.host}:${loc.port}`;
  return out;
}

function responseHead(res: IncomingMessage): string {
  let head = `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? 'Switching Protocols'}\r\n`;
  for (let i = 0; i < res.rawHeaders.length; i += 2)
    head += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
  return `${head}\r\n`;
}

function dialError(loc: KubeletLocation, e: Error): ApiError {
  return new ApiError(
    503,
    'ServiceUnavailable',
    `error dialing backend: ${loc.host}:${loc.port}: ${e.message}`,
  );
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/** A kubelet error answer as an ApiError (its Status when it sent one). */
async function errorFromKubelet(res: IncomingMessage, code: number): Promise<ApiError> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_ERROR_BODY) break;
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const s = JSON.parse(text) as { kind?: string; message?: string; reason?: string; code?: number };
    if (s.kind === 'Status' && s.message)
      return new ApiError(s.code ?? code, s.reason ?? REASONS[code] ?? 'InternalError', s.message);
  } catch {
    // not JSON: use the text
  }
  return new ApiError(code, REASONS[code] ?? 'InternalError', text.trim() || `kubelet answered ${code}`);
}
