import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CertAndKey, createCa, issueLeaf } from '../core/apiserver/pki/certs.js';
import { CompileMemo, compileRoutes } from './compile.js';
import { defaultIngressClass } from './ingress-class.js';
import type { RouteTable } from './route-table.js';
import { ingress, type PathSpec, service, slice, sources, tlsSecret } from './testing/fixtures.js';

/** What a request matched, as `pathType path -> service`, 'default' or 'none'. */
function hit(table: RouteTable, host: string, path: string): string {
  const m = table.match(host, path);
  if (!m) return 'none';
  if (m.route.ingress === 'default/default-owner' && m.route.path === '/' && m.route.host === '')
    return `default -> ${m.route.backend.service}`;
  return `${m.route.pathType} ${m.route.path} -> ${m.route.backend.service}`;
}

function compileOne(paths: PathSpec[], opts: { host?: string; withDefault?: boolean } = {}) {
  const ings: Ingress[] = [ingress('paths', { rules: { [opts.host ?? '']: paths } })];
  if (opts.withDefault)
    ings.push(
      ingress('default-owner', { created: '2025-01-01T00:00:00Z', defaultBackend: { service: 'fallback' } }),
    );
  return compileRoutes(sources({ ingresses: ings }));
}

const P = (path: string, service: string): PathSpec => ({ path, pathType: 'Prefix', service });
const E = (path: string, service: string): PathSpec => ({ path, pathType: 'Exact', service });

