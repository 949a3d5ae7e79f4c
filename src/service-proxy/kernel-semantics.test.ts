/**
 * kube-proxy's semantics, checked by tracing packets through the generated rules of both kernel
 * modes (a FakeIptables holding exactly what iptables-restore would, a FakeNft holding what `nft -f`
 * would): which endpoints a connection can reach and how often, whether it is masqueraded,
 * rejected or dropped. The case table runs against both modes.
 */
import { describe, expect, it } from 'vitest';
import { sepChain } from './chain-names.js';
import { parseNodePortAddresses, resolveNodePortAddresses } from './start.js';
import {
  CLUSTER_CIDR,
  Harness,
  harnessFor,
  NftHarness,
  NODE_IP,
  NODE_IP6,
  type SvcSpec,
  slice,
  svc,
} from './testing/fixtures.js';
import type { Packet } from './testing/packet-tracer.js';

const POD = '10.42.0.50';
const OUTSIDE = '203.0.113.5';
const EP = ['10.42.0.11', '10.42.0.12', '10.42.0.13'];
const third = 0.3333;

interface Case {
  name: string;
  svc: SvcSpec;
  eps: Parameters<typeof slice>[0];
  pkt: Packet;
  recent?: Record<string, string[]>;
  want: Record<string, number>;
  /** nftables mode's outcome where it differs from iptables mode (upstream's nftables mode does). */
  nft?: Record<string, number>;
}

const lb = { type: 'LoadBalancer' as const, ports: [{ name: 'http', port: 80, nodePort: 30080 }] };
const np = { type: 'NodePort' as const, ports: [{ name: 'http', port: 80, nodePort: 30080 }] };
const remoteEps = [
  { ip: EP[0]!, node: 'node-a' },
  { ip: EP[1]!, node: 'node-a' },
  { ip: EP[2]!, node: 'node-b' },
];

