/**
 * The mode and --nodeport-addresses arguments: what is accepted, and the errors for the rest.
 */
import { describe, expect, it } from 'vitest';
import { parseProxyMode } from './command.js';
import { parseNodePortAddresses } from './start.js';

describe('parseProxyMode', () => {
  it.each(['iptables', 'nftables', 'userspace'])('%s is a mode', (m) => {
    expect(parseProxyMode(m)).toBe(m);
  });
  it.each(['ipvs', 'nft', ''])('"%s" is refused, naming the modes', (m) => {
    expect(() => parseProxyMode(m)).toThrow(`unknown mode "${m}" (iptables, nftables, userspace)`);
  });
});

describe('parseNodePortAddresses', () => {
  it.each([
    [['192.168.1.0/24'], ['192.168.1.0/24']],
    [
      [' 10.0.0.1 ', 'fd00::/64'],
      ['10.0.0.1/32', 'fd00::/64'],
    ],
    [['2001:db8::1'], ['2001:db8::1/128']],
    [['10.0.0.0/8', ''], ['10.0.0.0/8']],
  ])('%j -> %j', (input, want) => {
    expect(parseNodePortAddresses(input)).toEqual(want);
  });
  it.each([
    [['primary'], 'the "primary" keyword is not supported'],
    [['10.0.0.0/33'], 'invalid CIDR "10.0.0.0/33"'],
    [['10.0.0.300/24'], 'invalid CIDR "10.0.0.300/24"'],
    [['eth0'], 'invalid CIDR "eth0"'],
    [['10.0.0.0/x'], 'invalid CIDR "10.0.0.0/x"'],
    [['10.0.0.0/'], 'invalid CIDR "10.0.0.0/"'],
    [[''], 'no CIDR given'],
  ])('%j is refused: %s', (input, msg) => {
    expect(() => parseNodePortAddresses(input)).toThrow(msg);
  });
});