describe('the path matching table of the Ingress spec', () => {
  // https://kubernetes.io/docs/concepts/services-networking/ingress/#examples, row by row.
  const rows: { kind: string; paths: PathSpec[]; request: string; want: string }[] = [
    { kind: 'Prefix', paths: [P('/', 'root')], request: '/', want: 'Prefix / -> root' },
    { kind: 'Prefix', paths: [P('/', 'root')], request: '/any/thing', want: 'Prefix / -> root' },
    { kind: 'Exact', paths: [E('/foo', 'foo')], request: '/foo', want: 'Exact /foo -> foo' },
    { kind: 'Exact', paths: [E('/foo', 'foo')], request: '/bar', want: 'default -> fallback' },
    { kind: 'Exact', paths: [E('/foo', 'foo')], request: '/foo/', want: 'default -> fallback' },
    { kind: 'Exact', paths: [E('/foo/', 'foo')], request: '/foo', want: 'default -> fallback' },
    { kind: 'Prefix', paths: [P('/foo', 'foo')], request: '/foo', want: 'Prefix /foo -> foo' },
    { kind: 'Prefix', paths: [P('/foo', 'foo')], request: '/foo/', want: 'Prefix /foo -> foo' },
    { kind: 'Prefix', paths: [P('/foo/', 'foo')], request: '/foo', want: 'Prefix /foo/ -> foo' },
    { kind: 'Prefix', paths: [P('/foo/', 'foo')], request: '/foo/', want: 'Prefix /foo/ -> foo' },
    { kind: 'Prefix', paths: [P('/aaa/bb', 'bb')], request: '/aaa/bbb', want: 'default -> fallback' },
    { kind: 'Prefix', paths: [P('/aaa/bbb', 'bbb')], request: '/aaa/bbb', want: 'Prefix /aaa/bbb -> bbb' },
    { kind: 'Prefix', paths: [P('/aaa/bbb/', 'bbb')], request: '/aaa/bbb', want: 'Prefix /aaa/bbb/ -> bbb' },
    { kind: 'Prefix', paths: [P('/aaa/bbb', 'bbb')], request: '/aaa/bbb/', want: 'Prefix /aaa/bbb -> bbb' },
    {
      kind: 'Prefix',
      paths: [P('/aaa/bbb', 'bbb')],
      request: '/aaa/bbb/ccc',
      want: 'Prefix /aaa/bbb -> bbb',
    },
    { kind: 'Prefix', paths: [P('/aaa/bbb', 'bbb')], request: '/aaa/bbbxyz', want: 'default -> fallback' },
    {
      kind: 'Prefix',
      paths: [P('/', 'root'), P('/aaa', 'aaa')],
      request: '/aaa/ccc',
      want: 'Prefix /aaa -> aaa',
    },
    {
      kind: 'Prefix',
      paths: [P('/', 'root'), P('/aaa', 'aaa'), P('/aaa/bbb', 'bbb')],
      request: '/aaa/bbb',
      want: 'Prefix /aaa/bbb -> bbb',
    },
    {
      kind: 'Prefix',
      paths: [P('/', 'root'), P('/aaa', 'aaa'), P('/aaa/bbb', 'bbb')],
      request: '/ccc',
      want: 'Prefix / -> root',
    },
    { kind: 'Prefix', paths: [P('/aaa', 'aaa')], request: '/ccc', want: 'default -> fallback' },
    {
      kind: 'Mixed',
      paths: [P('/foo', 'prefix'), E('/foo', 'exact')],
      request: '/foo',
      want: 'Exact /foo -> exact',
    },
    // Beyond the table: the mixed cases and trailing slashes the issue names.
    {
      kind: 'Mixed',
      paths: [E('/foo', 'exact'), P('/foo', 'prefix')],
      request: '/foo/',
      want: 'Prefix /foo -> prefix',
    },
    {
      kind: 'Mixed',
      paths: [E('/foo', 'exact'), P('/foo', 'prefix')],
      request: '/foo/x',
      want: 'Prefix /foo -> prefix',
    },
    {
      kind: 'Mixed',
      paths: [E('/foo/', 'exact'), P('/foo', 'prefix')],
      request: '/foo/',
      want: 'Exact /foo/ -> exact',
    },
    {
      kind: 'Mixed',
      paths: [E('/foo/', 'exact'), P('/foo', 'prefix')],
      request: '/foo',
      want: 'Prefix /foo -> prefix',
    },
    { kind: 'Mixed', paths: [P('/a', 'a'), E('/a/b', 'ab')], request: '/a/b/c', want: 'Prefix /a -> a' },
    { kind: 'Mixed', paths: [P('/a/b', 'ab'), E('/a', 'a')], request: '/a', want: 'Exact /a -> a' },
    // Longest path wins whatever the order the paths are written in.
    {
      kind: 'Prefix',
      paths: [P('/aaa/bbb', 'bbb'), P('/aaa', 'aaa'), P('/', 'root')],
      request: '/aaa/bbb/c',
      want: 'Prefix /aaa/bbb -> bbb',
    },
    // ImplementationSpecific is Prefix.
    {
      kind: 'ImplementationSpecific',
      paths: [{ path: '/impl', pathType: 'ImplementationSpecific', service: 'impl' }],
      request: '/impl/x',
      want: 'ImplementationSpecific /impl -> impl',
    },
    {
      kind: 'ImplementationSpecific',
      paths: [{ path: '/impl', pathType: 'ImplementationSpecific', service: 'impl' }],
      request: '/implx',
      want: 'default -> fallback',
    },
    // nginx normalizes the request path before matching.
    { kind: 'Prefix', paths: [P('/aaa/bbb', 'bbb')], request: '//aaa//bbb', want: 'Prefix /aaa/bbb -> bbb' },
    {
      kind: 'Prefix',
      paths: [P('/aaa/bbb', 'bbb')],
      request: '/aaa/x/../bbb',
      want: 'Prefix /aaa/bbb -> bbb',
    },
    { kind: 'Exact', paths: [E('/a b', 'sp')], request: '/a%20b', want: 'Exact /a b -> sp' },
  ];
  for (const r of rows) {
    it(`${r.kind} ${r.paths.map((p) => `${p.pathType ?? 'Prefix'}:${p.path}`).join(',')} ${r.request} -> ${r.want}`, () => {
      const { table } = compileOne(r.paths, { withDefault: true });
      expect(hit(table, 'any.example.com', r.request)).toBe(r.want);
    });
  }

  it('without a default backend an unmatched request has no route (the data plane answers 404)', () => {
    const { table } = compileOne([P('/aaa', 'aaa')]);
    expect(hit(table, 'x', '/ccc')).toBe('none');
  });
});

