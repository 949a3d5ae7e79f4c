import { describe, expect, it } from 'vitest';
import { formatCidr, formatIp, parseCidr, parseIp } from './ip.js';

describe('parseIp / formatIp', () => {
  const roundTrips: Array<[string, string]> = [
    ['10.43.0.1', '10.43.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::1', '::1'],
    ['::', '::'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fd00:0:0:1::', 'fd00:0:0:1::'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ['fd00::10.43.0.1', 'fd00::a2b:1'],
  ];
  it.each(roundTrips)('%s -> %s', (input, canonical) => {
    const parsed = parseIp(input);
    expect(parsed).toBeDefined();
    expect(formatIp(parsed!.value, parsed!.family)).toBe(canonical);
  });

  const invalid = [
    '',
    '10.43.0',
    '10.43.0.256',
    '10.043.0.1',
    '10.43.0.1.2',
    'a.b.c.d',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    'fe80::1%eth0',
    '12345::1',
    ':::',
  ];
  it.each(invalid)('rejects %j', (input) => {
    expect(parseIp(input)).toBeUndefined();
  });
});

describe('parseCidr', () => {
  const cases: Array<[string, string | undefined, number | undefined]> = [
    ['10.43.0.0/16', '10.43.0.0/16', 16],
    ['10.43.7.9/16', '10.43.0.0/16', 16],
    ['fd00:43::/112', 'fd00:43::/112', 16],
    ['10.0.0.0/33', undefined, undefined],
    ['10.0.0.0', undefined, undefined],
    ['10.0.0.0/016', undefined, undefined],
  ];
  it.each(cases)('%s', (input, canonical, hostBits) => {
    const parsed = parseCidr(input);
    if (canonical === undefined) {
      expect(parsed).toBeUndefined();
      return;
    }
    expect(formatCidr(parsed!)).toBe(canonical);
    expect(parsed!.hostBits).toBe(hostBits);
  });
});
