import type { Node, Service } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import {
  eligibleNodes,
  LB_FINALIZER,
  lbStatusEqual,
  needsCleanup,
  nodeEligible,
  serviceLbKey,
  wantsLoadBalancer,
} from './service-lb-plan.js';

function svc(spec: NonNullable<Service['spec']>, meta: Service['metadata'] = {}): Service {
  return { metadata: { name: 's', namespace: 'default', ...meta }, spec };
}
function node(
  name: string,
  opts: { ready?: boolean; labels?: Record<string, string>; taint?: string } = {},
): Node {
  return {
    metadata: { name, labels: opts.labels ?? {} },
    spec: opts.taint ? { taints: [{ key: opts.taint, effect: 'NoSchedule' }] } : {},
    status: { conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
  };
}

describe('service LB plan', () => {
  it.each([
    [{ type: 'LoadBalancer' }, {}, true],
    [{ type: 'LoadBalancer', loadBalancerClass: 'example.com/lb' }, {}, false],
    [{ type: 'NodePort' }, {}, false],
    [{ type: 'LoadBalancer' }, { deletionTimestamp: '2026-01-01T00:00:00Z' }, false],
  ] as const)('wantsLoadBalancer(%j, %j) = %s', (spec, meta, want) => {
    expect(wantsLoadBalancer(svc(spec as NonNullable<Service['spec']>, meta))).toBe(want);
  });

  it('needs cleanup once the finalizer is there and the LB is no longer wanted', () => {
    expect(needsCleanup(svc({ type: 'ClusterIP' }, { finalizers: [LB_FINALIZER] }))).toBe(true);
    expect(needsCleanup(svc({ type: 'ClusterIP' }))).toBe(false);
    expect(needsCleanup(svc({ type: 'LoadBalancer' }, { finalizers: [LB_FINALIZER] }))).toBe(false);
    expect(
      needsCleanup(
        svc(
          { type: 'LoadBalancer' },
          { finalizers: [LB_FINALIZER], deletionTimestamp: '2026-01-01T00:00:00Z' },
        ),
      ),
    ).toBe(true);
  });

  it.each([
    ['ready node', node('a'), true],
    ['NotReady node', node('a', { ready: false }), false],
    [
      'excluded by label (empty value too)',
      node('a', { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }),
      false,
    ],
    ['autoscaler is removing it', node('a', { taint: 'ToBeDeletedByClusterAutoscaler' }), false],
    ['other taint', node('a', { taint: 'example.com/x' }), true],
  ])('nodeEligible: %s', (_n, n, want) => {
    expect(nodeEligible(n)).toBe(want);
  });

  it('eligible nodes are sorted by name', () => {
    expect(
      eligibleNodes([node('c'), node('a'), node('b', { ready: false })]).map((n) => n.metadata?.name),
    ).toEqual(['a', 'c']);
  });

  it('the LB key changes on port, nodePort, policy and annotation changes, not on labels', () => {
    const base = svc({ type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] });
    const k = serviceLbKey(base);
    expect(serviceLbKey({ ...base, metadata: { ...base.metadata, labels: { x: 'y' } } })).toBe(k);
    expect(serviceLbKey(svc({ type: 'LoadBalancer', ports: [{ port: 81, nodePort: 30080 }] }))).not.toBe(k);
    expect(serviceLbKey(svc({ type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30081 }] }))).not.toBe(k);
    expect(
      serviceLbKey(svc({ ...base.spec, externalTrafficPolicy: 'Local', healthCheckNodePort: 31000 })),
    ).not.toBe(k);
    expect(
      serviceLbKey(
        svc(base.spec!, { annotations: { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' } }),
      ),
    ).not.toBe(k);
  });

  it('compares statuses entry by entry', () => {
    expect(lbStatusEqual({ ingress: [{ ip: '1.2.3.4' }] }, { ingress: [{ ip: '1.2.3.4' }] })).toBe(true);
    expect(lbStatusEqual({ ingress: [{ ip: '1.2.3.4' }] }, { ingress: [{ hostname: 'x' }] })).toBe(false);
    expect(lbStatusEqual(undefined, { ingress: [] })).toBe(true);
  });
});