describe('hosts', () => {
  const ings = [
    ingress('a', { rules: { 'foo.bar.com': [P('/', 'exact-host'), P('/only-exact', 'exact-only')] } }),
    ingress('b', { rules: { '*.bar.com': [P('/', 'wildcard'), P('/only-wild', 'wild-only')] } }),
    ingress('c', { rules: { '': [P('/', 'any-host')] } }),
    ingress('d', { created: '2025-01-01T00:00:00Z', defaultBackend: { service: 'fallback' } }),
  ];
  const { table } = compileRoutes(sources({ ingresses: ings }));
  const cases: [string, string, string][] = [
    ['foo.bar.com', '/', 'exact-host'],
    ['foo.bar.com.', '/', 'exact-host'],
    ['baz.bar.com', '/', 'wildcard'],
    ['baz.bar.com', '/only-wild/x', 'wild-only'],
    // `*.bar.com` matches exactly one label.
    ['baz.foo.bar.com', '/', 'any-host'],
    ['bar.com', '/', 'any-host'],
    ['other.org', '/', 'any-host'],
    // The exact host's bucket is chosen: its paths only, no fall back to the wildcard's.
    ['foo.bar.com', '/only-wild', 'exact-host'],
    ['baz.bar.com', '/only-exact', 'wildcard'],
  ];
  for (const [host, path, want] of cases) {
    it(`${host} ${path} -> ${want}`, () => {
      expect(table.match(host, path)?.route.backend.service).toBe(want);
    });
  }

  it('a host bucket without a matching path gets the default backend, not a less specific host', () => {
    const t = compileRoutes(
      sources({
        ingresses: [
          ingress('a', { rules: { 'x.example.com': [E('/exact', 'x')], '': [P('/', 'any')] } }),
          ingress('d', { created: '2025-01-01T00:00:00Z', defaultBackend: { service: 'fallback' } }),
        ],
      }),
    ).table;
    expect(t.match('x.example.com', '/other')?.route.backend.service).toBe('fallback');
    expect(t.match('y.example.com', '/other')?.route.backend.service).toBe('any');
  });
});

