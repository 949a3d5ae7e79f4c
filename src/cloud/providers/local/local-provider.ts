/** The `local` provider: load balancers only (no instances, zones or routes off-cloud). */
import type { CloudProvider } from '../../provider.js';
import { IpPool } from './ip-pool.js';
import { LocalLoadBalancer } from './local-load-balancer.js';

/** Build the local provider; `pool` is the `--lb-pool` value (none: node addresses). */
export function createLocalProvider(opts: { pool?: string | undefined } = {}): CloudProvider {
  const lb = new LocalLoadBalancer(opts.pool ? { pool: new IpPool(opts.pool) } : {});
  return {
    name: 'local',
    loadBalancer: () => lb,
    instances: () => undefined,
    zones: () => undefined,
    routes: () => undefined,
  };
}
