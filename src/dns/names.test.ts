import { describe, expect, it } from 'vitest';
import { type ClusterName, dashedIp, parseClusterName, podIpFromLabel } from './names.js';

describe('parseClusterName', () => {
  const cases: [string, ClusterName][] = [
    ['', { kind: 'apex' }],
    ['dns-version', { kind: 'dns-version' }],
    ['ns.dns', { kind: 'nameserver' }],
    ['svc', { kind: 'svc' }],
    ['default.svc', { kind: 'svc', namespace: 'default' }],
    ['web.default.svc', { kind: 'svc', namespace: 'default', service: 'web' }],
    ['db-0.db.default.svc', { kind: 'svc', namespace: 'default', service: 'db', endpoint: 'db-0' }],
    ['_tcp.web.default.svc', { kind: 'svc', namespace: 'default', service: 'web', protocol: 'tcp' }],
    [
      '_http._tcp.web.default.svc',
      { kind: 'svc', namespace: 'default', service: 'web', port: 'http', protocol: 'tcp' },
    ],
    ['http._tcp.web.default.svc', { kind: 'invalid' }],
    ['a.b.c.d.e.svc', { kind: 'invalid' }],
    ['pod', { kind: 'pod' }],
    ['default.pod', { kind: 'pod', namespace: 'default' }],
    ['10-42-0-5.default.pod', { kind: 'pod', namespace: 'default', ip: '10.42.0.5' }],
    ['fd00--5.default.pod', { kind: 'pod', namespace: 'default', ip: 'fd00::5' }],
    ['10-42-0-300.default.pod', { kind: 'invalid' }],
    ['a.web.default.pod', { kind: 'invalid' }],
    ['x.default.pod.extra', { kind: 'invalid' }],
    ['www', { kind: 'invalid' }],
  ];
  for (const [name, want] of cases)
    it(`"${name}"`, () => expect(parseClusterName(name === '' ? [] : name.split('.'))).toEqual(want));
});

describe('podIpFromLabel', () => {
  const cases: [string, string | undefined][] = [
    ['1-2-3-4', '1.2.3.4'],
    ['01-2-3-4', undefined],
    ['1-2-3', undefined],
    ['2001-db8--1', '2001:db8::1'],
    ['--1', '::1'],
    ['abc', undefined],
    ['1-2-3-4-5', undefined],
  ];
  for (const [label, want] of cases) it(label, () => expect(podIpFromLabel(label)).toBe(want));
  it('dashedIp is its inverse', () => {
    expect(podIpFromLabel(dashedIp('10.42.1.7'))).toBe('10.42.1.7');
    expect(podIpFromLabel(dashedIp('fd00:1::7'))).toBe('fd00:1::7');
  });
});