describe('which Ingresses are ours', () => {
  const other = { ...defaultIngressClass('nginx', 'k8s.io/ingress-nginx') };
  other.metadata = { name: 'nginx' };
  const notDefault = defaultIngressClass('k8ts');
  notDefault.metadata!.annotations = {};
  const cases: { name: string; ing: Ingress; classes?: (typeof other)[]; ours: boolean }[] = [
    { name: 'ingressClassName names our class', ing: ingress('x', { className: 'k8ts' }), ours: true },
    { name: 'ingressClassName names another class', ing: ingress('x', { className: 'nginx' }), ours: false },
    {
      name: 'ingressClassName names a class that does not exist',
      ing: ingress('x', { className: 'ghost' }),
      ours: false,
    },
    {
      name: 'legacy annotation names our class',
      ing: ingress('x', { className: null, annotations: { 'kubernetes.io/ingress.class': 'k8ts' } }),
      ours: true,
    },
    {
      name: 'legacy annotation names another class',
      ing: ingress('x', { className: null, annotations: { 'kubernetes.io/ingress.class': 'nginx' } }),
      ours: false,
    },
    { name: 'no class, ours is the default', ing: ingress('x', { className: null }), ours: true },
    {
      name: 'no class, ours is not the default',
      ing: ingress('x', { className: null }),
      classes: [notDefault, other],
      ours: false,
    },
    {
      name: 'a class named k8ts of another controller is not ours',
      ing: ingress('x', { className: 'k8ts' }),
      classes: [{ ...other, metadata: { name: 'k8ts' } }],
      ours: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const ing = {
        ...c.ing,
        spec: {
          ...c.ing.spec,
          rules: [
            {
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: 's', port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
        },
      };
      const r = compileRoutes(
        sources({ ingresses: [ing], classes: c.classes ?? [defaultIngressClass(), other] }),
      );
      expect(r.served.map((i) => i.metadata?.name)).toEqual(c.ours ? ['x'] : []);
      expect(r.table.match('h', '/') !== undefined).toBe(c.ours);
    });
  }
});

describe('conflicts across Ingresses', () => {
  const older = ingress('older', {
    namespace: 'b',
    created: '2026-01-01T00:00:00Z',
    rules: { h: [P('/x', 'old')] },
  });
  const newer = ingress('newer', {
    namespace: 'a',
    created: '2026-02-01T00:00:00Z',
    rules: { h: [P('/x', 'new')] },
  });
  it.each([
    ['older first', [older, newer]],
    ['newer first', [newer, older]],
  ])('the oldest Ingress wins (%s), the other gets a Warning', (_n, list) => {
    const r = compileRoutes(sources({ ingresses: list }));
    expect(r.table.match('h', '/x')?.route.backend.service).toBe('old');
    expect(r.events.map((e) => [e.ingress.metadata?.name, e.type, e.reason])).toEqual([
      ['newer', 'Warning', 'RouteConflict'],
    ]);
    expect(r.events[0]!.message).toContain('b/older');
  });

  it('same creationTimestamp: namespace/name decides', () => {
    const a = ingress('zzz', { namespace: 'a', rules: { h: [P('/x', 'a-zzz')] } });
    const b = ingress('aaa', { namespace: 'b', rules: { h: [P('/x', 'b-aaa')] } });
    expect(compileRoutes(sources({ ingresses: [b, a] })).table.match('h', '/x')?.route.backend.service).toBe(
      'a-zzz',
    );
  });

  it('Prefix /x and /x/ are the same path; Exact /x and Prefix /x are not a conflict', () => {
    const a = ingress('a', { created: '2026-01-01T00:00:00Z', rules: { h: [P('/x', 'a')] } });
    const b = ingress('b', {
      created: '2026-01-02T00:00:00Z',
      rules: { h: [P('/x/', 'b'), E('/x', 'b-exact')] },
    });
    const r = compileRoutes(sources({ ingresses: [a, b] }));
    expect(r.table.match('h', '/x/')?.route.backend.service).toBe('a');
    expect(r.table.match('h', '/x')?.route.backend.service).toBe('b-exact');
    expect(r.events.map((e) => e.reason)).toEqual(['RouteConflict']);
  });

  it('paths of different hosts never conflict; rules are merged across Ingresses', () => {
    const a = ingress('a', { rules: { h1: [P('/x', 'a')] } });
    const b = ingress('b', { rules: { h2: [P('/x', 'b')], h1: [P('/y', 'b-y')] } });
    const r = compileRoutes(sources({ ingresses: [a, b] }));
    expect(
      [r.table.match('h1', '/x'), r.table.match('h2', '/x'), r.table.match('h1', '/y')].map(
        (m) => m?.route.backend.service,
      ),
    ).toEqual(['a', 'b', 'b-y']);
    expect(r.events).toEqual([]);
  });

  it('the default backend of the oldest Ingress wins; the others get a Warning', () => {
    const a = ingress('a', { created: '2026-03-01T00:00:00Z', defaultBackend: { service: 'newer' } });
    const b = ingress('b', { created: '2026-01-01T00:00:00Z', defaultBackend: { service: 'older' } });
    const r = compileRoutes(sources({ ingresses: [a, b] }));
    expect(r.table.match('h', '/anything')?.route.backend.service).toBe('older');
    expect(r.events.map((e) => [e.ingress.metadata?.name, e.reason])).toEqual([
      ['a', 'DefaultBackendConflict'],
    ]);
  });

  it('a resource backend is refused with a Warning, the other paths are served', () => {
    const ing = ingress('r', { rules: { h: [P('/ok', 'ok')] } });
    ing.spec!.rules![0]!.http!.paths.push({
      path: '/bucket',
      pathType: 'Prefix',
      backend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static' } },
    });
    const r = compileRoutes(sources({ ingresses: [ing] }));
    expect(r.table.match('h', '/bucket')).toBeUndefined();
    expect(r.table.match('h', '/ok')?.route.backend.service).toBe('ok');
    expect(r.events.map((e) => [e.reason, e.type])).toEqual([['UnsupportedBackend', 'Warning']]);
  });
});

describe('backends', () => {
  const web = service('web', [
    { name: 'http', port: 80, targetPort: 'web' },
    { name: 'admin', port: 9000, targetPort: 9090 },
  ]);
  const webSlice = slice(
    'web',
    [
      { name: 'http', port: 8080 },
      { name: 'admin', port: 9090 },
    ],
    [{ ip: '10.0.0.2' }, { ip: '10.0.0.1' }, { ip: '10.0.0.3', ready: false }],
  );
  const table = (
    port: number | string,
    o: {
      name?: string;
      services?: ReturnType<typeof service>[];
      slices?: ReturnType<typeof slice>[];
      resolve?: Record<string, string[]>;
    } = {},
  ) =>
    compileRoutes(
      sources({
        ingresses: [
          ingress('i', {
            rules: { h: [{ path: '/', service: o.name ?? o.services?.[0]?.metadata?.name ?? 'web', port }] },
          }),
        ],
        services: o.services ?? [web],
        slices: o.slices ?? [webSlice],
        resolve: o.resolve,
      }),
    ).table.match('h', '/')!.route.backend;

  const cases: {
    name: string;
    port: number | string;
    o?: Parameters<typeof table>[1];
    endpoints: string[];
    reason?: string;
  }[] = [
    {
      name: 'by service port number (named targetPort: the slice port of that name)',
      port: 80,
      endpoints: ['10.0.0.1:8080', '10.0.0.2:8080'],
    },
    { name: 'by service port name', port: 'admin', endpoints: ['10.0.0.1:9090', '10.0.0.2:9090'] },
    {
      name: 'a port number the Service does not have',
      port: 8080,
      endpoints: [],
      reason: 'service "default/web" has no port 8080',
    },
    {
      name: 'a port name the Service does not have',
      port: 'grpc',
      endpoints: [],
      reason: 'service "default/web" has no port named "grpc"',
    },
    {
      name: 'no such Service',
      port: 80,
      o: { name: 'gone', slices: [] },
      endpoints: [],
      reason: 'service "default/gone" not found',
    },
    {
      name: 'an unnamed single port',
      port: 80,
      o: {
        services: [service('one', [{ port: 80, targetPort: 8000 }])],
        slices: [slice('one', [{ port: 8000 }], [{ ip: '10.1.0.1' }])],
      },
      endpoints: ['10.1.0.1:8000'],
    },
    {
      name: 'no ready endpoint: serving terminating ones',
      port: 80,
      o: {
        services: [service('t')],
        slices: [
          slice(
            't',
            [{ name: 'http', port: 80 }],
            [
              { ip: '10.2.0.1', ready: false, serving: true, terminating: true },
              { ip: '10.2.0.2', ready: false, serving: false },
            ],
          ),
        ],
      },
      endpoints: ['10.2.0.1:80'],
    },
    {
      name: 'none usable: a reason for the 503 page',
      port: 80,
      o: {
        services: [service('n')],
        slices: [
          slice('n', [{ name: 'http', port: 80 }], [{ ip: '10.3.0.1', ready: false, serving: false }]),
        ],
      },
      endpoints: [],
      reason: 'no ready endpoints for service "default/n" port http',
    },
    {
      name: 'deduplicated across slices',
      port: 80,
      o: {
        services: [service('d')],
        slices: [
          slice('d', [{ name: 'http', port: 80 }], [{ ip: '10.4.0.1' }, { ip: '10.4.0.2' }], { name: 'd-1' }),
          slice('d', [{ name: 'http', port: 80 }], [{ ip: '10.4.0.2' }], { name: 'd-2' }),
        ],
      },
      endpoints: ['10.4.0.1:80', '10.4.0.2:80'],
    },
    {
      name: 'ExternalName resolved by the caller, on the target port',
      port: 80,
      o: {
        services: [
          service('ext', [{ name: 'http', port: 80, targetPort: 8443 }], {
            type: 'ExternalName',
            externalName: 'api.example.org',
          }),
        ],
        slices: [],
        resolve: { 'api.example.org': ['192.0.2.7'] },
      },
      endpoints: ['192.0.2.7:8443'],
    },
    {
      name: 'ExternalName not resolved yet',
      port: 80,
      o: {
        services: [
          service('ext', [{ name: 'http', port: 80 }], {
            type: 'ExternalName',
            externalName: 'nx.example.org',
          }),
        ],
        slices: [],
      },
      endpoints: [],
      reason: 'ExternalName "nx.example.org" of service "default/ext" has no address (yet)',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const b = table(c.port, c.o);
      expect(b.endpoints.map((e) => `${e.ip}:${e.port}`)).toEqual(c.endpoints);
      expect(b.unavailableReason).toBe(c.reason);
      expect(b.key).toBe(`default/${b.service}:${c.port}`);
    });
  }

  it('lists ExternalName targets for the caller to resolve, and every backend once', () => {
    const r = compileRoutes(
      sources({
        ingresses: [ingress('i', { rules: { h: [P('/a', 'ext'), P('/b', 'ext'), P('/c', 'web')] } })],
        services: [
          service('ext', [{ name: 'http', port: 80 }], {
            type: 'ExternalName',
            externalName: 'api.example.org',
          }),
          web,
        ],
        slices: [webSlice],
      }),
    );
    expect(r.externalNames).toEqual(['api.example.org']);
    expect([...r.table.backends()].map((b) => b.key)).toEqual(['default/ext:80', 'default/web:80']);
  });
});

