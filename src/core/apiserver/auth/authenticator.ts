/**
 * Authentication: who sent a request. An Authenticator looks at the headers and the TLS socket and
 * answers with the user or undefined ("not me"); the server answers 401 Unauthorized when every
 * authenticator says undefined (see unauthorizedStatus()).
 */

/** The group every authenticated user is in (added by each authenticator, as upstream's group adder does). */
export const GROUP_AUTHENTICATED = 'system:authenticated';
/** Members bypass authorization once RBAC exists (upstream's superuser group). */
export const GROUP_MASTERS = 'system:masters';

export interface UserInfo {
  name: string;
  uid?: string | undefined;
  groups: string[];
}

/** The parts of an HTTP request authentication reads. `socket` is a tls.TLSSocket on HTTPS, anything else otherwise. */
export interface AuthRequest {
  headers: Readonly<Record<string, string | string[] | undefined>>;
  socket?: unknown;
}

export interface Authenticator {
  authenticate(req: AuthRequest): UserInfo | undefined;
}

/** Adds `system:authenticated` to the groups unless present. */
export function withAuthenticatedGroup(groups: readonly string[]): string[] {
  const out = [...new Set(groups)];
  if (!out.includes(GROUP_AUTHENTICATED)) out.push(GROUP_AUTHENTICATED);
  return out;
}

/** Tries each authenticator in order; the first that recognizes the request wins. */
export class UnionAuthenticator implements Authenticator {
  readonly #authenticators: readonly Authenticator[];

  constructor(authenticators: readonly Authenticator[]) {
    this.#authenticators = authenticators;
  }

  authenticate(req: AuthRequest): UserInfo | undefined {
    for (const authenticator of this.#authenticators) {
      const user = authenticator.authenticate(req);
      if (user) return user;
    }
    return undefined;
  }
}
