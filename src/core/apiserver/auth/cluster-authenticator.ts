/** The API server's authentication chain: client certificates of the cluster CA, static tokens, bootstrap tokens. */

import { type Authenticator, GROUP_MASTERS, UnionAuthenticator } from './authenticator.js';
import { type BootstrapSecretLookup, BootstrapTokenAuthenticator } from './bootstrap-token-authenticator.js';
import { type StaticToken, StaticTokenAuthenticator } from './token-authenticator.js';
import { X509Authenticator } from './x509-authenticator.js';

/** The user the admin bearer token stands for (the same identity as the admin client certificate). */
export const ADMIN_TOKEN_USER = { name: 'system:admin', groups: [GROUP_MASTERS] } as const;

export interface ClusterAuthenticatorOptions {
  /** The admin bearer token (Pki.adminToken). */
  adminToken: string;
  /** More static tokens (e.g. node join tokens). */
  tokens?: readonly StaticToken[] | undefined;
  /** Bootstrap token Secrets (kube-system/bootstrap-token-<id>); no bootstrap tokens without it. */
  bootstrapSecrets?: BootstrapSecretLookup | undefined;
}

/** x509 client certificates first (as upstream orders them), then the static bearer tokens, then bootstrap tokens. */
export function createClusterAuthenticator(options: ClusterAuthenticatorOptions): Authenticator {
  const tokens: StaticToken[] = [
    {
      token: options.adminToken,
      user: { name: ADMIN_TOKEN_USER.name, groups: [...ADMIN_TOKEN_USER.groups] },
    },
    ...(options.tokens ?? []),
  ];
  return new UnionAuthenticator([
    new X509Authenticator(),
    new StaticTokenAuthenticator(tokens),
    ...(options.bootstrapSecrets ? [new BootstrapTokenAuthenticator(options.bootstrapSecrets)] : []),
  ]);
}
