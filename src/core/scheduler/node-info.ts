/**
 * Per-node state the filters and scores read: the node's allocatable resources, labels and taints,
 * and the sum of what the pods bound (or assumed) to it request. Kept up to date by the scheduler
 * cache from the pod and node informers; never built from scratch per decision.
 */
import type { KObj } from '../client/informer.js';
import {
  emptyResources,
  type HostPort,
  milliCpu,
  type PodInfo,
  quantityValue,
  type Resources,
} from './pod-info.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface Taint {
  key: string;
  value: string;
  effect: string;
}

export interface Allocatable extends Resources {
  pods: number;
}

export class NodeInfo {
  readonly name: string;
  /** The Node object; undefined while only pods bound to a node we have not seen are known. */
  node: KObj | undefined;
  labels: Record<string, string> = {};
  taints: Taint[] = [];
  unschedulable = false;
  zone = '';
  allocatable: Allocatable = { ...emptyResources(), pods: 0 };
  /** Sum of the requests of the pods on the node. */
  requested: Resources = emptyResources();
  /** Same with upstream's non-zero defaults, for scoring. */
  nonZeroMilliCpu = 0;
  nonZeroMemory = 0;
  podCount = 0;
  /** `protocol/port` -> host IPs in use. */
  usedPorts = new Map<string, string[]>();
  /** controller uid -> pods of it on this node. */
  ownerCounts = new Map<string, number>();

  constructor(name: string) {
    this.name = name;
  }

  /** Take the node object's spec and status (allocatable falls back to capacity). */
  setNode(node: KObj): void {
    this.node = node;
    this.labels = node.metadata?.labels ?? {};
    this.zone = this.labels[ZONE_LABEL] ?? '';
    this.taints = (node.spec?.taints ?? []).map((t: KObj) => ({
      key: t.key ?? '',
      value: t.value ?? '',
      effect: t.effect ?? '',
    }));
    this.unschedulable = node.spec?.unschedulable === true;
    const alloc: Record<string, unknown> = node.status?.allocatable ?? node.status?.capacity ?? {};
    const a: Allocatable = { ...emptyResources(), pods: 0 };
    for (const [k, q] of Object.entries(alloc)) {
      if (k === 'cpu') a.milliCpu = milliCpu(q);
      else if (k === 'memory') a.memory = quantityValue(q);
      else if (k === 'ephemeral-storage') a.ephemeralStorage = quantityValue(q);
      else if (k === 'pods') a.pods = quantityValue(q);
      else a.scalar.set(k, quantityValue(q));
    }
    this.allocatable = a;
  }

  /** Account a pod's requests, ports and owner on this node. */
  addPod(p: PodInfo): void {
    this.apply(p, 1);
  }

  removePod(p: PodInfo): void {
    this.apply(p, -1);
  }

  private apply(p: PodInfo, sign: 1 | -1): void {
    const r = p.requests;
    this.requested.milliCpu += sign * r.milliCpu;
    this.requested.memory += sign * r.memory;
    this.requested.ephemeralStorage += sign * r.ephemeralStorage;
    for (const [k, v] of r.scalar)
      this.requested.scalar.set(k, (this.requested.scalar.get(k) ?? 0) + sign * v);
    this.nonZeroMilliCpu += sign * p.nonZeroMilliCpu;
    this.nonZeroMemory += sign * p.nonZeroMemory;
    this.podCount += sign;
    for (const hp of p.hostPorts) {
      const k = `${hp.protocol}/${hp.port}`;
      const ips = this.usedPorts.get(k) ?? [];
      if (sign > 0) ips.push(hp.hostIP);
      else {
        const i = ips.indexOf(hp.hostIP);
        if (i >= 0) ips.splice(i, 1);
      }
      if (ips.length) this.usedPorts.set(k, ips);
      else this.usedPorts.delete(k);
    }
    if (p.ownerUid) {
      const n = (this.ownerCounts.get(p.ownerUid) ?? 0) + sign;
      if (n > 0) this.ownerCounts.set(p.ownerUid, n);
      else this.ownerCounts.delete(p.ownerUid);
    }
  }

  /** Whether a wanted host port collides with one in use (0.0.0.0 collides with every IP). */
  portInUse(hp: HostPort): boolean {
    const ips = this.usedPorts.get(`${hp.protocol}/${hp.port}`);
    if (!ips) return false;
    if (hp.hostIP === '0.0.0.0') return true;
    return ips.some((ip) => ip === '0.0.0.0' || ip === hp.hostIP);
  }
}

/** Build a NodeInfo from a Node object and pods on it (tests and tools). */
export function nodeInfoOf(node: KObj, pods: PodInfo[] = []): NodeInfo {
  const ni = new NodeInfo(node.metadata?.name ?? '');
  ni.setNode(node);
  for (const p of pods) ni.addPod(p);
  return ni;
}
