import { beforeAll, describe, expect, it } from 'vitest';
import { createCa, createCsr, issueLeaf } from '../../apiserver/pki/certs.js';
import { prepareForCreate, prepareForUpdate } from '../../apiserver/strategy.js';
import { parseCsrPem } from '../certificates/csr.js';
import { fieldErrorMessage } from '../field-error.js';
import { resourceForPlural } from '../resources.js';
import { validateCsr, validateCsrStatusUpdate, validateCsrUpdate } from './certificates.js';

const CSRS = resourceForPlural('certificates.k8s.io', 'v1', 'certificatesigningrequests')!;
const b64 = (s: string) => Buffer.from(s).toString('base64');
let csrPem = '';
let certPem = '';

beforeAll(async () => {
  csrPem = (
    await createCsr({
      commonName: 'system:node:n1',
      organizations: ['system:nodes'],
      hosts: ['10.0.0.1', 'n1'],
    })
  ).csrPem;
  const ca = await createCa({ commonName: 'ca' });
  certPem = (await issueLeaf(ca, { commonName: 'x', usage: 'client' })).certPem;
});

const csr = (spec: Record<string, unknown> = {}, status: Record<string, unknown> = {}) => ({
  apiVersion: 'certificates.k8s.io/v1',
  kind: 'CertificateSigningRequest',
  metadata: { name: 'c' },
  spec: {
    request: b64(csrPem),
    signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
    usages: ['client auth'],
    ...spec,
  },
  status,
});
const messages = (errs: ReturnType<typeof validateCsr>) => errs.map(fieldErrorMessage);

describe('parseCsrPem', () => {
  it('reads subject and SANs and checks the signature', () => {
    const p = parseCsrPem(csrPem);
    expect(p).toMatchObject({
      commonName: 'system:node:n1',
      organizations: ['system:nodes'],
      dnsNames: ['n1'],
      ipAddresses: ['10.0.0.1'],
    });
    // Flip one byte of the signature (the end of the DER): the self-signature no longer verifies.
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 3] = der[der.length - 3]! ^ 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(() => parseCsrPem(tampered)).toThrow(/verification failure|structure error/);
  });
});

describe('validateCsr', () => {
  const cases: Array<[string, () => Record<string, any>, string[]]> = [
    ['valid', () => csr(), []],
    [
      'a certificate instead of a request',
      () => csr({ request: b64(certPem) }),
      ['spec.request: Invalid value: "<request data>": PEM block type must be CERTIFICATE REQUEST'],
    ],
    [
      'not PEM',
      () => csr({ request: b64('hello') }),
      ['spec.request: Invalid value: "<request data>": PEM block type must be CERTIFICATE REQUEST'],
    ],
    ['no signerName', () => csr({ signerName: undefined }), ['spec.signerName: Required value']],
    [
      'signerName without a path',
      () => csr({ signerName: 'example.com' }),
      [
        'spec.signerName: Invalid value: "example.com": must be a fully qualified domain and path of the form \'example.com/signer-name\'',
      ],
    ],
    [
      'legacy signer',
      () => csr({ signerName: 'kubernetes.io/legacy-unknown' }),
      [
        'spec.signerName: Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not allowed via this API version',
      ],
    ],
    ['no usages', () => csr({ usages: [] }), ['spec.usages: Required value']],
    [
      'unknown usage',
      () => csr({ usages: ['client auth', 'flying'] }),
      [
        expect.stringMatching(/^spec\.usages\[1\]: Unsupported value: "flying": supported values: "any", /),
      ] as never,
    ],
    [
      'duplicate usage',
      () => csr({ usages: ['client auth', 'client auth'] }),
      ['spec.usages[1]: Duplicate value: "client auth"'],
    ],
    [
      'too short',
      () => csr({ expirationSeconds: 599 }),
      [
        'spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)',
      ],
    ],
    [
      'approved and denied',
      () =>
        csr(
          {},
          {
            conditions: [
              { type: 'Approved', status: 'True' },
              { type: 'Denied', status: 'True' },
            ],
          },
        ),
      ['status.conditions: Invalid value: "Denied": Approved and Denied conditions are mutually exclusive'],
    ],
    [
      'approved False',
      () => csr({}, { conditions: [{ type: 'Approved', status: 'False' }] }),
      ['status.conditions[0].status: Unsupported value: "False": supported values: "True"'],
    ],
    [
      'not a certificate in status',
      () => csr({}, { certificate: b64(csrPem) }),
      [
        'status.certificate: Invalid value: "<certificate data>": only CERTIFICATE PEM blocks are allowed, found "CERTIFICATE REQUEST"',
      ],
    ],
  ];
  it.each(cases)('%s', (_name, obj, want) => {
    expect(messages(validateCsr(obj()))).toEqual(want);
  });
});

