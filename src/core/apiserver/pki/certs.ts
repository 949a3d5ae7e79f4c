/**
 * Certificate issuance with @peculiar/x509 over Node's WebCrypto. New keys are ECDSA P-256 (fast to
 * generate, accepted by Go clients such as kubectl); a CA key loaded from disk may also be P-384 or
 * RSA, so an operator can bring their own CA. Keys are written as PKCS#8 PEM (`PRIVATE KEY`).
 */

import { createPrivateKey, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import './reflect-metadata-shim.js';
import * as x509 from '@peculiar/x509';
import { UnsupportedKeyError } from './errors.js';

const cryptoProvider = webcrypto as unknown as Crypto;
const subtle = cryptoProvider.subtle;

const NEW_KEY_ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Validity of the CA (10 years) and of leaf certificates (1 year), in days. */
export const CA_VALIDITY_DAYS = 3650;
export const LEAF_VALIDITY_DAYS = 365;
/** notBefore is set this far in the past so that a node whose clock lags a little accepts new certificates. */
export const BACKDATE_MS = HOUR_MS;

/** A certificate with its private key, both PEM. */
export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

export interface CaOptions {
  commonName: string;
  now?: Date | undefined;
  validityDays?: number | undefined;
}

export interface LeafOptions {
  commonName: string;
  /** Subject O values; Kubernetes reads them as group names of a client certificate. */
  organizations?: readonly string[] | undefined;
  /** serverAuth, clientAuth or both in the extended key usage. */
  usage: 'server' | 'client' | 'server-and-client';
  /** DNS names and IP addresses for the subjectAltName (a serving certificate needs them). */
  hosts?: readonly string[] | undefined;
  now?: Date | undefined;
  validityDays?: number | undefined;
}

interface SigningKey {
  key: CryptoKey;
  algorithm: Algorithm | EcdsaParams;
}

function toPem(der: ArrayBuffer, tag: string): string {
  return x509.PemConverter.encode(der, tag).replace(/\r\n/g, '\n') + '\n';
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  return toPem(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function newKeyPair(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(NEW_KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384' };
const CURVE_HASH: Record<string, string> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384' };

/** Imports a PEM private key (PKCS#8, SEC1 or PKCS#1) as a WebCrypto signing key. */
async function importSigningKey(keyPem: string): Promise<SigningKey> {
  const keyObject = createPrivateKey(keyPem);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new UnsupportedKeyError(`EC curve ${keyObject.asymmetricKeyDetails?.namedCurve}`);
    const key = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: curve }, false, ['sign']);
    return { key, algorithm: { name: 'ECDSA', hash: CURVE_HASH[curve]! } as EcdsaParams };
  }
  if (keyObject.asymmetricKeyType === 'rsa') {
    const params: RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = await subtle.importKey('pkcs8', der, params, false, ['sign']);
    return { key, algorithm: { name: 'RSASSA-PKCS1-v1_5' } };
  }
  throw new UnsupportedKeyError(`key type ${keyObject.asymmetricKeyType}`);
}

function subjectName(commonName: string, organizations: readonly string[] = []): x509.JsonName {
  // Like Go's pkix.Name: organizations before the common name, one RDN each.
  return [...organizations.map((o) => ({ O: [o] })), { CN: [commonName] }];
}

function validity(now: Date, days: number): { notBefore: Date; notAfter: Date } {
  return {
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
  };
}

/** Creates a self-signed CA certificate and its new P-256 key. */
export async function createCa(options: CaOptions): Promise<CertAndKey> {
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: subjectName(options.commonName),
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
      ...validity(options.now ?? new Date(), options.validityDays ?? CA_VALIDITY_DAYS),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, cryptoProvider),
      ],
    },
    cryptoProvider,
  );
  return {
    certPem: cert.toString('pem').replace(/\r\n/g, '\n') + '\n',
    keyPem: await exportKeyPem(keys.privateKey),
  };
}

/** Splits hosts into DNS names (lower-cased) and IP addresses, dropping duplicates and empty entries. */
export function splitHosts(hosts: readonly string[]): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = new Set<string>();
  const ipAddresses = new Set<string>();
  for (const raw of hosts) {
    const host = raw.trim();
    if (host === '') continue;
    if (isIP(host)) ipAddresses.add(host);
    else dnsNames.add(host.toLowerCase());
  }
  return { dnsNames: [...dnsNames], ipAddresses: [...ipAddresses] };
}

