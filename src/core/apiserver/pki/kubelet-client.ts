/**
 * The API server's client certificate for kubelets (CN=kube-apiserver-kubelet-client,
 * O=system:masters, as kubeadm issues it), under the data directory beside the other certificates:
 *
 *   <dataDir>/pki/apiserver-kubelet-client.crt, apiserver-kubelet-client.key
 *
 * Issued on first start; loaded afterwards, and issued again only when it is missing, unusable,
 * not from the cluster CA or near expiry (the same rules as ensurePki's leaf certificates).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { type CertAndKey, issueLeaf } from './certs.js';
import { ADMIN_GROUP, type Pki, RENEW_BEFORE_DAYS } from './ensure-pki.js';
import { PUBLIC_MODE, readIfExists, SECRET_MODE, writeFileAtomic } from './files.js';

export const KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client';

export interface KubeletClientCert extends CertAndKey {
  certPath: string;
  keyPath: string;
  /** True when this call issued it. */
  generated: boolean;
}

function usable(pair: CertAndKey, caPem: string, now: Date): boolean {
  try {
    const cert = new X509Certificate(pair.certPem);
    const ca = new X509Certificate(caPem);
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) return false;
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    return Date.parse(cert.validTo) - now.getTime() >= RENEW_BEFORE_DAYS * 24 * 3_600_000;
  } catch {
    return false;
  }
}

/** Loads or issues the API server's kubelet client certificate. */
export async function ensureKubeletClientCert(
  pki: Pick<Pki, 'paths' | 'caCertPem' | 'caKeyPem'>,
  opts: { now?: Date } = {},
): Promise<KubeletClientCert> {
  const now = opts.now ?? new Date();
  const certPath = join(pki.paths.dir, 'apiserver-kubelet-client.crt');
  const keyPath = join(pki.paths.dir, 'apiserver-kubelet-client.key');
  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (certPem !== undefined && keyPem !== undefined && usable({ certPem, keyPem }, pki.caCertPem, now))
    return { certPem, keyPem, certPath, keyPath, generated: false };
  const pair = await issueLeaf(
    { certPem: pki.caCertPem, keyPem: pki.caKeyPem },
    { commonName: KUBELET_CLIENT_USER, organizations: [ADMIN_GROUP], usage: 'client', now },
  );
  await writeFileAtomic(keyPath, pair.keyPem, SECRET_MODE);
  await writeFileAtomic(certPath, pair.certPem, PUBLIC_MODE);
  return { ...pair, certPath, keyPath, generated: true };
}
