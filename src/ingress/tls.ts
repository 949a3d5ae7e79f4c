/**
 * kubernetes.io/tls Secrets -> TlsCertificate: the PEMs must parse (certificate chain and private
 * key) and the key must belong to the first certificate, else the Secret is refused with a reason
 * (the controller emits a Warning and the host is served with the default certificate). Results
 * are memoized per Secret object: informer objects are replaced, never mutated, on change.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import type { Secret } from 'kubernetes-types/core/v1.js';
import type { TlsCertificate } from './route-table.js';

export type SecretCertificate =
  | { ok: true; cert: TlsCertificate; x509: X509Certificate }
  | { ok: false; reason: string };

const memo = new WeakMap<Secret, SecretCertificate>();

function decode(b64: string | undefined): string | undefined {
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

/** The certificate of a TLS Secret, or why it cannot be used. */
export function certificateFromSecret(secret: Secret): SecretCertificate {
  const hit = memo.get(secret);
  if (hit) return hit;
  const r = parse(secret);
  memo.set(secret, r);
  return r;
}

function parse(secret: Secret): SecretCertificate {
  const name = `${secret.metadata?.namespace}/${secret.metadata?.name}`;
  const certPem = decode(secret.data?.['tls.crt']) ?? secret.stringData?.['tls.crt'];
  const keyPem = decode(secret.data?.['tls.key']) ?? secret.stringData?.['tls.key'];
  if (!certPem || !keyPem) return { ok: false, reason: `secret "${name}" has no tls.crt and tls.key` };
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch (e) {
    return {
      ok: false,
      reason: `secret "${name}": tls.crt is not a PEM certificate (${(e as Error).message})`,
    };
  }
  try {
    const key = createPrivateKey(keyPem);
    if (!x509.checkPrivateKey(key))
      return { ok: false, reason: `secret "${name}": tls.key does not belong to the certificate in tls.crt` };
  } catch (e) {
    return {
      ok: false,
      reason: `secret "${name}": tls.key is not a PEM private key (${(e as Error).message})`,
    };
  }
  const version = createHash('sha256').update(certPem).update('\0').update(keyPem).digest('hex').slice(0, 16);
  return { ok: true, x509, cert: { key: name, version, certPem, keyPem } };
}

/** True when a TLS host as written (`a.example.com`, `*.example.com`) covers a rule host. */
export function tlsHostCovers(tlsHost: string, host: string): boolean {
  if (tlsHost === host) return true;
  if (!tlsHost.startsWith('*.') || host.startsWith('*.')) return false;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot) === tlsHost.slice(1);
}
