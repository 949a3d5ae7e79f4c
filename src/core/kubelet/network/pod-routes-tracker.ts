/**
 * Change tracker of the pod routes: a slim copy (RouteNode) of every Node, and whether an event
 * changed anything the routes depend on. Node status is posted every minute and leases every
 * 10 s; none of that may wake the writer, only podCIDR, InternalIP and the vxlan annotations.
 */
import { type RouteNode, routeNodeOf } from './pod-routes-plan.js';

const same = (a: RouteNode, b: RouteNode) =>
  a.podCidr === b.podCidr &&
  a.internalIp === b.internalIp &&
  a.vxlanMac === b.vxlanMac &&
  a.underlayIp === b.underlayIp;

export class RouteNodeTracker {
  private readonly nodes = new Map<string, RouteNode>();

  /** Record a Node (add or update); true when its routing-relevant part changed. */
  update(node: Record<string, any>): boolean {
    const next = routeNodeOf(node);
    if (!next) return false;
    const prev = this.nodes.get(next.name);
    this.nodes.set(next.name, next);
    return !prev || !same(prev, next);
  }

  /** Forget a Node; true when it was known. */
  delete(name: string): boolean {
    return this.nodes.delete(name);
  }

  get(name: string): RouteNode | undefined {
    return this.nodes.get(name);
  }

  list(): RouteNode[] {
    return [...this.nodes.values()];
  }
}
