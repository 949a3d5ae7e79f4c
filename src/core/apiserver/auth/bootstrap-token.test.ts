import { describe, expect, it } from 'vitest';
import { AllowAuthenticated } from './authorizer.js';
import { BootstrapTokenScope } from './bootstrap-scope.js';
import { bootstrapTokenSecret, bootstrapTokenUser, readBootstrapSecret } from './bootstrap-token.js';
import { BootstrapTokenAuthenticator } from './bootstrap-token-authenticator.js';

const NOW = new Date('2026-12-07T00:00:00Z');
const base = {
  id: 'abcdef',
  secret: '0123456789abcdef',
  usages: ['authentication', 'signing'],
  extraGroups: ['system:bootstrappers:k8ts:default-node-token'],
};
const secret = (over: Partial<Parameters<typeof bootstrapTokenSecret>[0]> = {}) =>
  bootstrapTokenSecret({ ...base, ...over });
const presented = { id: 'abcdef', secret: '0123456789abcdef' };
const user = {
  name: 'system:bootstrap:abcdef',
  groups: ['system:bootstrappers', 'system:bootstrappers:k8ts:default-node-token', 'system:authenticated'],
};

describe('bootstrap token Secrets', () => {
  it('round-trip through the Secret (kubeadm data keys, base64)', () => {
    const s = secret({ expiration: new Date('2026-12-08T00:00:00Z'), description: 'd' });
    expect(s.metadata).toEqual({ name: 'bootstrap-token-abcdef', namespace: 'kube-system' });
    expect(s.type).toBe('bootstrap.kubernetes.io/token');
    expect(Buffer.from(s.data['usage-bootstrap-authentication'], 'base64').toString()).toBe('true');
    expect(Buffer.from(s.data.expiration, 'base64').toString()).toBe('2026-12-08T00:00:00Z');
    expect(readBootstrapSecret(s)).toEqual({
      ...base,
      expiration: new Date('2026-12-08T00:00:00Z'),
      description: 'd',
    });
  });

  const with_ = (f: (s: Record<string, any>) => void) => {
    const s = secret();
    f(s);
    return s;
  };
  const b64 = (v: string) => Buffer.from(v).toString('base64');
  const cases: Array<[string, Record<string, any> | undefined, { id: string; secret: string }, boolean]> = [
    ['valid', secret(), presented, true],
    [
      'stringData instead of data',
      with_((s) => {
        s.stringData = Object.fromEntries(
          Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v as string, 'base64').toString()]),
        );
        delete s.data;
      }),
      presented,
      true,
    ],
    ['unknown id (no Secret)', undefined, presented, false],
    ['wrong secret', secret(), { id: 'abcdef', secret: '0123456789abcdee' }, false],
    ['expired', secret({ expiration: new Date('2026-12-06T23:59:59Z') }), presented, false],
    ['expires exactly now', secret({ expiration: NOW }), presented, false],
    ['not expired', secret({ expiration: new Date('2026-12-07T00:00:01Z') }), presented, true],
    ['unparseable expiration', with_((s) => (s.data.expiration = b64('tomorrow'))), presented, false],
    ['no authentication usage', secret({ usages: ['signing'] }), presented, false],
    ['wrong type', with_((s) => (s.type = 'Opaque')), presented, false],
    [
      'token-id disagrees with the name',
      with_((s) => (s.data['token-id'] = b64('zzzzzz'))),
      presented,
      false,
    ],
    [
      'being deleted',
      with_((s) => (s.metadata.deletionTimestamp = '2026-12-06T00:00:00Z')),
      presented,
      false,
    ],
    ['invalid extra group', secret({ extraGroups: ['system:masters'] }), presented, false],
  ];
  it.each(cases)('%s', (_name, s, p, ok) => {
    expect(bootstrapTokenUser(p, s, NOW)).toEqual(ok ? user : undefined);
  });
});

describe('BootstrapTokenAuthenticator', () => {
  const secrets = new Map([['bootstrap-token-abcdef', secret()]]);
  const authn = new BootstrapTokenAuthenticator((n) => secrets.get(n), { now: () => NOW });
  const cases: Array<[string | undefined, boolean]> = [
    ['Bearer abcdef.0123456789abcdef', true],
    ['bearer abcdef.0123456789abcdef', true],
    ['Bearer abcdef.0123456789abcdeX', false],
    ['Bearer abcdef:0123456789abcdef', false],
    ['Bearer zzzzzz.0123456789abcdef', false],
    ['Bearer some-static-token', false],
    [undefined, false],
  ];
  it.each(cases)('%s', (header, ok) => {
    const got = authn.authenticate({ headers: header ? { authorization: header } : {} });
    expect(got).toEqual(ok ? user : undefined);
  });
});

describe('BootstrapTokenScope', () => {
  const authz = new BootstrapTokenScope(new AllowAuthenticated());
  const csr = { apiGroup: 'certificates.k8s.io', resource: 'certificatesigningrequests' };
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ['create a CSR', { verb: 'create', ...csr }, true],
    ['get a CSR', { verb: 'get', ...csr, name: 'x' }, true],
    ['watch CSRs', { verb: 'watch', ...csr }, true],
    ['approve a CSR', { verb: 'update', ...csr, subresource: 'approval', name: 'x' }, false],
    ['write a CSR status', { verb: 'update', ...csr, subresource: 'status', name: 'x' }, false],
    ['delete a CSR', { verb: 'delete', ...csr, name: 'x' }, false],
    ['get a node', { verb: 'get', apiGroup: '', resource: 'nodes', name: 'n1' }, true],
    ['create a node', { verb: 'create', apiGroup: '', resource: 'nodes' }, false],
    ['list secrets', { verb: 'list', apiGroup: '', resource: 'secrets', namespace: 'kube-system' }, false],
    ['create pods', { verb: 'create', apiGroup: '', resource: 'pods', namespace: 'default' }, false],
    [
      'discovery',
      {
        verb: 'get',
        apiGroup: '',
        resource: '',
        path: '/apis/certificates.k8s.io/v1',
        resourceRequest: false,
      },
      true,
    ],
    ['metrics', { verb: 'get', apiGroup: '', resource: '', path: '/metrics', resourceRequest: false }, false],
  ];
  it.each(cases)('a bootstrap token: %s', (_name, attrs, allowed) => {
    expect(
      authz.authorize({ user, ...(attrs as { verb: string; apiGroup: string; resource: string }) }).allowed,
    ).toBe(allowed);
  });
  it('leaves other users to the next authorizer', () => {
    const node = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
    expect(authz.authorize({ user: node, verb: 'list', apiGroup: '', resource: 'secrets' }).allowed).toBe(
      true,
    );
    expect(
      authz.authorize({ user: { name: 'x', groups: [] }, verb: 'get', apiGroup: '', resource: 'pods' })
        .allowed,
    ).toBe(false);
  });
});