describe('CSR updates', () => {
  const approved = { type: 'Approved', status: 'True', reason: 'R' };
  const cases: Array<
    [string, 'main' | 'status' | 'approval', Record<string, any>, Record<string, any>, string[]]
  > = [
    ['approval adds Approved', 'approval', {}, { conditions: [approved] }, []],
    [
      'status may not add Approved',
      'status',
      {},
      { conditions: [approved] },
      ['status.conditions: Forbidden: updates may not add a condition of type "Approved"'],
    ],
    [
      'approval may not remove Approved',
      'approval',
      { conditions: [approved] },
      { conditions: [] },
      ['status.conditions: Forbidden: updates may not remove a condition of type "Approved"'],
    ],
    [
      'status sets the certificate',
      'status',
      { conditions: [approved] },
      { conditions: [approved], certificate: 'CERT' },
      [],
    ],
    [
      'approval may not set the certificate',
      'approval',
      {},
      { certificate: 'CERT' },
      ['status.certificate: Forbidden: updates may not set certificate content'],
    ],
    [
      'status may not change an issued certificate',
      'status',
      { certificate: 'OLD' },
      { certificate: 'CERT' },
      ['status.certificate: Forbidden: updates may not modify existing certificate content'],
    ],
  ];
  it.each(cases)('%s', (_name, sub, oldStatus, newStatus, want) => {
    const cert = b64(certPem);
    const fix = (s: Record<string, any>) => ({
      ...s,
      ...(s.certificate
        ? { certificate: s.certificate === 'CERT' ? cert : b64(certPem.replace('x', 'y')) }
        : {}),
    });
    const old = csr({}, fix(oldStatus));
    const next = csr({}, fix(newStatus));
    const errs = sub === 'status' ? validateCsrStatusUpdate(next, old) : validateCsrUpdate(next, old);
    expect(messages(errs)).toEqual(want);
  });

  it('the registry strategy takes the requester from the request, never from the body', () => {
    const body = csr(
      { username: 'evil', uid: 'u', groups: ['system:masters'], extra: { a: ['b'] } },
      { certificate: 'x' },
    );
    prepareForCreate(CSRS, body, { name: 'system:bootstrap:abcdef', groups: ['system:bootstrappers'] });
    expect(body.spec).toMatchObject({
      username: 'system:bootstrap:abcdef',
      groups: ['system:bootstrappers'],
    });
    expect(body.spec.uid).toBeUndefined();
    expect(body.spec.extra).toBeUndefined();
    expect(body.status).toEqual({});
  });

  it('the main resource keeps spec and status; /approval keeps the certificate; /status keeps Approved', () => {
    const old = csr({}, { conditions: [approved] });
    const edited = csr({ usages: ['server auth'] }, { conditions: [], certificate: 'x' });
    expect(prepareForUpdate(CSRS, structuredClone(edited), old, undefined)).toMatchObject({
      spec: old.spec,
      status: old.status,
    });
    expect(
      prepareForUpdate(CSRS, structuredClone(edited), old, 'approval').status.certificate,
    ).toBeUndefined();
    const st = prepareForUpdate(CSRS, structuredClone(edited), old, 'status');
    expect(st.status.certificate).toBe('x');
    expect(st.status.conditions.map((c: { type: string }) => c.type)).toEqual(['Approved']);
  });
});
