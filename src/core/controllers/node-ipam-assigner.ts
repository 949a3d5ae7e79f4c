/**
 * Node IPAM bookkeeping, free of I/O: which node holds which pod CIDR, rebuilt from the nodes seen
 * (so a restart never hands out a subnet twice), and what to write for a node that has none yet.
 * Called from the controller's single queue worker only.
 */
import type { KObj } from '../client/informer.js';
import { CidrSet, type CidrSetOptions } from './node-ipam-cidr-set.js';

export type IpamPlan = { kind: 'none' } | { kind: 'assign'; cidr: string } | { kind: 'exhausted' };

/** The pod CIDR a node already carries (spec.podCIDRs first, then spec.podCIDR). */
export function nodePodCidr(node: KObj): string | undefined {
  const cidrs: unknown = node.spec?.podCIDRs;
  if (Array.isArray(cidrs) && typeof cidrs[0] === 'string') return cidrs[0];
  return typeof node.spec?.podCIDR === 'string' && node.spec.podCIDR ? node.spec.podCIDR : undefined;
}

export class NodeCidrAssigner {
  private readonly set: CidrSet;
  /** node name -> the CIDR it holds or is being given */
  private readonly byNode = new Map<string, string>();

  constructor(clusterCidr: string, opts: CidrSetOptions = {}) {
    this.set = new CidrSet(clusterCidr, opts);
  }

  /** Record what a node carries (call for every node on start, and on every add/update). */
  seen(node: KObj): void {
    const name: string = node.metadata.name;
    const cidr = nodePodCidr(node);
    if (!cidr) return;
    const held = this.byNode.get(name);
    if (held === cidr) return;
    // The node carries another CIDR than we reserved for it (someone else set it): adopt it.
    if (held) this.set.release(held);
    this.byNode.set(name, cidr);
    this.set.occupy(cidr);
  }

  /** A node is gone: its CIDR is free again. */
  deleted(name: string): void {
    const held = this.byNode.get(name);
    if (!held) return;
    this.byNode.delete(name);
    this.set.release(held);
  }

  /** What to write for a node: nothing, a CIDR (reserved now, or retried), or "exhausted". */
  plan(node: KObj): IpamPlan {
    if (nodePodCidr(node)) return { kind: 'none' };
    const name: string = node.metadata.name;
    const held = this.byNode.get(name);
    if (held) return { kind: 'assign', cidr: held };
    const cidr = this.set.allocateNext();
    if (!cidr) return { kind: 'exhausted' };
    this.byNode.set(name, cidr);
    return { kind: 'assign', cidr };
  }

  /** CIDR held for a node, if any. */
  held(name: string): string | undefined {
    return this.byNode.get(name);
  }
}
