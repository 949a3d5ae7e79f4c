/**
 * The mode and --nodeport-addresses arguments: what is accepted, and the errors for the rest.
 */
import { describe, expect, it } from 'vitest';
import { parseProxyMode } from './command.js';
import { nodePrimaryIPs, parseNodePortAddresses, resolveNodePortAddresses } from './start.js';

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
    // Upstream's keywords, kept for resolveNodePortAddresses, combinable, each once.
    [
      ['primary', '10.0.0.0/8', 'localhost', 'primary'],
      ['primary', '10.0.0.0/8', 'localhost'],
    ],
    [['all'], ['all']],
  ])('%j -> %j', (input, want) => {
    expect(parseNodePortAddresses(input)).toEqual(want);
  });
  it.each([
    [['primaries'], 'invalid CIDR "primaries" (CIDRs, or the keywords primary, localhost, all)'],
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

describe('resolveNodePortAddresses', () => {
  it('replaces the keywords by CIDRs: primary by the node IPs, localhost and all by both families', () => {
    expect(resolveNodePortAddresses(['primary', '10.0.0.0/8'], ['192.168.1.5', 'fd00::5'])).toEqual([
      '192.168.1.5/32',
      'fd00::5/128',
      '10.0.0.0/8',
    ]);
    expect(resolveNodePortAddresses(['localhost', '127.0.0.0/8'], [])).toEqual(['127.0.0.0/8', '::1/128']);
    expect(resolveNodePortAddresses(['all'], [])).toEqual(['0.0.0.0/0', '::/0']);
  });
});

describe('nodePrimaryIPs', () => {
  it('per family the first InternalIP, else the first ExternalIP, as kube-proxy', () => {
    const node = {
      status: {
        addresses: [
          { type: 'Hostname', address: 'n1' },
          { type: 'ExternalIP', address: '203.0.113.7' },
          { type: 'InternalIP', address: '10.1.0.7' },
          { type: 'InternalIP', address: '10.1.0.8' },
          { type: 'ExternalIP', address: '2001:db8::7' },
        ],
      },
    };
    expect(nodePrimaryIPs(node)).toEqual(['10.1.0.7', '2001:db8::7']);
    expect(nodePrimaryIPs({ status: { addresses: [{ type: 'Hostname', address: 'n1' }] } })).toEqual([]);
    expect(nodePrimaryIPs(undefined)).toEqual([]);
  });
});
