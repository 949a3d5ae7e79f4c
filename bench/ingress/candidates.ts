/**
 * The data-path candidates the bench compares with the default (hand-written) engine, each
 * behind the same ProxyEngine interface and the same routing/balancing (route-policy.ts,
 * Balancer): (a) node:http server + undici Pool per endpoint, (b) http-proxy-3 and http-proxy
 * on a node:http server with a keep-alive Agent. Enough of a proxy for the bench (route, round
 * robin, forwarded headers, 502/503); the features live only in the default engine.
 */
import http from 'node:http';
import type net from 'node:net';
import HttpProxy from 'http-proxy';
import { createProxyServer as createProxy3 } from 'http-proxy-3';
import { Pool } from 'undici';
import type { EngineContext, ProxyEngine } from '../../src/ingress/proxy/engine.js';
import { decide, plainIp } from '../../src/ingress/proxy/route-policy.js';
import type { RouteTable, UpstreamEndpoint } from '../../src/ingress/route-table.js';

type Forward = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  e: UpstreamEndpoint,
  target: string,
  headers: Record<string, string>,
) => void;

/** A node:http server fed the sockets the data plane accepts; `forward` moves the request. */
class NodeHttpEngine implements ProxyEngine {
  private readonly server: http.Server;
  private readonly ctx: EngineContext;
  private readonly onClose: () => Promise<void>;

  constructor(ctx: EngineContext, forward: Forward, onClose: () => Promise<void>) {
    this.ctx = ctx;
    this.onClose = onClose;
    this.server = http.createServer({ keepAliveTimeout: 75_000 }, (req, res) => {
      const secure = 'encrypted' in req.socket;
      const remoteIp = plainIp(req.socket.remoteAddress);
      const d = decide(
        this.ctx.table,
        {
          method: req.method ?? 'GET',
          target: req.url ?? '/',
          hostHeader: req.headers.host ?? '',
          contentLength: Number(req.headers['content-length'] ?? -1),
          header: (l) => {
            const v = req.headers[l];
            return Array.isArray(v) ? v.join(', ') : v;
          },
          remoteIp,
          secure,
        },
        { httpsPort: this.ctx.httpsPort, random: this.ctx.random },
      );
      if (d.kind === 'local') {
        res.writeHead(d.status, d.location ? { location: d.location } : {});
        res.end(d.reason);
        return;
      }
      const e = this.ctx.balancer.pick(d.backend, d.route.options.loadBalance);
      if (!e) {
        res.writeHead(503).end();
        return;
      }
      const proto = secure ? 'https' : 'http';
      forward(req, res, e, d.target, {
        'x-real-ip': remoteIp,
        'x-forwarded-for': remoteIp,
        'x-forwarded-host': req.headers.host ?? '',
        'x-forwarded-port': String(req.socket.localPort),
        'x-forwarded-proto': proto,
        'x-scheme': proto,
      });
    });
  }

  accept(socket: net.Socket): void {
    this.server.emit('connection', socket);
  }

  tableChanged(_table: RouteTable): void {}

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await this.onClose();
  }
}

/** (a) node:http + undici Pool per endpoint (pools kept across tables). */
export function undiciEngine(ctx: EngineContext): ProxyEngine {
  const pools = new Map<string, Pool>();
  return new NodeHttpEngine(
    ctx,
    (req, res, e, target, extra) => {
      const key = `${e.ip}:${e.port}`;
      let pool = pools.get(key);
      if (!pool) {
        pool = new Pool(`http://${key}`, { connections: 256, pipelining: 1 });
        pools.set(key, pool);
      }
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined && k !== 'connection' && k !== 'keep-alive') headers[k] = v;
      Object.assign(headers, extra);
      const hasBody =
        req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
      pool.request(
        { path: target, method: req.method as 'GET', headers, body: hasBody ? req : null },
        (err, data) => {
          if (err) {
            res.writeHead(502).end(String(err));
            return;
          }
          const out: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(data.headers))
            if (v !== undefined && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding')
              out[k] = v;
          res.writeHead(data.statusCode, out);
          data.body.pipe(res);
        },
      );
    },
    async () => {
      await Promise.all([...pools.values()].map((p) => p.close()));
    },
  );
}

interface WebProxy {
  web(req: http.IncomingMessage, res: http.ServerResponse, options: { target: string }): void;
  on(event: 'error', cb: (err: Error, req: unknown, res: unknown) => void): unknown;
}

/** An http-proxy-shaped library on a node:http server, with a keep-alive Agent. */
function webProxyEngine(ctx: EngineContext, make: (agent: http.Agent) => WebProxy): ProxyEngine {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const proxy = make(agent);
  proxy.on('error', (_err, _req, res) => {
    if (res && typeof res === 'object' && 'writeHead' in res && !(res as http.ServerResponse).headersSent)
      (res as http.ServerResponse).writeHead(502).end();
  });
  return new NodeHttpEngine(
    ctx,
    (req, res, e, target, extra) => {
      req.url = target;
      Object.assign(req.headers, extra);
      proxy.web(req, res, { target: `http://${e.ip}:${e.port}` });
    },
    async () => {
      agent.destroy();
    },
  );
}

/** (b) http-proxy-3 (the maintained drop-in of http-proxy). */
export const httpProxy3Engine = (ctx: EngineContext): ProxyEngine =>
  webProxyEngine(ctx, (agent) => createProxy3({ agent, xfwd: false }) as unknown as WebProxy);

/** (b') http-proxy (the one on the design card; unmaintained since 2020). */
export const httpProxyEngine = (ctx: EngineContext): ProxyEngine =>
  webProxyEngine(ctx, (agent) => HttpProxy.createProxyServer({ agent, xfwd: false }) as unknown as WebProxy);
