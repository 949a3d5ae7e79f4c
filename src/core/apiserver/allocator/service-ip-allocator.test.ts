import { describe, expect, it } from 'vitest';
import { AllocatorError } from './errors.js';
import { parseIp } from './ip.js';
import { ServiceIpAllocator } from './service-ip-allocator.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof AllocatorError) return err.code;
    throw err;
  }
}

function messageOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('ServiceIpAllocator construction', () => {
  const ranges: Array<[string, string | undefined, number | undefined, string | undefined]> = [
    ['10.43.0.0/16', undefined, 65534, '10.43.0.1'],
    ['10.96.0.0/12', undefined, 2 ** 20 - 2, '10.96.0.1'],
    ['192.168.5.77/24', undefined, 254, '192.168.5.1'],
    ['10.0.0.0/30', undefined, 2, '10.0.0.1'],
    ['fd00:43::/112', undefined, 65535, 'fd00:43::1'],
    ['10.0.0.0/11', 'INVALID_RANGE', undefined, undefined],
    ['fd00::/64', 'INVALID_RANGE', undefined, undefined],
    ['10.0.0.0/31', 'INVALID_RANGE', undefined, undefined],
    ['not-a-cidr', 'INVALID_RANGE', undefined, undefined],
  ];
  it.each(ranges)('%s', (cidr, code, size, kubernetesIp) => {
    if (code) {
      expect(codeOf(() => new ServiceIpAllocator({ cidr }))).toBe(code);
      return;
    }
    const allocator = new ServiceIpAllocator({ cidr });
    expect(allocator.size).toBe(size);
    expect(allocator.kubernetesServiceIp).toBe(kubernetesIp);
  });

  it('defaults to 10.43.0.0/16', () => {
    const allocator = new ServiceIpAllocator();
    expect(allocator.cidr).toBe('10.43.0.0/16');
    expect(allocator.kubernetesServiceIp).toBe('10.43.0.1');
  });
});

describe('ServiceIpAllocator.allocateSpecific', () => {
  // Each row runs against a fresh 10.43.0.0/16 allocator that already holds 10.43.0.10.
  const cases: Array<[string, string | undefined, string | undefined]> = [
    ['10.43.0.1', undefined, undefined],
    ['10.43.0.2', undefined, undefined],
    ['10.43.255.254', undefined, undefined],
    ['10.43.0.10', 'ALREADY_ALLOCATED', 'provided IP is already allocated'],
    ['10.43.0.0', 'NOT_IN_RANGE', 'provided IP 10.43.0.0 is not in the valid range'],
    ['10.43.255.255', 'NOT_IN_RANGE', 'provided IP 10.43.255.255 is not in the valid range'],
    ['10.42.0.5', 'NOT_IN_RANGE', 'provided IP 10.42.0.5 is not in the valid range'],
    ['fd00::5', 'NOT_IN_RANGE', 'provided IP fd00::5 is not in the valid range'],
    ['10.43.0.x', 'NOT_IN_RANGE', 'provided IP 10.43.0.x is not in the valid range'],
  ];
  it.each(cases)('%s', (ip, code, message) => {
    const allocator = new ServiceIpAllocator();
    allocator.allocateSpecific('10.43.0.10');
    expect(codeOf(() => allocator.allocateSpecific(ip))).toBe(code);
    expect(messageOf(() => allocator.allocateSpecific(ip))).toBe(
      message ?? 'provided IP is already allocated',
    );
    expect(allocator.has(ip)).toBe(code === undefined || code === 'ALREADY_ALLOCATED');
  });
});

