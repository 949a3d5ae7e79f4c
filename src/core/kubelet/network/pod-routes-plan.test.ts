import { describe, expect, it } from 'vitest';
import {
  desiredState,
  macFromBytes,
  type ObservedState,
  type PodNetworkBackend,
  parseFdb,
  parseNeighbours,
  parseRoutes,
  planSync,
  type RouteNode,
  routeNodeOf,
} from './pod-routes-plan.js';
import { RouteNodeTracker } from './pod-routes-tracker.js';

const MAC2 = '02:00:00:00:00:02';
const MAC3 = '02:00:00:00:00:03';
const n = (name: string, podCidr: string, ip: string, mac = ''): RouteNode => ({
  name,
  podCidr,
  internalIp: ip,
  vxlanMac: mac,
  underlayIp: ip,
});
const NODES = [
  n('a', '10.42.0.0/24', '172.31.255.1', '02:00:00:00:00:01'),
  n('b', '10.42.1.0/24', '172.31.255.2', MAC2),
  n('c', '10.42.2.0/24', '172.31.255.3', MAC3),
];
const empty = (): ObservedState => ({ routes: [], neighbours: [], fdb: [], foreignDsts: new Set() });

describe('desiredState + planSync', () => {
  const cases: {
    name: string;
    backend: PodNetworkBackend;
    nodes: RouteNode[];
    observed: ObservedState;
    want: { bridgeAdd?: string[]; ip?: string[]; bridgeDel?: string[]; conflicts?: string[] };
  }[] = [
    {
      name: 'host-gw: a route per other node, none for itself',
      backend: 'host-gw',
      nodes: NODES,
      observed: empty(),
      want: {
        ip: [
          'route replace 10.42.1.0/24 via 172.31.255.2 proto 75',
          'route replace 10.42.2.0/24 via 172.31.255.3 proto 75',
        ],
      },
    },
    {
      name: 'host-gw: converged -> no command',
      backend: 'host-gw',
      nodes: NODES,
      observed: {
        ...empty(),
        routes: [
          { dst: '10.42.1.0/24', via: '172.31.255.2' },
          { dst: '10.42.2.0/24', via: '172.31.255.3' },
        ],
      },
      want: {},
    },
    {
      name: 'host-gw: a deleted node loses its route; a moved node is replaced',
      backend: 'host-gw',
      nodes: [NODES[0]!, n('b', '10.42.1.0/24', '172.31.255.9')],
      observed: {
        ...empty(),
        routes: [
          { dst: '10.42.1.0/24', via: '172.31.255.2' },
          { dst: '10.42.2.0/24', via: '172.31.255.3' },
        ],
      },
      want: {
        ip: ['route replace 10.42.1.0/24 via 172.31.255.9 proto 75', 'route del 10.42.2.0/24 proto 75'],
      },
    },
    {
      name: 'host-gw: a route someone else owns for that podCIDR is left alone',
      backend: 'host-gw',
      nodes: NODES,
      observed: { ...empty(), foreignDsts: new Set(['10.42.2.0/24']) },
      want: { ip: ['route replace 10.42.1.0/24 via 172.31.255.2 proto 75'], conflicts: ['10.42.2.0/24'] },
    },
    {
      name: 'host-gw: nodes without podCIDR or InternalIP are skipped',
      backend: 'host-gw',
      nodes: [NODES[0]!, n('b', '', '172.31.255.2'), n('c', '10.42.2.0/24', '')],
      observed: empty(),
      want: {},
    },
    {
      name: 'vxlan: fdb, permanent neighbour and onlink route per node that published its MAC',
      backend: 'vxlan',
      nodes: [...NODES.slice(0, 2), n('c', '10.42.2.0/24', '172.31.255.3')],
      observed: empty(),
      want: {
        bridgeAdd: [`fdb replace ${MAC2} dev k8ts.1 dst 172.31.255.2 self permanent`],
        ip: [
          `neigh replace 10.42.1.0 lladdr ${MAC2} dev k8ts.1 nud permanent`,
          'route replace 10.42.1.0/24 via 10.42.1.0 dev k8ts.1 onlink proto 75',
        ],
      },
    },
    {
      name: 'vxlan: host-gw leftovers are replaced; a gone node loses route, neighbour and fdb (in that order)',
      backend: 'vxlan',
      nodes: NODES.slice(0, 2),
      observed: {
        routes: [
          { dst: '10.42.1.0/24', via: '172.31.255.2' },
          { dst: '10.42.2.0/24', via: '10.42.2.0', dev: 'k8ts.1' },
        ],
        neighbours: [
          { ip: '10.42.1.0', mac: MAC2 },
          { ip: '10.42.2.0', mac: MAC3 },
        ],
        fdb: [
          { mac: MAC2, dst: '172.31.255.2' },
          { mac: MAC3, dst: '172.31.255.3' },
        ],
        foreignDsts: new Set(),
      },
      want: {
        ip: [
          'route replace 10.42.1.0/24 via 10.42.1.0 dev k8ts.1 onlink proto 75',
          'route del 10.42.2.0/24 proto 75',
          'neigh del 10.42.2.0 dev k8ts.1',
        ],
        bridgeDel: [`fdb del ${MAC3} dev k8ts.1 dst 172.31.255.3 self`],
      },
    },
    {
      name: 'none: every route of ours goes',
      backend: 'none',
      nodes: NODES,
      observed: { ...empty(), routes: [{ dst: '10.42.1.0/24', via: '172.31.255.2' }] },
      want: { ip: ['route del 10.42.1.0/24 proto 75'] },
    },
  ];
  it.each(cases)('$name', ({ backend, nodes, observed, want }) => {
    const plan = planSync(observed, desiredState('a', nodes, backend));
    expect(plan).toEqual({ bridgeAdd: [], ip: [], bridgeDel: [], conflicts: [], ...want });
  });
});

