/** The route controller's pure plan: desired (node, podCIDR) pairs against the cloud's routes. */
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Route } from './provider.js';

export interface RouteToCreate {
  nameHint: string;
  targetNode: string;
  targetInstance: string;
  targetProviderID?: string | undefined;
  destinationCIDR: string;
}

export interface RoutePlan {
  create: RouteToCreate[];
  remove: Route[];
  /** Nodes whose every podCIDR has a route (after the plan is applied). */
  routed: string[];
}

/** Parse an IPv4 CIDR to [network, prefix]; undefined if not IPv4. */
function v4(cidr: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  const ip = ((+m[1]! << 24) | (+m[2]! << 16) | (+m[3]! << 8) | +m[4]!) >>> 0;
  return [ip, +m[5]!];
}

/** Is `inner` inside `outer` (IPv4; any non-IPv4 CIDR counts as inside)? */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = v4(inner);
  const b = v4(outer);
  if (!a || !b) return true;
  if (a[1] < b[1]) return false;
  const mask = b[1] === 0 ? 0 : (~0 << (32 - b[1])) >>> 0;
  return (a[0] & mask) >>> 0 === (b[0] & mask) >>> 0;
}

/** The instance a node runs on: the last segment of its providerID, else its name. */
export function nodeInstance(n: Node): string {
  const id = n.spec?.providerID;
  return id ? id.slice(id.lastIndexOf('/') + 1) : (n.metadata?.name ?? '');
}

/**
 * Routes to create and delete so that each node's podCIDRs lead to that node's instance. Routes
 * outside the cluster CIDR are never planned for deletion (not ours to judge).
 */
export function planRoutes(
  nodes: Node[],
  existing: Route[],
  opts: { clusterCidr?: string | undefined } = {},
): RoutePlan {
  const desired = new Map<string, RouteToCreate>();
  for (const n of nodes) {
    if (n.metadata?.deletionTimestamp) continue;
    const name = n.metadata?.name ?? '';
    const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    for (const c of cidrs) {
      if (opts.clusterCidr && !cidrWithin(c, opts.clusterCidr)) continue;
      desired.set(`${nodeInstance(n)}|${c}`, {
        nameHint: n.metadata?.uid ?? name,
        targetNode: name,
        targetInstance: nodeInstance(n),
        targetProviderID: n.spec?.providerID,
        destinationCIDR: c,
      });
    }
  }
  const have = new Set<string>();
  const remove: Route[] = [];
  for (const r of existing) {
    if (opts.clusterCidr && !cidrWithin(r.destinationCIDR, opts.clusterCidr)) continue;
    const k = `${r.targetInstance}|${r.destinationCIDR}`;
    if (desired.has(k) && !have.has(k)) have.add(k);
    else remove.push(r);
  }
  const create = [...desired.entries()].filter(([k]) => !have.has(k)).map(([, v]) => v);
  const routed = [...new Set([...desired.values()].map((d) => d.targetNode))].sort();
  return { create, remove, routed };
}