describe('ServiceIpAllocator.allocate', () => {
  it('hands out distinct in-range addresses, never the network, broadcast or kubernetes address', () => {
    const allocator = new ServiceIpAllocator({ cidr: '10.43.0.0/16' });
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const ip = allocator.allocate();
      expect(seen.has(ip)).toBe(false);
      seen.add(ip);
      expect(allocator.has(ip)).toBe(true);
      expect(ip.startsWith('10.43.')).toBe(true);
      expect(['10.43.0.0', '10.43.0.1', '10.43.255.255']).not.toContain(ip);
      // The lower band (first 256 usable addresses) is kept for explicit ClusterIPs while the upper one has room.
      expect(parseIp(ip)!.value - parseIp('10.43.0.1')!.value).toBeGreaterThanOrEqual(256n);
    }
    expect(allocator.used).toBe(2000);
  });

  it('exhausts a small range, then reuses a released address', () => {
    const allocator = new ServiceIpAllocator({ cidr: '10.0.0.0/29' });
    const got = new Set<string>();
    for (let i = 0; i < 5; i++) got.add(allocator.allocate());
    expect([...got].sort()).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    expect(codeOf(() => allocator.allocate())).toBe('FULL');
    expect(messageOf(() => allocator.allocate())).toBe('failed to allocate a serviceIP: range is full');
    // The kubernetes address stays available for an explicit request.
    allocator.allocateSpecific('10.0.0.1');
    allocator.release('10.0.0.4');
    expect(allocator.has('10.0.0.4')).toBe(false);
    expect(allocator.allocate()).toBe('10.0.0.4');
    expect(allocator.free).toBe(0);
  });

  it('starts in the upper band and falls back to the lower band when the upper one is full', () => {
    // /24: 256 addresses, static band of 16 -> offsets [16, 254) are dynamic first.
    const allocator = new ServiceIpAllocator({ cidr: '10.0.0.0/24', random: () => 0 });
    expect(allocator.allocate()).toBe('10.0.0.17');
    for (let i = 0; i < 253 - 16; i++) allocator.allocate();
    expect(allocator.has('10.0.0.254')).toBe(true);
    expect(allocator.allocate()).toBe('10.0.0.2');
  });

  it('allocates from the bottom when the band preference is off', () => {
    const allocator = new ServiceIpAllocator({
      cidr: '10.0.0.0/24',
      random: () => 0,
      preferUpperBand: false,
    });
    expect(allocator.allocate()).toBe('10.0.0.2');
  });

  it('prints IPv6 addresses canonically', () => {
    const allocator = new ServiceIpAllocator({ cidr: 'fd00:43::/120', random: () => 0 });
    expect(allocator.allocate()).toBe('fd00:43::11');
    allocator.allocateSpecific('FD00:43:0::0:a');
    expect(allocator.has('fd00:43::a')).toBe(true);
    expect(allocator.list()).toEqual(['fd00:43::a', 'fd00:43::11']);
  });
});

describe('ServiceIpAllocator state', () => {
  it('restores a snapshot into a new allocator', () => {
    const a = new ServiceIpAllocator();
    const ips = [a.allocate(), a.allocate(), a.allocate()];
    a.allocateSpecific('10.43.0.1');
    const b = new ServiceIpAllocator();
    b.allocateSpecific('10.43.0.99');
    b.restore(a.snapshot());
    expect(b.list()).toEqual(a.list());
    for (const ip of ips) expect(b.has(ip)).toBe(true);
    expect(b.has('10.43.0.99')).toBe(false);
    expect(b.used).toBe(4);
  });

  it('refuses a snapshot of another range', () => {
    const a = new ServiceIpAllocator({ cidr: '10.0.0.0/24' });
    const b = new ServiceIpAllocator({ cidr: '10.0.1.0/24' });
    expect(codeOf(() => b.restore(a.snapshot()))).toBe('MISMATCHED_RANGE');
  });

  it('rebuilds from stored Services, reporting strays and repeats', () => {
    const allocator = new ServiceIpAllocator();
    const leaked = allocator.allocate();
    const report = allocator.rebuild([
      '10.43.0.1',
      '10.43.0.10',
      '10.43.7.7',
      '10.99.0.1',
      '10.43.0.10',
      'None',
    ]);
    expect(report).toEqual({ outOfRange: ['10.99.0.1', 'None'], duplicates: ['10.43.0.10'] });
    expect(allocator.list()).toEqual(['10.43.0.1', '10.43.0.10', '10.43.7.7']);
    expect(allocator.has(leaked)).toBe(false);
  });
});
