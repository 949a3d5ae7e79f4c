import type { Service } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import {
  ingressEndpointSlice,
  sameLoadBalancerIngress,
  sliceName,
  sliceUpToDate,
  statusFromService,
} from './status.js';

describe('statusFromService', () => {
  const svc = (status: unknown, externalIPs?: string[]): Service =>
    ({ spec: { type: 'LoadBalancer', ...(externalIPs ? { externalIPs } : {}) }, status }) as Service;
  it.each([
    ['no Service', undefined, []],
    ['no status yet', svc({}), []],
    [
      'IPs and hostnames, in order',
      svc({ loadBalancer: { ingress: [{ ip: '192.0.2.1' }, { hostname: 'lb.example.com' }] } }),
      [{ ip: '192.0.2.1' }, { hostname: 'lb.example.com' }],
    ],
    [
      'ports carried over',
      svc({ loadBalancer: { ingress: [{ ip: '192.0.2.1', ports: [{ port: 80, protocol: 'TCP' }] }] } }),
      [{ ip: '192.0.2.1', ports: [{ port: 80, protocol: 'TCP' }] }],
    ],
    [
      'duplicates dropped, externalIPs appended',
      svc({ loadBalancer: { ingress: [{ ip: '192.0.2.1' }, { ip: '192.0.2.1' }] } }, [
        '192.0.2.1',
        '198.51.100.9',
      ]),
      [{ ip: '192.0.2.1' }, { ip: '198.51.100.9' }],
    ],
  ])('%s', (_n, s, want) => {
    expect(statusFromService(s)).toEqual(want);
  });
});

describe('sameLoadBalancerIngress', () => {
  it.each([
    [undefined, [], true],
    [[{ ip: '1.2.3.4' }], [{ ip: '1.2.3.4' }], true],
    [[{ ip: '1.2.3.4' }], [{ ip: '1.2.3.5' }], false],
    [[{ ip: '1.2.3.4' }, { ip: '5.6.7.8' }], [{ ip: '5.6.7.8' }, { ip: '1.2.3.4' }], false],
    [[{ ip: '1.2.3.4', ports: [{ port: 80, protocol: 'TCP' }] }], [{ ip: '1.2.3.4' }], false],
  ])('%j vs %j -> %s', (a, b, want) => {
    expect(sameLoadBalancerIngress(a as never, b as never)).toBe(want);
  });
});

describe('the node EndpointSlice', () => {
  it('names: lower-cased, invalid characters dashed', () => {
    expect(sliceName('Node_A')).toBe('k8ts-ingress-node-a');
  });
  it('carries the address family, the real ports and the labels; up to date compares them', () => {
    const want = ingressEndpointSlice({
      nodeName: 'n1',
      address: 'fd00::1',
      httpPort: 8080,
      httpsPort: 8443,
    });
    expect(want.addressType).toBe('IPv6');
    expect(want.ports).toEqual([
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'https', port: 8443, protocol: 'TCP' },
    ]);
    const have = structuredClone(want);
    have.metadata!.resourceVersion = '7';
    expect(sliceUpToDate(have, want)).toBe(true);
    have.ports![1]!.port = 443;
    expect(sliceUpToDate(have, want)).toBe(false);
    const relabelled = structuredClone(want);
    relabelled.metadata!.labels!['endpointslice.kubernetes.io/managed-by'] = 'someone';
    expect(sliceUpToDate(relabelled, want)).toBe(false);
  });
});
