/**
 * Names and tags as cloud-provider-aws gives them, so that users find them in the console: the
 * load balancer is `a` + the service UID without dashes (32 characters), target groups are
 * `k8s-<ns:8>-<name:8>-<hash:10>` (the hash covers what cannot change on a target group), and
 * everything carries `kubernetes.io/cluster/<cluster>: owned` and `kubernetes.io/service-name`.
 */
import { createHash } from 'node:crypto';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { PortMapping } from './aws-annotations.js';

export const TAG_SERVICE_NAME = 'kubernetes.io/service-name';

/** `kubernetes.io/cluster/<name>` */
export function clusterTagKey(clusterName: string): string {
  return `kubernetes.io/cluster/${clusterName}`;
}

/** cloudprovider.DefaultLoadBalancerName: "a" + UID without dashes, at most 32 characters. */
export function defaultLoadBalancerName(svc: Service): string {
  return `a${(svc.metadata?.uid ?? '').replace(/-/g, '')}`.slice(0, 32);
}

/** Target group name of one port mapping (unique per cluster, service, port and immutable settings). */
export function targetGroupName(
  clusterName: string,
  svc: Service,
  m: PortMapping,
  targetType: 'instance' | 'ip',
): string {
  const h = createHash('sha1');
  for (const part of [
    clusterName,
    svc.metadata?.namespace ?? '',
    svc.metadata?.name ?? '',
    String(m.frontendPort),
    String(m.trafficPort),
    m.trafficProtocol,
    targetType,
    m.healthCheck.protocol,
    String(m.healthCheck.intervalSeconds),
  ])
    h.update(part);
  const clean = (s: string) => s.replace(/[^a-zA-Z0-9]/g, '').slice(0, 8);
  return `k8s-${clean(svc.metadata?.namespace ?? '')}-${clean(svc.metadata?.name ?? '')}-${h.digest('hex').slice(0, 10)}`;
}

/** Tags of every resource of a service's load balancer. */
export function resourceTags(
  clusterName: string,
  svc: Service,
  extra: Record<string, string>,
): Record<string, string> {
  return {
    ...extra,
    [TAG_SERVICE_NAME]: `${svc.metadata?.namespace}/${svc.metadata?.name}`,
    [clusterTagKey(clusterName)]: 'owned',
  };
}

/** Is a resource with these tags owned by this cluster (and so ours to change or delete)? */
export function ownedBy(tags: Record<string, string>, clusterName: string): boolean {
  return tags[clusterTagKey(clusterName)] === 'owned';
}

/** The AWS SDK's [{Key, Value}] from a map, in key order (stable calls). */
export function toTagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.keys(tags)
    .sort()
    .map((k) => ({ Key: k, Value: tags[k]! }));
}

/** A map from the AWS SDK's [{Key, Value}]. */
export function fromTagList(
  tags: { Key?: string | undefined; Value?: string | undefined }[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key) out[t.Key] = t.Value ?? '';
  return out;
}

/** The instance id of an `aws:///zone/i-...` providerID (or a bare `i-...`). */
export function instanceIdFromProviderId(providerID: string | undefined): string | undefined {
  if (!providerID) return undefined;
  const m = /(i-[0-9a-zA-Z]+)$/.exec(providerID);
  return m?.[1];
}
