/**
 * healthCheckNodePort servers (upstream's ServiceHealthServer): for every LoadBalancer service
 * with externalTrafficPolicy Local, an HTTP server on its health check node port answering the
 * number of endpoints local to this node, 200 when there is at least one (and the proxy is
 * healthy), 503 otherwise, so the cloud load balancer sends traffic only to nodes that can serve it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServiceHealthOptions {
  /** Address the servers listen on (default all addresses). */
  host?: string | undefined;
  /** Map a health check node port to the port actually opened (tests: 0 for a free one). */
  portFor?: ((healthCheckNodePort: number) => number) | undefined;
  /** The proxy's own health: false makes every answer 503. */
  proxyHealthy?: (() => boolean) | undefined;
}

interface Entry {
  hcnp: number;
  localEndpoints: number;
  server: http.Server;
  port: number;
}

export class ServiceHealthServer {
  private readonly opts: ServiceHealthOptions;
  private readonly entries = new Map<string, Entry>();

  constructor(opts: ServiceHealthOptions = {}) {
    this.opts = opts;
  }

  /** Make the servers match `wanted` (service -> health check node port and local endpoint count). */
  async sync(wanted: ReadonlyMap<string, { port: number; localEndpoints: number }>): Promise<void> {
    for (const [svc, e] of [...this.entries]) {
      const w = wanted.get(svc);
      if (!w || w.port !== e.hcnp) {
        this.entries.delete(svc);
        await closeServer(e.server);
      }
    }
    for (const [svc, w] of wanted) {
      const e = this.entries.get(svc);
      if (e) {
        e.localEndpoints = w.localEndpoints;
        continue;
      }
      const entry: Entry = {
        hcnp: w.port,
        localEndpoints: w.localEndpoints,
        server: undefined as never,
        port: 0,
      };
      const [namespace, name] = svc.split('/') as [string, string];
      entry.server = http.createServer((_req, res) => {
        const healthy = this.opts.proxyHealthy?.() ?? true;
        const ok = entry.localEndpoints > 0 && healthy;
        res.writeHead(ok ? 200 : 503, {
          'content-type': 'application/json',
          'x-content-type-options': 'nosniff',
        });
        res.end(
          JSON.stringify({
            service: { namespace, name },
            localEndpoints: entry.localEndpoints,
            serviceProxyHealthy: healthy,
          }),
        );
      });
      try {
        entry.port = await listen(entry.server, this.opts.portFor?.(w.port) ?? w.port, this.opts.host);
        this.entries.set(svc, entry);
      } catch (e) {
        console.error(
          `k8ts service-proxy: health check node port ${w.port} of ${svc}: ${(e as Error).message}`,
        );
      }
    }
  }

  /** The port a service's health server listens on, if open. */
  port(service: string): number | undefined {
    return this.entries.get(service)?.port;
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => closeServer(e.server)));
  }
}

function listen(server: http.Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
}
