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
import { cleanupNftablesRules, NftablesProxier, parseNftList, splitParts } from './nftables-proxier.js';
import { NFT_ENDPOINT_SHARDS, NFT_TABLE, nftServiceBase } from './nftables-render.js';
import { slotCapacity } from './nftables-slots.js';
import { type CommandRunner, stdinText } from './runner.js';
import { FakeNftRunner } from './testing/fake-nft.js';
import { CLUSTER_CIDR, NftHarness, NODE, type SvcSpec, slice, svc } from './testing/fixtures.js';
import { traceNft } from './testing/nft-tracer.js';
import { summarize } from './testing/packet-tracer.js';

const EP = ['10.42.0.11', '10.42.0.12', '10.42.0.13'];
/** A NodePort service: not plain, so its ClusterIP has a chain of its own (nftSharedSpreadChain). */
const NP: SvcSpec = { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] };

/** The IPv4 table after a fresh full sync of the harness's current state. */
async function freshDump(h: NftHarness, opts: { endpointShards?: number } = {}): Promise<string> {
  const runner = new FakeNftRunner();
  const p = new NftablesProxier({
    family: 'IPv4',
    nodeName: NODE,
    clusterCidr: CLUSTER_CIDR,
    runner,
    ...opts,
  });
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

/** The slot range the IPv4 service-chain of service `name` (port http) looks up. */
function slotOf(h: NftHarness, name: string): { map: string; offset: number; n: number } {
  const base = nftServiceBase({
    name: `default/${name}:http`,
    service: `default/${name}`,
    portName: 'http',
    protocol: 'TCP',
  });
  const rules = h.runner.nft.tables.get(`ip ${NFT_TABLE}`)!.chains.get(`service-${base}`)!.rules;
  const m = /numgen random mod (\d+) offset (\d+) map @(\S+)$/.exec(rules.at(-1)!);
  if (!m) throw new Error(`no numgen lookup in ${rules.at(-1)}`);
  return { map: m[3]!, offset: Number(m[2]), n: Number(m[1]) };
}

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
    expect([...t.maps.keys()].filter((m) => !m.startsWith('endpoints-')).sort()).toEqual([
      'firewall-ips',
      'hairpin',
      'no-endpoint-nodeports',
      'no-endpoint-services',
      'service-ips',
      'service-nodeports',
    ]);
    expect([...t.maps.keys()].filter((m) => m.startsWith('endpoints-'))).toHaveLength(NFT_ENDPOINT_SHARDS);
    expect(t.mapDecls.get('endpoints-000')).toBe('{ typeof numgen random mod 1 : ip daddr . tcp dport ; }');
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
    // One numgen lookup into the service's slots of its endpoint map, DNAT in the policy chain: no
    // anonymous set, no endpoint chain (nftables-render.ts).
    const rules = t.chains.get(`service-${base}`)!.rules;
    expect(rules).toHaveLength(2);
    const m = /^meta l4proto tcp dnat ip to numgen random mod 3 offset (\d+) map @(endpoints-\d{3})$/.exec(
      rules[1]!,
    );
    expect(m).not.toBeNull();
    const slots = t.maps.get(m![2]!)!;
    expect([0, 1, 2].map((i) => slots.get(String(Number(m![1]) + i)))).toEqual(
      EP.map((ip) => `${ip} . 8080`),
    );
    expect([...t.maps.get('hairpin')!.keys()]).toEqual(EP.map((ip) => `${ip} . ${ip}`));
    expect(r4!.ruleCounts[NFT_TABLE]).toBeGreaterThan(10);
    expect(h.runner.nft.tables.has(`ip6 ${NFT_TABLE}`)).toBe(true);
  });

  it('into an empty kernel: declarations, then two independent halves of the bulk, then the base chain rules; no service half-built in between', async () => {
    const eps = Array.from({ length: 7 }, (_, i) => `10.42.0.${11 + i}`);
    const h = new NftHarness();
    // Even: plain ClusterIP services (shared spread chain); odd: NodePort (a chain of their own).
    for (let i = 0; i < 12; i++)
      h.apply(
        svc({
          name: `s${i}`,
          clusterIP: `10.43.0.${20 + i}`,
          ...(i % 2 ? { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30000 + i }] } : {}),
        }),
        slice(eps, { service: `s${i}` }),
      );
    const pkts = ['10.43.0.24', '10.43.0.25'].map((dst) => ({
      src: '10.42.0.50',
      dst,
      dport: 80,
      origin: 'remote' as const,
    }));
    const seen: string[][] = [];
    h.runner.afterApply = () => {
      const t = h.runner.nft.tables.get(`ip ${NFT_TABLE}`);
      if (t)
        seen.push(
          pkts.map((pkt) =>
            JSON.stringify(summarize(traceNft(t, pkt, { localAddresses: ['192.168.1.10'] }))),
          ),
        );
    };
    await h.sync();
    h.runner.afterApply = undefined;
    const v4 = h.runner.inputs.slice(0, 4);
    expect(v4[0]).not.toMatch(/add rule|add element/);
    const middle = `${v4[1]}${v4[2]}`;
    expect(middle).toMatch(/add rule \S+ \S+ service-/);
    expect(middle).toMatch(/add rule \S+ \S+ spread-7 /);
    expect(middle).toMatch(/add element \S+ \S+ endpoints-\d{3} /);
    expect(middle).toMatch(/add element \S+ \S+ spread-endpoints-7-tcp /);
    // The shared maps' elements too: nothing reaches them before the base chains have rules.
    expect(middle).toMatch(/add element \S+ \S+ service-ips /);
    expect(middle).not.toMatch(/nat-prerouting/);
    expect(v4[3]).toMatch(/^add rule ip k8ts-proxy nat-prerouting jump services$/m);
    expect(v4[3]).not.toMatch(/add element/);
    const spread = JSON.stringify(Object.fromEntries(eps.map((ip) => [`ACCEPT ${ip}:8080`, 0.1429])));
    // Untouched until the last step, then spread over all 7 endpoints at once.
    expect(seen.slice(0, 4)).toEqual([...Array(3).fill(['{"ACCEPT":1}', '{"ACCEPT":1}']), [spread, spread]]);
    expect(dump(h)).toBe(await freshDump(h));
    // Later full syncs (our chains exist) are one transaction.
    const n = h.runner.inputs.length;
    await h.sync({ full: true });
    expect(h.runner.inputs.length - n).toBe(2); // one per family
    expect(dump(h)).toBe(await freshDump(h));
  });

  it('a failed half of the first sync is retried alone; failing again fails the sync, and the next full sync repairs', async () => {
    // NodePort services: chains of their own, spread over the shards, so both halves have work.
    const many = (x: NftHarness) => {
      for (let i = 0; i < 12; i++)
        x.apply(
          svc({
            name: `s${i}`,
            clusterIP: `10.43.0.${20 + i}`,
            type: 'NodePort',
            ports: [{ name: 'http', port: 80, nodePort: 30000 + i }],
          }),
          slice(EP, { service: `s${i}` }),
        );
      return x;
    };
    const h = many(new NftHarness());
    let fails = 1;
    const failed: string[] = [];
    h.runner.failIf = (input) => {
      const fail = /^add element \S+ \S+ (spread-)?endpoints-/m.test(input) && fails-- > 0;
      if (fail) failed.push(input);
      return fail;
    };
    await h.sync();
    expect(dump(h)).toBe(await freshDump(h));
    // The rerun is made afresh from the same plan: the very same input.
    expect(h.runner.inputs).toContain(failed[0]);
    const g = many(new NftHarness());
    g.runner.failIf = (input) => /^add element \S+ \S+ (spread-)?endpoints-/m.test(input);
    await expect(g.sync()).rejects.toThrow(/nft -f exited with 1/);
    g.runner.failIf = undefined;
    const [r] = await g.sync();
    expect(r!.full).toBe(true);
    expect(dump(g)).toBe(await freshDump(g));
  });

  it('a bulk input whose stream breaks fails the sync, nothing of it applies, and the next (full) sync repairs', async () => {
    // As ExecRunner when the chunks cannot be made: the run rejects and nft never sees an end of
    // input. Here the first bulk input with spread elements breaks once made.
    let broken = 0;
    const runner: CommandRunner = {
      run: async (cmd, args, opts = {}) => {
        const src = opts.stdin;
        if (cmd !== 'nft' || args[0] !== '-f' || typeof src === 'string' || broken > 0)
          return h.runner.run(cmd, args, opts);
        const text = await stdinText(src);
        if (/add element \S+ \S+ spread-endpoints-3-tcp /.test(text)) {
          broken++;
          throw new Error('stream broke');
        }
        return h.runner.run(cmd, args, { stdin: text });
      },
    };
    const h = new NftHarness({ runner });
    for (let i = 0; i < 30; i++)
      h.apply(svc({ name: `s${i}`, clusterIP: `10.43.0.${20 + i}` }), slice(EP, { service: `s${i}` }));
    await expect(h.sync()).rejects.toThrow('stream broke');
    expect(broken).toBe(1);
    // The base chains never got their rules: nothing is reachable, no service half-built.
    const t = h.runner.nft.tables.get(`ip ${NFT_TABLE}`)!;
    expect(t.chains.get('nat-prerouting')!.rules).toEqual([]);
    expect(t.maps.get('spread-endpoints-3-tcp')!.size).toBeLessThan(90);
    const [r] = await h.sync();
    expect(r!.full).toBe(true);
    expect(dump(h)).toBe(await freshDump(h));
  });

  it('a sync with nothing changed runs no nft at all', async () => {
    const h = new NftHarness().apply(svc(), slice(EP));
    await h.sync();
    const n = h.inputs.length;
    const [r] = await h.sync();
    expect(r!.full).toBe(false);
    expect(h.inputs.length).toBe(n);
  });

  it('a service with its own chain: one endpoint swapped (same count) writes only elements: its slot and the hairpin pairs', async () => {
    const other = svc({ name: 'other', clusterIP: '10.43.0.20' });
    const h = new NftHarness().apply(svc(NP), slice(EP), other, slice(EP, { service: 'other' }));
    await h.sync();
    h.inputs.length = 0;
    h.apply(slice([EP[0]!, EP[1]!, '10.42.0.14']));
    const [r] = await h.sync();
    expect(r!.full).toBe(false);
    const input = h.inputs[0]!;
    expect(input).not.toContain('default/other');
    expect(input).not.toContain('service-ips'); // the dispatch element did not change
    const slot = slotOf(h, 'web');
    expect(input.trim().split('\n')).toEqual([
      `delete element ip k8ts-proxy ${slot.map} { ${slot.offset + 2} }`,
      `add element ip k8ts-proxy ${slot.map} { ${slot.offset + 2} : 10.42.0.14 . 8080 }`,
      // 10.42.0.13 is still an endpoint of default/other: its hairpin pair stays.
      'add element ip k8ts-proxy hairpin { 10.42.0.14 . 10.42.0.14 }',
    ]);
    expect(dump(h)).toBe(await freshDump(h));
    expect(h.reach({ src: '10.42.0.50', dst: '10.43.0.10', dport: 80, origin: 'remote' })).toEqual({
      'ACCEPT 10.42.0.11:8080': 0.3333,
      'ACCEPT 10.42.0.12:8080': 0.3333,
      'ACCEPT 10.42.0.14:8080': 0.3333,
    });
  });

  it('a service with its own chain: an endpoint count change rewrites that one chain (its lookup rule) and its slot elements', async () => {
    const other = svc({ name: 'other', clusterIP: '10.43.0.20' });
    const h = new NftHarness().apply(svc(NP), slice(EP), other, slice(EP, { service: 'other' }));
    await h.sync();
    const before = slotOf(h, 'web');
    h.inputs.length = 0;
    h.apply(slice([...EP, '10.42.0.14']));
    await h.sync();
    const after = slotOf(h, 'web');
    // 4 endpoints still fit the range of capacity 4 that 3 took: same offset, one slot more.
    expect(after).toEqual({ ...before, n: 4 });
    const lines = h.inputs[0]!.trim().split('\n');
    expect(lines.filter((l) => l.includes('default/other'))).toEqual([]);
    expect(lines.map((l) => l.replace(/service-\S+/, 'service-X'))).toEqual([
      'flush chain ip k8ts-proxy service-X',
      `add element ip k8ts-proxy ${after.map} { ${after.offset + 3} : 10.42.0.14 . 8080 }`,
      'add rule ip k8ts-proxy service-X ip daddr 10.43.0.10 ip saddr != 10.42.0.0/16 jump mark-for-masquerade',
      `add rule ip k8ts-proxy service-X meta l4proto tcp dnat ip to numgen random mod 4 offset ${after.offset} map @${after.map}`,
      'add element ip k8ts-proxy hairpin { 10.42.0.14 . 10.42.0.14 }',
    ]);
    expect(dump(h)).toBe(await freshDump(h));
    // Shrinking to 1 keeps the range: slot 0 gets the one endpoint left, the others are deleted.
    h.inputs.length = 0;
    h.apply(slice([EP[2]!]));
    await h.sync();
    const o = after.offset;
    expect(h.inputs[0]).toContain(
      `delete element ip k8ts-proxy ${after.map} { ${o}, ${o + 1}, ${o + 2}, ${o + 3} }`,
    );
    expect(h.inputs[0]).toContain(`add element ip k8ts-proxy ${after.map} { ${o} : 10.42.0.13 . 8080 }`);
    expect(slotOf(h, 'web')).toEqual({ ...after, n: 1 });
    expect(dump(h)).toBe(await freshDump(h));
  });

  it('a plain ClusterIP service has no chain: service-ips goes to spread-N, its endpoints are elements', async () => {
    const h = new NftHarness().apply(svc(), slice(EP));
    await h.sync();
    const t = h.runner.nft.tables.get(`ip ${NFT_TABLE}`)!;
    expect([...t.chains.keys()].filter((c) => c.includes('default/web'))).toEqual([]);
    expect(t.maps.get('service-ips')!.get('10.43.0.10 . tcp . 80')).toBe('goto spread-3');
    expect(t.chains.get('spread-3')!.rules).toEqual([
      'ip saddr != 10.42.0.0/16 jump mark-for-masquerade',
      ...['tcp', 'udp', 'sctp'].map(
        (p) =>
          `meta l4proto ${p} dnat ip to ip daddr . th dport . numgen random mod 3 map @spread-endpoints-3-${p}`,
      ),
    ]);
    // A map per protocol: the key is the ClusterIP, the port and the index.
    expect([...t.maps.get('spread-endpoints-3-tcp')!]).toEqual(
      EP.map((ip, i) => [`10.43.0.10 . 80 . ${i}`, `${ip} . 8080`]),
    );
    expect(t.maps.get('spread-endpoints-3-udp')!.size).toBe(0);
  });

  it('a plain ClusterIP service with TCP and UDP on one port (DNS): each protocol its own map and endpoints', async () => {
    const ports = [
      { name: 'dns', port: 53, protocol: 'UDP' as const, targetPort: 5353 },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' as const, targetPort: 5354 },
    ];
    const h = new NftHarness().apply(
      svc({ ports }),
      slice(EP, {
        ports: [
          { name: 'dns', port: 5353, protocol: 'UDP' },
          { name: 'dns-tcp', port: 5354, protocol: 'TCP' },
        ],
      }),
    );
    await h.sync();
    const t = h.runner.nft.tables.get(`ip ${NFT_TABLE}`)!;
    expect([...t.maps.get('spread-endpoints-3-udp')!.keys()]).toEqual(
      [0, 1, 2].map((i) => `10.43.0.10 . 53 . ${i}`),
    );
    expect([...t.maps.get('spread-endpoints-3-tcp')!.keys()]).toEqual(
      [0, 1, 2].map((i) => `10.43.0.10 . 53 . ${i}`),
    );
    const to = (port: number) => Object.fromEntries(EP.map((ip) => [`ACCEPT ${ip}:${port}`, 0.3333]));
    for (const [protocol, port] of [
      ['udp', 5353],
      ['tcp', 5354],
    ] as const)
      expect(
        h.reach({ src: '10.42.0.50', dst: '10.43.0.10', dport: 53, protocol, origin: 'remote' }),
      ).toEqual(to(port));
    expect(dump(h)).toBe(await freshDump(h));
  });

  it('a plain ClusterIP service: a same-count swap and a count change are element-only', async () => {
    const other = svc({ name: 'other', clusterIP: '10.43.0.20' });
    const h = new NftHarness().apply(svc(), slice(EP), other, slice(EP, { service: 'other' }));
    await h.sync();
    h.inputs.length = 0;
    h.apply(slice([EP[0]!, EP[1]!, '10.42.0.14']));
    await h.sync();
    expect(h.inputs[0]!.trim().split('\n')).toEqual([
      'delete element ip k8ts-proxy spread-endpoints-3-tcp { 10.43.0.10 . 80 . 2 }',
      'add element ip k8ts-proxy spread-endpoints-3-tcp { 10.43.0.10 . 80 . 2 : 10.42.0.14 . 8080 }',
      // 10.42.0.13 is still an endpoint of default/other: its hairpin pair stays.
      'add element ip k8ts-proxy hairpin { 10.42.0.14 . 10.42.0.14 }',
    ]);
    expect(dump(h)).toBe(await freshDump(h));
    // 3 -> 4 endpoints: to spread-4, which this sync creates (its first user), elements only otherwise.
    h.inputs.length = 0;
    h.apply(slice([...EP, '10.42.0.14']));
    await h.sync();
    const lines = h.inputs[0]!.trim().split('\n');
    expect(lines.filter((l) => /^(add|flush|delete) (chain|rule)/.test(l) && !/ spread-4\b/.test(l))).toEqual(
      [],
    );
    expect(lines).toContain(
      'add element ip k8ts-proxy service-ips { 10.43.0.10 . tcp . 80 : goto spread-4 }',
    );
    expect(dump(h)).toBe(await freshDump(h));
    expect(h.reach({ src: '10.42.0.50', dst: '10.43.0.10', dport: 80, origin: 'remote' })).toEqual({
      'ACCEPT 10.42.0.11:8080': 0.25,
      'ACCEPT 10.42.0.12:8080': 0.25,
      'ACCEPT 10.42.0.13:8080': 0.25,
      'ACCEPT 10.42.0.14:8080': 0.25,
    });
    // The other service going to 4 as well: spread-4 exists now, so no chain or rule at all; its
    // last user gone, spread-3 (chain and map) is deleted.
    h.inputs.length = 0;
    h.apply(slice([...EP, '10.42.0.14'], { service: 'other' }));
    await h.sync();
    const more = h.inputs[0]!.trim().split('\n');
    expect(more.filter((l) => /^add (chain|rule)/.test(l))).toEqual([]);
    expect(more.slice(-5)).toEqual([
      'flush chain ip k8ts-proxy spread-3',
      'delete chain ip k8ts-proxy spread-3',
      'delete map ip k8ts-proxy spread-endpoints-3-tcp',
      'delete map ip k8ts-proxy spread-endpoints-3-udp',
      'delete map ip k8ts-proxy spread-endpoints-3-sctp',
    ]);
    expect(dump(h)).toBe(await freshDump(h));
  });

  it('two plain services claiming one ClusterIP: the smaller key wins, endpoints included; then the other', async () => {
    const a = svc({ name: 'a', clusterIP: '10.43.0.30' });
    const b = svc({ name: 'b', clusterIP: '10.43.0.30' });
    const h = new NftHarness().apply(
      a,
      slice(EP.slice(0, 2), { service: 'a' }),
      b,
      slice(['10.42.0.21', '10.42.0.22', '10.42.0.23'], { service: 'b' }),
    );
    await h.sync();
    const pkt = { src: '10.42.0.50', dst: '10.43.0.30', dport: 80, origin: 'remote' as const };
    expect(h.reach(pkt)).toEqual({ 'ACCEPT 10.42.0.11:8080': 0.5, 'ACCEPT 10.42.0.12:8080': 0.5 });
    expect(dump(h)).toBe(await freshDump(h));
    h.remove(a);
    await h.sync();
    expect(h.reach(pkt)).toEqual({
      'ACCEPT 10.42.0.21:8080': 0.3333,
      'ACCEPT 10.42.0.22:8080': 0.3333,
      'ACCEPT 10.42.0.23:8080': 0.3333,
    });
    expect(dump(h)).toBe(await freshDump(h));
  });

  it('the cluster and the local policy chain of one service each have their own slot range', async () => {
    const h = new NftHarness().apply(
      svc({ type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }], etpLocal: true }),
      slice([
        { ip: EP[0]!, node: NODE },
        { ip: EP[1]!, node: 'node-b' },
        { ip: EP[2]!, node: NODE },
      ]),
    );
    await h.sync();
    const t = h.runner.nft.tables.get(`ip ${NFT_TABLE}`)!;
    const lookups = [...t.chains]
      .filter(([c]) => /^(service|local)-.*\//.test(c))
      .map(([c, { rules }]) => {
        const m = /numgen random mod (\d+) offset (\d+) map @(\S+)$/.exec(rules.at(-1)!)!;
        const slots = Array.from({ length: Number(m[1]) }, (_, i) =>
          t.maps.get(m[3]!)!.get(String(Number(m[2]) + i)),
        );
        return { chain: c.split('-')[0], map: m[3], offset: Number(m[2]), slots };
      })
      .sort((a, b) => a.chain!.localeCompare(b.chain!));
    expect(lookups.map((l) => [l.chain, l.slots])).toEqual([
      ['local', [`${EP[0]} . 8080`, `${EP[2]} . 8080`]],
      ['service', EP.map((ip) => `${ip} . 8080`)],
    ]);
    // Same service port, same shard; ranges of capacity 2 and 4 that do not overlap.
    expect(lookups[0]!.map).toBe(lookups[1]!.map);
    const [lo, hi] = [...lookups].sort((x, y) => x.offset - y.offset) as [
      (typeof lookups)[0],
      (typeof lookups)[0],
    ];
    expect(hi.offset - lo.offset).toBeGreaterThanOrEqual(slotCapacity(lo.slots.length));
  });

  it('hairpin pairs only for endpoints on this node', async () => {
    const h = new NftHarness().apply(
      svc(),
      slice([
        { ip: EP[0]!, node: NODE },
        { ip: EP[1]!, node: 'node-b' },
        { ip: EP[2]!, node: 'node-c' },
      ]),
    );
    await h.sync();
    const t = h.runner.nft.tables.get(`ip ${NFT_TABLE}`)!;
    expect([...t.maps.get('hairpin')!.keys()]).toEqual([`${EP[0]} . ${EP[0]}`]);
    // The pod on this node reaching itself is masqueraded; every endpoint is still used.
    expect(h.reach({ src: EP[0]!, dst: '10.43.0.10', dport: 80, origin: 'remote' })).toEqual({
      'ACCEPT 10.42.0.11:8080 masq': 0.3333,
      'ACCEPT 10.42.0.12:8080': 0.3333,
      'ACCEPT 10.42.0.13:8080': 0.3333,
    });
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

  it('an upgrade from one spread map per N (protocol in the key): the first full sync replaces it', async () => {
    const h = new NftHarness().apply(svc(), slice(EP));
    const old = `ip ${NFT_TABLE}`;
    h.runner.nft.apply(
      [
        `add table ${old}`,
        `add chain ${old} nat-prerouting { type nat hook prerouting priority -100 ; }`,
        `add map ${old} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
        `add map ${old} spread-endpoints-3 { typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . tcp dport ; }`,
        `add chain ${old} spread-3`,
        `add rule ${old} spread-3 meta l4proto tcp dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @spread-endpoints-3`,
        `add element ${old} spread-endpoints-3 { 10.43.0.10 . tcp . 80 . 0 : 10.42.0.11 . 8080 }`,
        `add element ${old} service-ips { 10.43.0.10 . tcp . 80 : goto spread-3 }`,
      ].join('\n'),
    );
    const [r] = await h.sync();
    expect(r!.full).toBe(true);
    const t = h.runner.nft.tables.get(old)!;
    expect(t.maps.has('spread-endpoints-3')).toBe(false);
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
        { map: { family: 'ip', table: NFT_TABLE, name: 'endpoints-00' } },
        { map: { family: 'ip', table: 'nat', name: 'other' } },
      ],
    });
    expect(parseNftList(json, NFT_TABLE)).toEqual({
      chains: new Set(['services']),
      sets: new Set(['affinity-x']),
      maps: new Set(['endpoints-00']),
    });
    expect(parseNftList('', NFT_TABLE)).toEqual({ chains: new Set(), sets: new Set(), maps: new Set() });
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

describe('splitParts', () => {
  const costs = (groups: { cost: number }[][]) => groups.map((g) => g.reduce((a, x) => a + x.cost, 0));
  it.each([
    { parts: [5, 5, 5, 5], shares: [1, 1], want: [10, 10] },
    { parts: [9, 1, 1, 1, 1, 1, 1, 1, 1, 1], shares: [1, 1], want: [9, 9] },
    { parts: [3, 3, 3], shares: [1, 1], want: [6, 3] },
    { parts: [7], shares: [1, 1], want: [7] },
    { parts: [], shares: [1, 1], want: [] },
    { parts: [4, 4, 4], shares: [1, 1, 1], want: [4, 4, 4] },
    { parts: [1, 1, 1, 1, 1, 1, 1, 1, 1], shares: [4, 5], want: [4, 5] },
    { parts: Array(90).fill(1), shares: [4, 5], want: [40, 50] },
  ])('$parts into shares $shares -> $want', ({ parts, shares, want }) => {
    const groups = splitParts(
      parts.map((cost, i) => ({ cost, i })),
      shares,
    );
    expect(costs(groups)).toEqual(want);
    // Each part exactly once, in its order within its group.
    expect(
      groups
        .flat()
        .map((x) => x.i)
        .sort((a, b) => a - b),
    ).toEqual(parts.map((_, i) => i));
    for (const g of groups) expect(g.map((x) => x.i)).toEqual([...g.map((x) => x.i)].sort((a, b) => a - b));
  });
});

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
  // With one endpoint map every service's slot ranges share it: ranges grow, shrink, are freed and
  // reused by others, and the dump shows any overlap or leftover slot (FakeNft.dump).
  it.each([
    [1, undefined],
    [2, undefined],
    [3, undefined],
    [4, undefined],
    [5, undefined],
    [6, undefined],
    [7, undefined],
    [8, undefined],
    [1, 1],
    [2, 1],
    [3, 1],
    [4, 1],
  ])(
    'seed %i, endpoint maps %s: 60 random changes, each compared with a fresh full sync',
    async (seed, shards) => {
      const rnd = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const opts = shards ? { endpointShards: shards } : {};
      const h = new NftHarness(opts);
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
          const n = Math.floor(rnd() * (shards ? 8 : 4));
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
        expect(dump(h), `step ${step}`).toBe(await freshDump(h, opts));
      }
    },
  );
});
