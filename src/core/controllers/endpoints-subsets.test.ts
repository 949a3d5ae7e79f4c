import type { EndpointSubset, Pod, Service } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { pod, service } from './endpoints-fixtures.js';
import {
  desiredSubsets,
  endpointsFor,
  repackSubsets,
  subsetsEqual,
  truncateSubsets,
} from './endpoints-subsets.js';

/** Subsets as short strings: `ready ips | notReady ips | ports`. */
function brief(subsets: EndpointSubset[]): string[] {
  return subsets.map(
    (s) =>
      `${(s.addresses ?? []).map((a) => a.ip).join(',')}|${(s.notReadyAddresses ?? []).map((a) => a.ip).join(',')}|${(s.ports ?? []).map((p) => `${p.name ?? ''}:${p.port}`).join(',')}`,
  );
}

describe('desiredSubsets', () => {
  const named = [
    { name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' },
    { name: 'metrics', port: 9100, targetPort: 9100, protocol: 'TCP' },
  ];
  const cases: { name: string; svc: Service; pods: Pod[]; want: string[] }[] = [
    {
      name: 'ready and not ready pods in one subset',
      svc: service('web'),
      pods: [
        pod('a', { ip: '10.42.0.2' }),
        pod('b', { ip: '10.42.0.1' }),
        pod('c', { ip: '10.42.0.3', ready: false }),
      ],
      want: ['10.42.0.1,10.42.0.2|10.42.0.3|http:8080'],
    },
    {
      name: 'addresses sorted as strings, like upstream',
      svc: service('web'),
      pods: [pod('a', { ip: '10.42.0.2' }), pod('b', { ip: '10.42.0.10' })],
      want: ['10.42.0.10,10.42.0.2||http:8080'],
    },
    {
      name: 'terminating pods are left out',
      svc: service('web'),
      pods: [pod('a', { ip: '10.42.0.1' }), pod('b', { ip: '10.42.0.2', deleting: true })],
      want: ['10.42.0.1||http:8080'],
    },
    {
      name: 'publishNotReadyAddresses: not ready and terminating pods are ready addresses',
      svc: service('web', { publishNotReadyAddresses: true }),
      pods: [pod('a', { ip: '10.42.0.1', ready: false }), pod('b', { ip: '10.42.0.2', deleting: true })],
      want: ['10.42.0.1,10.42.0.2||http:8080'],
    },
    {
      name: 'no IP: left out',
      svc: service('web'),
      pods: [pod('a', { ip: '' })],
      want: [],
    },
    {
      name: 'named port resolving differently: one subset per port set',
      svc: service('web', { ports: named }),
      pods: [
        pod('a', { ip: '10.42.0.1', ports: [{ name: 'web', containerPort: 8080 }] }),
        pod('b', { ip: '10.42.0.2', ports: [{ name: 'web', containerPort: 9090 }] }),
        pod('c', { ip: '10.42.0.3' }),
      ],
      want: ['10.42.0.1||http:8080', '10.42.0.2||http:9090', '10.42.0.1,10.42.0.2,10.42.0.3||metrics:9100'],
    },
    {
      name: 'headless without ports: a port-less subset',
      svc: service('h', { clusterIP: 'None', ports: [] }),
      pods: [pod('a', { ip: '10.42.0.1' })],
      want: ['10.42.0.1||'],
    },
    {
      name: 'ClusterIP service without ports: nothing',
      svc: service('h', { ports: [] }),
      pods: [pod('a', { ip: '10.42.0.1' })],
      want: [],
    },
    {
      name: 'IPv6 service takes the IPv6 address',
      svc: service('v6', { ipFamilies: ['IPv6'], clusterIP: 'fd00::10' }),
      pods: [pod('a', { ips: ['10.42.0.1', 'fd00::1'] }), pod('b', { ips: ['10.42.0.2'] })],
      want: ['fd00::1||http:8080'],
    },
  ];
  for (const c of cases) it(c.name, () => expect(brief(desiredSubsets(c.svc, c.pods))).toEqual(c.want));

  it('addresses carry nodeName, targetRef and hostname', () => {
    const [ss] = desiredSubsets(service('db', { clusterIP: 'None' }), [
      pod('db-0', { ip: '10.42.0.1', hostname: 'db-0', subdomain: 'db' }),
    ]);
    expect(ss!.addresses).toEqual([
      {
        ip: '10.42.0.1',
        hostname: 'db-0',
        nodeName: 'node-a',
        targetRef: { kind: 'Pod', name: 'db-0', namespace: 'ns', uid: 'uid-db-0' },
      },
    ]);
  });
});

describe('repackSubsets', () => {
  const a = (ip: string) => ({ ip, targetRef: { kind: 'Pod', uid: ip } });
  const cases: [string, EndpointSubset[], string[]][] = [
    [
      'merges subsets with the same ports',
      [
        { addresses: [a('1.1.1.2')], ports: [{ name: 'p', port: 80 }] },
        { addresses: [a('1.1.1.1')], ports: [{ name: 'p', port: 80 }] },
      ],
      ['1.1.1.1,1.1.1.2||p:80'],
    ],
    [
      'groups ports served by the same addresses',
      [
        { addresses: [a('1.1.1.1')], ports: [{ name: 'b', port: 2 }] },
        { addresses: [a('1.1.1.1')], ports: [{ name: 'a', port: 1 }] },
      ],
      ['1.1.1.1||a:1,b:2'],
    ],
    [
      'not ready trumps ready for the same address and port',
      [
        { addresses: [a('1.1.1.1')], ports: [{ name: 'p', port: 80 }] },
        { notReadyAddresses: [a('1.1.1.1')], ports: [{ name: 'p', port: 80 }] },
      ],
      ['|1.1.1.1|p:80'],
    ],
    [
      'duplicates collapse',
      [{ addresses: [a('1.1.1.1'), a('1.1.1.1')], ports: [{ name: 'p', port: 80 }] }],
      ['1.1.1.1||p:80'],
    ],
  ];
  for (const [name, input, want] of cases) it(name, () => expect(brief(repackSubsets(input))).toEqual(want));
});

describe('truncateSubsets', () => {
  const addrs = (n: number, base: number) =>
    Array.from({ length: n }, (_, i) => ({ ip: `10.0.${base}.${i}` }));
  const count = (ss: EndpointSubset[]) =>
    ss.map((s) => [(s.addresses ?? []).length, (s.notReadyAddresses ?? []).length]);
  const cases: [string, EndpointSubset[], number, number[][], boolean][] = [
    [
      'under capacity: untouched',
      [{ addresses: addrs(5, 0), notReadyAddresses: addrs(5, 1) }],
      10,
      [[5, 5]],
      false,
    ],
    [
      'ready fit: not ready cut proportionally',
      [
        { addresses: addrs(4, 0), notReadyAddresses: addrs(6, 1) },
        { addresses: addrs(2, 2), notReadyAddresses: addrs(2, 3) },
      ],
      10,
      [
        [4, 3],
        [2, 1],
      ],
      true,
    ],
    [
      'too many ready: ready cut, all not ready dropped',
      [{ addresses: addrs(9, 0), notReadyAddresses: addrs(3, 1) }, { addresses: addrs(3, 2) }],
      8,
      [
        [6, 0],
        [2, 0],
      ],
      true,
    ],
  ];
  for (const [name, input, max, want, truncated] of cases) {
    it(name, () => {
      const r = truncateSubsets(input, max);
      expect(count(r.subsets)).toEqual(want);
      expect(r.truncated).toBe(truncated);
    });
  }
});

describe('endpointsFor', () => {
  const svc = service('web', { labels: { app: 'web' } });
  const ps = [pod('a', { ip: '10.42.0.1' })];

  it('new Endpoints: name, labels, subsets, trigger time', () => {
    const ep = endpointsFor(svc, ps, undefined, { triggerTime: Date.parse('2024-05-01T00:00:00Z') });
    expect(ep?.metadata).toEqual({
      name: 'web',
      namespace: 'ns',
      labels: { app: 'web' },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-05-01T00:00:00Z' },
    });
    expect(brief(ep!.subsets!)).toEqual(['10.42.0.1||http:8080']);
  });

  it('headless: the headless label', () => {
    const ep = endpointsFor(service('h', { clusterIP: 'None' }), ps, undefined);
    expect(ep?.metadata?.labels).toEqual({ 'service.kubernetes.io/headless': '' });
    expect(ep?.metadata?.annotations).toBeUndefined();
  });

  it('up to date: no write (even if the trigger time moved)', () => {
    const cur = endpointsFor(svc, ps, undefined)!;
    cur.metadata!.resourceVersion = '5';
    expect(endpointsFor(svc, ps, cur, { triggerTime: Date.now() })).toBeUndefined();
  });

  it('change: a copy of the current object with new subsets', () => {
    const cur = endpointsFor(svc, ps, undefined)!;
    cur.metadata!.resourceVersion = '5';
    cur.metadata!.uid = 'u';
    const next = endpointsFor(svc, [...ps, pod('b', { ip: '10.42.0.2' })], cur);
    expect(next?.metadata?.resourceVersion).toBe('5');
    expect(next?.metadata?.uid).toBe('u');
    expect(brief(next!.subsets!)).toEqual(['10.42.0.1,10.42.0.2||http:8080']);
  });

  it('service label change rewrites labels', () => {
    const cur = endpointsFor(svc, ps, undefined)!;
    const next = endpointsFor(service('web', { labels: { app: 'web', v: '2' } }), ps, cur);
    expect(next?.metadata?.labels).toEqual({ app: 'web', v: '2' });
  });

  it('over capacity: truncated with the annotation, then stable', () => {
    const many = Array.from({ length: 1005 }, (_, i) => pod(`p${i}`, { ip: `10.42.${i >> 8}.${i & 255}` }));
    const ep = endpointsFor(svc, many, undefined)!;
    expect(ep.metadata?.annotations?.['endpoints.kubernetes.io/over-capacity']).toBe('truncated');
    expect(ep.subsets!.reduce((n, s) => n + (s.addresses ?? []).length, 0)).toBe(1000);
    expect(endpointsFor(svc, many, ep)).toBeUndefined();
    // Back under capacity: the annotation goes.
    const fewer = endpointsFor(svc, many.slice(0, 10), ep)!;
    expect(fewer.metadata?.annotations?.['endpoints.kubernetes.io/over-capacity']).toBeUndefined();
  });

  it('subsetsEqual ignores targetRef resourceVersion and empty fields', () => {
    const x: EndpointSubset[] = [
      { addresses: [{ ip: '1.1.1.1', targetRef: { kind: 'Pod', resourceVersion: '1' } }], ports: [] },
    ];
    const y: EndpointSubset[] = [
      { addresses: [{ ip: '1.1.1.1', targetRef: { kind: 'Pod', resourceVersion: '2' } }] },
    ];
    expect(subsetsEqual(x, y)).toBe(true);
    expect(subsetsEqual(x, [{ addresses: [{ ip: '1.1.1.2' }] }])).toBe(false);
  });
});
