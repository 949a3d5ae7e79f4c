import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest, createServer as httpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultServingHosts, ensurePki, issueClientCert, type Pki } from '../pki/ensure-pki.js';
import { type AuthRequest, UnionAuthenticator, type UserInfo } from './authenticator.js';
import { bootstrapTokenSecret } from './bootstrap-token.js';
import { createClusterAuthenticator } from './cluster-authenticator.js';
import { bearerToken, StaticTokenAuthenticator } from './token-authenticator.js';
import { X509Authenticator } from './x509-authenticator.js';

describe('X509Authenticator (fake sockets)', () => {
  const socket = (
    authorized: boolean,
    subject: Record<string, string | string[]> | undefined,
    eku?: string[],
  ) => ({
    authorized,
    getPeerCertificate: () => (subject ? { subject, ...(eku ? { ext_key_usage: eku } : {}) } : {}),
  });
  const cases: Array<[string, unknown, UserInfo | undefined]> = [
    [
      'CN and several O',
      socket(true, { CN: 'jane', O: ['dev', 'ops'] }),
      { name: 'jane', groups: ['dev', 'ops', 'system:authenticated'] },
    ],
    [
      'single O as string',
      socket(true, { CN: 'bob', O: 'dev' }),
      { name: 'bob', groups: ['dev', 'system:authenticated'] },
    ],
    ['no O', socket(true, { CN: 'bob' }), { name: 'bob', groups: ['system:authenticated'] }],
    ['not verified by the CA', socket(false, { CN: 'mallory', O: 'system:masters' }), undefined],
    ['no certificate', socket(true, undefined), undefined],
    ['empty CN', socket(true, { CN: '', O: 'x' }), undefined],
    ['server-only certificate', socket(true, { CN: 'srv' }, ['1.3.6.1.5.5.7.3.1']), undefined],
    [
      'client usage',
      socket(true, { CN: 'c' }, ['1.3.6.1.5.5.7.3.2']),
      { name: 'c', groups: ['system:authenticated'] },
    ],
    ['plain socket', { remoteAddress: '127.0.0.1' }, undefined],
    ['no socket', undefined, undefined],
  ];
  it.each(cases)('%s', (_name, sock, expected) => {
    expect(new X509Authenticator().authenticate({ headers: {}, socket: sock })).toEqual(expected);
  });
});

describe('StaticTokenAuthenticator', () => {
  const authn = new StaticTokenAuthenticator([
    { token: 'secret-a', user: { name: 'alice', uid: '1', groups: ['dev'] } },
    { token: 'secret-b', user: { name: 'bob', groups: [] } },
    { token: '', user: { name: 'nobody', groups: [] } },
  ]);
  const cases: Array<[string | string[] | undefined, string | undefined]> = [
    ['Bearer secret-a', 'alice'],
    ['bearer secret-b', 'bob'],
    ['BEARER   secret-b  ', 'bob'],
    [['Bearer secret-a'], 'alice'],
    ['Bearer secret-c', undefined],
    ['Bearer secret-a2', undefined],
    ['Bearer secret', undefined],
    ['Bearer ', undefined],
    ['Basic c2VjcmV0LWE=', undefined],
    ['secret-a', undefined],
    ['Bearer secret-a extra', undefined],
    [undefined, undefined],
  ];
  it.each(cases)('%j -> %s', (header, name) => {
    const headers = header === undefined ? {} : { authorization: header };
    expect(authn.authenticate({ headers })?.name).toBe(name);
  });

  it('returns the user with system:authenticated and its uid', () => {
    expect(authn.authenticate({ headers: { authorization: 'Bearer secret-a' } })).toEqual({
      name: 'alice',
      uid: '1',
      groups: ['dev', 'system:authenticated'],
    });
  });

  it('parses bearer tokens', () => {
    expect(bearerToken({ authorization: 'Bearer abc' })).toBe('abc');
    expect(bearerToken({})).toBeUndefined();
  });

  // Accepted tokens are remembered: a run of requests on one authenticator must answer each
  // request as a fresh authenticator would, whatever came before it.
  const runs: Array<[string, Array<[string, string | undefined]>]> = [
    [
      'the same token twice',
      [
        ['secret-a', 'alice'],
        ['secret-a', 'alice'],
      ],
    ],
    [
      'wrong, right, wrong',
      [
        ['secret-x', undefined],
        ['secret-a', 'alice'],
        ['secret-x', undefined],
      ],
    ],
    [
      'two users in turn',
      [
        ['secret-a', 'alice'],
        ['secret-b', 'bob'],
        ['secret-a', 'alice'],
        ['secret-b', 'bob'],
      ],
    ],
    [
      'prefixes and extensions of an accepted token',
      [
        ['secret-a', 'alice'],
        ['secret-', undefined],
        ['secret-aa', undefined],
        ['secret-a', 'alice'],
      ],
    ],
    [
      'a rejected token stays rejected',
      [
        ['secret-c', undefined],
        ['secret-c', undefined],
      ],
    ],
  ];
  it.each(runs)('answers a run of requests as a fresh authenticator would: %s', (_name, run) => {
    const fresh = () =>
      new StaticTokenAuthenticator([
        { token: 'secret-a', user: { name: 'alice', groups: ['dev'] } },
        { token: 'secret-b', user: { name: 'bob', groups: [] } },
      ]);
    const remembering = fresh();
    for (const [token, name] of run) {
      const req = { headers: { authorization: `Bearer ${token}` } };
      const got = remembering.authenticate(req);
      expect(got?.name).toBe(name);
      expect(got).toEqual(fresh().authenticate(req));
    }
  });

  it('hands out a copy of a remembered user: a caller changing it does not change the next answer', () => {
    const req = { headers: { authorization: 'Bearer secret-a' } };
    const first = authn.authenticate(req)!;
    first.groups.push('system:masters');
    first.name = 'mallory';
    expect(authn.authenticate(req)).toEqual({
      name: 'alice',
      uid: '1',
      groups: ['dev', 'system:authenticated'],
    });
  });
});

