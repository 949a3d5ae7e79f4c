/**
 * The nftables backend's syncs on a FakeNft (which applies `nft -f` with the kernel's ordering and
 * reference rules): every command names our table only; a partial sync writes only the changed
 * service's chains and elements; after any chain of partial syncs the table equals a fresh full
 * sync of the same state (a seeded churn table); stale chains and sets of ours go, other tables
 * stay; a failure falls back to a full sync; UDP conntrack cleanup.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { describe, expect, it } from 'vitest';
import { cleanupNftablesRules, NftablesProxier, parseNftList } from './nftables-proxier.js';
import { NFT_TABLE, nftServiceBase } from './nftables-render.js';
import { FakeNftRunner } from './testing/fake-nft.js';
import { CLUSTER_CIDR, NftHarness, NODE, type SvcSpec, slice, svc } from './testing/fixtures.js';

const EP = ['10.42.0.11', '10.42.0.12', '10.42.0.13'];

/** The IPv4 table after a fresh full sync of the harness's current state. */
async function freshDump(h: NftHarness): Promise<string> {
  const runner = new FakeNftRunner();
  const p = new NftablesProxier({ family: 'IPv4', nodeName: NODE, clusterCidr: CLUSTER_CIDR, runner });
  await p.sync({
    state: h.state,
    changedServices: new Set(),
    full: true,
    staleEndpoints: [],
    newlyActiveUdp: [],
    removedServicePorts: [],
  });
  return runner.nft.dump('ip', NFT_TABLE);
}

const dump = (h: NftHarness) => h.runner.nft.dump('ip', NFT_TABLE);

