/**
 * Authorization: may this user do this verb on this resource (or non-resource path)? RBAC comes
 * later; until then AllowAuthenticated lets every authenticated user do everything.
 */

import { GROUP_AUTHENTICATED, type UserInfo } from './authenticator.js';

export interface AuthorizationAttributes {
  user: UserInfo;
  /** Kubernetes verb (`get`, `list`, `create`, ...) or, for a non-resource path, the lower-case HTTP method. */
  verb: string;
  /** API group; '' for the core group. */
  apiGroup: string;
  /** Plural resource; '' for a non-resource request. */
  resource: string;
  subresource?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  /** Request path, used for non-resource requests (`/healthz`). */
  path?: string | undefined;
  /** True for a resource request; when absent, a non-empty `resource` means a resource request. */
  resourceRequest?: boolean | undefined;
  /** API version of the request; only shown in the Forbidden Status details. */
  apiVersion?: string | undefined;
}

export interface AuthorizationDecision {
  allowed: boolean;
  /** Why it was denied (appended to the Forbidden message) or allowed. */
  reason?: string;
}

export interface Authorizer {
  authorize(attrs: AuthorizationAttributes): AuthorizationDecision;
}

/** Allows any request of a user in `system:authenticated`; denies anyone else (anonymous). */
export class AllowAuthenticated implements Authorizer {
  authorize(attrs: AuthorizationAttributes): AuthorizationDecision {
    if (attrs.user.groups.includes(GROUP_AUTHENTICATED)) return { allowed: true };
    return { allowed: false, reason: 'only authenticated users are allowed' };
  }
}