describe('annotations on routes', () => {
  it('use-regex on one Ingress makes every non-Exact path of its host a regex (nginx ~* ^path)', () => {
    const a = ingress('a', {
      annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' },
      rules: { h: [{ path: '/api/v[0-9]+', pathType: 'ImplementationSpecific', service: 'api' }] },
    });
    const b = ingress('b', {
      rules: { h: [P('/static', 'static'), E('/exact', 'exact')], other: [P('/api/v[0-9]+', 'literal')] },
    });
    const t = compileRoutes(sources({ ingresses: [a, b] })).table;
    expect(t.match('h', '/API/V2/users')?.route.backend.service).toBe('api');
    expect(t.match('h', '/staticfoo')?.route.backend.service).toBe('static');
    expect(t.match('h', '/exact')?.route.backend.service).toBe('exact');
    expect(t.match('h', '/exact/x')).toBeUndefined();
    expect(t.match('other', '/api/v2')).toBeUndefined();
  });

  it('rewrite-target implies regex and hands the captures over; the longest regex path is tried first', () => {
    const a = ingress('a', {
      annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' },
      rules: {
        h: [
          { path: '/something(/|$)(.*)', pathType: 'ImplementationSpecific', service: 's' },
          { path: '/', pathType: 'Prefix', service: 'root' },
        ],
      },
    });
    const t = compileRoutes(sources({ ingresses: [a] })).table;
    const m = t.match('h', '/something/new');
    expect(m?.route.backend.service).toBe('s');
    expect(m?.route.options.rewriteTarget).toBe('/$2');
    expect(m?.captures).toEqual(['/something/new', '/', 'new']);
    expect(t.match('h', '/something')?.captures).toEqual(['/something', '', '']);
    expect(t.match('h', '/other')?.route.backend.service).toBe('root');
  });

  it('an invalid regex path is refused with a Warning', () => {
    const a = ingress('a', {
      annotations: { 'k8ts.io/use-regex': 'true' },
      rules: { h: [{ path: '/(unclosed', pathType: 'ImplementationSpecific', service: 's' }] },
    });
    const r = compileRoutes(sources({ ingresses: [a] }));
    expect(r.table.match('h', '/(unclosed')).toBeUndefined();
    expect(r.events.map((e) => e.reason)).toEqual(['InvalidPath']);
  });

  it('a canary Ingress joins the main route with the same host and path', () => {
    const main = ingress('main', {
      created: '2026-01-01T00:00:00Z',
      annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8k' },
      rules: { h: [P('/', 'stable')] },
    });
    const canary = ingress('canary', {
      created: '2026-01-02T00:00:00Z',
      annotations: {
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '20',
        'nginx.ingress.kubernetes.io/canary-by-header': 'X-Canary',
        'nginx.ingress.kubernetes.io/proxy-body-size': '1g',
      },
      rules: { h: [P('/', 'next')], other: [P('/', 'lost')] },
    });
    const r = compileRoutes(sources({ ingresses: [canary, main] }));
    const m = r.table.match('h', '/x')!;
    expect(m.route.backend.service).toBe('stable');
    expect(m.route.options.maxBodyBytes).toBe(8 * 1024);
    expect(m.route.canary).toMatchObject({
      weight: 20,
      weightTotal: 100,
      header: 'X-Canary',
      ingress: 'default/canary',
    });
    expect(m.route.canary!.backend.service).toBe('next');
    expect(r.table.match('other', '/')).toBeUndefined();
    expect(r.events.map((e) => [e.ingress.metadata?.name, e.reason])).toEqual([
      ['canary', 'CanaryWithoutMain'],
    ]);
    expect([...r.table.backends()].map((b) => b.service).sort()).toEqual(['next', 'stable']);
  });

  it('an allow list without a valid entry denies the paths (503 with the reason) and warns', () => {
    const a = ingress('a', {
      annotations: { 'nginx.ingress.kubernetes.io/whitelist-source-range': '10.0.0.0/33' },
      rules: { h: [P('/', 'web')] },
    });
    const r = compileRoutes(
      sources({
        ingresses: [a],
        services: [service('web')],
        slices: [slice('web', [{ name: 'http', port: 80 }], [{ ip: '10.0.0.1' }])],
      }),
    );
    const b = r.table.match('h', '/')!.route.backend;
    expect(b.endpoints).toEqual([]);
    expect(b.unavailableReason).toContain('access denied');
    expect(r.events.map((e) => e.reason)).toEqual(['InvalidAnnotation']);
  });
});

