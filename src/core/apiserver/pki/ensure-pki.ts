/**
 * The API server's security material under the data directory, generated on first start and loaded
 * afterwards:
 *
 *   <dataDir>/pki/ca.crt, ca.key          cluster CA (10 years); never overwritten
 *   <dataDir>/pki/server.crt, server.key  serving certificate (1 year), SANs = the API server's names
 *   <dataDir>/pki/admin.crt, admin.key    client certificate CN=system:admin, O=system:masters
 *   <dataDir>/pki/admin.token             a random admin bearer token (before the join tokens of
 *                                         issue 9 it was <dataDir>/token; it is moved on start)
 *
 * Keys and the token are mode 0600. A leaf certificate is issued again (with a new key) only when
 * it is missing, does not parse, does not match its key, was not issued by the CA, expires within
 * RENEW_BEFORE_DAYS, or, for the serving certificate, lacks a required SAN. The CA and the token
 * are only ever created when absent; a CA with only one of its two files is an error, not a reason
 * to generate a new one.
 */

import { createPrivateKey, X509Certificate as NodeX509Certificate, randomBytes } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import './reflect-metadata-shim.js';
import * as x509 from '@peculiar/x509';
import { type CertAndKey, createCa, issueLeaf } from './certs.js';
import { CaKeyMismatchError, IncompleteCaError, InvalidPemError, InvalidTokenError } from './errors.js';
import { PUBLIC_MODE, readIfExists, SECRET_MODE, writeFileAtomic } from './files.js';

/** The admin client certificate's identity, as k3s issues it. */
export const ADMIN_USER = 'system:admin';
export const ADMIN_GROUP = 'system:masters';
/** A leaf certificate that expires within this many days is issued again at startup (like k3s). */
export const RENEW_BEFORE_DAYS = 90;

export interface PkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  token: string;
}

/** What ensurePki() made or remade on this call. */
export type PkiPart = 'ca' | 'serving' | 'admin' | 'token';

export interface Pki {
  paths: PkiPaths;
  caCertPem: string;
  caKeyPem: string;
  servingCertPem: string;
  servingKeyPem: string;
  adminCertPem: string;
  adminKeyPem: string;
  /** The static admin bearer token (user system:admin, group system:masters). */
  adminToken: string;
  generated: PkiPart[];
}

export interface EnsurePkiOptions {
  /** DNS names and IP addresses the serving certificate must carry (see defaultServingHosts()). */
  hosts: readonly string[];
  /** The current time (tests); default now. */
  now?: Date | undefined;
}

export interface ServingHostsOptions {
  /** The machine's hostname (os.hostname()). */
  hostname?: string | undefined;
  /** The address the API server binds; skipped when it is a wildcard (0.0.0.0, ::). */
  bindAddress?: string | undefined;
  /** ClusterIP of the `kubernetes` Service. Default 10.43.0.1. */
  serviceIp?: string | undefined;
  /** Cluster domain. Default cluster.local. */
  clusterDomain?: string | undefined;
  /** More names or addresses (e.g. --tls-san). */
  extra?: readonly string[] | undefined;
}

