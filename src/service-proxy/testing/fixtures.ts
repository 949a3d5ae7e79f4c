/**
 * Builders of Services and EndpointSlices for the proxy's tests, and a harness that runs the
 * real change trackers and a kernel backend (IptablesProxier on a FakeIptables, NftablesProxier on
 * a FakeNft), then traces packets.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { ProxyBackend, SyncResult } from '../backend.js';
import { EndpointsChangeTracker, ServiceChangeTracker, type StaleEndpoint } from '../change-tracker.js';
import { IptablesProxier, type IptablesProxierOptions } from '../iptables-proxier.js';
import type { ServicePortInfo } from '../model.js';
import { NftablesProxier, type NftablesProxierOptions } from '../nftables-proxier.js';
import { NFT_TABLE } from '../nftables-render.js';
import { ProxyState } from '../proxy-state.js';
import { FakeIptablesRunner } from './fake-iptables.js';
import { FakeNftRunner } from './fake-nft.js';
import { traceNft } from './nft-tracer.js';
import { type Outcome, type Packet, summarize, type TraceContext, trace } from './packet-tracer.js';

export const NODE = 'node-a';
export const NODE_IP = '192.168.1.10';
export const NODE_IP6 = 'fd00:1::10';
export const CLUSTER_CIDR = '10.42.0.0/16';

export interface SvcSpec {
  name?: string;
  namespace?: string;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: { name?: string; port: number; protocol?: 'TCP' | 'UDP'; nodePort?: number; targetPort?: number }[];
  externalIPs?: string[];
  lbIPs?: string[];
  sourceRanges?: string[];
  affinity?: number;
  etpLocal?: boolean;
  itpLocal?: boolean;
  healthCheckNodePort?: number;
}

/** A Service as the API server would return it. */
export function svc(s: SvcSpec = {}): Service {
  const type = s.type ?? 'ClusterIP';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name ?? 'web', namespace: s.namespace ?? 'default', uid: `uid-${s.name ?? 'web'}` },
    spec: {
      type,
      clusterIP: s.clusterIP ?? s.clusterIPs?.[0] ?? '10.43.0.10',
      ...(s.clusterIPs ? { clusterIPs: s.clusterIPs } : {}),
      ports: (s.ports ?? [{ name: 'http', port: 80 }]).map((p) => ({
        ...(p.name !== undefined ? { name: p.name } : {}),
        port: p.port,
        protocol: p.protocol ?? 'TCP',
        targetPort: p.targetPort ?? 8080,
        ...(p.nodePort ? { nodePort: p.nodePort } : {}),
      })),
      ...(s.externalIPs ? { externalIPs: s.externalIPs } : {}),
      ...(s.sourceRanges ? { loadBalancerSourceRanges: s.sourceRanges } : {}),
      ...(s.affinity !== undefined
        ? { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: s.affinity } } }
        : {}),
      ...(s.etpLocal ? { externalTrafficPolicy: 'Local' } : {}),
      ...(s.itpLocal ? { internalTrafficPolicy: 'Local' } : {}),
      ...(s.healthCheckNodePort ? { healthCheckNodePort: s.healthCheckNodePort } : {}),
    },
    status: { loadBalancer: { ingress: (s.lbIPs ?? []).map((ip) => ({ ip })) } },
  };
}

export interface EpSpec {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

/** An EndpointSlice of service `service` (default web) with the given endpoints. */
export function slice(
  endpoints: (string | EpSpec)[],
  opts: {
    service?: string;
    namespace?: string;
    name?: string;
    ports?: { name?: string; port: number; protocol?: 'TCP' | 'UDP' }[];
    addressType?: 'IPv4' | 'IPv6';
    triggerTime?: string;
  } = {},
): EndpointSlice {
  const service = opts.service ?? 'web';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: opts.name ?? `${service}-abc`,
      namespace: opts.namespace ?? 'default',
      labels: { 'kubernetes.io/service-name': service },
      ...(opts.triggerTime
        ? { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': opts.triggerTime } }
        : {}),
    },
    addressType: opts.addressType ?? 'IPv4',
    ports: (opts.ports ?? [{ name: 'http', port: 8080 }]).map((p) => ({
      ...(p.name !== undefined ? { name: p.name } : {}),
      port: p.port,
      protocol: p.protocol ?? 'TCP',
    })),
    endpoints: endpoints.map((e) => {
      const x: EpSpec = typeof e === 'string' ? { ip: e } : e;
      return {
        addresses: [x.ip],
        conditions: {
          ready: x.ready ?? true,
          ...(x.serving !== undefined ? { serving: x.serving } : {}),
          ...(x.terminating !== undefined ? { terminating: x.terminating } : {}),
        },
        nodeName: x.node ?? NODE,
      };
    }),
  };
}

/** Trackers + state + one kernel backend per family on a fake kernel; subclasses pick the mode. */
abstract class BaseHarness {
  readonly state = new ProxyState();
  readonly services = new ServiceChangeTracker();
  readonly endpoints = new EndpointsChangeTracker();
  private readonly svcs = new Map<string, Service>();
  private readonly slices = new Map<string, EndpointSlice>();
  lastStale: StaleEndpoint[] = [];
  abstract readonly v4: ProxyBackend;
  abstract readonly v6: ProxyBackend;

