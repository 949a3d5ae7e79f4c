/**
 * Static bearer tokens (`Authorization: Bearer <token>`), like upstream's --token-auth-file. A
 * presented token is checked as a SHA-256 digest, compared in constant time against every entry,
 * so neither the comparison nor the lookup reveals through timing how much of a guess was right.
 * A token that passed is remembered (a map from the token to its user), so the clients that
 * present it on every request (kubectl, scripts with the admin token) skip the hash; a map lookup
 * only tells a guess apart by its hash bucket, which says nothing about the token's characters.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type Authenticator,
  type AuthRequest,
  type UserInfo,
  withAuthenticatedGroup,
} from './authenticator.js';

export interface StaticToken {
  token: string;
  user: UserInfo;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or undefined. */
export function bearerToken(headers: AuthRequest['headers']): string | undefined {
  const raw = headers['authorization'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

export class StaticTokenAuthenticator implements Authenticator {
  readonly #entries: Array<{ digest: Buffer; user: UserInfo }>;
  /**
   * Tokens that matched an entry. The entries are fixed for the authenticator's life (a new token
   * set means a new authenticator), so a token never leaves; only tokens equal to an entry's get
   * in, so the map holds at most one key per entry.
   */
  readonly #accepted = new Map<string, UserInfo>();

  constructor(tokens: readonly StaticToken[]) {
    this.#entries = tokens
      .filter((t) => t.token !== '')
      .map((t) => ({
        digest: digest(t.token),
        user: { ...t.user, groups: withAuthenticatedGroup(t.user.groups) },
      }));
  }

  authenticate(req: AuthRequest): UserInfo | undefined {
    const token = bearerToken(req.headers);
    if (token === undefined) return undefined;
    let found = this.#accepted.get(token);
    if (found === undefined) {
      found = this.#check(token);
      if (found !== undefined) this.#accepted.set(token, found);
    }
    return found ? { ...found, groups: [...found.groups] } : undefined;
  }

  #check(token: string): UserInfo | undefined {
    const presented = digest(token);
    let found: UserInfo | undefined;
    // No early exit: every entry is compared whatever matched.
    for (const entry of this.#entries) {
      if (timingSafeEqual(presented, entry.digest) && !found) found = entry.user;
    }
    return found;
  }
}
