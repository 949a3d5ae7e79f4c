import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTE_OPTIONS, parseAnnotations, parseNginxSize } from './annotations.js';

const N = 'nginx.ingress.kubernetes.io/';
const K = 'k8ts.io/';

describe('parseAnnotations', () => {
  const cases: {
    name: string;
    ann: Record<string, string>;
    want: Partial<ReturnType<typeof parseAnnotations>['options']>;
    regex?: boolean;
    warnings?: number;
  }[] = [
    { name: 'nothing: the defaults', ann: {}, want: DEFAULT_ROUTE_OPTIONS },
    {
      name: 'rewrite-target implies regex',
      ann: { [`${N}rewrite-target`]: '/$1' },
      want: { rewriteTarget: '/$1' },
      regex: true,
    },
    { name: 'use-regex alone', ann: { [`${N}use-regex`]: 'true' }, want: {}, regex: true },
    {
      name: 'k8ts.io wins over nginx',
      ann: { [`${N}ssl-redirect`]: 'true', [`${K}ssl-redirect`]: 'false' },
      want: { sslRedirect: false },
    },
    { name: 'Go booleans', ann: { [`${N}force-ssl-redirect`]: 'T' }, want: { forceSslRedirect: true } },
    {
      name: 'a bad boolean keeps the default',
      ann: { [`${N}ssl-redirect`]: 'yes' },
      want: { sslRedirect: true },
      warnings: 1,
    },
    {
      name: 'backend-protocol HTTPS (any case)',
      ann: { [`${N}backend-protocol`]: 'https' },
      want: { backendProtocol: 'HTTPS' },
    },
    {
      name: 'backend-protocol GRPC is not supported',
      ann: { [`${N}backend-protocol`]: 'GRPC' },
      want: { backendProtocol: 'HTTP' },
      warnings: 1,
    },
    { name: 'proxy-body-size 8k', ann: { [`${N}proxy-body-size`]: '8k' }, want: { maxBodyBytes: 8192 } },
    {
      name: 'proxy-body-size 0 = unlimited',
      ann: { [`${N}proxy-body-size`]: '0' },
      want: { maxBodyBytes: 0 },
    },
    {
      name: 'proxy-body-size bad',
      ann: { [`${N}proxy-body-size`]: '1 MB' },
      want: { maxBodyBytes: 1048576 },
      warnings: 1,
    },
    {
      name: 'timeouts in seconds',
      ann: {
        [`${N}proxy-connect-timeout`]: '2',
        [`${N}proxy-read-timeout`]: '120',
        [`${K}proxy-send-timeout`]: '30',
      },
      want: { connectTimeoutMs: 2000, readTimeoutMs: 120_000, sendTimeoutMs: 30_000 },
    },
    {
      name: 'a bad timeout',
      ann: { [`${N}proxy-read-timeout`]: '5m' },
      want: { readTimeoutMs: 60_000 },
      warnings: 1,
    },
    {
      name: 'affinity cookie with defaults',
      ann: { [`${N}affinity`]: 'cookie' },
      want: { affinity: { cookieName: 'INGRESSCOOKIE' } },
    },
    {
      name: 'affinity cookie with name, max-age, path',
      ann: {
        [`${N}affinity`]: 'cookie',
        [`${N}session-cookie-name`]: 'route',
        [`${N}session-cookie-max-age`]: '172800',
        [`${N}session-cookie-path`]: '/app',
      },
      want: { affinity: { cookieName: 'route', maxAgeSeconds: 172800, path: '/app' } },
    },
    { name: 'unknown affinity', ann: { [`${N}affinity`]: 'ip' }, want: { affinity: undefined }, warnings: 1 },
    {
      name: 'allow list: trimmed, sorted, deduplicated, bare IPs accepted',
      ann: { [`${N}whitelist-source-range`]: ' 10.0.0.0/8, 192.168.1.1 ,10.0.0.0/8,::1/128' },
      want: { allowSourceRanges: ['10.0.0.0/8', '192.168.1.1', '::1/128'] },
    },
    {
      name: 'allowlist-source-range wins over the old name',
      ann: { [`${N}whitelist-source-range`]: '10.0.0.0/8', [`${N}allowlist-source-range`]: '127.0.0.1/32' },
      want: { allowSourceRanges: ['127.0.0.1/32'] },
    },
    {
      name: 'allow list with an invalid entry: the valid ones, with a warning',
      ann: { [`${N}whitelist-source-range`]: '10.0.0.0/8,300.1.1.1/32' },
      want: { allowSourceRanges: ['10.0.0.0/8'] },
      warnings: 1,
    },
    { name: 'load-balance ewma', ann: { [`${N}load-balance`]: 'ewma' }, want: { loadBalance: 'ewma' } },
    {
      name: 'load-balance unknown',
      ann: { [`${N}load-balance`]: 'chash' },
      want: { loadBalance: 'round_robin' },
      warnings: 1,
    },
    {
      name: 'proxy-next-upstream-tries',
      ann: { [`${N}proxy-next-upstream-tries`]: '5' },
      want: { retries: 5 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseAnnotations(c.ann);
      const { affinity, ...rest } = c.want;
      expect(r.options).toMatchObject(rest);
      if ('affinity' in c.want) expect(r.options.affinity).toEqual(affinity);
      expect(r.useRegex).toBe(c.regex ?? false);
      expect(r.warnings).toHaveLength(c.warnings ?? 0);
      expect(r.denied).toBeUndefined();
      expect(r.canary).toBeUndefined();
    });
  }

  it('an allow list without any valid entry denies, naming the annotation', () => {
    const r = parseAnnotations({ [`${K}allowlist-source-range`]: '10.0.0.0/33, nope' });
    expect(r.denied).toContain('k8ts.io/allowlist-source-range');
    expect(r.warnings).toHaveLength(1);
  });

  const canaries: { name: string; ann: Record<string, string>; want: unknown; warnings?: number }[] = [
    { name: 'canary off', ann: { [`${N}canary`]: 'false', [`${N}canary-weight`]: '10' }, want: undefined },
    {
      name: 'weight',
      ann: { [`${N}canary`]: 'true', [`${N}canary-weight`]: '10' },
      want: { weight: 10, weightTotal: 100 },
    },
    {
      name: 'weight total',
      ann: { [`${N}canary`]: 'true', [`${N}canary-weight`]: '1', [`${N}canary-weight-total`]: '1000' },
      want: { weight: 1, weightTotal: 1000 },
    },
    {
      name: 'weight above total is capped',
      ann: { [`${N}canary`]: 'true', [`${N}canary-weight`]: '150' },
      want: { weight: 100, weightTotal: 100 },
      warnings: 1,
    },
    {
      name: 'by header and value, by cookie',
      ann: {
        [`${N}canary`]: 'true',
        [`${N}canary-by-header`]: 'X-Canary',
        [`${N}canary-by-header-value`]: 'yes',
        [`${N}canary-by-cookie`]: 'canary',
      },
      want: { weight: 0, weightTotal: 100, header: 'X-Canary', headerValue: 'yes', cookie: 'canary' },
    },
    {
      name: 'a header value without a header is ignored',
      ann: { [`${N}canary`]: 'true', [`${N}canary-by-header-value`]: 'yes' },
      want: { weight: 0, weightTotal: 100 },
    },
  ];
  for (const c of canaries) {
    it(`canary: ${c.name}`, () => {
      const r = parseAnnotations(c.ann);
      expect(r.canary).toEqual(c.want);
      expect(r.warnings).toHaveLength(c.warnings ?? 0);
    });
  }
});

describe('parseNginxSize', () => {
  it.each([
    ['0', 0],
    ['512', 512],
    ['8k', 8192],
    ['8K', 8192],
    ['1m', 1048576],
    ['2g', 2 * 1024 ** 3],
    ['10b', 10],
    ['1.5m', undefined],
    ['-1', undefined],
    ['m', undefined],
    ['', undefined],
  ])('%s -> %s', (s, want) => {
    expect(parseNginxSize(s)).toBe(want);
  });
});
