/**
 * The ingress component (the one public entry of the controller side): the data plane's
 * listeners first (so the real ports are known), then the controller that feeds them. Used by
 * `k8ts ingress` and by the `ingress` component of `k8ts server`.
 */
import type { Writable } from 'node:stream';
import { EventRecorder } from '../core/client/events.js';
import type { RestClient } from '../core/client/rest-client.js';
import { IngressController } from './controller.js';
import { type IngressDataPlane, startIngressDataPlane } from './data-plane.js';
import { IngressConfigError } from './errors.js';

export interface IngressOptions {
  client: RestClient;
  nodeName: string;
  /** Address the listeners bind (default 0.0.0.0). */
  host?: string | undefined;
  httpPort: number;
  httpsPort: number;
  /** The class installed when none of ours exists (default k8ts). */
  className?: string | undefined;
  /** Address published in the k8ts-ingress EndpointSlice (default: the Node's InternalIP). */
  nodeAddress?: string | undefined;
  accessLog?: Writable | false | undefined;
  log?: ((msg: string) => void) | undefined;
}

export interface RunningIngress {
  httpPort: number;
  httpsPort: number;
  dataPlane: IngressDataPlane;
  controller: IngressController;
  stop(): Promise<void>;
}

/** Default listening ports: 80/443 as root, 8080/8443 rootless (unprivileged ports). */
export function defaultIngressPorts(rootless: boolean): { http: number; https: number } {
  return rootless ? { http: 8080, https: 8443 } : { http: 80, https: 443 };
}

/** Start listening and routing; resolves once the first table from a synced cache is served. */
export async function startIngress(opts: IngressOptions): Promise<RunningIngress> {
  for (const [flag, p] of [
    ['http port', opts.httpPort],
    ['https port', opts.httpsPort],
  ] as const)
    if (!Number.isInteger(p) || p < 0 || p > 65535)
      throw new IngressConfigError(`${flag} must be 0-65535, got ${p}`);
  if (!opts.nodeName) throw new IngressConfigError('a node name is required');
  const dataPlane = await startIngressDataPlane({
    host: opts.host ?? '0.0.0.0',
    httpPort: opts.httpPort,
    httpsPort: opts.httpsPort,
    accessLog: opts.accessLog,
  });
  const controller = new IngressController({
    client: opts.client,
    dataPlane,
    nodeName: opts.nodeName,
    httpPort: dataPlane.httpPort,
    httpsPort: dataPlane.httpsPort,
    nodeAddress: opts.nodeAddress,
    className: opts.className,
    events: new EventRecorder(opts.client, 'k8ts-ingress', { host: opts.nodeName }),
    log: opts.log,
  });
  try {
    await controller.start();
  } catch (e) {
    await dataPlane.close();
    throw e;
  }
  return {
    httpPort: dataPlane.httpPort,
    httpsPort: dataPlane.httpsPort,
    dataPlane,
    controller,
    stop: async () => {
      await controller.stop();
      await dataPlane.close();
    },
  };
}
