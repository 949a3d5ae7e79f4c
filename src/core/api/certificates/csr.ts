/**
 * PKCS#10 certificate signing requests as CertificateSigningRequest.spec.request carries them
 * (PEM, base64-encoded once more by JSON): parse, check the self-signature synchronously (node's
 * crypto.verify, so validation stays synchronous), and expose what approvers look at: subject CN
 * and O, SANs, the public key. Parsing uses @peculiar/x509; the signed bytes are cut out of the
 * DER directly because the library keeps them private.
 */
import { createPublicKey, verify } from 'node:crypto';
import '../../apiserver/pki/reflect-metadata-shim.js';
import * as x509 from '@peculiar/x509';

export class CsrParseError extends Error {
  readonly code = 'CSR_PARSE';
  constructor(message: string) {
    super(message);
    this.name = 'CsrParseError';
  }
}

export interface ParsedCsr {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  emailAddresses: string[];
  uris: string[];
  /** SubjectPublicKeyInfo, DER. */
  publicKeyDer: Buffer;
}

/** The TLVs directly inside the DER SEQUENCE at `buf` (offsets into buf). */
function derChildren(buf: Buffer): { start: number; headerLen: number; len: number }[] {
  const read = (at: number): { headerLen: number; len: number } => {
    if (at + 2 > buf.length) throw new CsrParseError('asn1: syntax error: data truncated');
    const first = buf[at + 1]!;
    if (first < 0x80) return { headerLen: 2, len: first };
    const n = first & 0x7f;
    if (n === 0 || n > 4 || at + 2 + n > buf.length)
      throw new CsrParseError('asn1: syntax error: invalid length');
    let len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
    return { headerLen: 2 + n, len };
  };
  if (buf[0] !== 0x30) throw new CsrParseError("asn1: structure error: tags don't match");
  const outer = read(0);
  const end = outer.headerLen + outer.len;
  if (end > buf.length) throw new CsrParseError('asn1: syntax error: data truncated');
  const out: { start: number; headerLen: number; len: number }[] = [];
  for (let at = outer.headerLen; at < end; ) {
    const h = read(at);
    out.push({ start: at, ...h });
    at += h.headerLen + h.len;
  }
  return out;
}

const HASHES: Record<string, string> = {
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

/** The first PEM block of `text`: its type and DER bytes. */
function firstPemBlock(text: string): { type: string; der: Buffer } | undefined {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) return undefined;
  if (/^[A-Za-z-]+:/m.test(m[2]!)) return { type: m[1]!, der: Buffer.alloc(0) };
  return { type: m[1]!, der: Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64') };
}

/**
 * Parse a PEM CSR (as text or bytes) and verify its signature; throws CsrParseError with
 * upstream's wording ("PEM block type must be CERTIFICATE REQUEST", signature failures).
 */
export function parseCsrPem(pem: string | Buffer): ParsedCsr {
  const block = firstPemBlock(typeof pem === 'string' ? pem : pem.toString('latin1'));
  if (block?.type !== 'CERTIFICATE REQUEST')
    throw new CsrParseError('PEM block type must be CERTIFICATE REQUEST');
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(new Uint8Array(block.der));
  } catch (e) {
    throw new CsrParseError(`asn1: structure error: ${(e as Error).message}`);
  }
  const parts = derChildren(block.der);
  if (parts.length !== 3) throw new CsrParseError('asn1: structure error: sequence truncated');
  const info = parts[0]!;
  const sigTlv = parts[2]!;
  const tbs = block.der.subarray(info.start, info.start + info.headerLen + info.len);
  // BIT STRING: the first content byte is the count of unused bits (0 for signatures).
  const signature = block.der.subarray(
    sigTlv.start + sigTlv.headerLen + 1,
    sigTlv.start + sigTlv.headerLen + sigTlv.len,
  );
  const publicKeyDer = Buffer.from(csr.publicKey.rawData);
  const key = createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' });
  const alg = csr.signatureAlgorithm as { name: string; hash?: { name: string } };
  const hash = alg.hash ? HASHES[alg.hash.name] : undefined;
  const ed = key.asymmetricKeyType === 'ed25519';
  if (!ed && !hash) throw new CsrParseError(`x509: cannot verify signature: algorithm unimplemented`);
  if (!verify(ed ? null : hash!, tbs, key, signature)) {
    const kind =
      key.asymmetricKeyType === 'ec' ? 'x509: ECDSA verification failure' : 'crypto/rsa: verification error';
    throw new CsrParseError(ed ? 'x509: Ed25519 verification failure' : kind);
  }
  const names = csr.subjectName.toJSON();
  const values = (type: string) => names.flatMap((rdn) => (rdn as Record<string, string[]>)[type] ?? []);
  const san = csr.extensions.find((e) => e instanceof x509.SubjectAlternativeNameExtension);
  const gn = san ? (san as x509.SubjectAlternativeNameExtension).names.toJSON() : [];
  const ofType = (t: string) => gn.filter((n) => n.type === t).map((n) => n.value);
  return {
    commonName: values('CN')[0] ?? '',
    organizations: values('O'),
    dnsNames: ofType('dns'),
    ipAddresses: ofType('ip'),
    emailAddresses: ofType('email'),
    uris: ofType('url'),
    publicKeyDer,
  };
}

/** spec.request as stored (base64 of the PEM) -> parsed CSR. */
export function parseCsrRequest(request: unknown): ParsedCsr {
  if (typeof request !== 'string' || request === '')
    throw new CsrParseError('PEM block type must be CERTIFICATE REQUEST');
  return parseCsrPem(Buffer.from(request, 'base64'));
}
