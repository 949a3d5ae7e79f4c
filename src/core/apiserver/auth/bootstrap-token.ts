/**
 * Bootstrap tokens as Secrets (kubeadm's format): `kube-system/bootstrap-token-<id>` of type
 * `bootstrap.kubernetes.io/token` with the data keys token-id, token-secret, expiration (RFC 3339),
 * usage-bootstrap-authentication, usage-bootstrap-signing, auth-extra-groups and description.
 * Pure: building such a Secret, reading one, and deciding which user a presented token is.
 */
import { timingSafeEqual } from 'node:crypto';
import type { UserInfo } from './authenticator.js';
import { withAuthenticatedGroup } from './authenticator.js';

export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_NAMESPACE = 'kube-system';
export const BOOTSTRAP_TOKEN_PREFIX = 'bootstrap-token-';
/** Every bootstrap-token user is in this group (upstream). */
export const GROUP_BOOTSTRAPPERS = 'system:bootstrappers';
/** User name of a bootstrap token: `system:bootstrap:<id>`. */
export const BOOTSTRAP_USER_PREFIX = 'system:bootstrap:';
/** The extra group kubeadm gives node join tokens; k8ts's tokens carry it too. */
export const DEFAULT_EXTRA_GROUP = 'system:bootstrappers:k8ts:default-node-token';
const EXTRA_GROUP_RE = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;

type KObj = Record<string, any>;

export interface BootstrapTokenFields {
  id: string;
  secret: string;
  /** Absent: never expires. */
  expiration?: Date | undefined;
  usages: string[];
  extraGroups: string[];
  description?: string | undefined;
}

/** Name of the Secret of token `id`. */
export function bootstrapSecretName(id: string): string {
  return `${BOOTSTRAP_TOKEN_PREFIX}${id}`;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** The Secret that stores a token (data base64-encoded, as the API returns it). */
export function bootstrapTokenSecret(t: BootstrapTokenFields): KObj {
  const data: Record<string, string> = { 'token-id': t.id, 'token-secret': t.secret };
  if (t.expiration) data.expiration = `${t.expiration.toISOString().slice(0, 19)}Z`;
  for (const u of t.usages) data[`usage-bootstrap-${u}`] = 'true';
  if (t.extraGroups.length) data['auth-extra-groups'] = t.extraGroups.join(',');
  if (t.description) data.description = t.description;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: bootstrapSecretName(t.id), namespace: BOOTSTRAP_TOKEN_NAMESPACE },
    type: BOOTSTRAP_TOKEN_SECRET_TYPE,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

function field(secret: KObj, key: string): string | undefined {
  const d = secret.data?.[key];
  if (typeof d === 'string') return Buffer.from(d, 'base64').toString('utf8');
  const s = secret.stringData?.[key];
  return typeof s === 'string' ? s : undefined;
}

/** Read a bootstrap token Secret; undefined if it is not one (wrong type, name or fields). */
export function readBootstrapSecret(secret: KObj): BootstrapTokenFields | undefined {
  if (secret.type !== BOOTSTRAP_TOKEN_SECRET_TYPE) return undefined;
  const name: string = secret.metadata?.name ?? '';
  const id = field(secret, 'token-id');
  const sec = field(secret, 'token-secret');
  if (!id || !sec || name !== bootstrapSecretName(id)) return undefined;
  const exp = field(secret, 'expiration');
  const expiration = exp ? new Date(exp) : undefined;
  const usages = Object.keys({ ...(secret.data ?? {}), ...(secret.stringData ?? {}) })
    .filter((k) => k.startsWith('usage-bootstrap-') && field(secret, k) === 'true')
    .map((k) => k.slice('usage-bootstrap-'.length))
    .sort();
  const groups = (field(secret, 'auth-extra-groups') ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  return {
    id,
    secret: sec,
    expiration,
    usages,
    extraGroups: groups,
    description: field(secret, 'description'),
  };
}

/**
 * The user a presented `<id>.<secret>` stands for, given the Secret of that id (or undefined),
 * as upstream's bootstrap token authenticator decides: the Secret must be a live bootstrap token
 * Secret allowing authentication, not expired, with the same secret (constant-time compare) and
 * valid extra groups. Anything else is undefined (401).
 */
export function bootstrapTokenUser(
  presented: { id: string; secret: string },
  secret: KObj | undefined,
  now: Date,
): UserInfo | undefined {
  if (!secret || secret.metadata?.deletionTimestamp) return undefined;
  const t = readBootstrapSecret(secret);
  if (!t || t.id !== presented.id) return undefined;
  const a = Buffer.from(t.secret);
  const b = Buffer.from(presented.secret);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
  if (t.expiration && !(t.expiration.getTime() > now.getTime())) return undefined;
  if (Number.isNaN(t.expiration?.getTime())) return undefined;
  if (!t.usages.includes('authentication')) return undefined;
  if (t.extraGroups.some((g) => !EXTRA_GROUP_RE.test(g))) return undefined;
  return {
    name: `${BOOTSTRAP_USER_PREFIX}${t.id}`,
    groups: withAuthenticatedGroup([GROUP_BOOTSTRAPPERS, ...t.extraGroups]),
  };
}
