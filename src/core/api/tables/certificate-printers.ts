/** Printer of CertificateSigningRequest (certificates.k8s.io/v1), as `kubectl get csr` shows it. */
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import { age, humanDuration } from './duration.js';
import { AGE_COLUMN, column, NAME_COLUMN, type Printer } from './table.js';

/** Pending / Approved / Denied, then `,Failed` and `,Issued` (upstream's order of precedence). */
export function csrCondition(csr: CertificateSigningRequest): string {
  const types = new Set((csr.status?.conditions ?? []).map((c) => c.type));
  let s = types.has('Denied') ? 'Denied' : types.has('Approved') ? 'Approved' : 'Pending';
  if (types.has('Failed')) s += ',Failed';
  if (csr.status?.certificate) s += ',Issued';
  return s;
}

export const csrPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    AGE_COLUMN,
    column('SignerName', 'The signer that is asked to issue the certificate.'),
    column('Requestor', 'The user that created the request.'),
    column('RequestedDuration', 'The validity the requester asked for (spec.expirationSeconds).'),
    column('Condition', 'Whether the request is pending, approved or denied, and whether it was issued.'),
  ],
  row: (csr: CertificateSigningRequest, { now }) => ({
    cells: [
      csr.metadata?.name ?? '',
      age(csr.metadata?.creationTimestamp, now),
      csr.spec?.signerName ?? '',
      csr.spec?.username ?? '',
      csr.spec?.expirationSeconds === undefined ? '<none>' : humanDuration(csr.spec.expirationSeconds * 1000),
      csrCondition(csr),
    ],
  }),
};
