/**
 * The ingress data plane: HTTP and HTTPS listeners serving from the last RouteTable the
 * controller handed over (`update`). The listeners are owned here; each accepted connection
 * goes to the engine (the hand-written HTTP/1.1 path by default, see proxy/raw-engine.ts; other
 * engines are plugged in by the bench to compare candidates). State that outlives a table swap
 * (upstream keep-alive pools, balancer cursors and EWMA, TLS contexts) lives here and in the
 * engine, keyed by stable keys, never in the table.
 */
import net from 'node:net';
import type { Writable } from 'node:stream';
import tls from 'node:tls';
import { Registry } from 'prom-client';
import { IngressListenError } from './errors.js';
import { AccessLog } from './proxy/access-log.js';
import { Balancer } from './proxy/balancer.js';
import type { EngineContext, ProxyEngine } from './proxy/engine.js';
import { IngressMetrics } from './proxy/metrics.js';
import { RawEngine } from './proxy/raw-engine.js';
import { fakeCertificate, TlsContexts } from './proxy/tls-contexts.js';
import type { DataPlane, RouteTable, TlsCertificate } from './route-table.js';

export interface IngressDataPlaneOptions {
  /** Address both listeners bind (default `0.0.0.0`). */
  host?: string | undefined;
  /** HTTP port (default 80; 0 = any free port, read it back from `httpPort`). */
  httpPort?: number | undefined;
  /** HTTPS port (default 443; 0 = any free port, read it back from `httpsPort`). */
  httpsPort?: number | undefined;
  /**
   * The HTTPS port written in HTTP->HTTPS redirects (default: the bound HTTPS port; set 443
   * when a LoadBalancer maps 443 to a high port).
   */
  redirectHttpsPort?: number | undefined;
  /** Where access log lines go (ingress-nginx's upstreaminfo format); false = off (default). */
  accessLog?: Writable | false | undefined;
  /** The first table (until `update`); without one every request is answered 404. */
  table?: RouteTable | undefined;
  /** The default certificate (when no Secret matches the SNI); generated when absent. */
  defaultCertificate?: { certPem: string; keyPem: string } | undefined;
  /** A registry to register the metrics in (default: a new one, returned as `metrics`). */
  registry?: Registry | undefined;
  /** A Secret whose PEM cannot be loaded: the default certificate is served for its hosts. */
  onCertificateError?: ((cert: TlsCertificate, err: Error) => void) | undefined;
  /** The engine (default: the hand-written HTTP/1.1 path); the bench plugs in candidates. */
  engine?: ((ctx: EngineContext) => ProxyEngine) | undefined;
}

export interface IngressDataPlane extends DataPlane {
  /** The bound HTTP port. */
  readonly httpPort: number;
  /** The bound HTTPS port. */
  readonly httpsPort: number;
  /** nginx_ingress_controller_* metrics. */
  readonly metrics: Registry;
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(new IngressListenError(`${host}:${port}`, err.message));
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

const closeServer = (s: net.Server) => new Promise<void>((resolve) => s.close(() => resolve()));

/** Start the HTTP and HTTPS listeners of the ingress data plane. */
export async function startIngressDataPlane(
  options: IngressDataPlaneOptions = {},
): Promise<IngressDataPlane> {
  const host = options.host ?? '0.0.0.0';
  const metrics = new IngressMetrics(options.registry ?? new Registry());
  const ctx: EngineContext = {
    table: options.table,
    balancer: new Balancer(),
    metrics,
    accessLog: options.accessLog ? new AccessLog(options.accessLog) : undefined,
    httpsPort: options.redirectHttpsPort ?? 443,
    random: Math.random,
  };
  const engine = options.engine ? options.engine(ctx) : new RawEngine(ctx);
  const defaultCert = options.defaultCertificate ?? (await fakeCertificate());
  const contexts = new TlsContexts({
    defaultCert,
    ...(options.onCertificateError ? { onError: options.onCertificateError } : {}),
  });

  const plain = net.createServer({ noDelay: true }, (s) => engine.accept(s, false));
  const secure = tls.createServer(
    {
      SNICallback: (name, cb) => cb(null, contexts.contextFor(ctx.table, name)),
      // Clients without SNI (or naming an IP) get the default certificate.
      cert: defaultCert.certPem,
      key: defaultCert.keyPem,
      ALPNProtocols: ['http/1.1'],
      noDelay: true,
    },
    (s) => engine.accept(s, true),
  );
  // A failed handshake (scanner, bad client) is the client's problem, not ours.
  secure.on('tlsClientError', (_err, s) => s.destroy());
  // Every accepted TCP socket (also those still in a TLS handshake), so close() ends them all.
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  plain.on('connection', track);
  secure.on('connection', track);
  const httpPort = await listen(plain, host, options.httpPort ?? 80);
  let httpsPort: number;
  try {
    httpsPort = await listen(secure, host, options.httpsPort ?? 443);
  } catch (err) {
    await closeServer(plain);
    throw err;
  }
  if (options.redirectHttpsPort === undefined) ctx.httpsPort = httpsPort;
  if (options.table) engine.tableChanged(options.table);

  let closed = false;
  return {
    httpPort,
    httpsPort,
    metrics: metrics.registry,
    update(table: RouteTable): void {
      ctx.table = table;
      ctx.balancer.prune(table);
      contexts.prune(table);
      engine.tableChanged(table);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const done = Promise.all([closeServer(plain), closeServer(secure)]);
      await engine.close();
      for (const s of sockets) s.destroy();
      await done;
      ctx.accessLog?.flush();
    },
  };
}