  /** Add or replace services and slices (by namespace/name). */
  apply(...objs: (Service | EndpointSlice)[]): this {
    for (const o of objs) {
      const key = `${o.metadata!.namespace}/${o.metadata!.name}`;
      if (o.kind === 'Service') {
        this.services.update(this.svcs.get(key), o as Service);
        this.svcs.set(key, o as Service);
      } else {
        this.endpoints.update(o as EndpointSlice);
        this.slices.set(key, o as EndpointSlice);
      }
    }
    return this;
  }

  /** Delete services and slices. */
  remove(...objs: (Service | EndpointSlice)[]): this {
    for (const o of objs) {
      const key = `${o.metadata!.namespace}/${o.metadata!.name}`;
      if (o.kind === 'Service') {
        this.services.update(this.svcs.get(key), undefined);
        this.svcs.delete(key);
      } else {
        this.endpoints.update(o as EndpointSlice, { removed: true });
        this.slices.delete(key);
      }
    }
    return this;
  }

  /** Check out the changes and sync both families. */
  async sync(opts: { full?: boolean } = {}): Promise<SyncResult[]> {
    const s = this.services.checkout(this.state);
    const e = this.endpoints.checkout(this.state);
    this.lastStale = e.staleEndpoints;
    const changed = new Set([...s.changed, ...e.changed]);
    const req = {
      state: this.state,
      changedServices: changed,
      full: opts.full ?? false,
      staleEndpoints: e.staleEndpoints,
      newlyActiveUdp: e.newlyActiveUdp,
      removedServicePorts: s.removed as ServicePortInfo[],
    };
    return [await this.v4.sync(req), await this.v6.sync(req)];
  }

  /** Every outcome of a new connection. */
  abstract trace(pkt: Packet, recent?: Record<string, string[]>): Outcome[];

  protected context(pkt: Packet, recent: Record<string, string[]> | undefined): TraceContext {
    const v6 = pkt.dst.includes(':');
    return { localAddresses: v6 ? [NODE_IP6] : [NODE_IP, '10.42.0.1'], recent };
  }

  /** The outcomes summarised: `ACCEPT 10.42.0.11:8080 masq` -> probability. */
  reach(pkt: Packet, recent?: Record<string, string[]>): Record<string, number> {
    return summarize(this.trace(pkt, recent));
  }
}

/** The iptables mode on a FakeIptables. */
export class Harness extends BaseHarness {
  readonly runner = new FakeIptablesRunner();
  readonly v4: IptablesProxier;
  readonly v6: IptablesProxier;
  readonly restores: string[] = [];

  constructor(opts: Partial<IptablesProxierOptions> = {}) {
    super();
    const base = {
      runner: this.runner,
      nodeName: NODE,
      onRestore: (t: string) => this.restores.push(t),
      ...opts,
    };
    this.v4 = new IptablesProxier({ family: 'IPv4', clusterCidr: CLUSTER_CIDR, ...base });
    this.v6 = new IptablesProxier({ family: 'IPv6', clusterCidr: 'fd42::/48', ...base });
  }

  trace(pkt: Packet, recent?: Record<string, string[]>): Outcome[] {
    const v6 = pkt.dst.includes(':');
    return trace(v6 ? this.runner.v6 : this.runner.v4, pkt, this.context(pkt, recent));
  }
}

/** The nftables mode on a FakeNft. */
export class NftHarness extends BaseHarness {
  readonly runner = new FakeNftRunner();
  readonly v4: NftablesProxier;
  readonly v6: NftablesProxier;
  readonly inputs: string[] = [];

  constructor(opts: Partial<NftablesProxierOptions> = {}) {
    super();
    const base = {
      runner: this.runner,
      nodeName: NODE,
      onApply: (t: string) => this.inputs.push(t),
      ...opts,
    };
    this.v4 = new NftablesProxier({ family: 'IPv4', clusterCidr: CLUSTER_CIDR, ...base });
    this.v6 = new NftablesProxier({ family: 'IPv6', clusterCidr: 'fd42::/48', ...base });
  }

  trace(pkt: Packet, recent?: Record<string, string[]>): Outcome[] {
    const fam = pkt.dst.includes(':') ? 'ip6' : 'ip';
    const table = this.runner.nft.tables.get(`${fam} ${NFT_TABLE}`);
    if (!table) throw new Error(`no table ${fam} ${NFT_TABLE}`);
    return traceNft(table, pkt, this.context(pkt, recent));
  }
}

/** A harness of either kernel mode with the options both understand. */
export function harnessFor(
  mode: 'iptables' | 'nftables',
  opts: Partial<Pick<IptablesProxierOptions, 'clusterCidr' | 'masqueradeAll' | 'nodePortAddresses'>> = {},
): BaseHarness {
  return mode === 'iptables' ? new Harness(opts) : new NftHarness(opts);
}
