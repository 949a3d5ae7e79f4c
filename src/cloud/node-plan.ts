/**
 * The cloud node controller's pure decisions: the patch that initializes a node from its instance
 * metadata (providerID, topology and instance-type labels, without the uninitialized taint), and
 * the address list to publish.
 */
import type { NodeAddress as K8sNodeAddress, Node, Taint } from 'kubernetes-types/core/v1.js';
import type { InstanceMetadata } from './provider.js';

/** The kubelet with --cloud-provider=external registers nodes with this taint; we remove it. */
export const TAINT_UNINITIALIZED = 'node.cloudprovider.kubernetes.io/uninitialized';
/** Put on NotReady nodes whose instance is shut down (not gone). */
export const TAINT_SHUTDOWN = 'node.cloudprovider.kubernetes.io/shutdown';
export const LABEL_REGION = 'topology.kubernetes.io/region';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const LABEL_INSTANCE_TYPE = 'node.kubernetes.io/instance-type';

export function hasTaint(node: Node, key: string): boolean {
  return (node.spec?.taints ?? []).some((t) => t.key === key);
}

export function isNodeReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Labels to set from the metadata (only those with a value). */
export function cloudLabels(md: InstanceMetadata): Record<string, string> {
  const out: Record<string, string> = {};
  if (md.region) out[LABEL_REGION] = md.region;
  if (md.zone) out[LABEL_ZONE] = md.zone;
  if (md.instanceType) out[LABEL_INSTANCE_TYPE] = md.instanceType;
  return out;
}

/**
 * The merge patch that initializes `node` (resourceVersion-guarded, since it replaces the whole
 * taint list): providerID if not yet set, labels, and the taints minus the uninitialized one.
 */
export function initializePatch(node: Node, md: InstanceMetadata): Record<string, unknown> {
  const taints: Taint[] = (node.spec?.taints ?? []).filter((t) => t.key !== TAINT_UNINITIALIZED);
  const spec: Record<string, unknown> = { taints: taints.length ? taints : null };
  if (!node.spec?.providerID && md.providerID) spec.providerID = md.providerID;
  return {
    metadata: { labels: cloudLabels(md), resourceVersion: node.metadata?.resourceVersion },
    spec,
  };
}

/** Addresses in the order upstream keeps them (by type, then as the provider gave them). */
export function nodeAddresses(md: InstanceMetadata): K8sNodeAddress[] {
  const order = ['InternalIP', 'ExternalIP', 'InternalDNS', 'ExternalDNS', 'Hostname'];
  const seen = new Set<string>();
  return [...md.nodeAddresses]
    .sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type))
    .filter((a) => {
      const k = `${a.type}/${a.address}`;
      if (seen.has(k) || !a.address) return false;
      seen.add(k);
      return true;
    })
    .map((a) => ({ type: a.type, address: a.address }));
}

/** Same addresses in the same order. */
export function addressesEqual(a: K8sNodeAddress[] | undefined, b: K8sNodeAddress[]): boolean {
  const x = a ?? [];
  return x.length === b.length && x.every((e, i) => e.type === b[i]?.type && e.address === b[i]?.address);
}
