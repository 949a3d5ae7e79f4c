import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IpamAllocator, loopbackCidr, PersistentIpam } from './ipam.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('IpamAllocator', () => {
  it('skips network, gateway and broadcast; same uid same IP; never one IP twice', () => {
    const a = new IpamAllocator('10.42.1.0/29');
    expect(a.gateway()).toBe('10.42.1.1');
    const ips = ['a', 'b', 'c', 'd', 'e'].map((u) => a.allocate(u));
    expect(ips).toEqual(['10.42.1.2', '10.42.1.3', '10.42.1.4', '10.42.1.5', '10.42.1.6']);
    expect(a.allocate('c')).toBe('10.42.1.4');
    expect(() => a.allocate('f')).toThrow(/no free address/);
    a.release('b');
    expect(a.allocate('f')).toBe('10.42.1.3');
  });
  it('hands out round robin: a released address is not reused at once', () => {
    const a = new IpamAllocator('10.42.1.0/24');
    expect(a.allocate('a')).toBe('10.42.1.2');
    a.release('a');
    expect(a.allocate('b')).toBe('10.42.1.3');
  });
  it('ignores saved allocations outside the CIDR or duplicated', () => {
    const a = new IpamAllocator('10.42.1.0/24', {
      a: '10.42.1.9',
      b: '10.42.1.9',
      c: '10.0.0.1',
      d: '10.42.1.255',
    });
    expect(a.uids()).toEqual(['a']);
  });
  it('rejects a bad CIDR', () => {
    expect(() => new IpamAllocator('nope')).toThrow(/pod CIDR/);
  });
});

describe('PersistentIpam', () => {
  it('survives a restart with the same addresses; a new CIDR starts over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8ts-ipam-'));
    dirs.push(dir);
    const path = join(dir, 'ipam.json');
    const one = new PersistentIpam(path);
    one.init('10.42.3.0/24');
    // Allocated together: one shared write records both.
    const [ip1, ip2] = await Promise.all([one.allocate('uid-1'), one.allocate('uid-2')]);
    const two = new PersistentIpam(path);
    two.init('10.42.3.0/24');
    expect(two.get('uid-1')).toBe(ip1);
    expect(two.get('uid-2')).toBe(ip2);
    const ip3 = await two.allocate('uid-3');
    expect([ip1, ip2]).not.toContain(ip3);
    const three = new PersistentIpam(path);
    three.init('10.42.4.0/24');
    expect(three.uids()).toEqual([]);
  });
});

describe('loopbackCidr (rootless pod IPs)', () => {
  it.each([
    ['10.42.3.0/24', '127.42.3.0/24'],
    ['10.42.0.0/24', '127.42.0.0/24'],
    ['192.168.7.0/25', '127.168.7.0/25'],
    ['10.0.0.0/4', '127.0.0.0/8'],
  ])('%s -> %s', (cidr, want) => {
    expect(loopbackCidr(cidr)).toBe(want);
  });
});
