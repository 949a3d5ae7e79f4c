/**
 * Pure part of the cross-node pod network: what the kernel of one node must hold so that every
 * other node's podCIDR is routed to that node, and the commands that take the kernel from what
 * it holds to that.
 *
 * - host-gw: `<podCIDR> via <InternalIP>` per other node (they share an L2 segment);
 * - vxlan (flannel's scheme): per other node a forwarding entry `<its VTEP MAC> dst <its underlay
 *   IP>` on the vxlan device, a permanent neighbour `<its gateway> lladdr <its MAC>`, and an onlink
 *   route `<podCIDR> via <its gateway>`, where the gateway is the podCIDR's network address, which
 *   each node puts on its own vxlan device as a /32.
 *
 * Routes are ours when they carry protocol ROUTE_PROTO, so routes of anyone else (the kernel, DHCP,
 * a cloud agent, the user) are never named in a command.
 */

/** Routing protocol number on every route we own (`ip route ... proto 75`; 75 = 'K'). */
export const ROUTE_PROTO = 75;
/** The vxlan device (VNI 1, as flannel.1). */
export const VXLAN_DEVICE = 'k8ts.1';
export const VXLAN_VNI = 1;
/** Linux's registered VXLAN port is 4789; flannel (and so every firewall guide for it) uses 8472. */
export const VXLAN_PORT = 8472;
/** 1500 - 50 bytes of outer IPv4 + UDP + VXLAN headers. */
export const VXLAN_MTU = 1450;
export const ANNOTATION_VXLAN_MAC = 'k8ts.io/vxlan-mac';
export const ANNOTATION_PUBLIC_IP = 'k8ts.io/public-ip';
export const ANNOTATION_BACKEND = 'k8ts.io/pod-network-backend';

export const POD_NETWORK_BACKENDS = ['host-gw', 'vxlan', 'none'] as const;
export type PodNetworkBackend = (typeof POD_NETWORK_BACKENDS)[number];

/** The slim copy of a Node the plan needs (what the change tracker keeps). */
export interface RouteNode {
  name: string;
  podCidr: string;
  internalIp: string;
  /** k8ts.io/vxlan-mac, '' when the node has not published one. */
  vxlanMac: string;
  /** k8ts.io/public-ip, else the InternalIP. */
  underlayIp: string;
}

export interface Route {
  dst: string;
  via: string;
  /** vxlan routes name the device and are onlink; host-gw routes let the kernel pick the device. */
  dev?: string | undefined;
}
export interface Neighbour {
  ip: string;
  mac: string;
}
export interface FdbEntry {
  mac: string;
  dst: string;
}

/** What the kernel holds (observed) or must hold (desired), restricted to what we own. */
export interface RouteState {
  routes: Route[];
  neighbours: Neighbour[];
  fdb: FdbEntry[];
}

/** The observed state, plus the destinations of routes someone else owns (never replaced). */
export interface ObservedState extends RouteState {
  foreignDsts: Set<string>;
}

/** `10.42.3.0/24` -> `10.42.3.0`: the vxlan gateway address of that podCIDR (flannel's choice). */
export function vxlanGateway(podCidr: string): string {
  return podCidr.split('/')[0]!;
}

