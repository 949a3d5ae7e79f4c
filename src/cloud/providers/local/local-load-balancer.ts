/**
 * LoadBalancer Services without a cloud. With a pool (`--lb-pool`), each service gets its own
 * address from it (spec.loadBalancerIP if free and in the pool, else the address it already
 * had, else the lowest free one); without a pool, the service is published on the nodes' own
 * addresses (ExternalIP, else InternalIP), as k3s ServiceLB does. Either way the address lands in
 * status.loadBalancer.ingress, and the service proxy on every node answers on it: with a floating
 * IP the address only has to be routed to one of the nodes (see deploy/README.md).
 *
 * Allocations live in memory, rebuilt from the services' published status at start (`restore`),
 * so the controller stays a stateless reader of the API like every other component.
 */
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import { AddressUnavailableError, PoolExhaustedError } from '../../errors.js';
import type { ExistingLoadBalancer, LoadBalancer, LoadBalancerStatus } from '../../provider.js';
import type { IpPool } from './ip-pool.js';

function uidOf(svc: Service): string {
  return svc.metadata?.uid ?? `${svc.metadata?.namespace}/${svc.metadata?.name}`;
}

function nameOf(svc: Service): string {
  return `${svc.metadata?.namespace}/${svc.metadata?.name}`;
}

/** The address a node is reached on from outside: ExternalIP, else InternalIP. */
export function nodePublicAddress(n: Node): string | undefined {
  const addrs = n.status?.addresses ?? [];
  return (addrs.find((a) => a.type === 'ExternalIP') ?? addrs.find((a) => a.type === 'InternalIP'))?.address;
}

export class LocalLoadBalancer implements LoadBalancer {
  private readonly pool: IpPool | undefined;
  /** service uid -> address, and the reverse. */
  private readonly byService = new Map<string, string>();
  private readonly byIp = new Map<string, string>();
  /** Node-address mode: `PROTO/port` -> service uid (two services cannot share a node port). */
  private readonly ports = new Map<string, { uid: string; name: string }>();
  /** Without a pool the status is the node set, so node changes must rewrite it. */
  readonly nodesInStatus: boolean;

  constructor(opts: { pool?: IpPool | undefined } = {}) {
    this.pool = opts.pool;
    this.nodesInStatus = !opts.pool;
  }

  getLoadBalancerName(_clusterName: string, svc: Service): string {
    return nameOf(svc);
  }

  restore(_clusterName: string, services: Service[]): void {
    // Oldest first, so that of two services claiming one address (or port) the older keeps it.
    const sorted = [...services].sort((a, b) =>
      (a.metadata?.creationTimestamp ?? '') < (b.metadata?.creationTimestamp ?? '') ? -1 : 1,
    );
    if (!this.pool) {
      for (const s of sorted)
        if (s.status?.loadBalancer?.ingress?.length && this.portsFree(s)) this.claimPorts(s);
      return;
    }
    for (const s of sorted) {
      const ip = s.status?.loadBalancer?.ingress?.[0]?.ip;
      if (ip && this.pool.contains(ip) && !this.byIp.has(ip)) this.claim(uidOf(s), ip);
    }
  }

  async getLoadBalancer(_clusterName: string, svc: Service): Promise<ExistingLoadBalancer> {
    const ip = this.byService.get(uidOf(svc));
    return ip ? { exists: true, status: { ingress: [{ ip, ipMode: 'VIP' }] } } : { exists: !this.pool };
  }

  async ensureLoadBalancer(_clusterName: string, svc: Service, nodes: Node[]): Promise<LoadBalancerStatus> {
    if (!this.pool) {
      const busy = this.portsFree(svc);
      if (busy !== true)
        throw new AddressUnavailableError(
          'the node addresses',
          `port ${busy.port} is already used by service ${busy.name} (use --lb-pool to give each service its own address)`,
        );
      this.claimPorts(svc);
      const ips = [...new Set(nodes.map(nodePublicAddress).filter((x): x is string => !!x))].sort();
      return { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' as const })) };
    }
    const uid = uidOf(svc);
    const requested = svc.spec?.loadBalancerIP || undefined;
    const current = this.byService.get(uid);
    if (requested) {
      if (current === requested) return this.status(requested);
      if (!this.pool.contains(requested))
        throw new AddressUnavailableError(requested, `not in the load balancer pool ${this.pool.spec}`);
      const holder = this.byIp.get(requested);
      if (holder && holder !== uid)
        throw new AddressUnavailableError(requested, 'already used by another service');
      this.release(uid);
      this.claim(uid, requested);
      return this.status(requested);
    }
    if (current) return this.status(current);
    const published = svc.status?.loadBalancer?.ingress?.[0]?.ip;
    if (published && this.pool.contains(published) && !this.byIp.has(published)) {
      this.claim(uid, published);
      return this.status(published);
    }
    const ip = this.pool.firstFree(new Set(this.byIp.keys()));
    if (!ip) throw new PoolExhaustedError(this.pool.spec);
    this.claim(uid, ip);
    return this.status(ip);
  }

  async updateLoadBalancer(): Promise<void> {
    // Pool addresses do not depend on nodes; node-address mode re-ensures (nodesInStatus).
  }

  async ensureLoadBalancerDeleted(_clusterName: string, svc: Service): Promise<void> {
    this.release(uidOf(svc));
    this.releasePorts(uidOf(svc));
  }

  private portKeys(svc: Service): string[] {
    return (svc.spec?.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`);
  }

  /** True, or the first port another service holds. */
  private portsFree(svc: Service): true | { port: string; name: string } {
    const uid = uidOf(svc);
    for (const k of this.portKeys(svc)) {
      const h = this.ports.get(k);
      if (h && h.uid !== uid) return { port: k, name: h.name };
    }
    return true;
  }

  /** Hold exactly this service's current ports (a port change frees the old ones). */
  private claimPorts(svc: Service): void {
    const uid = uidOf(svc);
    this.releasePorts(uid);
    for (const k of this.portKeys(svc)) this.ports.set(k, { uid, name: nameOf(svc) });
  }

  private releasePorts(uid: string): void {
    for (const [k, h] of this.ports) if (h.uid === uid) this.ports.delete(k);
  }

  /** Addresses in use, for tests and diagnostics. */
  allocations(): Map<string, string> {
    return new Map(this.byService);
  }

  private status(ip: string): LoadBalancerStatus {
    return { ingress: [{ ip, ipMode: 'VIP' }] };
  }

  private claim(uid: string, ip: string): void {
    this.byService.set(uid, ip);
    this.byIp.set(ip, uid);
  }

  private release(uid: string): void {
    const ip = this.byService.get(uid);
    if (ip === undefined) return;
    this.byService.delete(uid);
    this.byIp.delete(ip);
  }
}
