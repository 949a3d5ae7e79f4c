import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { node, nodeLookup, pod, service } from './endpoints-fixtures.js';
import {
  addressTypesForService,
  desiredEndpoints,
  endpointKey,
  endpointsEqualBeyondKey,
  portKey,
  type SliceEndpoint,
} from './endpointslice-desired.js';

const nodes = nodeLookup(node('node-a', 'zone-1'), node('node-b'));

/** Flatten a result into comparable rows: group ports -> endpoints (ip, conditions, extras). */
function summarize(svc: Service, pods: Pod[]) {
  const d = desiredEndpoints(svc, pods, nodes);
  return {
    groups: [...d.groups.values()].map((g) => ({
      type: g.addressType,
      ports: g.ports.map((p) => `${p.name}:${p.port}/${p.protocol}`),
      endpoints: [...g.endpoints.values()].map((e) => ({
        ip: e.addresses.join(','),
        c: `${e.conditions.ready ? 'R' : 'r'}${e.conditions.serving ? 'S' : 's'}${e.conditions.terminating ? 'T' : 't'}`,
        ...(e.hostname ? { hostname: e.hostname } : {}),
        ...(e.zone ? { zone: e.zone } : {}),
        ...(e.nodeName ? { node: e.nodeName } : {}),
      })),
    })),
    missing: d.missingNodes,
  };
}

