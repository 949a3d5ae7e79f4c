/**
 * What a bootstrap token may do. Without RBAC (TODO(#10)) every authenticated user may do
 * everything, and a join token would be a cluster-admin credential; upstream binds
 * system:bootstrappers to the system:node-bootstrapper role (CSRs: create, get, list, watch) plus
 * discovery. This authorizer keeps a bootstrap-token user to that, plus `get` on nodes (the agent
 * checks its node name is free), and hands everyone else to the next authorizer.
 */
import type { AuthorizationAttributes, AuthorizationDecision, Authorizer } from './authorizer.js';
import { BOOTSTRAP_USER_PREFIX, GROUP_BOOTSTRAPPERS } from './bootstrap-token.js';

const CSR_VERBS = new Set(['create', 'get', 'list', 'watch']);
const DISCOVERY = /^\/(api|apis|version|healthz|livez|readyz|openapi)(\/|$)/;

/** Whether a bootstrap-token request is within the bootstrapper's role. */
export function bootstrapperMay(a: AuthorizationAttributes): boolean {
  const resourceRequest = a.resourceRequest ?? a.resource !== '';
  if (!resourceRequest) return a.verb === 'get' && DISCOVERY.test(a.path ?? '');
  if (a.apiGroup === 'certificates.k8s.io' && a.resource === 'certificatesigningrequests')
    return a.subresource === undefined && CSR_VERBS.has(a.verb);
  return a.apiGroup === '' && a.resource === 'nodes' && a.subresource === undefined && a.verb === 'get';
}

export class BootstrapTokenScope implements Authorizer {
  readonly #next: Authorizer;

  constructor(next: Authorizer) {
    this.#next = next;
  }

  authorize(attrs: AuthorizationAttributes): AuthorizationDecision {
    const u = attrs.user;
    if (u.name.startsWith(BOOTSTRAP_USER_PREFIX) && u.groups.includes(GROUP_BOOTSTRAPPERS)) {
      if (!bootstrapperMay(attrs))
        return {
          allowed: false,
          reason: 'a bootstrap token may only create and read CertificateSigningRequests',
        };
    }
    return this.#next.authorize(attrs);
  }
}
