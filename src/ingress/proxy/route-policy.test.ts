import { describe, expect, it } from 'vitest';
import { backend, route, StaticRouteTable } from '../testing/static-route-table.js';
import {
  allowed,
  cookieValue,
  decide,
  hostOnly,
  originForm,
  type RequestFacts,
  rewrite,
} from './route-policy.js';

const facts = (o: Partial<RequestFacts> & { headers?: Record<string, string> } = {}): RequestFacts => ({
  method: 'GET',
  target: '/',
  hostHeader: 'app.example.com',
  contentLength: -1,
  remoteIp: '127.0.0.1',
  secure: false,
  header: (l) => o.headers?.[l],
  ...o,
});

describe('route policy', () => {
  it.each([
    ['app.example.com', 'app.example.com'],
    ['App.Example.com:8080', 'app.example.com'],
    ['[::1]:80', '[::1]'],
    ['app.example.com.', 'app.example.com'],
  ])('host %s -> %s', (h, want) => expect(hostOnly(h)).toBe(want));

  it.each([
    ['/a?b', '/a?b'],
    ['http://x.example.com/a/b?c=1', '/a/b?c=1'],
    ['http://x.example.com', '/'],
    ['http://x.example.com?q=1', '/?q=1'],
  ])('origin form of %s is %s', (t, want) => expect(originForm(t)).toBe(want));

  it.each([
    ['/api/users?x=1', '/$2', ['/api/users', '/', 'users'], '/users?x=1'],
    ['/api', '/v2/$2', ['/api', '', ''], '/v2/'],
    ['/a?x=1', '/b?y=2', undefined, '/b?y=2&x=1'],
    ['/a', 'b', undefined, '/b'],
  ] as const)('rewrite %s with %s', (target, to, caps, want) =>
    expect(rewrite(target, to, caps as readonly string[] | undefined)).toBe(want),
  );

  it.each([
    [['10.0.0.0/8'], '10.1.2.3', true],
    [['10.0.0.0/8'], '11.1.2.3', false],
    [['192.168.1.1'], '192.168.1.1', true],
    [['2001:db8::/32'], '2001:db8::1', true],
    [['2001:db8::/32'], '10.0.0.1', false],
    [['not-a-cidr'], '10.0.0.1', false],
  ] as const)('allow-list %j contains %s: %s', (ranges, ip, want) => expect(allowed(ranges, ip)).toBe(want));

  it('reads one cookie among several', () => {
    expect(cookieValue('a=1; INGRESSCOOKIE=abc; b=2', 'INGRESSCOOKIE')).toBe('abc');
    expect(cookieValue('a=1', 'INGRESSCOOKIE')).toBeUndefined();
  });

  it('decides in ingress-nginx order: 404, 403, 308, 413, 503, proxy', () => {
    const web = backend('default/web:80', ['10.0.0.1:80']);
    const table = (o: Parameters<typeof route>[1] = {}, tls = false, eps = web) =>
      new StaticRouteTable([route({ host: 'app.example.com', backend: eps, tls }, o)]);
    const opts = { httpsPort: 443, random: () => 0.5 };
    expect(decide(table(), facts({ hostHeader: 'other' }), opts)).toMatchObject({
      kind: 'local',
      status: 404,
    });
    expect(decide(table({ allowSourceRanges: ['10.0.0.0/8'] }, true), facts(), opts)).toMatchObject({
      status: 403,
    });
    expect(decide(table({}, true), facts({ target: '/x?y' }), opts)).toMatchObject({
      status: 308,
      location: 'https://app.example.com/x?y',
    });
    expect(decide(table({}, true), facts({ secure: true }), opts)).toMatchObject({ kind: 'proxy' });
    expect(decide(table({ maxBodyBytes: 10 }), facts({ contentLength: 11 }), opts)).toMatchObject({
      status: 413,
    });
    expect(decide(table({ maxBodyBytes: 0 }), facts({ contentLength: 1e9 }), opts)).toMatchObject({
      kind: 'proxy',
    });
    expect(decide(table({}, false, backend('default/web:80', [])), facts(), opts)).toMatchObject({
      status: 503,
    });
  });

  it('picks the canary by header value, then cookie, then weight', () => {
    const main = backend('default/web:80', ['10.0.0.1:80']);
    const can = backend('default/canary:80', ['10.0.0.2:80']);
    const t = (weight: number, headerValue?: string) =>
      new StaticRouteTable([
        route({
          host: 'app.example.com',
          backend: main,
          canary: {
            backend: can,
            weight,
            weightTotal: 100,
            header: 'X-Canary',
            headerValue,
            cookie: 'c',
            ingress: 'default/can',
          },
        }),
      ]);
    const pick = (table: StaticRouteTable, f: RequestFacts, r = 0.5) => {
      const d = decide(table, f, { httpsPort: 443, random: () => r });
      return d.kind === 'proxy' ? d.backend.service : d.status;
    };
    expect(pick(t(0, 'blue'), facts({ headers: { 'x-canary': 'blue' } }))).toBe('canary');
    expect(pick(t(0, 'blue'), facts({ headers: { 'x-canary': 'green' } }))).toBe('web');
    expect(pick(t(0), facts({ headers: { cookie: 'c=always' } }))).toBe('canary');
    expect(pick(t(30), facts(), 0.2)).toBe('canary');
    expect(pick(t(30), facts(), 0.4)).toBe('web');
  });
});
