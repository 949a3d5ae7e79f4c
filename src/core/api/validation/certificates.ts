/**
 * CertificateSigningRequest validation (certificates.k8s.io/v1), with upstream's rules and
 * messages: the request is a PEM PKCS#10 CSR with a valid self-signature, signerName is a
 * `domain/path` name, usages are known and not repeated, expirationSeconds is at least 600,
 * conditions are well formed (Approved and Denied exclusive), status.certificate holds
 * CERTIFICATE blocks only, and updates may not remove conditions, touch Approved/Denied outside
 * /approval, or set the certificate outside /status (or change it once set).
 */
import { CsrParseError, parseCsrRequest } from '../certificates/csr.js';
import { duplicate, type FieldError, forbidden, invalid, notSupported, required } from '../field-error.js';
import { isDNS1123Subdomain } from './names.js';

type Csr = Record<string, any>;

export const KNOWN_USAGES = [
  'any',
  'cert sign',
  'client auth',
  'code signing',
  'content commitment',
  'crl sign',
  'data encipherment',
  'decipher only',
  'digital signature',
  'email protection',
  'encipher only',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'key agreement',
  'key encipherment',
  'microsoft sgc',
  'netscape sgc',
  'ocsp signing',
  's/mime',
  'server auth',
  'signing',
  'timestamping',
] as const;
const USAGES = new Set<string>(KNOWN_USAGES);
const TRUE_ONLY = new Set(['Approved', 'Denied', 'Failed']);
const SIGNER_FORM = "must be a fully qualified domain and path of the form 'example.com/signer-name'";

/** Upstream's ValidateSignerName. */
function validateSignerName(name: unknown): FieldError[] {
  const f = 'spec.signerName';
  if (typeof name !== 'string' || name === '') return [required(f, '')];
  const parts = name.split('/');
  if (parts.length < 2) return [invalid(f, name, SIGNER_FORM)];
  const domain = parts[0]!;
  const path = parts.slice(1).join('/');
  const errs: FieldError[] = [];
  if (domain.length > 253 || isDNS1123Subdomain(domain).length)
    errs.push(invalid(f, name, `${SIGNER_FORM}: the domain part ${isDNS1123Subdomain(domain).join(', ')}`));
  if (path === '' || path.length > 63 + 253 || /[^A-Za-z0-9._\-/]/.test(path))
    errs.push(invalid(f, name, `${SIGNER_FORM}: the path part is invalid`));
  return errs;
}

function certificateError(b64: unknown): string | undefined {
  if (b64 === undefined || b64 === '' || b64 === null) return undefined;
  if (typeof b64 !== 'string') return 'must contain at least one CERTIFICATE PEM block';
  const text = Buffer.from(b64, 'base64').toString('latin1');
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  let blocks = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1] !== 'CERTIFICATE') return `only CERTIFICATE PEM blocks are allowed, found "${m[1]}"`;
    if (/^[A-Za-z-]+:/m.test(m[2]!)) return 'no PEM block headers are permitted';
    blocks++;
  }
  return blocks === 0 ? 'must contain at least one CERTIFICATE PEM block' : undefined;
}

function validateConditions(csr: Csr): FieldError[] {
  const errs: FieldError[] = [];
  const f = 'status.conditions';
  const seen = new Set<string>();
  let approved = false;
  let denied = false;
  (csr.status?.conditions ?? []).forEach((c: Csr, i: number) => {
    if (!c.type) errs.push(required(`${f}[${i}].type`, ''));
    const allowed = TRUE_ONLY.has(c.type) ? ['True'] : ['False', 'True', 'Unknown'];
    if (!c.status) errs.push(required(`${f}[${i}].status`, ''));
    else if (!allowed.includes(c.status)) errs.push(notSupported(`${f}[${i}].status`, c.status, allowed));
    if (c.type === 'Approved') {
      approved = true;
      if (denied) errs.push(invalid(f, c.type, 'Approved and Denied conditions are mutually exclusive'));
    }
    if (c.type === 'Denied') {
      denied = true;
      if (approved) errs.push(invalid(f, c.type, 'Approved and Denied conditions are mutually exclusive'));
    }
    if (seen.has(c.type)) errs.push(duplicate(`${f}[${i}].type`, c.type));
    seen.add(c.type);
  });
  return errs;
}