describe('NftablesProxier syncs', () => {
  it('first sync is full, into table ip/ip6 k8ts-proxy only, with the verdict maps and hooks', async () => {
    const h = new NftHarness().apply(
      svc({ ...{ type: 'NodePort' }, ports: [{ name: 'http', port: 80, nodePort: 30080 }] }),
      slice(EP),
    );
    const [r4, r6] = await h.sync();
    expect(r4!.full).toBe(true);
    expect(r6!.full).toBe(true);
    for (const input of h.inputs)
      for (const line of input.trim().split('\n')) expect(line).toMatch(/^\S+ \S+ ip6? k8ts-proxy\b/);
    const t = h.runner.nft.tables.get(`ip ${NFT_TABLE}`)!;
    expect([...t.maps.keys()].sort()).toEqual([
      'firewall-ips',
      'hairpin',
      'no-endpoint-nodeports',
      'no-endpoint-services',
      'service-ips',
      'service-nodeports',
    ]);
    const base = nftServiceBase({
      name: 'default/web:http',
      service: 'default/web',
      portName: 'http',
      protocol: 'TCP',
    });
    expect(base).toMatch(/^[A-Z2-7]{8}-default\/web\/tcp\/http$/);
    expect(t.maps.get('service-ips')!.get('10.43.0.10 . tcp . 80')).toBe(`goto service-${base}`);
    expect(t.maps.get('service-nodeports')!.get('tcp . 30080')).toBe(`goto external-${base}`);
    expect(t.chains.get('nat-prerouting')!.base).toBe('type nat hook prerouting priority -100 ;');
    // The spread cascade, DNAT in the policy chain: no anonymous set, no endpoint chain (nftables-render.ts).
    expect(t.chains.get(`service-${base}`)!.rules.slice(1)).toEqual([
      'numgen random mod 3 == 0 meta l4proto tcp dnat to 10.42.0.11:8080',
      'numgen random mod 2 == 0 meta l4proto tcp dnat to 10.42.0.12:8080',
      'meta l4proto tcp dnat to 10.42.0.13:8080',
    ]);
    expect([...t.maps.get('hairpin')!.keys()]).toEqual(EP.map((ip) => `${ip} . ${ip}`));
    expect(r4!.ruleCounts[NFT_TABLE]).toBeGreaterThan(10);
    expect(h.runner.nft.tables.has(`ip6 ${NFT_TABLE}`)).toBe(true);
  });

  it('a sync with nothing changed runs no nft at all', async () => {
    const h = new NftHarness().apply(svc(), slice(EP));
    await h.sync();
    const n = h.inputs.length;
    const [r] = await h.sync();
    expect(r!.full).toBe(false);
    expect(h.inputs.length).toBe(n);
  });

  it('one endpoint change writes only that service: its policy chain and the hairpin pairs', async () => {
    const other = svc({ name: 'other', clusterIP: '10.43.0.20' });
    const h = new NftHarness().apply(svc(), slice(EP), other, slice(EP, { service: 'other' }));
    await h.sync();
    h.inputs.length = 0;
    h.apply(slice([EP[0]!, EP[1]!, '10.42.0.14']));
    const [r] = await h.sync();
    expect(r!.full).toBe(false);
    const input = h.inputs[0]!;
    expect(input).not.toContain('default/other');
    expect(input).not.toContain('service-ips'); // the dispatch element did not change
    expect(
      input
        .trim()
        .split('\n')
        .map((l) => l.replace(/service-\S+/, 'service-X')),
    ).toEqual([
      'flush chain ip k8ts-proxy service-X',
      'add rule ip k8ts-proxy service-X ip daddr 10.43.0.10 ip saddr != 10.42.0.0/16 jump mark-for-masquerade',
      'add rule ip k8ts-proxy service-X numgen random mod 3 == 0 meta l4proto tcp dnat to 10.42.0.11:8080',
      'add rule ip k8ts-proxy service-X numgen random mod 2 == 0 meta l4proto tcp dnat to 10.42.0.12:8080',
      'add rule ip k8ts-proxy service-X meta l4proto tcp dnat to 10.42.0.14:8080',
      // 10.42.0.13 is still an endpoint of default/other: its hairpin pair stays.
      'add element ip k8ts-proxy hairpin { 10.42.0.14 . 10.42.0.14 }',
    ]);
    expect(dump(h)).toBe(await freshDump(h));
  });

  it('scale to 0 swaps the service-ips element for a reject, and back', async () => {
    const h = new NftHarness().apply(svc(), slice(EP));
    await h.sync();
    h.apply(slice([]));
    await h.sync();
    const t = () => h.runner.nft.tables.get(`ip ${NFT_TABLE}`)!;
    expect(t().maps.get('service-ips')!.size).toBe(0);
    expect(t().maps.get('no-endpoint-services')!.get('10.43.0.10 . tcp . 80')).toBe('goto reject-chain');
    expect([...t().chains.keys()].filter((c) => c.startsWith('service-') && c.includes('/'))).toEqual([]);
    expect(t().maps.get('hairpin')!.size).toBe(0);
    expect(dump(h)).toBe(await freshDump(h));
    h.apply(slice(EP));
    await h.sync();
    expect(t().maps.get('no-endpoint-services')!.size).toBe(0);
    expect(dump(h)).toBe(await freshDump(h));
  });

  it('an affinity timeout change swaps in a new set and deletes the old one', async () => {
    const h = new NftHarness().apply(svc({ affinity: 600 }), slice(EP));
    await h.sync();
    const sets = () =>
      [...h.runner.nft.tables.get(`ip ${NFT_TABLE}`)!.sets.keys()].filter((s) => s.startsWith('affinity-'));
    const before = sets();
    expect(before).toHaveLength(3);
    h.apply(svc({ affinity: 60 }));
    await h.sync();
    const after = sets();
    expect(after).toHaveLength(3);
    expect(after.filter((s) => before.includes(s))).toEqual([]);
    expect(h.inputs.at(-1)).toContain('timeout 60s');
    expect(dump(h)).toBe(await freshDump(h));
  });

  it('stale chains and sets of ours go on the first full sync; other tables are not touched', async () => {
    const runner = new FakeNftRunner();
    runner.nft.apply(
      [
        'add table ip filter',
        'add chain ip filter INPUT { type filter hook input priority 0 ; }',
        'add rule ip filter INPUT tcp dport 22 accept',
        `add table ip ${NFT_TABLE}`,
        `add chain ip ${NFT_TABLE} service-OLDOLDOL-default/gone/tcp/http`,
        `add set ip ${NFT_TABLE} affinity-OLDOLDOL-default/gone/tcp/http__10.0.0.1/80 { type ipv4_addr ; }`,
        `add rule ip ${NFT_TABLE} service-OLDOLDOL-default/gone/tcp/http ip saddr @affinity-OLDOLDOL-default/gone/tcp/http__10.0.0.1/80 drop`,
      ].join('\n'),
    );
    const p = new NftablesProxier({ family: 'IPv4', nodeName: NODE, runner });
    const h = new NftHarness().apply(svc(), slice(EP));
    await h.sync();
    await p.sync({
      state: h.state,
      changedServices: new Set(),
      full: false,
      staleEndpoints: [],
      newlyActiveUdp: [],
      removedServicePorts: [],
    });
    const t = runner.nft.tables.get(`ip ${NFT_TABLE}`)!;
    expect([...t.chains.keys()].some((c) => c.includes('gone'))).toBe(false);
    expect([...t.sets.keys()]).toEqual(['hairpin']);
    expect(runner.nft.tables.get('ip filter')!.chains.get('INPUT')!.rules).toEqual(['tcp dport 22 accept']);
  });

  it('a failed nft run rejects, and the next sync is full', async () => {
    const h = new NftHarness().apply(svc(), slice(EP));
    await h.sync();
    h.runner.failApplies = 1;
    h.apply(slice([EP[0]!]));
    await expect(h.sync()).rejects.toThrow(/nft -f exited with 1/);
    h.apply(svc({ name: 'more', clusterIP: '10.43.0.30' }), slice(EP, { service: 'more' }));
    const [r] = await h.sync();
    expect(r!.full).toBe(true);
    expect(dump(h)).toBe(await freshDump(h));
  });

  it('UDP endpoint removal clears its conntrack flows', async () => {
    const udp = { ports: [{ name: 'dns', port: 53, protocol: 'UDP' as const }] };
    const ports = [{ name: 'dns', port: 53, protocol: 'UDP' as const }];
    const h = new NftHarness().apply(svc(udp), slice(EP, { ports }));
    await h.sync();
    h.apply(slice([EP[0]!], { ports }));
    await h.sync();
    expect(h.runner.other).toContainEqual({
      cmd: 'conntrack',
      args: ['-D', '-p', 'udp', '--orig-dst', '10.43.0.10', '--dst-nat', EP[1]!],
    });
  });

  it('cleanup (switching to iptables mode) deletes our table of each family, nothing else', async () => {
    const h = new NftHarness().apply(svc(), slice(EP));
    await h.sync();
    h.runner.nft.apply('add table ip filter');
    expect(await cleanupNftablesRules(h.runner, 'IPv4')).toBe(true);
    expect(await cleanupNftablesRules(h.runner, 'IPv6')).toBe(true);
    expect([...h.runner.nft.tables.keys()]).toEqual(['ip filter']);
    expect(await cleanupNftablesRules(h.runner, 'IPv4')).toBe(false);
  });

  it('parseNftList keeps only our table', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: {} },
        { chain: { family: 'ip', table: 'nat', name: 'PREROUTING' } },
        { chain: { family: 'ip', table: NFT_TABLE, name: 'services' } },
        { set: { family: 'ip', table: NFT_TABLE, name: 'affinity-x' } },
      ],
    });
    expect(parseNftList(json, NFT_TABLE)).toEqual({
      chains: new Set(['services']),
      sets: new Set(['affinity-x']),
    });
    expect(parseNftList('', NFT_TABLE)).toEqual({ chains: new Set(), sets: new Set() });
  });
});

