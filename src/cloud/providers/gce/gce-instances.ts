/**
 * Compute Engine instances behind nodes: found by the node's `gce://project/zone/name` providerID,
 * else by its name in the local zone (where k8ts itself runs).
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import { InstanceNotFoundError } from '../../errors.js';
import type { InstanceMetadata, Instances, NodeAddress } from '../../provider.js';
import { type GceApi, gceErrorCode } from './gce-api.js';
import { lastSegment, parseGceProviderId } from './gce-naming.js';

/** `gce://<project>/<zone>/<instance>`, as the GCE cloud provider writes it. */
export function gceProviderId(project: string, zone: string, name: string): string {
  return `gce://${project}/${zone}/${name}`;
}

export class GceInstances implements Instances {
  private readonly api: GceApi;
  private readonly project: string;
  private readonly zone: string;

  constructor(api: GceApi, opts: { project: string; zone: string }) {
    this.api = api;
    this.project = opts.project;
    this.zone = opts.zone;
  }

  private where(node: Node): { project: string; zone: string; name: string } {
    return (
      parseGceProviderId(node.spec?.providerID) ?? {
        project: this.project,
        zone: this.zone,
        name: node.metadata!.name!,
      }
    );
  }

  private async find(node: Node): Promise<Record<string, any> | undefined> {
    const w = this.where(node);
    try {
      const [inst] = await this.api.instances.get({ project: w.project, zone: w.zone, instance: w.name });
      return inst as Record<string, any>;
    } catch (e) {
      if (gceErrorCode(e) === 404) return undefined;
      throw e;
    }
  }

  async instanceExists(node: Node): Promise<boolean> {
    return (await this.find(node)) !== undefined;
  }

  async instanceShutdown(node: Node): Promise<boolean> {
    const s = (await this.find(node))?.status;
    return s === 'TERMINATED' || s === 'STOPPED' || s === 'STOPPING' || s === 'SUSPENDED';
  }

  async instanceMetadata(node: Node): Promise<InstanceMetadata> {
    const inst = await this.find(node);
    if (!inst) throw new InstanceNotFoundError(`node ${node.metadata?.name}`);
    const w = this.where(node);
    const zone = inst.zone ? lastSegment(inst.zone) : w.zone;
    const addrs: NodeAddress[] = [];
    const nic = inst.networkInterfaces?.[0];
    if (nic?.networkIP) addrs.push({ type: 'InternalIP', address: nic.networkIP });
    const nat = nic?.accessConfigs?.[0]?.natIP;
    if (nat) addrs.push({ type: 'ExternalIP', address: nat });
    addrs.push({ type: 'Hostname', address: inst.name });
    return {
      providerID: gceProviderId(w.project, zone, inst.name),
      instanceType: lastSegment(inst.machineType),
      nodeAddresses: addrs,
      zone,
      region: zone.replace(/-[a-z]$/, ''),
    };
  }
}
