/**
 * Join tokens (k3s's "secure" format): `K10<sha256 of the CA bundle>::<token-id>.<token-secret>`.
 * The id and secret are a kubeadm bootstrap token (`[a-z0-9]{6}.[a-z0-9]{16}`), stored as the
 * Secret `kube-system/bootstrap-token-<id>`; the hash pins the cluster CA so that an agent trusts
 * nothing but that CA, even over a network it does not trust.
 *
 * The hash is the SHA-256 of the exact bytes `GET /cacerts` serves (the CA certificate as PEM,
 * with its trailing newline), as k3s hashes its cacerts body: an agent hashes what it received,
 * without parsing it first.
 */
import { createHash, randomInt } from 'node:crypto';
import { JoinError } from './errors.js';

export const TOKEN_PREFIX = 'K10';
const ID_RE = /^[a-z0-9]{6}$/;
const SECRET_RE = /^[a-z0-9]{16}$/;
const BOOTSTRAP_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface BootstrapToken {
  id: string;
  secret: string;
}

export interface JoinToken extends BootstrapToken {
  /** Hex SHA-256 of the CA bundle; undefined for a bare `<id>.<secret>` (no CA pinning). */
  caHash?: string | undefined;
}

/** The hex SHA-256 of the CA bundle as served by /cacerts. */
export function caHash(caPem: string | Buffer): string {
  return createHash('sha256').update(caPem).digest('hex');
}

function randomChars(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** A new random bootstrap token (kubeadm's alphabet and lengths). */
export function generateBootstrapToken(): BootstrapToken {
  return { id: randomChars(6), secret: randomChars(16) };
}

/** `<id>.<secret>`, the bearer token an agent sends. */
export function bearerOf(t: BootstrapToken): string {
  return `${t.id}.${t.secret}`;
}

/** The full join token a user copies to an agent. */
export function formatJoinToken(t: BootstrapToken, caPem: string | Buffer): string {
  return `${TOKEN_PREFIX}${caHash(caPem)}::${bearerOf(t)}`;
}

/** True if `s` looks like a bootstrap token `<id>.<secret>`. */
export function isBootstrapToken(s: string): boolean {
  return BOOTSTRAP_RE.test(s);
}

/** Check a token id as typed by a user (`k8ts token delete <id>`). */
export function checkTokenId(id: string): string {
  if (!ID_RE.test(id))
    throw new JoinError('TOKEN_FORMAT', `invalid token id "${id}": it must match [a-z0-9]{6}`);
  return id;
}

/**
 * Parse a join token: `K10<64 hex>::<id>.<secret>`, or a bare `<id>.<secret>` (then the CA is
 * not pinned and the caller must have the CA another way). Anything else is a JoinError naming
 * the expected form (the token itself is never echoed: it is a credential).
 */
export function parseJoinToken(raw: string): JoinToken {
  const s = raw.trim();
  const bare = BOOTSTRAP_RE.exec(s);
  if (bare) return { id: bare[1]!, secret: bare[2]! };
  const form = 'K10<sha256 hex of the CA>::<token-id>.<token-secret>';
  if (!s.startsWith(TOKEN_PREFIX))
    throw new JoinError('TOKEN_FORMAT', `the join token must look like ${form}`);
  const sep = s.indexOf('::');
  if (sep < 0) throw new JoinError('TOKEN_FORMAT', `the join token has no "::" (expected ${form})`);
  const hash = s.slice(TOKEN_PREFIX.length, sep).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hash))
    throw new JoinError(
      'TOKEN_FORMAT',
      `the CA hash of the join token is not 64 hex digits (expected ${form})`,
    );
  const cred = s.slice(sep + 2);
  const m = BOOTSTRAP_RE.exec(cred);
  if (!m) {
    const [id = '', secret = ''] = cred.split('.');
    if (!ID_RE.test(id))
      throw new JoinError(
        'TOKEN_FORMAT',
        `the token id of the join token must match [a-z0-9]{6} (expected ${form})`,
      );
    if (!SECRET_RE.test(secret))
      throw new JoinError(
        'TOKEN_FORMAT',
        `the token secret of the join token must match [a-z0-9]{16} (expected ${form})`,
      );
    throw new JoinError('TOKEN_FORMAT', `the join token must look like ${form}`);
  }
  return { id: m[1]!, secret: m[2]!, caHash: hash };
}