describe('desiredEndpoints', () => {
  const named = [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }];
  const cases: {
    name: string;
    svc: Service;
    pods: Pod[];
    want: ReturnType<typeof summarize>;
  }[] = [
    {
      name: 'ready pod: ready + serving, node and zone',
      svc: service('web'),
      pods: [pod('a', { ip: '10.42.0.5' })],
      want: {
        groups: [
          {
            type: 'IPv4',
            ports: ['http:8080/TCP'],
            endpoints: [{ ip: '10.42.0.5', c: 'RSt', zone: 'zone-1', node: 'node-a' }],
          },
        ],
        missing: [],
      },
    },
    {
      name: 'not ready pod: published with ready=false serving=false',
      svc: service('web'),
      pods: [pod('a', { ip: '10.42.0.5', ready: false, node: 'node-b' })],
      want: {
        groups: [
          {
            type: 'IPv4',
            ports: ['http:8080/TCP'],
            endpoints: [{ ip: '10.42.0.5', c: 'rst', node: 'node-b' }],
          },
        ],
        missing: [],
      },
    },
    {
      name: 'terminating ready pod: serving and terminating, not ready',
      svc: service('web'),
      pods: [pod('a', { ip: '10.42.0.5', deleting: true, node: 'node-b' })],
      want: {
        groups: [
          {
            type: 'IPv4',
            ports: ['http:8080/TCP'],
            endpoints: [{ ip: '10.42.0.5', c: 'rST', node: 'node-b' }],
          },
        ],
        missing: [],
      },
    },
    {
      name: 'terminating pod with publishNotReadyAddresses: ready stays true',
      svc: service('web', { publishNotReadyAddresses: true }),
      pods: [pod('a', { ip: '10.42.0.5', deleting: true, ready: false, node: 'node-b' })],
      want: {
        groups: [
          {
            type: 'IPv4',
            ports: ['http:8080/TCP'],
            endpoints: [{ ip: '10.42.0.5', c: 'RsT', node: 'node-b' }],
          },
        ],
        missing: [],
      },
    },
    {
      name: 'pods without IP and terminal pods are left out',
      svc: service('web'),
      pods: [
        pod('a', { ip: '' }),
        pod('b', { ip: '10.42.0.6', phase: 'Succeeded' }),
        pod('c', { ip: '10.42.0.7', phase: 'Failed' }),
      ],
      want: { groups: [], missing: [] },
    },
    {
      name: 'named targetPort resolves per pod: different numbers make different groups',
      svc: service('web', { ports: named }),
      pods: [
        pod('a', { ip: '10.42.0.1', node: 'node-b', ports: [{ name: 'web', containerPort: 8080 }] }),
        pod('b', { ip: '10.42.0.2', node: 'node-b', ports: [{ name: 'web', containerPort: 9090 }] }),
        pod('c', { ip: '10.42.0.3', node: 'node-b', ports: [{ name: 'web', containerPort: 8080 }] }),
      ],
      want: {
        groups: [
          {
            type: 'IPv4',
            ports: ['http:8080/TCP'],
            endpoints: [
              { ip: '10.42.0.1', c: 'RSt', node: 'node-b' },
              { ip: '10.42.0.3', c: 'RSt', node: 'node-b' },
            ],
          },
          {
            type: 'IPv4',
            ports: ['http:9090/TCP'],
            endpoints: [{ ip: '10.42.0.2', c: 'RSt', node: 'node-b' }],
          },
        ],
        missing: [],
      },
    },
    {
      name: 'named port missing (or other protocol) on a pod: that port is left out for it',
      svc: service('web', {
        ports: [...named, { name: 'metrics', port: 9100, targetPort: 9100, protocol: 'TCP' }],
      }),
      pods: [
        pod('a', {
          ip: '10.42.0.1',
          node: 'node-b',
          ports: [{ name: 'web', containerPort: 8080, protocol: 'UDP' }],
        }),
      ],
      want: {
        groups: [
          {
            type: 'IPv4',
            ports: ['metrics:9100/TCP'],
            endpoints: [{ ip: '10.42.0.1', c: 'RSt', node: 'node-b' }],
          },
        ],
        missing: [],
      },
    },
    {
      name: 'hostname only when the subdomain names this service',
      svc: service('db', { clusterIP: 'None' }),
      pods: [
        pod('a', { ip: '10.42.0.1', node: 'node-b', hostname: 'db-0', subdomain: 'db' }),
        pod('b', { ip: '10.42.0.2', node: 'node-b', hostname: 'db-1', subdomain: 'other' }),
      ],
      want: {
        groups: [
          {
            type: 'IPv4',
            ports: ['http:8080/TCP'],
            endpoints: [
              { ip: '10.42.0.1', c: 'RSt', hostname: 'db-0', node: 'node-b' },
              { ip: '10.42.0.2', c: 'RSt', node: 'node-b' },
            ],
          },
        ],
        missing: [],
      },
    },
    {
      name: 'pod on a missing node is skipped and reported',
      svc: service('web'),
      pods: [pod('a', { ip: '10.42.0.1', node: 'gone' }), pod('b', { ip: '10.42.0.2', node: 'node-b' })],
      want: {
        groups: [
          {
            type: 'IPv4',
            ports: ['http:8080/TCP'],
            endpoints: [{ ip: '10.42.0.2', c: 'RSt', node: 'node-b' }],
          },
        ],
        missing: ['gone'],
      },
    },
    {
      name: 'missing node with publishNotReadyAddresses: published without zone',
      svc: service('web', { publishNotReadyAddresses: true }),
      pods: [pod('a', { ip: '10.42.0.1', node: 'gone' })],
      want: {
        groups: [
          {
            type: 'IPv4',
            ports: ['http:8080/TCP'],
            endpoints: [{ ip: '10.42.0.1', c: 'RSt', node: 'gone' }],
          },
        ],
        missing: [],
      },
    },
    {
      name: 'dual-stack service: one group per family; IPv6-only pod only in the IPv6 one',
      svc: service('web', { ipFamilies: ['IPv4', 'IPv6'] }),
      pods: [
        pod('a', { ips: ['10.42.0.1', 'fd00::1'], node: 'node-b' }),
        pod('b', { ips: ['fd00::2'], node: 'node-b' }),
      ],
      want: {
        groups: [
          {
            type: 'IPv4',
            ports: ['http:8080/TCP'],
            endpoints: [{ ip: '10.42.0.1', c: 'RSt', node: 'node-b' }],
          },
          {
            type: 'IPv6',
            ports: ['http:8080/TCP'],
            endpoints: [
              { ip: 'fd00::1', c: 'RSt', node: 'node-b' },
              { ip: 'fd00::2', c: 'RSt', node: 'node-b' },
            ],
          },
        ],
        missing: [],
      },
    },
    {
      name: 'headless service without ports: one port-less group',
      svc: service('h', { clusterIP: 'None', ports: [] }),
      pods: [pod('a', { ip: '10.42.0.1', node: 'node-b' })],
      want: {
        groups: [{ type: 'IPv4', ports: [], endpoints: [{ ip: '10.42.0.1', c: 'RSt', node: 'node-b' }] }],
        missing: [],
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(summarize(c.svc, c.pods)).toEqual(c.want);
    });
  }

  it('sets targetRef to the pod', () => {
    const d = desiredEndpoints(service('web'), [pod('a', { ip: '10.42.0.1' })], nodes);
    const ep = [...[...d.groups.values()][0]!.endpoints.values()][0]!;
    expect(ep.targetRef).toEqual({ kind: 'Pod', name: 'a', namespace: 'ns', uid: 'uid-a' });
  });
});

