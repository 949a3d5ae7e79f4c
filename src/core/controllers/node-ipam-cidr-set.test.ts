import { describe, expect, it } from 'vitest';
import { CidrConfigError, CidrSet, formatIpv4, parseCidr, parseIpv4 } from './node-ipam-cidr-set.js';

describe('parseCidr', () => {
  const cases: [string, { base: string; prefix: number } | undefined][] = [
    ['10.42.0.0/16', { base: '10.42.0.0', prefix: 16 }],
    ['10.42.7.9/16', { base: '10.42.0.0', prefix: 16 }],
    ['192.168.1.0/24', { base: '192.168.1.0', prefix: 24 }],
    ['255.255.255.255/32', { base: '255.255.255.255', prefix: 32 }],
    ['0.0.0.0/0', { base: '0.0.0.0', prefix: 0 }],
    ['10.42.0.0', undefined],
    ['10.42.0.0/33', undefined],
    ['10.42.0/16', undefined],
    ['10.256.0.0/16', undefined],
    ['fd00::/64', undefined],
    ['10.42.0.0/16/1', undefined],
  ];
  it.each(cases)('%s', (s, want) => {
    const got = parseCidr(s);
    expect(got && { base: formatIpv4(got.base), prefix: got.prefix }).toEqual(want);
  });

  it('round-trips addresses', () => {
    for (const s of ['0.0.0.0', '10.42.255.1', '255.0.255.0', '172.16.3.4']) {
      expect(formatIpv4(parseIpv4(s)!)).toBe(s);
    }
  });
});

describe('CidrSet', () => {
  it('hands out /24s in order from a /16 and knows its size', () => {
    const s = new CidrSet('10.42.0.0/16');
    expect(s.size).toBe(256);
    expect([s.allocateNext(), s.allocateNext(), s.allocateNext()]).toEqual([
      '10.42.0.0/24',
      '10.42.1.0/24',
      '10.42.2.0/24',
    ]);
    expect(s.usedCount).toBe(3);
  });

  it('skips subnets occupied by existing nodes (rebuilt after a restart)', () => {
    const s = new CidrSet('10.42.0.0/16');
    expect(s.occupy('10.42.0.0/24')).toBe(true);
    expect(s.occupy('10.42.2.0/24')).toBe(true);
    expect(s.allocateNext()).toBe('10.42.1.0/24');
    expect(s.allocateNext()).toBe('10.42.3.0/24');
  });

  it('goes round-robin: a released subnet is reused only after the others', () => {
    const s = new CidrSet('10.0.0.0/22');
    const all = [s.allocateNext(), s.allocateNext(), s.allocateNext(), s.allocateNext()];
    expect(all).toEqual(['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24']);
    expect(s.allocateNext()).toBeUndefined();
    s.release('10.0.1.0/24');
    expect(s.isUsed('10.0.1.0/24')).toBe(false);
    expect(s.allocateNext()).toBe('10.0.1.0/24');
    expect(s.allocateNext()).toBeUndefined();
  });

  const foreign: [string, string][] = [
    ['outside the range', '10.43.0.0/24'],
    ['another mask size', '10.42.0.0/25'],
    ['malformed', 'nope'],
  ];
  it.each(foreign)('leaves a CIDR %s alone', (_name, cidr) => {
    const s = new CidrSet('10.42.0.0/16');
    expect(s.occupy(cidr)).toBe(false);
    s.release(cidr);
    expect(s.usedCount).toBe(0);
  });

  const bad: [string, string, number | undefined][] = [
    ['malformed', '10.42.0.0', undefined],
    ['mask smaller than the cluster prefix', '10.42.0.0/16', 8],
    ['mask too large', '10.42.0.0/16', 31],
  ];
  it.each(bad)('rejects a %s config', (_name, cidr, mask) => {
    expect(() => new CidrSet(cidr, { nodeMaskSize: mask })).toThrow(CidrConfigError);
  });
});