/** A locally administered unicast MAC derived from bytes (first octet 0x02 | bits kept unicast). */
export function macFromBytes(bytes: Uint8Array): string {
  const b = [...bytes.slice(0, 6)];
  while (b.length < 6) b.push(0);
  b[0] = (b[0]! & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** The desired state of node `self` given every node of the cluster. */
export function desiredState(
  self: string,
  nodes: Iterable<RouteNode>,
  backend: PodNetworkBackend,
): RouteState {
  const state: RouteState = { routes: [], neighbours: [], fdb: [] };
  if (backend === 'none') return state;
  for (const n of [...nodes].sort((a, b) => a.name.localeCompare(b.name))) {
    if (n.name === self || !n.podCidr) continue;
    if (backend === 'host-gw') {
      if (n.internalIp) state.routes.push({ dst: n.podCidr, via: n.internalIp });
      continue;
    }
    if (!n.vxlanMac || !n.underlayIp) continue;
    const gw = vxlanGateway(n.podCidr);
    state.fdb.push({ mac: n.vxlanMac, dst: n.underlayIp });
    state.neighbours.push({ ip: gw, mac: n.vxlanMac });
    state.routes.push({ dst: n.podCidr, via: gw, dev: VXLAN_DEVICE });
  }
  return state;
}

/** The commands of one sync: `bridge -batch` lines before and after, `ip -batch` lines between. */
export interface RoutePlan {
  bridgeAdd: string[];
  ip: string[];
  bridgeDel: string[];
  /** Desired routes left alone because a route we do not own has that destination. */
  conflicts: string[];
}

const routeKey = (r: Route) => r.dst;
const sameRoute = (a: Route, b: Route) => a.via === b.via && (a.dev ?? '') === (b.dev ?? '');

/**
 * Commands from `observed` to `desired`. Adds come in dependency order (fdb, neighbour, route),
 * deletions in reverse; entries already right are not named, so a converged node runs nothing.
 */
export function planSync(observed: ObservedState, desired: RouteState): RoutePlan {
  const plan: RoutePlan = { bridgeAdd: [], ip: [], bridgeDel: [], conflicts: [] };
  const obsFdb = new Map(observed.fdb.map((f) => [f.mac, f]));
  const wantFdb = new Map(desired.fdb.map((f) => [f.mac, f]));
  for (const f of desired.fdb) {
    if (obsFdb.get(f.mac)?.dst !== f.dst)
      plan.bridgeAdd.push(`fdb replace ${f.mac} dev ${VXLAN_DEVICE} dst ${f.dst} self permanent`);
  }
  const obsNeigh = new Map(observed.neighbours.map((n) => [n.ip, n]));
  const wantNeigh = new Map(desired.neighbours.map((n) => [n.ip, n]));
  for (const n of desired.neighbours) {
    if (obsNeigh.get(n.ip)?.mac !== n.mac)
      plan.ip.push(`neigh replace ${n.ip} lladdr ${n.mac} dev ${VXLAN_DEVICE} nud permanent`);
  }
  const obsRoutes = new Map(observed.routes.map((r) => [routeKey(r), r]));
  const wantRoutes = new Map(desired.routes.map((r) => [routeKey(r), r]));
  for (const r of desired.routes) {
    const have = obsRoutes.get(routeKey(r));
    if (have && sameRoute(have, r)) continue;
    if (!have && observed.foreignDsts.has(r.dst)) {
      plan.conflicts.push(r.dst);
      continue;
    }
    plan.ip.push(
      r.dev
        ? `route replace ${r.dst} via ${r.via} dev ${r.dev} onlink proto ${ROUTE_PROTO}`
        : `route replace ${r.dst} via ${r.via} proto ${ROUTE_PROTO}`,
    );
  }
  for (const r of observed.routes)
    if (!wantRoutes.has(routeKey(r))) plan.ip.push(`route del ${r.dst} proto ${ROUTE_PROTO}`);
  for (const n of observed.neighbours)
    if (!wantNeigh.has(n.ip)) plan.ip.push(`neigh del ${n.ip} dev ${VXLAN_DEVICE}`);
  for (const f of observed.fdb)
    if (!wantFdb.has(f.mac)) plan.bridgeDel.push(`fdb del ${f.mac} dev ${VXLAN_DEVICE} dst ${f.dst} self`);
  return plan;
}

/** The slim RouteNode of a Node object, or undefined when it has nothing to route yet. */
export function routeNodeOf(node: Record<string, any>): RouteNode | undefined {
  const name: string | undefined = node.metadata?.name;
  if (!name) return undefined;
  const podCidr: string = node.spec?.podCIDRs?.[0] ?? node.spec?.podCIDR ?? '';
  const addrs: { type?: string; address?: string }[] = node.status?.addresses ?? [];
  const internalIp = addrs.find((a) => a.type === 'InternalIP' && a.address?.includes('.'))?.address ?? '';
  const ann: Record<string, string> = node.metadata?.annotations ?? {};
  return {
    name,
    podCidr,
    internalIp,
    vxlanMac: ann[ANNOTATION_VXLAN_MAC] ?? '',
    underlayIp: ann[ANNOTATION_PUBLIC_IP] ?? internalIp,
  };
}

/**
 * Parse `ip -j -4 route show table main`: our routes (protocol ROUTE_PROTO, host-gw and vxlan alike)
 * and the destinations of every other route.
 */
export function parseRoutes(json: string): { ours: Route[]; foreignDsts: Set<string> } {
  const ours: Route[] = [];
  const foreignDsts = new Set<string>();
  for (const r of parseJsonArray(json)) {
    if (typeof r.dst !== 'string') continue;
    if (String(r.protocol) !== String(ROUTE_PROTO)) {
      foreignDsts.add(r.dst);
      continue;
    }
    const via = typeof r.gateway === 'string' ? r.gateway : '';
    ours.push(r.dev === VXLAN_DEVICE ? { dst: r.dst, via, dev: VXLAN_DEVICE } : { dst: r.dst, via });
  }
  return { ours, foreignDsts };
}

/** Parse `ip -j neigh show dev k8ts.1 nud permanent`. */
export function parseNeighbours(json: string): Neighbour[] {
  return parseJsonArray(json)
    .filter((n) => typeof n.dst === 'string' && typeof n.lladdr === 'string')
    .map((n) => ({ ip: n.dst, mac: n.lladdr }));
}

/** Parse `bridge -j fdb show dev k8ts.1`: only entries with a remote `dst` are ours. */
export function parseFdb(json: string): FdbEntry[] {
  return parseJsonArray(json)
    .filter((f) => typeof f.mac === 'string' && typeof f.dst === 'string' && f.mac !== '00:00:00:00:00:00')
    .map((f) => ({ mac: f.mac, dst: f.dst }));
}

function parseJsonArray(json: string): Record<string, any>[] {
  const text = json.trim();
  if (!text) return [];
  const v = JSON.parse(text);
  return Array.isArray(v) ? v : [];
}
