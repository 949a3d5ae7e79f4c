/**
 * `/health` (the process is up), `/ready` (the zone is synced and the sockets listen) and
 * `/metrics` (CoreDNS-named metrics) on one HTTP listener, as CoreDNS's health/ready/prometheus
 * plugins offer on their ports.
 */
import http from 'node:http';
import type { Registry } from 'prom-client';
import { DnsListenError } from './errors.js';

export interface HttpEndpointsOptions {
  host: string;
  port: number;
  ready: () => boolean;
  registry: Registry;
}

/** Start the listener; resolves with the server and its port. */
export async function startHttpEndpoints(
  opts: HttpEndpointsOptions,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    } else if (path === '/ready') {
      const ok = opts.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'OK' : 'not ready');
    } else if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        (e) => res.writeHead(500).end(String(e)),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new DnsListenError(`cannot listen on ${opts.host}:${opts.port} (HTTP): ${e.message}`)),
    );
    server.listen({ host: opts.host, port: opts.port }, () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : opts.port };
}