const cases: Case[] = [
  {
    name: 'ClusterIP from a pod spreads evenly over 3 endpoints, no masquerade',
    svc: {},
    eps: EP,
    pkt: { src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' },
    want: {
      'ACCEPT 10.42.0.11:8080': third,
      'ACCEPT 10.42.0.12:8080': third,
      'ACCEPT 10.42.0.13:8080': third,
    },
  },
  {
    name: 'ClusterIP from the node itself is masqueraded (source outside the cluster CIDR)',
    svc: {},
    eps: EP,
    pkt: { src: NODE_IP, dst: '10.43.0.10', dport: 80, origin: 'local' },
    want: {
      'ACCEPT 10.42.0.11:8080 masq': third,
      'ACCEPT 10.42.0.12:8080 masq': third,
      'ACCEPT 10.42.0.13:8080 masq': third,
    },
  },
  {
    name: 'hairpin: an endpoint reaching itself through its service is masqueraded, the others are not',
    svc: {},
    eps: EP,
    pkt: { src: EP[0]!, dst: '10.43.0.10', dport: 80, origin: 'remote' },
    want: {
      'ACCEPT 10.42.0.11:8080 masq': third,
      'ACCEPT 10.42.0.12:8080': third,
      'ACCEPT 10.42.0.13:8080': third,
    },
  },
  {
    name: 'a port the service does not have is left alone',
    svc: {},
    eps: EP,
    pkt: { src: POD, dst: '10.43.0.10', dport: 81, origin: 'remote' },
    want: { ACCEPT: 1 },
  },
  {
    name: 'no endpoints: ClusterIP REJECTed (fails at once)',
    svc: {},
    eps: [],
    pkt: { src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' },
    want: { REJECT: 1 },
  },
  {
    name: 'no endpoints: REJECTed from the node too',
    svc: {},
    eps: [],
    pkt: { src: NODE_IP, dst: '10.43.0.10', dport: 80, origin: 'local' },
    want: { REJECT: 1 },
  },
  {
    name: 'only unready endpoints count as none',
    svc: {},
    eps: [{ ip: EP[0]!, ready: false, serving: false }],
    pkt: { src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' },
    want: { REJECT: 1 },
  },
  {
    name: 'terminating endpoints are not used while a ready one exists',
    svc: {},
    eps: [{ ip: EP[0]!, ready: false, serving: true, terminating: true }, EP[1]!],
    pkt: { src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' },
    want: { 'ACCEPT 10.42.0.12:8080': 1 },
  },
  {
    name: 'serving terminating endpoints are used when no ready one exists',
    svc: {},
    eps: [
      { ip: EP[0]!, ready: false, serving: true, terminating: true },
      { ip: EP[1]!, ready: false, serving: false, terminating: true },
    ],
    pkt: { src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' },
    want: { 'ACCEPT 10.42.0.11:8080': 1 },
  },
  {
    name: 'NodePort from outside: spread, masqueraded',
    svc: np,
    eps: EP,
    pkt: { src: OUTSIDE, dst: NODE_IP, dport: 30080, origin: 'remote' },
    want: {
      'ACCEPT 10.42.0.11:8080 masq': third,
      'ACCEPT 10.42.0.12:8080 masq': third,
      'ACCEPT 10.42.0.13:8080 masq': third,
    },
  },
  {
    name: 'NodePort on localhost (IPv4) works and is masqueraded',
    svc: np,
    eps: [EP[0]!],
    pkt: { src: '127.0.0.1', dst: '127.0.0.1', dport: 30080, origin: 'local' },
    want: { 'ACCEPT 10.42.0.11:8080 masq': 1 },
    nft: { ACCEPT: 1 }, // nftables mode never serves NodePorts on loopback (upstream)
  },
  {
    name: 'NodePort on an address that is not the node is ignored',
    svc: np,
    eps: EP,
    pkt: { src: OUTSIDE, dst: '198.51.100.7', dport: 30080, origin: 'remote' },
    want: { ACCEPT: 1 },
  },
  {
    name: 'NodePort without endpoints is REJECTed',
    svc: np,
    eps: [],
    pkt: { src: OUTSIDE, dst: NODE_IP, dport: 30080, origin: 'remote' },
    want: { REJECT: 1 },
  },
  {
    name: 'externalTrafficPolicy Local: outside traffic reaches only local endpoints, source preserved',
    svc: { ...lb, etpLocal: true, lbIPs: ['198.51.100.1'] },
    eps: remoteEps,
    pkt: { src: OUTSIDE, dst: NODE_IP, dport: 30080, origin: 'remote' },
    want: { 'ACCEPT 10.42.0.11:8080': 0.5, 'ACCEPT 10.42.0.12:8080': 0.5 },
  },
  {
    name: 'externalTrafficPolicy Local: LB IP from outside, local endpoints only, no masquerade',
    svc: { ...lb, etpLocal: true, lbIPs: ['198.51.100.1'] },
    eps: remoteEps,
    pkt: { src: OUTSIDE, dst: '198.51.100.1', dport: 80, origin: 'remote' },
    want: { 'ACCEPT 10.42.0.11:8080': 0.5, 'ACCEPT 10.42.0.12:8080': 0.5 },
  },
  {
    name: 'externalTrafficPolicy Local: pods reaching the NodePort use every endpoint (short-circuit)',
    svc: { ...np, etpLocal: true },
    eps: remoteEps,
    pkt: { src: POD, dst: NODE_IP, dport: 30080, origin: 'remote' },
    want: {
      'ACCEPT 10.42.0.11:8080': third,
      'ACCEPT 10.42.0.12:8080': third,
      'ACCEPT 10.42.0.13:8080': third,
    },
  },
  {
    name: 'externalTrafficPolicy Local: the node itself reaching its NodePort uses every endpoint, masqueraded',
    svc: { ...np, etpLocal: true },
    eps: remoteEps,
    pkt: { src: NODE_IP, dst: NODE_IP, dport: 30080, origin: 'local' },
    want: {
      'ACCEPT 10.42.0.11:8080 masq': third,
      'ACCEPT 10.42.0.12:8080 masq': third,
      'ACCEPT 10.42.0.13:8080 masq': third,
    },
  },
  {
    name: 'externalTrafficPolicy Local: a node without local endpoints drops outside traffic',
    svc: { ...np, etpLocal: true },
    eps: [{ ip: EP[2]!, node: 'node-b' }],
    pkt: { src: OUTSIDE, dst: NODE_IP, dport: 30080, origin: 'remote' },
    want: { DROP: 1 },
  },
  {
    name: 'externalTrafficPolicy Local does not change ClusterIP traffic',
    svc: { ...np, etpLocal: true },
    eps: [{ ip: EP[2]!, node: 'node-b' }],
    pkt: { src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' },
    want: { 'ACCEPT 10.42.0.13:8080': 1 },
  },
  {
    name: 'internalTrafficPolicy Local: ClusterIP reaches only local endpoints',
    svc: { itpLocal: true },
    eps: remoteEps,
    pkt: { src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' },
    want: { 'ACCEPT 10.42.0.11:8080': 0.5, 'ACCEPT 10.42.0.12:8080': 0.5 },
  },
  {
    name: 'internalTrafficPolicy Local without local endpoints drops (endpoints exist elsewhere)',
    svc: { itpLocal: true },
    eps: [{ ip: EP[2]!, node: 'node-b' }],
    pkt: { src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' },
    want: { DROP: 1 },
  },
  {
    name: 'externalIPs: outside traffic is DNATed and masqueraded',
    svc: { externalIPs: ['198.51.100.9'] },
    eps: [EP[0]!],
    pkt: { src: OUTSIDE, dst: '198.51.100.9', dport: 80, origin: 'remote' },
    want: { 'ACCEPT 10.42.0.11:8080 masq': 1 },
  },
  {
    name: 'externalIPs without endpoints are REJECTed',
    svc: { externalIPs: ['198.51.100.9'] },
    eps: [],
    pkt: { src: OUTSIDE, dst: '198.51.100.9', dport: 80, origin: 'remote' },
    want: { REJECT: 1 },
  },
  {
    name: 'LoadBalancer ingress IP without source ranges: any client',
    svc: { ...lb, lbIPs: ['198.51.100.1'] },
    eps: [EP[0]!],
    pkt: { src: OUTSIDE, dst: '198.51.100.1', dport: 80, origin: 'remote' },
    want: { 'ACCEPT 10.42.0.11:8080 masq': 1 },
  },
  {
    name: 'loadBalancerSourceRanges: an allowed client gets through',
    svc: { ...lb, lbIPs: ['198.51.100.1'], sourceRanges: ['203.0.113.0/24'] },
    eps: [EP[0]!],
    pkt: { src: OUTSIDE, dst: '198.51.100.1', dport: 80, origin: 'remote' },
    want: { 'ACCEPT 10.42.0.11:8080 masq': 1 },
  },
  {
    name: 'loadBalancerSourceRanges: any other client is dropped',
    svc: { ...lb, lbIPs: ['198.51.100.1'], sourceRanges: ['192.0.2.0/24'] },
    eps: [EP[0]!],
    pkt: { src: OUTSIDE, dst: '198.51.100.1', dport: 80, origin: 'remote' },
    want: { DROP: 1 },
  },
  {
    name: 'UDP service: DNATed for UDP, not for TCP on the same port',
    svc: { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] },
    eps: [EP[0]!],
    pkt: { src: POD, dst: '10.43.0.10', dport: 53, protocol: 'udp', origin: 'remote' },
    want: { 'ACCEPT 10.42.0.11:8080': 1 },
  },
  {
    name: 'UDP service: TCP to the same port is untouched',
    svc: { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] },
    eps: [EP[0]!],
    pkt: { src: POD, dst: '10.43.0.10', dport: 53, protocol: 'tcp', origin: 'remote' },
    want: { ACCEPT: 1 },
  },
];

describe.each(['iptables', 'nftables'] as const)('%s mode semantics (packet tracer)', (mode) => {
  it.each(cases)('$name', async (c) => {
    const ports = (c.svc.ports ?? [{ name: 'http', port: 80 }]).map((p) => ({
      name: p.name ?? '',
      port: 8080,
      protocol: p.protocol ?? 'TCP',
    }));
    const h = harnessFor(mode).apply(svc(c.svc), slice(c.eps, { ports }));
    await h.sync({ full: true });
    expect(h.reach(c.pkt, c.recent)).toEqual(mode === 'nftables' ? (c.nft ?? c.want) : c.want);
  });

  it('without a cluster CIDR, off-node ClusterIP traffic is not masqueraded; --masquerade-all masquerades all', async () => {
    const h = harnessFor(mode, { clusterCidr: undefined }).apply(svc(), slice([EP[0]!]));
    await h.sync();
    expect(h.reach({ src: NODE_IP, dst: '10.43.0.10', dport: 80, origin: 'local' })).toEqual({
      'ACCEPT 10.42.0.11:8080': 1,
    });
    const all = harnessFor(mode, { masqueradeAll: true }).apply(svc(), slice([EP[0]!]));
    await all.sync();
    expect(all.reach({ src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' })).toEqual({
      'ACCEPT 10.42.0.11:8080 masq': 1,
    });
    expect(CLUSTER_CIDR).toBe('10.42.0.0/16');
  });

  it('nodePortAddresses: NodePorts only on local addresses inside the CIDRs', async () => {
    const h = harnessFor(mode, { nodePortAddresses: ['192.168.1.0/24'] }).apply(svc(np), slice([EP[0]!]));
    await h.sync();
    expect(h.reach({ src: OUTSIDE, dst: NODE_IP, dport: 30080, origin: 'remote' })).toEqual({
      'ACCEPT 10.42.0.11:8080 masq': 1,
    });
    // 10.42.0.1 is local too (the bridge), but outside the CIDRs.
    expect(h.reach({ src: POD, dst: '10.42.0.1', dport: 30080, origin: 'remote' })).toEqual({ ACCEPT: 1 });
    // Not local, although inside the CIDRs.
    expect(h.reach({ src: OUTSIDE, dst: '192.168.1.99', dport: 30080, origin: 'remote' })).toEqual({
      ACCEPT: 1,
    });
  });

  it('nodePortAddresses covering loopback (the `all` / `localhost` keywords): localhost NodePorts as upstream', async () => {
    const cidrs = resolveNodePortAddresses(parseNodePortAddresses(['all']), []);
    const h = harnessFor(mode, { nodePortAddresses: cidrs }).apply(svc(np), slice([EP[0]!]));
    await h.sync();
    expect(h.reach({ src: OUTSIDE, dst: NODE_IP, dport: 30080, origin: 'remote' })).toEqual({
      'ACCEPT 10.42.0.11:8080 masq': 1,
    });
    // iptables mode serves NodePorts on 127.0.0.1 when the CIDRs cover it; nftables mode never does.
    expect(h.reach({ src: '127.0.0.1', dst: '127.0.0.1', dport: 30080, origin: 'local' })).toEqual(
      mode === 'iptables' ? { 'ACCEPT 10.42.0.11:8080 masq': 1 } : { ACCEPT: 1 },
    );
    // CIDRs without loopback: no localhost NodePorts in either mode.
    const np2 = harnessFor(mode, { nodePortAddresses: [`${NODE_IP}/32`] }).apply(svc(np), slice([EP[0]!]));
    await np2.sync();
    expect(np2.reach({ src: '127.0.0.1', dst: '127.0.0.1', dport: 30080, origin: 'local' })).toEqual({
      ACCEPT: 1,
    });
    expect(np2.reach({ src: OUTSIDE, dst: NODE_IP, dport: 30080, origin: 'remote' })).toEqual({
      'ACCEPT 10.42.0.11:8080 masq': 1,
    });
  });

  it('IPv6: the IPv6 backend serves the IPv6 family, the IPv4 one the IPv4 family (dual stack)', async () => {
    const h = harnessFor(mode).apply(
      svc({ clusterIPs: ['10.43.0.10', 'fd43::10'], ...np }),
      slice(EP),
      slice(['fd42::11', 'fd42::12'], { name: 'web-v6', addressType: 'IPv6' }),
    );
    await h.sync();
    expect(h.reach({ src: 'fd42::50', dst: 'fd43::10', dport: 80, origin: 'remote' })).toEqual({
      'ACCEPT [fd42::11]:8080': 0.5,
      'ACCEPT [fd42::12]:8080': 0.5,
    });
    expect(h.reach({ src: '2001:db8::1', dst: NODE_IP6, dport: 30080, origin: 'remote' })).toEqual({
      'ACCEPT [fd42::11]:8080 masq': 0.5,
      'ACCEPT [fd42::12]:8080 masq': 0.5,
    });
    // No localhost NodePorts for IPv6 (upstream).
    expect(h.reach({ src: '::1', dst: '::1', dport: 30080, origin: 'local' })).toEqual({ ACCEPT: 1 });
    expect(h.reach({ src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' })).toEqual({
      'ACCEPT 10.42.0.11:8080': third,
      'ACCEPT 10.42.0.12:8080': third,
      'ACCEPT 10.42.0.13:8080': third,
    });
  });
});

describe('nftables mode: session affinity', () => {
  it('a client in an endpoint affinity set always goes back to it; a new one is spread and recorded', async () => {
    const h = new NftHarness().apply(svc({ affinity: 600 }), slice(EP));
    await h.sync();
    const pkt: Packet = { src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' };
    const first = h.trace(pkt);
    expect(first.map((o) => o.dnat)).toEqual(EP.map((ip) => `${ip}:8080`));
    for (const o of first) {
      expect(o.recentSet).toHaveLength(1);
      expect(o.recentSet[0]).toMatch(/^affinity-/);
      expect(o.probability).toBeCloseTo(1 / 3);
    }
    const set1 = first[1]!.recentSet[0]!;
    expect(h.reach(pkt, { [set1]: [POD] })).toEqual({ 'ACCEPT 10.42.0.12:8080': 1 });
    expect(h.inputs.join('\n')).toContain('timeout 600s');
  });
});

describe('iptables mode specifics', () => {
  it('session affinity: a client in an endpoint recent list always goes back to it', async () => {
    const h = new Harness().apply(svc({ affinity: 600 }), slice(EP));
    await h.sync();
    const sep1 = sepChain('default/web:http', 'TCP', '10.42.0.12:8080');
    const pkt: Packet = { src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' };
    expect(h.reach(pkt, { [sep1]: [POD] })).toEqual({ 'ACCEPT 10.42.0.12:8080': 1 });
    // A new client is spread and recorded in the list of the endpoint it got.
    const first = h.trace(pkt);
    expect(first.map((o) => [o.dnat, o.recentSet])).toEqual(
      EP.map((ip) => [`${ip}:8080`, [sepChain('default/web:http', 'TCP', `${ip}:8080`)]]),
    );
    const restore = h.restores.join('\n');
    expect(restore).toContain('--rcheck --seconds 600 --reap');
  });

  it('ExternalName and headless services get no rules', async () => {
    const h = new Harness().apply(
      svc({ name: 'ext', type: 'ExternalName' }),
      svc({ name: 'headless', clusterIP: 'None' }),
      slice(EP, { service: 'headless' }),
    );
    await h.sync();
    expect(h.runner.v4.chains('nat').filter((c) => /^KUBE-(SVC|SEP)-/.test(c))).toEqual([]);
  });

  it('the node-local DNS service gets no rules: every node holds its ClusterIP itself', async () => {
    const dns = svc({ name: 'kube-dns', namespace: 'kube-system', clusterIP: '10.43.0.10' });
    dns.metadata!.annotations = { 'k8ts.io/node-local-dns': 'true' };
    const h = new Harness().apply(dns, svc({ name: 'web', clusterIP: '10.43.0.20' }));
    await h.sync();
    const restore = h.restores.join('\n');
    expect(restore).not.toContain('10.43.0.10');
    expect(restore).toContain('10.43.0.20');
  });

  it('localhost NodePorts can be turned off', async () => {
    const h = new Harness({ localhostNodePorts: false }).apply(svc(np), slice([EP[0]!]));
    await h.sync();
    expect(h.reach({ src: '127.0.0.1', dst: '127.0.0.1', dport: 30080, origin: 'local' })).toEqual({
      ACCEPT: 1,
    });
    expect(h.reach({ src: OUTSIDE, dst: NODE_IP, dport: 30080, origin: 'remote' })).toEqual({
      'ACCEPT 10.42.0.11:8080 masq': 1,
    });
  });

  it('two ports of one service, each to its own target port', async () => {
    const h = new Harness().apply(
      svc({
        ports: [
          { name: 'http', port: 80 },
          { name: 'metrics', port: 9090 },
        ],
      }),
      slice([EP[0]!], {
        ports: [
          { name: 'http', port: 8080 },
          { name: 'metrics', port: 9100 },
        ],
      }),
    );
    await h.sync();
    expect(h.reach({ src: POD, dst: '10.43.0.10', dport: 9090, origin: 'remote' })).toEqual({
      'ACCEPT 10.42.0.11:9100': 1,
    });
    expect(h.reach({ src: POD, dst: '10.43.0.10', dport: 80, origin: 'remote' })).toEqual({
      'ACCEPT 10.42.0.11:8080': 1,
    });
  });
});