describe('kernel JSON parsers', () => {
  it('routes: ours by protocol 75, every other destination foreign', () => {
    const json = JSON.stringify([
      { dst: '10.42.1.0/24', gateway: '172.31.255.2', dev: 'eth0', protocol: '75' },
      { dst: '10.42.2.0/24', gateway: '10.42.2.0', dev: 'k8ts.1', protocol: '75', flags: ['onlink'] },
      { dst: '10.42.0.0/24', dev: 'k8ts0', protocol: 'kernel', scope: 'link' },
      { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
    ]);
    const r = parseRoutes(json);
    expect(r.ours).toEqual([
      { dst: '10.42.1.0/24', via: '172.31.255.2' },
      { dst: '10.42.2.0/24', via: '10.42.2.0', dev: 'k8ts.1' },
    ]);
    expect([...r.foreignDsts]).toEqual(['10.42.0.0/24', 'default']);
    expect(parseRoutes('')).toEqual({ ours: [], foreignDsts: new Set() });
  });
  it('neighbours and fdb entries (the all-zero default entry is not a peer)', () => {
    expect(
      parseNeighbours('[{"dst":"10.42.9.0","lladdr":"02:aa:bb:cc:dd:ee","state":["PERMANENT"]}]'),
    ).toEqual([{ ip: '10.42.9.0', mac: '02:aa:bb:cc:dd:ee' }]);
    expect(
      parseFdb(
        '[{"mac":"02:aa:bb:cc:dd:ee","dst":"172.31.254.9","flags":["self"]},{"mac":"00:00:00:00:00:00","dst":"1.2.3.4"},{"mac":"33:33:00:00:00:01"}]',
      ),
    ).toEqual([{ mac: '02:aa:bb:cc:dd:ee', dst: '172.31.254.9' }]);
  });
  it('MACs are locally administered unicast', () => {
    expect(macFromBytes(new Uint8Array([0xff, 1, 2, 3, 4, 5, 6]))).toBe('fe:01:02:03:04:05');
    expect(macFromBytes(new Uint8Array([0x01, 0xab]))).toBe('02:ab:00:00:00:00');
  });
});

describe('RouteNodeTracker', () => {
  const node = (extra: Record<string, any> = {}) => ({
    metadata: { name: 'b', annotations: { 'k8ts.io/vxlan-mac': MAC2 }, ...extra.metadata },
    spec: { podCIDR: '10.42.1.0/24' },
    status: {
      addresses: [
        { type: 'InternalIP', address: '172.31.255.2' },
        { type: 'Hostname', address: 'b' },
      ],
      conditions: extra.conditions ?? [],
    },
  });
  it('wakes the writer only for routing-relevant changes', () => {
    const t = new RouteNodeTracker();
    expect(t.update(node())).toBe(true);
    expect(t.update(node({ conditions: [{ type: 'Ready', status: 'False' }] }))).toBe(false);
    expect(t.update(node({ metadata: { annotations: { 'k8ts.io/public-ip': '198.51.100.2' } } }))).toBe(true);
    expect(t.get('b')).toEqual({
      name: 'b',
      podCidr: '10.42.1.0/24',
      internalIp: '172.31.255.2',
      vxlanMac: '',
      underlayIp: '198.51.100.2',
    });
    expect(t.delete('b')).toBe(true);
    expect(t.delete('b')).toBe(false);
    expect(routeNodeOf({ spec: {} })).toBeUndefined();
  });
});
