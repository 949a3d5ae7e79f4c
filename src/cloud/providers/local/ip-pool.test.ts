import type { Service } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { AddressUnavailableError, CloudConfigError, PoolExhaustedError } from '../../errors.js';
import { IpPool } from './ip-pool.js';
import { LocalLoadBalancer } from './local-load-balancer.js';

const svc = (uid: string, extra: Partial<Service['spec']> = {}, ip?: string): Service => ({
  metadata: {
    name: uid,
    namespace: 'default',
    uid,
    creationTimestamp: `2026-01-01T00:00:0${uid.length % 10}Z`,
  },
  spec: { type: 'LoadBalancer', ...extra },
  ...(ip ? { status: { loadBalancer: { ingress: [{ ip }] } } } : {}),
});

describe('IpPool', () => {
  it.each([
    ['192.168.1.240/30', ['192.168.1.241', '192.168.1.242'], ['192.168.1.240', '192.168.1.243']],
    ['10.0.0.5/32', ['10.0.0.5'], ['10.0.0.4']],
    ['10.0.0.8/31', ['10.0.0.8', '10.0.0.9'], []],
    ['10.0.0.1-10.0.0.3, 10.0.1.7', ['10.0.0.1', '10.0.0.3', '10.0.1.7'], ['10.0.0.4']],
  ])('%s', (spec, inside, outside) => {
    const p = new IpPool(spec);
    for (const ip of inside) expect(p.contains(ip)).toBe(true);
    for (const ip of outside) expect(p.contains(ip)).toBe(false);
  });

  it.each(['', '10.0.0.9-10.0.0.1', '10.0.0.300', '10.0.0.0/33', '10.0.0.0/8'])('rejects "%s"', (spec) => {
    expect(() => new IpPool(spec)).toThrow(CloudConfigError);
  });

  it('hands out the lowest free address', () => {
    const p = new IpPool('10.0.0.1-10.0.0.3');
    expect(p.firstFree(new Set(['10.0.0.1']))).toBe('10.0.0.2');
    expect(p.firstFree(new Set(['10.0.0.1', '10.0.0.2', '10.0.0.3']))).toBeUndefined();
  });
});

describe('LocalLoadBalancer', () => {
  it('allocates, honours loadBalancerIP, refuses conflicts, releases on delete', async () => {
    const lb = new LocalLoadBalancer({ pool: new IpPool('10.0.0.1-10.0.0.2') });
    expect(await lb.ensureLoadBalancer('c', svc('a'), [])).toEqual({
      ingress: [{ ip: '10.0.0.1', ipMode: 'VIP' }],
    });
    expect((await lb.ensureLoadBalancer('c', svc('a'), [])).ingress[0]!.ip).toBe('10.0.0.1');
    await expect(
      lb.ensureLoadBalancer('c', svc('b', { loadBalancerIP: '10.0.0.1' }), []),
    ).rejects.toBeInstanceOf(AddressUnavailableError);
    await expect(lb.ensureLoadBalancer('c', svc('b', { loadBalancerIP: '10.9.9.9' }), [])).rejects.toThrow(
      /not in the load balancer pool/,
    );
    expect((await lb.ensureLoadBalancer('c', svc('b'), [])).ingress[0]!.ip).toBe('10.0.0.2');
    await expect(lb.ensureLoadBalancer('c', svc('cc'), [])).rejects.toBeInstanceOf(PoolExhaustedError);
    await lb.ensureLoadBalancerDeleted('c', svc('a'));
    expect((await lb.ensureLoadBalancer('c', svc('cc'), [])).ingress[0]!.ip).toBe('10.0.0.1');
  });

  it('restore keeps published addresses (oldest service wins a duplicate)', async () => {
    const lb = new LocalLoadBalancer({ pool: new IpPool('10.0.0.1-10.0.0.3') });
    lb.restore('c', [svc('bb', {}, '10.0.0.2'), svc('a', {}, '10.0.0.2'), svc('ccc', {}, '10.0.0.3')]);
    expect((await lb.ensureLoadBalancer('c', svc('new'), [])).ingress[0]!.ip).toBe('10.0.0.1');
    expect((await lb.ensureLoadBalancer('c', svc('a', {}, '10.0.0.2'), [])).ingress[0]!.ip).toBe('10.0.0.2');
    expect((await lb.ensureLoadBalancer('c', svc('ccc', {}, '10.0.0.3'), [])).ingress[0]!.ip).toBe(
      '10.0.0.3',
    );
    await expect(lb.ensureLoadBalancer('c', svc('bb', {}, '10.0.0.2'), [])).rejects.toBeInstanceOf(
      PoolExhaustedError,
    );
  });

  it('without a pool, publishes the nodes ExternalIP or InternalIP', async () => {
    const lb = new LocalLoadBalancer();
    const nodes = [
      { metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '10.1.0.2' }] } },
      {
        metadata: { name: 'n2' },
        status: {
          addresses: [
            { type: 'InternalIP', address: '10.1.0.3' },
            { type: 'ExternalIP', address: '198.51.100.3' },
          ],
        },
      },
    ];
    expect(await lb.ensureLoadBalancer('c', svc('a'), nodes)).toEqual({
      ingress: [
        { ip: '10.1.0.2', ipMode: 'VIP' },
        { ip: '198.51.100.3', ipMode: 'VIP' },
      ],
    });
    expect(lb.nodesInStatus).toBe(true);
  });

  it('node-address mode: a port is held by one service at a time', async () => {
    const lb = new LocalLoadBalancer();
    const withPort = (uid: string, port: number, ip?: string) => ({
      ...svc(uid, { ports: [{ port, protocol: 'TCP' as const }] }, ip),
    });
    await lb.ensureLoadBalancer('c', withPort('a', 80), []);
    await expect(lb.ensureLoadBalancer('c', withPort('b', 80), [])).rejects.toThrow(
      /port TCP\/80 is already used by service default\/a/,
    );
    await lb.ensureLoadBalancer('c', withPort('b', 81), []);
    // A port change of a frees its old port.
    await lb.ensureLoadBalancer('c', withPort('a', 82), []);
    await lb.ensureLoadBalancer('c', withPort('cc', 80), []);
    await lb.ensureLoadBalancerDeleted('c', withPort('cc', 80));
    await lb.ensureLoadBalancer('c', withPort('dd', 80), []);
    // After a restart the published services keep their ports.
    const again = new LocalLoadBalancer();
    again.restore('c', [withPort('dd', 80, '10.1.0.2')]);
    await expect(again.ensureLoadBalancer('c', withPort('ee', 80), [])).rejects.toThrow(/already used/);
  });
});
