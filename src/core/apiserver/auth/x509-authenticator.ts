/**
 * Client-certificate authentication. The chain is verified by TLS itself: the server listens with
 * `ca` = the cluster CA, `requestCert: true` and `rejectUnauthorized: false` (so token clients can
 * connect without a certificate), and `socket.authorized` says whether the client presented a
 * certificate that chains to the CA. The subject's CN is the user name, each O a group, as upstream.
 */

import type { PeerCertificate } from 'node:tls';
import {
  type Authenticator,
  type AuthRequest,
  type UserInfo,
  withAuthenticatedGroup,
} from './authenticator.js';

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

/** The TLS socket methods this authenticator uses. */
interface PeerCertSource {
  authorized: boolean;
  getPeerCertificate(detailed?: boolean): PeerCertificate | Record<string, never>;
}

function isPeerCertSource(socket: unknown): socket is PeerCertSource {
  return (
    typeof socket === 'object' &&
    socket !== null &&
    'getPeerCertificate' in socket &&
    typeof (socket as { getPeerCertificate: unknown }).getPeerCertificate === 'function'
  );
}

function values(field: string | string[] | undefined): string[] {
  if (field === undefined) return [];
  return Array.isArray(field) ? field : [field];
}

export class X509Authenticator implements Authenticator {
  /**
   * The peer certificate cannot change on a TLS connection (no renegotiation), so the identity is
   * computed once per socket: getPeerCertificate() builds a large object and showed as 8% of the
   * CPU of a create under load.
   */
  private readonly bySocket = new WeakMap<object, UserInfo | null>();

  authenticate(req: AuthRequest): UserInfo | undefined {
    const socket = req.socket;
    if (!isPeerCertSource(socket) || socket.authorized !== true) return undefined;
    const cached = this.bySocket.get(socket);
    if (cached !== undefined) return cached ?? undefined;
    const user = this.fromCertificate(socket);
    this.bySocket.set(socket, user ?? null);
    return user;
  }

  private fromCertificate(socket: { getPeerCertificate(): PeerCertificate | object }): UserInfo | undefined {
    const cert = socket.getPeerCertificate();
    if (!cert || !('subject' in cert) || !cert.subject) return undefined;
    // A certificate that restricts its use must allow client authentication (Go checks the same).
    const usages = (cert as PeerCertificate & { ext_key_usage?: string[] }).ext_key_usage;
    if (usages && usages.length > 0 && !usages.includes(CLIENT_AUTH_OID)) return undefined;
    const name = values(cert.subject.CN)[0];
    if (!name) return undefined;
    return { name, groups: withAuthenticatedGroup(values(cert.subject.O)) };
  }
}