describe('TLS', () => {
  let ca: CertAndKey;
  let fooCert: CertAndKey;
  let wildCert: CertAndKey;
  let barCert: CertAndKey;
  beforeAll(async () => {
    ca = await createCa({ commonName: 'test-ca' });
    fooCert = await issueLeaf(ca, {
      commonName: 'foo.example.com',
      usage: 'server',
      hosts: ['foo.example.com'],
    });
    wildCert = await issueLeaf(ca, {
      commonName: '*.apps.example.com',
      usage: 'server',
      hosts: ['*.apps.example.com'],
    });
    barCert = await issueLeaf(ca, {
      commonName: 'bar.example.com',
      usage: 'server',
      hosts: ['bar.example.com'],
    });
  });

  it('certificates by host, wildcard TLS hosts, SAN fallback, bad and missing Secrets', () => {
    const ings = [
      ingress('foo', {
        rules: { 'foo.example.com': [P('/', 'foo')] },
        tls: [{ hosts: ['foo.example.com'], secretName: 'foo-tls' }],
      }),
      ingress('wild', {
        rules: { 'a.apps.example.com': [P('/', 'a')], '*.apps.example.com': [P('/', 'w')] },
        tls: [{ hosts: ['*.apps.example.com'], secretName: 'wild-tls' }],
      }),
      // No hosts in the TLS section: the certificate is used for the rule hosts it is valid for.
      ingress('bar', { rules: { 'bar.example.com': [P('/', 'bar')] }, tls: [{ secretName: 'bar-tls' }] }),
      ingress('broken', {
        rules: { 'broken.example.com': [P('/', 'b')] },
        tls: [{ hosts: ['broken.example.com'], secretName: 'mismatch' }],
      }),
      ingress('missing', {
        rules: { 'missing.example.com': [P('/', 'm')] },
        tls: [{ hosts: ['missing.example.com'], secretName: 'nope' }],
      }),
      ingress('plain', { rules: { 'plain.example.com': [P('/', 'p')] } }),
    ];
    const r = compileRoutes(
      sources({
        ingresses: ings,
        secrets: [
          tlsSecret('foo-tls', fooCert.certPem, fooCert.keyPem),
          tlsSecret('wild-tls', wildCert.certPem, wildCert.keyPem),
          tlsSecret('bar-tls', barCert.certPem, barCert.keyPem),
          tlsSecret('mismatch', fooCert.certPem, barCert.keyPem),
        ],
      }),
    );
    const t = r.table;
    expect(t.certificateFor('foo.example.com')?.key).toBe('default/foo-tls');
    expect(t.certificateFor('FOO.example.com')?.key).toBe('default/foo-tls');
    expect(t.certificateFor('x.apps.example.com')?.key).toBe('default/wild-tls');
    expect(t.certificateFor('x.y.apps.example.com')).toBeUndefined();
    expect(t.certificateFor('bar.example.com')?.key).toBe('default/bar-tls');
    expect(t.certificateFor('broken.example.com')).toBeUndefined();
    expect(t.certificateFor('plain.example.com')).toBeUndefined();
    expect(t.certificateFor('foo.example.com')?.certPem).toBe(fooCert.certPem);
    const tls = (h: string) => t.match(h, '/')!.route.tls;
    expect(
      [
        'foo.example.com',
        'a.apps.example.com',
        'z.apps.example.com',
        'bar.example.com',
        'broken.example.com',
        'missing.example.com',
        'plain.example.com',
      ].map(tls),
    ).toEqual([true, true, true, true, true, true, false]);
    expect(r.events.map((e) => [e.ingress.metadata?.name, e.reason])).toEqual([
      ['broken', 'InvalidTLSSecret'],
      ['missing', 'TLSSecretNotFound'],
    ]);
    expect(r.events[0]!.message).toContain('does not belong');
  });

  it('a changed Secret gets a new version', () => {
    const mk = (c: CertAndKey) =>
      compileRoutes(
        sources({
          ingresses: [
            ingress('foo', {
              rules: { 'foo.example.com': [P('/', 'foo')] },
              tls: [{ hosts: ['foo.example.com'], secretName: 's' }],
            }),
          ],
          secrets: [tlsSecret('s', c.certPem, c.keyPem)],
        }),
      ).table.certificateFor('foo.example.com')!;
    const v1 = mk(fooCert);
    expect(mk(fooCert).version).toBe(v1.version);
    expect(mk(barCert).version).not.toBe(v1.version);
  });
});