describe('createClusterAuthenticator: bootstrap tokens are never remembered', () => {
  // A join token is revoked by deleting (or expiring) its Secret; the next request must fail even
  // right after one that passed.
  const token = 'abcdef.0123456789abcdef';
  const live = bootstrapTokenSecret({
    id: 'abcdef',
    secret: '0123456789abcdef',
    usages: ['authentication'],
    extraGroups: [],
  });
  const expired = bootstrapTokenSecret({
    id: 'abcdef',
    secret: '0123456789abcdef',
    usages: ['authentication'],
    extraGroups: [],
    expiration: new Date('2000-01-01T00:00:00Z'),
  });
  const steps: Array<[string, Record<string, any> | undefined, string | undefined]> = [
    ['created', live, 'system:bootstrap:abcdef'],
    ['used again', live, 'system:bootstrap:abcdef'],
    ['deleted', undefined, undefined],
    ['created again', live, 'system:bootstrap:abcdef'],
    ['expired', expired, undefined],
    [
      'being deleted',
      { ...live, metadata: { ...live.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } },
      undefined,
    ],
    ['live once more', live, 'system:bootstrap:abcdef'],
  ];
  it('follows the Secret on every request', () => {
    let stored: Record<string, any> | undefined;
    const authn = createClusterAuthenticator({
      adminToken: 'admin-token',
      bootstrapSecrets: (name) => (name === 'bootstrap-token-abcdef' ? stored : undefined),
    });
    for (const [step, secret, name] of steps) {
      stored = secret;
      expect([step, authn.authenticate({ headers: { authorization: `Bearer ${token}` } })?.name]).toEqual([
        step,
        name,
      ]);
      expect(authn.authenticate({ headers: { authorization: 'Bearer admin-token' } })?.name).toBe(
        'system:admin',
      );
    }
  });
});

describe('UnionAuthenticator', () => {
  it('returns the first match', () => {
    const union = new UnionAuthenticator([
      { authenticate: () => undefined },
      { authenticate: () => ({ name: 'second', groups: [] }) },
      { authenticate: () => ({ name: 'third', groups: [] }) },
    ]);
    expect(union.authenticate({ headers: {} })?.name).toBe('second');
    expect(new UnionAuthenticator([]).authenticate({ headers: {} })).toBeUndefined();
  });
});

describe('createClusterAuthenticator over real TLS', () => {
  let dir: string;
  let pki: Pki;
  let foreign: Pki;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'k8ts-authn-'));
    pki = await ensurePki(join(dir, 'a'), { hosts: defaultServingHosts() });
    foreign = await ensurePki(join(dir, 'b'), { hosts: defaultServingHosts() });
    const authn = createClusterAuthenticator({ adminToken: pki.adminToken });
    server = httpsServer(
      {
        cert: pki.servingCertPem,
        key: pki.servingKeyPem,
        ca: pki.caCertPem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        const authReq: AuthRequest = { headers: req.headers, socket: req.socket };
        res.end(JSON.stringify(authn.authenticate(authReq) ?? null));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  function call(options: { cert?: string; key?: string; token?: string }): Promise<UserInfo | null> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = options.token
        ? { authorization: `Bearer ${options.token}` }
        : {};
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/',
          ca: pki.caCertPem,
          cert: options.cert,
          key: options.key,
          headers,
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(JSON.parse(body) as UserInfo | null));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  const admin = { name: 'system:admin', groups: ['system:masters', 'system:authenticated'] };

  it('authenticates the admin client certificate', async () => {
    expect(await call({ cert: pki.adminCertPem, key: pki.adminKeyPem })).toEqual(admin);
  });

  it('authenticates a kubelet certificate issued later', async () => {
    const kubelet = await issueClientCert(pki, {
      commonName: 'system:node:n1',
      organizations: ['system:nodes'],
    });
    expect(await call({ cert: kubelet.certPem, key: kubelet.keyPem })).toEqual({
      name: 'system:node:n1',
      groups: ['system:nodes', 'system:authenticated'],
    });
  });

  it('rejects a certificate of another CA and a serving certificate used as a client certificate', async () => {
    expect(await call({ cert: foreign.adminCertPem, key: foreign.adminKeyPem })).toBeNull();
    expect(await call({ cert: pki.servingCertPem, key: pki.servingKeyPem })).toBeNull();
  });

  it('authenticates the admin bearer token and rejects others', async () => {
    expect(await call({ token: pki.adminToken })).toEqual(admin);
    expect(await call({ token: foreign.adminToken })).toBeNull();
    expect(await call({})).toBeNull();
  });

  it('prefers the client certificate over a wrong token', async () => {
    const kubelet = await issueClientCert(pki, {
      commonName: 'system:node:n2',
      organizations: ['system:nodes'],
    });
    expect((await call({ cert: kubelet.certPem, key: kubelet.keyPem, token: 'wrong' }))?.name).toBe(
      'system:node:n2',
    );
  });
});
