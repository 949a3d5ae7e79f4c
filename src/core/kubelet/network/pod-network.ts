/** The pod network behind one interface: rootless (loopback IPs) or bridge (a netns per pod). */
import type { KObj } from '../../client/informer.js';

export interface PodNetworkResult {
  ip: string;
  /** /run/netns/<name> when the pod has its own network namespace. */
  netnsPath?: string | undefined;
}

export interface PodNetwork {
  readonly mode: 'rootless' | 'bridge';
  /** Called once the node's podCIDR is known (and again if it changes). */
  init(podCidr: string): Promise<void>;
  ready(): boolean;
  /** Give the pod its IP (and namespace): idempotent, the same answer across kubelet restarts. */
  setUp(pod: KObj): Promise<PodNetworkResult>;
  /** The pod's network as it is now, if set up. */
  get(uid: string): PodNetworkResult | undefined;
  /** Release the pod's IP and remove its namespace. */
  tearDown(uid: string): Promise<void>;
  /** UIDs that hold network resources (to clean up orphans after a restart). */
  uids(): string[];
  /** Remove everything this node made (pod namespaces, bridge, rules): `k8ts kubelet --cleanup`. */
  cleanupAll(): Promise<void>;
}
