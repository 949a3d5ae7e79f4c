/**
 * The one small interface every data-path candidate implements: the data plane owns the
 * listeners (TCP, and TLS with SNI) and hands each accepted client socket to the engine; the
 * engine moves HTTP between it and the pods. Routing decisions, balancing, metrics and the
 * access log are shared (`EngineContext`) so the candidates differ only in how bytes move.
 */
import type net from 'node:net';
import type { RouteTable } from '../route-table.js';
import type { AccessLog } from './access-log.js';
import type { Balancer } from './balancer.js';
import type { IngressMetrics } from './metrics.js';

/** What engines share with the data plane; `table` is swapped by `DataPlane.update`. */
export interface EngineContext {
  table: RouteTable | undefined;
  balancer: Balancer;
  metrics: IngressMetrics;
  accessLog: AccessLog | undefined;
  /** The HTTPS port for ssl redirects (known once the listener is bound). */
  httpsPort: number;
  random: () => number;
}

export interface ProxyEngine {
  /** Serve an accepted client connection (plain TCP, or a TLS socket after its handshake). */
  accept(socket: net.Socket, secure: boolean): void;
  /** A new table was installed in the context (prune pools of endpoints gone from it). */
  tableChanged(table: RouteTable): void;
  /** Close client connections and upstream pools. */
  close(): Promise<void>;
}

/** X-Request-ID values: 32 hex digits as nginx's $request_id; a random prefix and a counter. */
export class RequestIds {
  private readonly prefix =
    Math.floor(Math.random() * 0xffffffff)
      .toString(16)
      .padStart(8, '0') +
    Math.floor(Math.random() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
  private n = 0;
  next(): string {
    this.n++;
    return this.prefix + this.n.toString(16).padStart(16, '0');
  }
}
