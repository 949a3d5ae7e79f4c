import { describe, expect, it } from 'vitest';
import { parseResolvConf, podHosts, podResolvConf } from './dns-config.js';

const settings = {
  clusterDns: ['10.43.0.10'],
  clusterDomain: 'cluster.local',
  host: parseResolvConf(
    '# host\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example\noptions edns0 timeout:2\n',
  ),
};
const pod = (spec: object) => ({ metadata: { name: 'web-1', namespace: 'shop' }, spec });

describe('podResolvConf', () => {
  it.each([
    [
      'ClusterFirst (default)',
      {},
      'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.43.0.10\noptions ndots:5\n',
    ],
    [
      'ClusterFirst with hostNetwork falls back to Default',
      { hostNetwork: true },
      'search corp.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions edns0 timeout:2\n',
    ],
    [
      'ClusterFirstWithHostNet',
      { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' },
      'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.43.0.10\noptions ndots:5\n',
    ],
    [
      'Default',
      { dnsPolicy: 'Default' },
      'search corp.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions edns0 timeout:2\n',
    ],
    [
      'None with dnsConfig',
      {
        dnsPolicy: 'None',
        dnsConfig: {
          nameservers: ['1.1.1.1'],
          searches: ['a.example'],
          options: [{ name: 'ndots', value: '2' }, { name: 'rotate' }],
        },
      },
      'search a.example\nnameserver 1.1.1.1\noptions ndots:2 rotate\n',
    ],
    [
      'ClusterFirst + dnsConfig merges (options override by name)',
      {
        dnsConfig: {
          nameservers: ['1.1.1.1'],
          searches: ['x.example'],
          options: [{ name: 'ndots', value: '1' }],
        },
      },
      'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example x.example\nnameserver 10.43.0.10\nnameserver 1.1.1.1\noptions ndots:1\n',
    ],
  ])('%s', (_name, spec, want) => {
    expect(podResolvConf(pod(spec), settings)).toBe(want);
  });
});

describe('podHosts', () => {
  it('names the pod, its subdomain FQDN and host aliases', () => {
    const h = podHosts(
      pod({ hostname: 'h', subdomain: 'sub', hostAliases: [{ ip: '10.1.1.1', hostnames: ['a', 'b'] }] }),
      '10.42.0.5',
      'cluster.local',
    );
    expect(h).toContain('127.0.0.1\tlocalhost\n');
    expect(h).toContain('10.42.0.5\th.sub.shop.svc.cluster.local\th\n');
    expect(h).toContain('10.1.1.1\ta\tb\n');
    expect(podHosts(pod({}), '10.42.0.6', 'cluster.local')).toContain('10.42.0.6\tweb-1\n');
  });
});