describe('CompileMemo', () => {
  it('reuses unchanged backends, rebuilds changed ones, and compiles the same table as from scratch', () => {
    const ings = [ingress('i', { rules: { h: [P('/a', 'a'), P('/b', 'b')] } })];
    const services = [service('a'), service('b')];
    const sliceA = slice('a', [{ name: 'http', port: 80 }], [{ ip: '10.0.0.1' }]);
    const sliceB = slice('b', [{ name: 'http', port: 80 }], [{ ip: '10.0.0.2' }]);
    const memo = new CompileMemo();
    const first = compileRoutes(sources({ ingresses: ings, services, slices: [sliceA, sliceB] }), { memo });
    const sliceB2 = slice('b', [{ name: 'http', port: 80 }], [{ ip: '10.0.0.3' }]);
    const second = compileRoutes(sources({ ingresses: ings, services, slices: [sliceA, sliceB2] }), { memo });
    const fresh = compileRoutes(sources({ ingresses: ings, services, slices: [sliceA, sliceB2] }));
    const be = (r: typeof first, p: string) => r.table.match('h', p)!.route.backend;
    expect(be(second, '/a')).toBe(be(first, '/a'));
    expect(be(second, '/b')).not.toBe(be(first, '/b'));
    expect(be(second, '/b').endpoints).toEqual([{ ip: '10.0.0.3', port: 80 }]);
    expect([...second.table.backends()]).toEqual([...fresh.table.backends()]);
    expect(memo.backends.size).toBe(2);
  });
});