/** A new CertificateSigningRequest. */
export function validateCsr(csr: Csr): FieldError[] {
  const spec = csr.spec ?? {};
  const errs: FieldError[] = [];
  try {
    parseCsrRequest(spec.request);
  } catch (e) {
    if (!(e instanceof CsrParseError)) throw e;
    errs.push(invalid('spec.request', '<request data>', e.message));
  }
  const usages: unknown[] = spec.usages ?? [];
  if (usages.length === 0) errs.push(required('spec.usages', ''));
  usages.forEach((u, i) => {
    if (typeof u !== 'string' || !USAGES.has(u))
      errs.push(notSupported(`spec.usages[${i}]`, u, KNOWN_USAGES));
  });
  usages.forEach((u, i) => {
    if (usages.indexOf(u) < i) errs.push(duplicate(`spec.usages[${i}]`, u));
  });
  if (spec.signerName === 'kubernetes.io/legacy-unknown')
    errs.push(
      invalid(
        'spec.signerName',
        spec.signerName,
        'the legacy signerName is not allowed via this API version',
      ),
    );
  else errs.push(...validateSignerName(spec.signerName));
  if (typeof spec.expirationSeconds === 'number' && spec.expirationSeconds < 600)
    errs.push(
      invalid(
        'spec.expirationSeconds',
        spec.expirationSeconds,
        'may not specify a duration less than 600 seconds (10 minutes)',
      ),
    );
  errs.push(...validateConditions(csr));
  const certErr = certificateError(csr.status?.certificate);
  if (certErr) errs.push(invalid('status.certificate', '<certificate data>', certErr));
  return errs;
}

function conditionsOf(csr: Csr, type: string): Csr[] {
  return (csr.status?.conditions ?? []).filter((c: Csr) => c.type === type);
}

function updateErrors(csr: Csr, old: Csr, opts: { approval: boolean; certificate: boolean }): FieldError[] {
  const errs: FieldError[] = [];
  // Checks of the request and spec hold for the stored object already; only what changed is checked.
  errs.push(...validateConditions(csr));
  const f = 'status.conditions';
  for (const t of ['Approved', 'Denied', 'Failed']) {
    if (conditionsOf(csr, t).length < conditionsOf(old, t).length)
      errs.push(forbidden(f, `updates may not remove a condition of type "${t}"`));
  }
  if (!opts.approval) {
    for (const t of ['Approved', 'Denied']) {
      const a = conditionsOf(old, t);
      const b = conditionsOf(csr, t);
      if (b.length > a.length) errs.push(forbidden(f, `updates may not add a condition of type "${t}"`));
      else if (b.length === a.length && JSON.stringify(a) !== JSON.stringify(b))
        errs.push(forbidden(f, `updates may not modify a condition of type "${t}"`));
    }
  }
  const before = old.status?.certificate ?? '';
  const after = csr.status?.certificate ?? '';
  if (before !== after) {
    if (!opts.certificate)
      errs.push(forbidden('status.certificate', 'updates may not set certificate content'));
    else if (before !== '')
      errs.push(forbidden('status.certificate', 'updates may not modify existing certificate content'));
    else {
      const certErr = certificateError(after);
      if (certErr) errs.push(invalid('status.certificate', '<certificate data>', certErr));
    }
  }
  return errs;
}

/** An update of the main resource or of /approval (the registry cannot tell them apart here). */
export function validateCsrUpdate(csr: Csr, old: Csr): FieldError[] {
  return updateErrors(csr, old, { approval: true, certificate: false });
}

/** An update through /status: the certificate may be set once; Approved/Denied are untouched. */
export function validateCsrStatusUpdate(csr: Csr, old: Csr): FieldError[] {
  return updateErrors(csr, old, { approval: false, certificate: true });
}
