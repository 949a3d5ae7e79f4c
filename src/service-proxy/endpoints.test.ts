import { describe, expect, it } from 'vitest';
import { mergeSlices, type SlimSlice } from './endpoints.js';

const ep = (ip: string, ready = true, nodeName = 'n1') => ({
  ip,
  ready,
  serving: ready,
  terminating: false,
  nodeName,
});

const slim = (name: string, endpoints: ReturnType<typeof ep>[], port = 8080): SlimSlice => ({
  service: 'default/web',
  name,
  ports: [
    { name: 'http', port, protocol: 'TCP' },
    { name: 'dns', port: 53, protocol: 'UDP' },
  ],
  endpoints,
  triggerTime: undefined,
});

describe('mergeSlices', () => {
  it('merges the slices of a service per port, sorted by ip:port, each endpoint once', () => {
    const out = mergeSlices([slim('a', [ep('10.0.0.9'), ep('10.0.0.10')]), slim('b', [ep('10.0.0.2')])]);
    expect([...out.keys()].sort()).toEqual(['default/web:dns/UDP', 'default/web:http/TCP']);
    expect(out.get('default/web:http/TCP')!.map((e) => `${e.ip}:${e.port}`)).toEqual([
      '10.0.0.10:8080',
      '10.0.0.2:8080',
      '10.0.0.9:8080',
    ]);
    expect(out.get('default/web:dns/UDP')!.map((e) => e.port)).toEqual([53, 53, 53]);
  });

  it('a pod in two slices (moving between them): the ready copy wins, whichever slice came first', () => {
    for (const order of [
      [slim('a', [ep('10.0.0.5', false, 'old')]), slim('b', [ep('10.0.0.5', true, 'new')])],
      [slim('b', [ep('10.0.0.5', true, 'new')]), slim('a', [ep('10.0.0.5', false, 'old')])],
    ]) {
      const eps = mergeSlices(order).get('default/web:http/TCP')!;
      expect(eps).toHaveLength(1);
      expect(eps[0]).toMatchObject({ ip: '10.0.0.5', ready: true, nodeName: 'new' });
    }
    // Both not ready: the first seen stays.
    const both = mergeSlices([
      slim('a', [ep('10.0.0.5', false, 'x')]),
      slim('b', [ep('10.0.0.5', false, 'y')]),
    ]);
    expect(both.get('default/web:http/TCP')!.map((e) => e.nodeName)).toEqual(['x']);
  });
});
