/**
 * Rootless pod network: pods share the node's network namespace; each gets its own loopback
 * address, the node's podCIDR mapped into 127.0.0.0/8 (see `loopbackCidr`), from the persisted
 * IPAM. Processes learn it from the downward API (`status.podIP`) and `K8TS_POD_IP`, and must bind
 * it (not 0.0.0.0) for several pods to serve the same port.
 */
import type { KObj } from '../../client/informer.js';
import { loopbackCidr, PersistentIpam } from './ipam.js';
import type { PodNetwork, PodNetworkResult } from './pod-network.js';

export class RootlessNetwork implements PodNetwork {
  readonly mode = 'rootless' as const;
  private readonly ipam: PersistentIpam;

  constructor(opts: { ipamPath: string }) {
    this.ipam = new PersistentIpam(opts.ipamPath);
  }

  async init(podCidr: string): Promise<void> {
    this.ipam.init(loopbackCidr(podCidr));
  }

  ready(): boolean {
    return this.ipam.ready;
  }

  async setUp(pod: KObj): Promise<PodNetworkResult> {
    return { ip: await this.ipam.allocate(pod.metadata.uid) };
  }

  get(uid: string): PodNetworkResult | undefined {
    const ip = this.ipam.get(uid);
    return ip ? { ip } : undefined;
  }

  async tearDown(uid: string): Promise<void> {
    await this.ipam.release(uid);
  }

  uids(): string[] {
    return this.ipam.uids();
  }

  async cleanupAll(): Promise<void> {
    for (const uid of this.ipam.uids()) await this.ipam.release(uid);
  }
}
