import { describe, expect, it } from 'vitest';
import { containerResources } from '../pod-worker.js';
import { limitWrites, milliToShares, ownCgroups, parseOomKills, sharesToWeight } from './cgroups.js';

describe('cgroup limits', () => {
  it.each([
    [
      'v1 memory + cpu limit + request',
      1 as const,
      { memoryBytes: 104857600, cpuLimitMilli: 250, cpuRequestMilli: 100 },
      [
        'memory:memory.limit_in_bytes=104857600',
        'memory:memory.memsw.limit_in_bytes=104857600',
        'cpu:cpu.cfs_period_us=100000',
        'cpu:cpu.cfs_quota_us=25000',
        'cpu:cpu.shares=102',
      ],
    ],
    [
      'v1 tiny cpu limit: quota floor 1 ms',
      1 as const,
      { cpuLimitMilli: 1 },
      ['cpu:cpu.cfs_period_us=100000', 'cpu:cpu.cfs_quota_us=1000'],
    ],
    [
      'v2 memory + cpu',
      2 as const,
      { memoryBytes: 1 << 20, cpuLimitMilli: 1500, cpuRequestMilli: 1000 },
      [
        'memory:memory.max=1048576',
        'memory:memory.swap.max=0',
        'cpu:cpu.max=150000 100000',
        'cpu:cpu.weight=39',
      ],
    ],
    ['nothing', 2 as const, {}, []],
  ])('%s', (_n, version, limits, want) => {
    expect(limitWrites(version, limits).map((w) => `${w.controller}:${w.file}=${w.value}`)).toEqual(want);
  });

  it.each([
    [1, 2],
    [100, 102],
    [1000, 1024],
  ])('%i millicores -> %i shares', (milli, shares) => {
    expect(milliToShares(milli)).toBe(shares);
  });

  it.each([
    [2, 1],
    [1024, 39],
    [262144, 10000],
  ])('%i shares -> weight %i', (shares, weight) => {
    expect(sharesToWeight(shares)).toBe(weight);
  });

  it('reads the own cgroup per v1 controller and the v2 path', () => {
    const own = ownCgroups('4:memory:/a/b\n2:cpu,cpuacct:/\n0::/user.slice/x\n');
    expect(own.get('memory')).toBe('/a/b');
    expect(own.get('cpu')).toBe('/');
    expect(own.get('cpuacct')).toBe('/');
    expect(own.get('')).toBe('/user.slice/x');
  });

  it.each([
    ['v1 oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n', 2],
    ['v2 memory.events', 'low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n', 1],
    ['old kernel without the counter', 'oom_kill_disable 0\nunder_oom 0\n', 0],
  ])('OOM kills from %s', (_n, text, n) => {
    expect(parseOomKills(text)).toBe(n);
  });

  it.each([
    [
      'limits and requests',
      { limits: { memory: '128Mi', cpu: '500m' }, requests: { cpu: '0.1' } },
      { memoryBytes: 134217728, cpuLimitMilli: 500, cpuRequestMilli: 100 },
    ],
    [
      'a cpu limit is also the request',
      { limits: { cpu: '2' } },
      { cpuLimitMilli: 2000, cpuRequestMilli: 2000 },
    ],
    ['none', {}, undefined],
  ])('container resources: %s', (_n, resources, want) => {
    expect(containerResources({ name: 'c', resources })).toEqual(want);
  });
});
