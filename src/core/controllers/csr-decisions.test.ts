import { describe, expect, it } from 'vitest';
import type { ParsedCsr } from '../api/certificates/csr.js';
import { csrCleanupInMs, decideApproval, decideSigning, signingDurationSeconds } from './csr-decisions.js';

const req = (over: Partial<ParsedCsr> = {}): ParsedCsr => ({
  commonName: 'system:node:n1',
  organizations: ['system:nodes'],
  dnsNames: [],
  ipAddresses: [],
  emailAddresses: [],
  uris: [],
  publicKeyDer: Buffer.alloc(0),
  ...over,
});
const csr = (
  spec: Record<string, unknown>,
  conditions: Record<string, unknown>[] = [],
  certificate?: string,
) => ({
  spec: { usages: ['digital signature', 'client auth'], ...spec },
  status: { conditions, ...(certificate ? { certificate } : {}) },
});
const CLIENT = 'kubernetes.io/kube-apiserver-client-kubelet';
const SERVING = 'kubernetes.io/kubelet-serving';
const bootstrap = {
  username: 'system:bootstrap:abcdef',
  groups: ['system:bootstrappers', 'system:authenticated'],
};
const node = { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
const other = { username: 'system:node:n2', groups: ['system:nodes', 'system:authenticated'] };
const admin = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };
const jane = { username: 'jane', groups: ['system:authenticated'] };
const serving = (who: object, r = req({ ipAddresses: ['10.0.0.1'], dnsNames: ['n1'] })) =>
  [csr({ signerName: SERVING, usages: ['digital signature', 'server auth'], ...who }), r] as const;

describe('decideApproval', () => {
  const cases: Array<[string, Record<string, any>, ParsedCsr | undefined, boolean | RegExp]> = [
    [
      'bootstrap token asks for a node client certificate',
      csr({ signerName: CLIENT, ...bootstrap }),
      req(),
      true,
    ],
    [
      'with key encipherment',
      csr({
        signerName: CLIENT,
        usages: ['key encipherment', 'digital signature', 'client auth'],
        ...bootstrap,
      }),
      req(),
      true,
    ],
    ['only client auth', csr({ signerName: CLIENT, usages: ['client auth'], ...bootstrap }), req(), true],
    ['the node renews its own', csr({ signerName: CLIENT, ...node }), req(), true],
    [
      'another node asks for n1',
      csr({ signerName: CLIENT, ...other }),
      req(),
      /neither a bootstrap token nor the node/,
    ],
    ['a user asks for a node certificate', csr({ signerName: CLIENT, ...jane }), req(), /neither/],
    [
      'CN is not a node',
      csr({ signerName: CLIENT, ...bootstrap }),
      req({ commonName: 'admin' }),
      /common name must begin/,
    ],
    [
      'CN is only the prefix',
      csr({ signerName: CLIENT, ...bootstrap }),
      req({ commonName: 'system:node:' }),
      /common name/,
    ],
    [
      'O system:masters smuggled in',
      csr({ signerName: CLIENT, ...bootstrap }),
      req({ organizations: ['system:nodes', 'system:masters'] }),
      /organization must be exactly/,
    ],
    [
      'a client certificate with SANs',
      csr({ signerName: CLIENT, ...bootstrap }),
      req({ dnsNames: ['x'] }),
      /may not have subject alternative names/,
    ],
    [
      'server auth on a client certificate',
      csr({ signerName: CLIENT, usages: ['client auth', 'server auth'], ...bootstrap }),
      req(),
      /not allowed/,
    ],
    [
      'no client auth',
      csr({ signerName: CLIENT, usages: ['digital signature'], ...bootstrap }),
      req(),
      /must include "client auth"/,
    ],
    ['serving by the node itself', ...serving(node), true],
    ['serving asked by an admin', ...serving(admin), true],
    ['serving for another node', ...serving(other), /is not the node/],
    ['serving from a bootstrap token', ...serving(bootstrap), /is not the node/],
    [
      'serving with an email SAN',
      ...serving(node, req({ ipAddresses: ['10.0.0.1'], emailAddresses: ['a@b'] })),
      /only have DNS and IP/,
    ],
    ['serving without SANs', ...serving(node, req()), /at least one DNS or IP/],
    [
      'kube-apiserver-client waits for a human',
      csr({ signerName: 'kubernetes.io/kube-apiserver-client', ...admin }),
      req({ commonName: 'jane', organizations: [] }),
      /left to a human/,
    ],
    ['a custom signer waits', csr({ signerName: 'example.com/x', ...bootstrap }), req(), /left to a human/],
    [
      'already approved',
      csr({ signerName: CLIENT, ...bootstrap }, [{ type: 'Approved', status: 'True' }]),
      req(),
      /already decided/,
    ],
    [
      'already denied',
      csr({ signerName: CLIENT, ...bootstrap }, [{ type: 'Denied', status: 'True' }]),
      req(),
      /already decided/,
    ],
    ['request does not parse', csr({ signerName: CLIENT, ...bootstrap }), undefined, /does not parse/],
  ];
  it.each(cases)('%s', (_name, c, r, want) => {
    const d = decideApproval(c, r);
    if (want === true) {
      expect(d.approve).toBe(true);
      if (d.approve) expect(d.reason).toBe('AutoApproved');
    } else {
      expect(d.approve).toBe(false);
      if (!d.approve) expect(d.why).toMatch(want as RegExp);
    }
  });
});

