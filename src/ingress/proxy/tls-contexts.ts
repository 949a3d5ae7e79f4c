/**
 * Secure contexts for the HTTPS listener, chosen by SNI through RouteTable.certificateFor.
 * Contexts are cached by `key + version`: a rotated Secret (new version) gets a new context for
 * new handshakes while connections already open keep theirs, so nothing is dropped. When no
 * certificate matches (or there is no SNI), the generated default certificate answers, as
 * ingress-nginx's "Kubernetes Ingress Controller Fake Certificate".
 */
import tls from 'node:tls';
import { createCa } from '../../core/apiserver/pki/certs.js';
import type { RouteTable, TlsCertificate } from '../route-table.js';

/** The subject of the generated default certificate (the name ingress-nginx users know). */
export const FAKE_CERT_CN = 'Kubernetes Ingress Controller Fake Certificate';

/** A self-signed certificate and key for the default server. */
export async function fakeCertificate(): Promise<{ certPem: string; keyPem: string }> {
  return createCa({ commonName: FAKE_CERT_CN, validityDays: 365 });
}

export interface TlsContextsOptions {
  defaultCert: { certPem: string; keyPem: string };
  /** Called when a Secret's PEM cannot be loaded (the default certificate is served instead). */
  onError?: (cert: TlsCertificate, err: Error) => void;
}

/** SNI -> SecureContext, with a cache that outlives table swaps. */
export class TlsContexts {
  readonly defaultContext: tls.SecureContext;
  private readonly cache = new Map<string, { ctx: tls.SecureContext; names: Set<string> }>();
  private readonly failed = new Set<string>();
  private readonly onError: ((cert: TlsCertificate, err: Error) => void) | undefined;

  constructor(options: TlsContextsOptions) {
    this.defaultContext = tls.createSecureContext({
      cert: options.defaultCert.certPem,
      key: options.defaultCert.keyPem,
    });
    this.onError = options.onError;
  }

  /** The context for `serverName` in `table`. */
  contextFor(table: RouteTable | undefined, serverName: string): tls.SecureContext {
    const name = serverName.toLowerCase();
    const cert = name && table ? table.certificateFor(name) : undefined;
    if (!cert) return this.defaultContext;
    const id = TlsContexts.id(cert);
    const hit = this.cache.get(id);
    if (hit) {
      hit.names.add(name);
      return hit.ctx;
    }
    if (this.failed.has(id)) return this.defaultContext;
    try {
      const ctx = tls.createSecureContext({ cert: cert.certPem, key: cert.keyPem });
      this.cache.set(id, { ctx, names: new Set([name]) });
      return ctx;
    } catch (err) {
      this.failed.add(id);
      this.onError?.(cert, err as Error);
      return this.defaultContext;
    }
  }

  /**
   * Drop contexts no server name of `table` resolves to any more (a rotated or deleted Secret);
   * connections already open keep the context they were handshaken with.
   */
  prune(table: RouteTable): void {
    for (const [id, entry] of this.cache) {
      for (const name of entry.names) {
        const cert = table.certificateFor(name);
        if (!cert || TlsContexts.id(cert) !== id) entry.names.delete(name);
      }
      if (entry.names.size === 0) this.cache.delete(id);
    }
    this.failed.clear();
  }

  /** The cache id of a certificate (`key` + `version`). */
  static id(cert: TlsCertificate): string {
    return `${cert.key}\u0000${cert.version}`;
  }
}