describe('addressTypesForService', () => {
  const cases: [string, Service, string[]][] = [
    ['ipFamilies', service('s', { ipFamilies: ['IPv6', 'IPv4'] }), ['IPv6', 'IPv4']],
    ['from IPv4 clusterIP', service('s', { ipFamilies: [], clusterIP: '10.43.0.5' }), ['IPv4']],
    ['from IPv6 clusterIP', service('s', { ipFamilies: [], clusterIP: 'fd00::5' }), ['IPv6']],
    [
      'headless without families: both',
      service('s', { ipFamilies: [], clusterIP: 'None' }),
      ['IPv4', 'IPv6'],
    ],
  ];
  for (const [name, svc, want] of cases) it(name, () => expect(addressTypesForService(svc)).toEqual(want));
});

describe('portKey / endpointKey', () => {
  it('portKey ignores order and defaults', () => {
    expect(
      portKey([
        { name: 'a', port: 1 },
        { name: 'b', port: 2, protocol: 'TCP' },
      ]),
    ).toBe(
      portKey([
        { name: 'b', port: 2 },
        { name: 'a', port: 1, protocol: 'TCP' },
      ]),
    );
    expect(portKey([{ name: 'a', port: 1 }])).not.toBe(portKey([{ name: 'a', port: 2 }]));
    expect(portKey(null)).toBe(portKey([]));
  });
  const base: SliceEndpoint = {
    addresses: ['10.0.0.1'],
    conditions: { ready: true, serving: true, terminating: false },
    targetRef: { kind: 'Pod', namespace: 'ns', name: 'a', uid: 'u1' },
    nodeName: 'n1',
  };
  const cases: [string, SliceEndpoint, boolean, boolean][] = [
    ['same', { ...base }, true, true],
    ['ready flips', { ...base, conditions: { ...base.conditions, ready: false } }, true, false],
    ['other node', { ...base, nodeName: 'n2' }, true, false],
    ['zone added', { ...base, zone: 'z' }, true, false],
    [
      'pod recreated with same name (uid)',
      { ...base, targetRef: { ...base.targetRef, uid: 'u2' } },
      true,
      false,
    ],
    ['other address', { ...base, addresses: ['10.0.0.2'] }, false, true],
    ['other pod name', { ...base, targetRef: { ...base.targetRef, name: 'b' } }, false, true],
    ['hostname added', { ...base, hostname: 'h' }, false, true],
  ];
  for (const [name, other, sameKey, equal] of cases) {
    it(`endpoint identity: ${name}`, () => {
      expect(endpointKey(other) === endpointKey(base)).toBe(sameKey);
      expect(endpointsEqualBeyondKey(other, base)).toBe(equal);
    });
  }
});