/** The names a client may use for the API server, the SAN list of the serving certificate. */
export function defaultServingHosts(options: ServingHostsOptions = {}): string[] {
  const domain = options.clusterDomain ?? 'cluster.local';
  const hosts = [
    'localhost',
    '127.0.0.1',
    '::1',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${domain}`,
    options.serviceIp ?? '10.43.0.1',
  ];
  if (options.hostname) hosts.push(options.hostname);
  const bind = options.bindAddress;
  if (bind && bind !== '0.0.0.0' && bind !== '::' && isIP(bind)) hosts.push(bind);
  hosts.push(...(options.extra ?? []));
  return [...new Set(hosts.map((h) => (isIP(h) ? h : h.toLowerCase())).filter((h) => h !== ''))];
}

/** File locations of the PKI under a data directory. */
export function pkiPaths(dataDir: string): PkiPaths {
  const dir = join(dataDir, 'pki');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    servingCert: join(dir, 'server.crt'),
    servingKey: join(dir, 'server.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    token: join(dir, 'admin.token'),
  };
}

/** Loads the PKI under dataDir, generating whatever is missing or unusable (see the file comment). */
export async function ensurePki(dataDir: string, options: EnsurePkiOptions): Promise<Pki> {
  const now = options.now ?? new Date();
  const paths = pkiPaths(dataDir);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const generated: PkiPart[] = [];

  let ca = await loadCa(paths);
  if (!ca) {
    ca = await createCa({ commonName: `k8ts-server-ca@${Math.floor(now.getTime() / 1000)}`, now });
    await writePair(paths.caCert, paths.caKey, ca);
    generated.push('ca');
  }
  const caCert = new NodeX509Certificate(ca.certPem);

  let serving = await loadPair(paths.servingCert, paths.servingKey);
  if (!serving || !leafIsUsable(serving, caCert, now, options.hosts)) {
    serving = await issueLeaf(ca, {
      commonName: 'kube-apiserver',
      usage: 'server',
      hosts: options.hosts,
      now,
    });
    await writePair(paths.servingCert, paths.servingKey, serving);
    generated.push('serving');
  }

  let admin = await loadPair(paths.adminCert, paths.adminKey);
  if (!admin || !leafIsUsable(admin, caCert, now, [])) {
    admin = await issueLeaf(ca, {
      commonName: ADMIN_USER,
      organizations: [ADMIN_GROUP],
      usage: 'client',
      now,
    });
    await writePair(paths.adminCert, paths.adminKey, admin);
    generated.push('admin');
  }

  // Data dirs from before join tokens kept the admin token at <dataDir>/token, where the join
  // token lives now: move it (a join token starts with K10 and is left alone).
  const legacy = join(dataDir, 'token');
  const legacyText = await readIfExists(legacy);
  if (
    legacyText !== undefined &&
    !legacyText.startsWith('K10') &&
    (await readIfExists(paths.token)) === undefined
  )
    await rename(legacy, paths.token);
  let adminToken = await readIfExists(paths.token);
  if (adminToken === undefined) {
    adminToken = randomBytes(32).toString('hex');
    await writeFileAtomic(paths.token, `${adminToken}\n`, SECRET_MODE);
    generated.push('token');
  } else {
    adminToken = adminToken.trim();
    if (adminToken === '' || /\s/.test(adminToken)) throw new InvalidTokenError(paths.token);
  }

  return {
    paths,
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    servingCertPem: serving.certPem,
    servingKeyPem: serving.keyPem,
    adminCertPem: admin.certPem,
    adminKeyPem: admin.keyPem,
    adminToken,
    generated,
  };
}

export interface ClientCertOptions {
  commonName: string;
  /** Group names (subject O). */
  organizations?: readonly string[] | undefined;
  now?: Date | undefined;
  validityDays?: number | undefined;
}

/** Issues a client certificate (e.g. for a kubelet: CN=system:node:<name>, O=system:nodes) signed by the cluster CA. */
export async function issueClientCert(
  pki: Pick<Pki, 'caCertPem' | 'caKeyPem'>,
  options: ClientCertOptions,
): Promise<CertAndKey> {
  return issueLeaf(
    { certPem: pki.caCertPem, keyPem: pki.caKeyPem },
    {
      commonName: options.commonName,
      organizations: options.organizations,
      usage: 'client',
      now: options.now,
      validityDays: options.validityDays,
    },
  );
}

async function writePair(certPath: string, keyPath: string, pair: CertAndKey): Promise<void> {
  // Key first: a crash between the two writes leaves a key without a certificate, which the next
  // start treats as missing and reissues; never a certificate whose key is gone.
  await writeFileAtomic(keyPath, pair.keyPem, SECRET_MODE);
  await writeFileAtomic(certPath, pair.certPem, PUBLIC_MODE);
}

async function loadPair(certPath: string, keyPath: string): Promise<CertAndKey | undefined> {
  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (certPem === undefined || keyPem === undefined) return undefined;
  return { certPem, keyPem };
}

async function loadCa(paths: PkiPaths): Promise<CertAndKey | undefined> {
  const [certPem, keyPem] = await Promise.all([readIfExists(paths.caCert), readIfExists(paths.caKey)]);
  if (certPem === undefined && keyPem === undefined) return undefined;
  if (certPem === undefined) throw new IncompleteCaError(paths.caKey, paths.caCert);
  if (keyPem === undefined) throw new IncompleteCaError(paths.caCert, paths.caKey);
  let cert: NodeX509Certificate;
  try {
    cert = new NodeX509Certificate(certPem);
  } catch (err) {
    throw new InvalidPemError(paths.caCert, (err as Error).message);
  }
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    throw new InvalidPemError(paths.caKey, (err as Error).message);
  }
  if (!matches) throw new CaKeyMismatchError(paths.caCert, paths.caKey);
  return { certPem, keyPem };
}

/** True if the stored leaf can be kept: parses, matches its key, issued by the CA, not near expiry, has the hosts. */
function leafIsUsable(
  pair: CertAndKey,
  ca: NodeX509Certificate,
  now: Date,
  hosts: readonly string[],
): boolean {
  try {
    const cert = new NodeX509Certificate(pair.certPem);
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) return false;
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    const notAfter = new x509.X509Certificate(pair.certPem).notAfter.getTime();
    if (notAfter - now.getTime() < RENEW_BEFORE_DAYS * 24 * 3_600_000) return false;
    for (const host of hosts) {
      const found = isIP(host)
        ? cert.checkIP(host)
        : cert.checkHost(host, { subject: 'never', wildcards: false });
      if (found === undefined) return false;
    }
    return true;
  } catch {
    return false;
  }
}