const EXTENDED_USAGES: Record<LeafOptions['usage'], string[]> = {
  server: [x509.ExtendedKeyUsage.serverAuth],
  client: [x509.ExtendedKeyUsage.clientAuth],
  'server-and-client': [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
};

/** Issues a leaf certificate with a new P-256 key, signed by the CA. */
export async function issueLeaf(ca: CertAndKey, options: LeafOptions): Promise<CertAndKey> {
  const keys = await newKeyPair();
  const now = options.now ?? new Date();
  const certPem = await signLeaf(ca, {
    publicKey: keys.publicKey,
    commonName: options.commonName,
    organizations: options.organizations,
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    extendedUsages: EXTENDED_USAGES[options.usage],
    hosts: options.hosts,
    ...validity(now, options.validityDays ?? LEAF_VALIDITY_DAYS),
  });
  return { certPem, keyPem: await exportKeyPem(keys.privateKey) };
}

export interface SignLeafOptions {
  /** The subject's public key: a WebCrypto key or SubjectPublicKeyInfo DER (from a CSR). */
  publicKey: CryptoKey | Uint8Array;
  commonName: string;
  organizations?: readonly string[] | undefined;
  /** x509.KeyUsageFlags bits. */
  keyUsage: number;
  /** Extended key usage OIDs. */
  extendedUsages: readonly string[];
  hosts?: readonly string[] | undefined;
  notBefore: Date;
  notAfter: Date;
}

/** KeyUsage bits and extended key usage OIDs of CertificateSigningRequest usages (`client auth`, ...). */
export function csrUsagesToExtensions(usages: readonly string[]): {
  keyUsage: number;
  extendedUsages: string[];
} {
  const flags: Record<string, number> = {
    'digital signature': x509.KeyUsageFlags.digitalSignature,
    'key encipherment': x509.KeyUsageFlags.keyEncipherment,
    'content commitment': x509.KeyUsageFlags.nonRepudiation,
    'key agreement': x509.KeyUsageFlags.keyAgreement,
    'data encipherment': x509.KeyUsageFlags.dataEncipherment,
    'cert sign': x509.KeyUsageFlags.keyCertSign,
    'crl sign': x509.KeyUsageFlags.cRLSign,
    'encipher only': x509.KeyUsageFlags.encipherOnly,
    'decipher only': x509.KeyUsageFlags.decipherOnly,
  };
  const eku: Record<string, string> = {
    'server auth': x509.ExtendedKeyUsage.serverAuth,
    'client auth': x509.ExtendedKeyUsage.clientAuth,
    'code signing': x509.ExtendedKeyUsage.codeSigning,
    'email protection': x509.ExtendedKeyUsage.emailProtection,
    timestamping: x509.ExtendedKeyUsage.timeStamping,
    'ocsp signing': x509.ExtendedKeyUsage.ocspSigning,
  };
  let keyUsage = 0;
  const extendedUsages: string[] = [];
  for (const u of usages) {
    if (flags[u] !== undefined) keyUsage |= flags[u]!;
    if (eku[u] !== undefined) extendedUsages.push(eku[u]!);
  }
  return { keyUsage, extendedUsages };
}

/** Signs a leaf certificate for a given public key with the CA; returns its PEM. */
export async function signLeaf(ca: CertAndKey, options: SignLeafOptions): Promise<string> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const signer = await importSigningKey(ca.keyPem);
  const publicKey =
    options.publicKey instanceof Uint8Array ? new Uint8Array(options.publicKey) : options.publicKey;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    await x509.SubjectKeyIdentifierExtension.create(publicKey, false, cryptoProvider),
  ];
  // An empty KeyUsage is invalid X.509 (OpenSSL refuses the certificate); Go omits it too.
  if (options.keyUsage !== 0) extensions.push(new x509.KeyUsagesExtension(options.keyUsage, true));
  if (options.extendedUsages.length)
    extensions.push(new x509.ExtendedKeyUsageExtension([...options.extendedUsages]));
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  if (caKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(caKeyId));
  const { dnsNames, ipAddresses } = splitHosts(options.hosts ?? []);
  if (dnsNames.length + ipAddresses.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: subjectName(options.commonName, options.organizations),
      issuer: caCert.subjectName,
      publicKey,
      signingKey: signer.key,
      signingAlgorithm: signer.algorithm,
      notBefore: options.notBefore,
      notAfter: options.notAfter,
      extensions,
    },
    cryptoProvider,
  );
  return cert.toString('pem').replace(/\r\n/g, '\n') + '\n';
}

export interface CsrOptions {
  commonName: string;
  organizations?: readonly string[] | undefined;
  /** DNS names and IP addresses for the subjectAltName (serving certificates). */
  hosts?: readonly string[] | undefined;
}

/** A new P-256 key and a PKCS#10 request for it (both PEM), as a kubelet sends in a CSR. */
export async function createCsr(options: CsrOptions): Promise<{ csrPem: string; keyPem: string }> {
  const keys = await newKeyPair();
  const { dnsNames, ipAddresses } = splitHosts(options.hosts ?? []);
  const extensions: x509.Extension[] = [];
  if (dnsNames.length + ipAddresses.length > 0)
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
    );
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: subjectName(options.commonName, options.organizations),
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
      extensions,
    },
    cryptoProvider,
  );
  return {
    csrPem: csr.toString('pem').replace(/\r\n/g, '\n') + '\n',
    keyPem: await exportKeyPem(keys.privateKey),
  };
}