describe('decideSigning', () => {
  const approved = [{ type: 'Approved', status: 'True' }];
  const cases: Array<[string, Record<string, any>, ParsedCsr | undefined, 'sign' | 'skip' | RegExp]> = [
    ['approved node client', csr({ signerName: CLIENT }, approved), req(), 'sign'],
    [
      'approved serving',
      csr({ signerName: SERVING, usages: ['server auth'] }, approved),
      req({ ipAddresses: ['1.2.3.4'] }),
      'sign',
    ],
    [
      'approved apiserver client',
      csr({ signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] }, approved),
      req({ commonName: 'jane', organizations: ['dev'] }),
      'sign',
    ],
    ['pending', csr({ signerName: CLIENT }), req(), 'skip'],
    ['denied', csr({ signerName: CLIENT }, [{ type: 'Denied', status: 'True' }]), req(), 'skip'],
    [
      'approved and failed',
      csr({ signerName: CLIENT }, [...approved, { type: 'Failed', status: 'True' }]),
      req(),
      'skip',
    ],
    ['already issued', csr({ signerName: CLIENT }, approved, 'Y2VydA=='), req(), 'skip'],
    ['not our signer', csr({ signerName: 'example.com/x' }, approved), req(), 'skip'],
    [
      'approved by a human but not a node certificate',
      csr({ signerName: CLIENT }, approved),
      req({ commonName: 'jane' }),
      /common name must begin/,
    ],
    [
      'apiserver client with server auth',
      csr({ signerName: 'kubernetes.io/kube-apiserver-client', usages: ['server auth'] }, approved),
      req({ commonName: 'x' }),
      /must include "client auth"/,
    ],
    [
      'apiserver client without a CN',
      csr({ signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] }, approved),
      req({ commonName: '' }),
      /may not be empty/,
    ],
    ['unparseable', csr({ signerName: CLIENT }, approved), undefined, /does not parse/],
  ];
  it.each(cases)('%s', (_name, c, r, want) => {
    const d = decideSigning(c, r);
    if (want === 'sign') expect(d.sign).toBe(true);
    else if (want === 'skip') {
      expect(d.sign).toBe(false);
      if (!d.sign) expect(d.fail).toBeUndefined();
    } else expect(d).toMatchObject({ sign: false, fail: expect.stringMatching(want) });
  });

  it('honours expirationSeconds up to one year', () => {
    expect(signingDurationSeconds({ spec: {} })).toBe(365 * 24 * 3600);
    expect(signingDurationSeconds({ spec: { expirationSeconds: 3600 } })).toBe(3600);
    expect(signingDurationSeconds({ spec: { expirationSeconds: 10 * 365 * 24 * 3600 } })).toBe(
      365 * 24 * 3600,
    );
  });
});

describe('csrCleanupInMs', () => {
  const now = new Date('2026-12-07T12:00:00Z');
  const H = 3_600_000;
  const at = (created: string, conditions: Record<string, unknown>[] = [], certificate?: string) => ({
    metadata: { creationTimestamp: created },
    status: { conditions, ...(certificate ? { certificate } : {}) },
  });
  const cases: Array<[string, Record<string, any>, Date | undefined, number]> = [
    ['pending, made an hour ago: 23 h left', at('2026-12-07T11:00:00Z'), undefined, 23 * H],
    ['pending for more than a day', at('2026-12-06T11:00:00Z'), undefined, -H],
    [
      'approved 10 minutes ago',
      at('2026-12-07T11:50:00Z', [{ type: 'Approved', status: 'True' }]),
      undefined,
      H - 10 * 60_000,
    ],
    [
      'issued two hours ago',
      at('2026-12-07T10:00:00Z', [{ type: 'Approved', status: 'True' }], 'Y2VydA=='),
      undefined,
      -H,
    ],
    ['denied two hours ago', at('2026-12-07T10:00:00Z', [{ type: 'Denied', status: 'True' }]), undefined, -H],
    ['failed just now', at('2026-12-07T12:00:00Z', [{ type: 'Failed', status: 'True' }]), undefined, H],
    [
      'issued, certificate already expired',
      at('2026-12-07T11:59:00Z', [], 'Y2VydA=='),
      new Date('2026-12-07T11:00:00Z'),
      0,
    ],
    ['no creation time', { metadata: {} }, undefined, Number.POSITIVE_INFINITY],
  ];
  it.each(cases)('%s', (_name, c, nb, want) => {
    expect(csrCleanupInMs(c, now, nb)).toBe(want);
  });
});