/** A tiny seeded PRNG (mulberry32), so the churn below is the same on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('NftablesProxier: partial syncs converge to the full-sync table', () => {
  const shapes: SvcSpec[] = [
    {},
    { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] },
    {
      type: 'LoadBalancer',
      ports: [{ name: 'http', port: 80, nodePort: 30081 }],
      lbIPs: ['198.51.100.1'],
      sourceRanges: ['203.0.113.0/24'],
    },
    { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30082 }], etpLocal: true },
    { affinity: 300 },
    { affinity: 30, externalIPs: ['198.51.100.9'] },
    { itpLocal: true },
  ];
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'seed %i: 60 random changes, each compared with a fresh full sync',
    async (seed) => {
      const rnd = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const h = new NftHarness();
      const live = new Map<string, Service>();
      const slices = new Map<string, EndpointSlice>();
      await h.sync();
      for (let step = 0; step < 60; step++) {
        const name = `s${Math.floor(rnd() * 5)}`;
        const r = rnd();
        if (r < 0.4) {
          const s = svc({ ...pick(shapes), name, clusterIP: `10.43.0.${20 + Number(name.slice(1))}` });
          // NodePorts must not collide between services.
          for (const p of s.spec!.ports ?? []) if (p.nodePort) p.nodePort += 10 * Number(name.slice(1));
          h.apply(s);
          live.set(name, s);
        } else if (r < 0.8) {
          const n = Math.floor(rnd() * 4);
          const eps = Array.from({ length: n }, () => ({
            ip: `10.42.0.${10 + Math.floor(rnd() * 8)}`,
            node: rnd() < 0.5 ? NODE : 'node-b',
            ready: rnd() < 0.85,
            serving: true,
            terminating: rnd() < 0.2,
          }));
          const sl = slice(eps, { service: name, name: `${name}-1` });
          h.apply(sl);
          slices.set(name, sl);
        } else if (live.has(name)) {
          h.remove(live.get(name)!);
          live.delete(name);
        } else if (slices.has(name)) {
          h.remove(slices.get(name)!);
          slices.delete(name);
        }
        const [res] = await h.sync();
        expect(res!.full).toBe(false);
        expect(dump(h), `step ${step}`).toBe(await freshDump(h));
      }
    },
  );
});
