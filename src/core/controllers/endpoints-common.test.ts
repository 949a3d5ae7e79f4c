import type { Pod, ServicePort } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import {
  compareResourceVersions,
  findPort,
  formatTriggerTime,
  podEndpointsChanged,
  serviceSelector,
  servicesToSync,
  shouldPodBeInEndpoints,
} from './endpoints-common.js';
import { pod, service } from './endpoints-fixtures.js';

describe('shouldPodBeInEndpoints', () => {
  const cases: [string, Pod, boolean, boolean][] = [
    ['running with IP', pod('a'), false, true],
    ['no IP', pod('a', { ip: '' }), true, false],
    ['succeeded', pod('a', { phase: 'Succeeded' }), true, false],
    ['failed', pod('a', { phase: 'Failed' }), true, false],
    ['terminating, not included', pod('a', { deleting: true }), false, false],
    ['terminating, included', pod('a', { deleting: true }), true, true],
    ['not ready still published', pod('a', { ready: false }), false, true],
  ];
  for (const [name, p, incl, want] of cases)
    it(name, () => expect(shouldPodBeInEndpoints(p, incl)).toBe(want));
});

describe('findPort', () => {
  const p = pod('a', {
    ports: [
      { name: 'http', containerPort: 8080 },
      { name: 'dns', containerPort: 5353, protocol: 'UDP' },
    ],
  });
  p.spec!.initContainers = [
    {
      name: 'sidecar',
      restartPolicy: 'Always',
      ports: [{ name: 'proxy', containerPort: 15001, protocol: 'TCP' }],
    },
    { name: 'init', ports: [{ name: 'setup', containerPort: 7000, protocol: 'TCP' }] },
  ];
  const cases: [string, ServicePort, number | undefined][] = [
    ['numeric targetPort', { port: 80, targetPort: 9000 }, 9000],
    ['no targetPort: the port', { port: 80 }, 80],
    ['numeric string', { port: 80, targetPort: '9001' }, 9001],
    ['named', { port: 80, targetPort: 'http', protocol: 'TCP' }, 8080],
    ['named, default protocol TCP', { port: 80, targetPort: 'http' }, 8080],
    ['named, UDP', { port: 53, targetPort: 'dns', protocol: 'UDP' }, 5353],
    ['named, protocol mismatch', { port: 53, targetPort: 'dns', protocol: 'TCP' }, undefined],
    ['named, missing', { port: 80, targetPort: 'nope' }, undefined],
    ['named in a sidecar', { port: 80, targetPort: 'proxy' }, 15001],
    ['named in a plain init container: no', { port: 80, targetPort: 'setup' }, undefined],
  ];
  for (const [name, sp, want] of cases) it(name, () => expect(findPort(p, sp)).toBe(want));
});

describe('serviceSelector', () => {
  it('selector services only', () => {
    expect(serviceSelector(service('a'))).toEqual({ app: 'web' });
    expect(serviceSelector(service('a', { selector: null }))).toBeUndefined();
    expect(serviceSelector(service('a', { selector: {} }))).toBeUndefined();
    expect(serviceSelector(service('a', { type: 'ExternalName' }))).toBeUndefined();
  });
});

describe('servicesToSync', () => {
  const services = [
    service('web', { selector: { app: 'web' } }),
    service('api', { selector: { app: 'api' } }),
    service('all', { selector: { tier: 'x' } }),
    service('manual', { selector: null }),
    service('other-ns', { selector: { app: 'web' }, namespace: 'other' }),
  ];
  const web = pod('a', { labels: { app: 'web', tier: 'x' }, resourceVersion: '1' });
  const cases: [string, { old?: Pod; cur?: Pod }, string[]][] = [
    ['add', { cur: web }, ['ns/all', 'ns/web']],
    ['delete', { old: web }, ['ns/all', 'ns/web']],
    ['resync (same RV)', { old: web, cur: web }, []],
    [
      'irrelevant change',
      {
        old: web,
        cur: { ...web, metadata: { ...web.metadata, resourceVersion: '2', annotations: { a: 'b' } } },
      },
      [],
    ],
    [
      'readiness change',
      { old: web, cur: pod('a', { labels: { app: 'web', tier: 'x' }, ready: false, resourceVersion: '2' }) },
      ['ns/all', 'ns/web'],
    ],
    [
      'labels only: services gained or lost',
      { old: web, cur: pod('a', { labels: { app: 'api', tier: 'x' }, resourceVersion: '2' }) },
      ['ns/api', 'ns/web'],
    ],
    [
      'labels and readiness: all old and new',
      { old: web, cur: pod('a', { labels: { app: 'api', tier: 'x' }, ready: false, resourceVersion: '2' }) },
      ['ns/all', 'ns/api', 'ns/web'],
    ],
  ];
  for (const [name, change, want] of cases) {
    it(name, () => expect([...servicesToSync(services, change)].sort()).toEqual(want));
  }
});

describe('podEndpointsChanged', () => {
  const base = pod('a');
  const cases: [string, Pod, { podChanged: boolean; labelsChanged: boolean }][] = [
    ['same', pod('a'), { podChanged: false, labelsChanged: false }],
    ['IP', pod('a', { ip: '10.42.0.99' }), { podChanged: true, labelsChanged: false }],
    ['deleting', pod('a', { deleting: true }), { podChanged: true, labelsChanged: false }],
    ['not ready', pod('a', { ready: false }), { podChanged: true, labelsChanged: false }],
    ['labels', pod('a', { labels: { app: 'x' } }), { podChanged: false, labelsChanged: true }],
    ['hostname', pod('a', { hostname: 'h' }), { podChanged: false, labelsChanged: true }],
  ];
  for (const [name, p, want] of cases) it(name, () => expect(podEndpointsChanged(base, p)).toEqual(want));
});

describe('small helpers', () => {
  it('formatTriggerTime is RFC3339Nano-like', () => {
    expect(formatTriggerTime(Date.parse('2024-05-01T10:00:00Z'))).toBe('2024-05-01T10:00:00Z');
    expect(formatTriggerTime(Date.parse('2024-05-01T10:00:00.120Z'))).toBe('2024-05-01T10:00:00.12Z');
  });
  it('compareResourceVersions orders integers, refuses others', () => {
    expect(compareResourceVersions('9', '10')).toBe(-1);
    expect(compareResourceVersions('10', '10')).toBe(0);
    expect(compareResourceVersions('11', '10')).toBe(1);
    expect(compareResourceVersions('abc', '10')).toBeUndefined();
    expect(compareResourceVersions(undefined, '10')).toBeUndefined();
  });
});
