/** The `--pod-network-backend` flag of `k8ts server`, `k8ts agent` and `k8ts kubelet`. */
import { InvalidArgumentError } from 'commander';
import { POD_NETWORK_BACKENDS, type PodNetworkBackend } from './pod-routes-plan.js';

export type { PodNetworkBackend };

/** Commander parser: one of host-gw, vxlan, none. */
export function podNetworkBackend(v: string): PodNetworkBackend {
  if (!(POD_NETWORK_BACKENDS as readonly string[]).includes(v))
    throw new InvalidArgumentError(`unknown pod network backend "${v}" (${POD_NETWORK_BACKENDS.join(', ')})`);
  return v as PodNetworkBackend;
}
