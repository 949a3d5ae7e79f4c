/**
 * The proxy's own health (upstream's ProxierHealthServer): a sync that was queued and has not
 * completed within `timeoutMs` makes the proxy unhealthy. `/healthz` also reports the node
 * eligible for load balancer traffic (not being deleted), so cloud load balancers stop sending to
 * a node that is going away; `/livez` reports only the proxy itself. Both answer JSON with
 * lastUpdated and currentTime, 200 when healthy and 503 otherwise. `/metrics` serves the proxy's
 * registry on the same port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, realClock } from '../core/client/clock.js';
import type { ProxyMetrics } from './metrics.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

export class ProxyHealth {
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private lastUpdated: number | undefined;
  private oldestQueued: number | undefined;
  private nodeEligible = true;

  constructor(opts: { clock?: Clock | undefined; timeoutMs?: number | undefined } = {}) {
    this.clock = opts.clock ?? realClock;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /** A change was queued for the sync loop. */
  queued(): void {
    this.oldestQueued ??= this.clock.now();
  }

  /** A sync completed: everything queued before it is applied. */
  updated(): void {
    this.lastUpdated = this.clock.now();
    this.oldestQueued = undefined;
  }

  setNodeEligible(eligible: boolean): void {
    this.nodeEligible = eligible;
  }

  /** True when no queued change has waited longer than the timeout. */
  healthy(): boolean {
    return this.oldestQueued === undefined || this.clock.now() - this.oldestQueued < this.timeoutMs;
  }

  /** The /healthz or /livez answer. */
  report(kind: 'healthz' | 'livez'): { status: number; body: Record<string, unknown> } {
    const body: Record<string, unknown> = {
      lastUpdated: this.lastUpdated === undefined ? ZERO_TIME : new Date(this.lastUpdated).toISOString(),
      currentTime: new Date(this.clock.now()).toISOString(),
    };
    let ok = this.healthy();
    if (kind === 'healthz') {
      body.nodeEligible = this.nodeEligible;
      ok &&= this.nodeEligible;
    }
    return { status: ok ? 200 : 503, body };
  }
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** Serve /healthz, /livez and /metrics on host:port (port 0 picks a free one). */
export function startHealthServer(
  health: ProxyHealth,
  metrics: ProxyMetrics,
  opts: { host: string; port: number },
): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/livez') {
      const kind = path === '/healthz' ? 'healthz' : 'livez';
      const r = health.report(kind);
      (kind === 'healthz' ? metrics.healthzTotal : metrics.livezTotal).inc({ code: String(r.status) });
      res.writeHead(r.status, { 'content-type': 'application/json', 'x-content-type-options': 'nosniff' });
      res.end(JSON.stringify(r.body));
      return;
    }
    if (path === '/metrics') {
      void metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('404 page not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
