/**
 * Partial and full syncs: what each restore input names, that the kernel after a chain of partial
 * syncs equals a fresh full sync, that foreign rules and chains survive, that stale chains of ours
 * go, that failures fall back to a full sync, and the UDP conntrack cleanup.
 */
import { describe, expect, it } from 'vitest';
import { svcChain } from './chain-names.js';
import { cleanupIptablesRules } from './iptables-proxier.js';
import { Harness, slice, svc } from './testing/fixtures.js';

const EP = ['10.42.0.11', '10.42.0.12', '10.42.0.13'];

function kernel(h: Harness): string {
  // Chains in sorted order: partial syncs may declare them in a different order than a full one.
  const out: string[] = [];
  for (const [t, chains] of h.runner.v4.tables)
    for (const c of [...chains.keys()].sort()) out.push(`${t} ${c}\n${chains.get(c)!.join('\n')}`);
  return out.join('\n');
}

async function fresh(objs: Parameters<Harness['apply']>): Promise<string> {
  const h = new Harness().apply(...objs);
  await h.sync({ full: true });
  return kernel(h);
}

describe('IptablesProxier syncs', () => {
  it('first sync is full: base chains, jumps from the built-in chains, route_localnet', async () => {
    const h = new Harness().apply(svc(), slice(EP));
    const [r] = await h.sync();
    expect(r!.full).toBe(true);
    const nat = h.runner.v4;
    expect(nat.chain('nat', 'PREROUTING')).toEqual([
      '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    ]);
    expect(nat.chain('nat', 'POSTROUTING')).toEqual([
      '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ]);
    expect(nat.chain('filter', 'FORWARD')!.map((r) => r.split(' -j ')[1])).toEqual([
      'KUBE-PROXY-FIREWALL',
      'KUBE-FORWARD',
      'KUBE-SERVICES',
      'KUBE-EXTERNAL-SERVICES',
    ]);
    expect(h.runner.other).toContainEqual({
      cmd: 'sysctl',
      args: ['-w', 'net.ipv4.conf.all.route_localnet=1'],
    });
    expect(r!.ruleCounts.nat).toBeGreaterThan(0);
  });

  it('a second full sync does not duplicate the jumps', async () => {
    const h = new Harness().apply(svc(), slice(EP));
    await h.sync();
    await h.sync({ full: true });
    expect(h.runner.v4.chain('nat', 'PREROUTING')!.length).toBe(1);
    expect(h.runner.v4.chain('filter', 'INPUT')!.length).toBe(4);
  });

  it('one endpoint change rewrites only that service chain and the new endpoint chain', async () => {
    const other = svc({ name: 'other', clusterIP: '10.43.0.20' });
    const h = new Harness().apply(svc(), slice(EP), other, slice(EP, { service: 'other' }));
    await h.sync();
    h.restores.length = 0;
    h.apply(slice([...EP, '10.42.0.14']));
    const [r] = await h.sync();
    expect(r!.full).toBe(false);
    const input = h.restores[0]!;
    const declared = input.split('\n').filter((l) => l.startsWith(':'));
    expect(declared).toHaveLength(2);
    expect(declared[0]).toBe(`:${svcChain('default/web:http', 'TCP')} - [0:0]`);
    expect(declared[1]).toMatch(/^:KUBE-SEP-/);
    expect(input).not.toContain('KUBE-SERVICES');
    expect(input).not.toContain('*filter');
    expect(kernel(h)).toBe(
      await fresh([svc(), slice([...EP, '10.42.0.14']), other, slice(EP, { service: 'other' })]),
    );
  });

  it('no change, no restore', async () => {
    const h = new Harness().apply(svc(), slice(EP));
    await h.sync();
    h.restores.length = 0;
    h.apply(slice(EP)); // same content again
    await h.sync();
    expect(h.restores).toEqual([]);
  });

  it('partial syncs through scale to 0 and back, new services and deletions end equal to a full sync', async () => {
    const h = new Harness().apply(svc(), slice(EP));
    await h.sync();
    const steps: Parameters<Harness['apply']>[] = [
      [slice([])],
      [slice(EP)],
      [
        svc({
          name: 'np',
          clusterIP: '10.43.0.30',
          type: 'NodePort',
          ports: [{ name: 'http', port: 80, nodePort: 30001 }],
        }),
      ],
      [slice([EP[0]!], { service: 'np' })],
      [svc({ affinity: 30 })],
      [slice([{ ip: EP[0]!, ready: false, serving: true, terminating: true }])],
    ];
    const all: Parameters<Harness['apply']>[number][] = [svc(), slice(EP)];
    for (const objs of steps) {
      h.apply(...objs);
      const [r] = await h.sync();
      expect(r!.full).toBe(false);
      for (const o of objs) {
        const i = all.findIndex((x) => x.kind === o.kind && x.metadata!.name === o.metadata!.name);
        if (i >= 0) all[i] = o;
        else all.push(o);
      }
      expect(kernel(h)).toBe(await fresh(all));
    }
    // Delete the NodePort service: its chains go (even though its slice stays).
    h.remove(all[2]!);
    await h.sync();
    expect(h.runner.v4.chains('nat').some((c) => c === svcChain('default/np:http', 'TCP'))).toBe(false);
    expect(kernel(h)).toBe(await fresh(all.filter((_, i) => i !== 2)));
  });

  it('never removes what it does not own; removes stale chains of ours on a full sync', async () => {
    const h = new Harness();
    const k = h.runner.v4;
    k.addForeign('nat', 'PREROUTING', '-j DOCKER');
    k.addForeign('nat', 'DOCKER', '-d 172.17.0.2/32 -j RETURN');
    k.addForeign('filter', 'INPUT', '-p tcp --dport 22 -j ACCEPT');
    k.addForeign('nat', 'KUBE-SVC-STALESTALESTALE1', '-j RETURN');
    k.addForeign('nat', 'MY-KUBE-THING', '-j RETURN');
    h.apply(svc(), slice(EP));
    await h.sync();
    expect(k.chain('nat', 'DOCKER')).toEqual(['-d 172.17.0.2/32 -j RETURN']);
    expect(k.chain('nat', 'PREROUTING')).toContain('-j DOCKER');
    expect(k.chain('filter', 'INPUT')).toContain('-p tcp --dport 22 -j ACCEPT');
    expect(k.chain('nat', 'MY-KUBE-THING')).toEqual(['-j RETURN']);
    expect(k.chain('nat', 'KUBE-SVC-STALESTALESTALE1')).toBeUndefined();
  });

  it('a failed restore makes the next sync full, and the kernel ends right', async () => {
    const h = new Harness().apply(svc(), slice(EP));
    await h.sync();
    h.runner.failRestores = 1;
    h.apply(slice([EP[0]!]));
    await expect(h.sync()).rejects.toThrow(/iptables-restore exited with 1/);
    // The proxy retries with the changes it carried; here the harness re-marks the service changed.
    const [r] = await h.sync();
    expect(r!.full).toBe(true);
    expect(kernel(h)).toBe(await fresh([svc(), slice([EP[0]!])]));
  });

  it('UDP: a removed endpoint has its conntrack entries deleted; a first endpoint clears the service IP', async () => {
    const dns = svc({
      name: 'dns',
      type: 'NodePort',
      clusterIP: '10.43.0.10',
      ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }],
    });
    const ports = [{ name: 'dns', port: 53, protocol: 'UDP' as const }];
    const h = new Harness().apply(dns, slice([], { service: 'dns', ports }));
    await h.sync();
    h.runner.other.length = 0;
    h.apply(slice([EP[0]!, EP[1]!], { service: 'dns', ports }));
    await h.sync();
    expect(h.runner.other.filter((c) => c.cmd === 'conntrack').map((c) => c.args.join(' '))).toEqual([
      '-D -p udp --orig-dst 10.43.0.10',
      '-D -p udp --orig-port-dst 30053',
    ]);
    h.runner.other.length = 0;
    h.apply(slice([EP[1]!], { service: 'dns', ports }));
    await h.sync();
    expect(h.runner.other.filter((c) => c.cmd === 'conntrack').map((c) => c.args.join(' '))).toEqual([
      '-D -p udp --orig-dst 10.43.0.10 --dst-nat 10.42.0.11',
      '-D -p udp --orig-port-dst 30053 --dst-nat 10.42.0.11',
    ]);
  });

  it('TCP endpoint removal runs no conntrack command', async () => {
    const h = new Harness().apply(svc(), slice(EP));
    await h.sync();
    h.runner.other.length = 0;
    h.apply(slice([EP[0]!]));
    await h.sync();
    expect(h.runner.other.filter((c) => c.cmd === 'conntrack')).toEqual([]);
  });

  it('hashed chain names are stable and distinct per port and protocol', () => {
    expect(svcChain('default/web:http', 'TCP')).toBe(svcChain('default/web:http', 'TCP'));
    expect(svcChain('default/web:http', 'TCP')).not.toBe(svcChain('default/web:http', 'UDP'));
    expect(svcChain('default/web:http', 'TCP')).toMatch(/^KUBE-SVC-[A-Z2-7]{16}$/);
  });

  it('cleanup (switching to nftables mode) removes our chains and jumps, nothing else', async () => {
    const h = new Harness().apply(svc(), slice(EP));
    await h.sync();
    const k = h.runner.v4;
    k.addForeign('nat', 'PREROUTING', '-j DOCKER');
    k.addForeign('nat', 'DOCKER', '-d 172.17.0.2/32 -j RETURN');
    k.addForeign('filter', 'INPUT', '-p tcp --dport 22 -j ACCEPT');
    const removed = await cleanupIptablesRules(h.runner, 'IPv4');
    expect(removed).toBeGreaterThan(8);
    expect(k.chains('nat').filter((c) => c.startsWith('KUBE-'))).toEqual([]);
    expect(k.chains('filter').filter((c) => c.startsWith('KUBE-'))).toEqual([]);
    expect(k.chain('nat', 'PREROUTING')).toEqual(['-j DOCKER']);
    expect(k.chain('nat', 'DOCKER')).toEqual(['-d 172.17.0.2/32 -j RETURN']);
    expect(k.chain('filter', 'INPUT')).toEqual(['-p tcp --dport 22 -j ACCEPT']);
    expect(k.chain('filter', 'FORWARD')).toEqual([]);
    // Nothing of ours left: a second cleanup has nothing to do.
    expect(await cleanupIptablesRules(h.runner, 'IPv4')).toBe(0);
  });
});
