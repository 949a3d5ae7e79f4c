/**
 * The cloud controller manager: the service, node and route controllers over one REST client and
 * one shared informer factory, driving one cloud provider. `k8ts server` runs it in-process (over
 * loopback HTTPS like every controller) and `k8ts cloud-controller-manager` runs it on its own.
 */
import type { Clock } from '../core/client/clock.js';
import { EventRecorder } from '../core/client/events.js';
import { InformerFactory } from '../core/client/informer-factory.js';
import type { RestClient } from '../core/client/rest-client.js';
import type { CloudController, CloudControllerContext } from './context.js';
import { CloudNodeController, type CloudNodeControllerOptions } from './node-controller.js';
import type { CloudProvider } from './provider.js';
import { RouteController, type RouteControllerOptions } from './route-controller.js';
import { ServiceController, type ServiceControllerOptions } from './service-controller.js';

export const CLOUD_CONTROLLERS = ['service', 'cloud-node', 'cloud-node-lifecycle', 'route'] as const;
export type CloudControllerName = (typeof CLOUD_CONTROLLERS)[number];

export interface CloudControllerManagerOptions {
  provider: CloudProvider;
  /** kubernetes.io/cluster/<name> on every cloud resource (default `kubernetes`, as upstream). */
  clusterName?: string | undefined;
  /** Controllers to run (default: every one the provider supports; route only with configureRoutes). */
  controllers?: CloudControllerName[] | undefined;
  /** Program cloud routes for node pod CIDRs (--configure-cloud-routes; default false). */
  configureRoutes?: boolean | undefined;
  /** Pod network routes are made for (the route controller ignores podCIDRs outside it). */
  clusterCidr?: string | undefined;
  service?: ServiceControllerOptions | undefined;
  node?: CloudNodeControllerOptions | undefined;
  route?: RouteControllerOptions | undefined;
  clock?: Clock | undefined;
}

export interface RunningCloudControllers {
  /** Names of the controllers started. */
  controllers: string[];
  stop(): void;
}

/** Construct the controllers the provider supports, start the informers, then the controllers. */
export async function startCloudControllerManager(
  client: RestClient,
  opts: CloudControllerManagerOptions,
): Promise<RunningCloudControllers> {
  const factory = new InformerFactory(client, opts.clock ? { clock: opts.clock } : {});
  const ctx: CloudControllerContext = {
    client,
    factory,
    recorder: (component) => new EventRecorder(client, component),
    provider: opts.provider,
    clusterName: opts.clusterName ?? 'kubernetes',
    clock: opts.clock,
  };
  const want = (n: CloudControllerName) => !opts.controllers || opts.controllers.includes(n);
  const started: { name: string; c: CloudController }[] = [];
  if (want('service') && opts.provider.loadBalancer())
    started.push({
      name: 'service',
      c: new ServiceController(ctx, {
        // Cloud APIs rate-limit, so one sync at a time as upstream's --concurrent-service-syncs;
        // the local provider only does API-server writes and allocates synchronously.
        workers: opts.provider.name === 'local' ? 8 : 1,
        ...opts.service,
      }),
    });
  if ((want('cloud-node') || want('cloud-node-lifecycle')) && opts.provider.instances())
    started.push({
      name: 'cloud-node',
      c: new CloudNodeController(ctx, {
        ...opts.node,
        initialize: want('cloud-node'),
        deleteGone: want('cloud-node-lifecycle'),
      }),
    });
  if (want('route') && opts.configureRoutes && opts.provider.routes())
    started.push({
      name: 'route',
      c: new RouteController(ctx, { clusterCidr: opts.clusterCidr, ...opts.route }),
    });
  await factory.start();
  await Promise.all(started.map((s) => s.c.start()));
  return {
    controllers: started.map((s) => s.name),
    stop: () => {
      for (const s of started) s.c.stop();
      factory.stop();
    },
  };
}
