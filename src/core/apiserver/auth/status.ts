/** The Status answers of failed authentication (401) and denied authorization (403), worded as upstream. */

import type { Status, StatusDetails } from 'kubernetes-types/meta/v1.js';
import type { AuthorizationAttributes } from './authorizer.js';

type ForbiddenAttributes = Omit<AuthorizationAttributes, 'user'> & { user?: { name: string } | undefined };

function isResourceRequest(attrs: ForbiddenAttributes): boolean {
  return attrs.resourceRequest ?? attrs.resource !== '';
}

/**
 * The reason part of a Forbidden message: `User "x" cannot list resource "pods" in API group "" in
 * the namespace "default"` (or `at the cluster scope`, or `cannot get path "/x"`), then `: <reason>`.
 */
export function forbiddenReason(attrs: ForbiddenAttributes, reason?: string): string {
  const user = JSON.stringify(attrs.user?.name ?? '');
  let text: string;
  if (!isResourceRequest(attrs)) {
    text = `User ${user} cannot ${attrs.verb} path ${JSON.stringify(attrs.path ?? '')}`;
  } else {
    const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    const where = attrs.namespace
      ? `in the namespace ${JSON.stringify(attrs.namespace)}`
      : 'at the cluster scope';
    text = `User ${user} cannot ${attrs.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attrs.apiGroup)} ${where}`;
  }
  return reason ? `${text}: ${reason}` : text;
}

/**
 * The full message of a 403 Status, e.g. `pods is forbidden: User "x" cannot list resource "pods"
 * in API group "" in the namespace "default"`; `deployments.apps "web" is forbidden: ...` when a
 * name is known; `forbidden: User "x" cannot get path "/metrics"` for a non-resource request.
 */
export function forbiddenMessage(attrs: ForbiddenAttributes, reason?: string): string {
  const why = forbiddenReason(attrs, reason);
  if (!isResourceRequest(attrs) || attrs.resource === '') return `forbidden: ${why}`;
  const qualified = attrs.apiGroup ? `${attrs.resource}.${attrs.apiGroup}` : attrs.resource;
  if (attrs.name) return `${qualified} ${JSON.stringify(attrs.name)} is forbidden: ${why}`;
  return `${qualified} is forbidden: ${why}`;
}

/** The 403 Status for a denied request. */
export function forbiddenStatus(attrs: ForbiddenAttributes, reason?: string): Status {
  const details: StatusDetails = {};
  if (isResourceRequest(attrs)) {
    if (attrs.name) details.name = attrs.name;
    if (attrs.apiGroup) details.group = attrs.apiGroup;
    if (attrs.resource) details.kind = attrs.resource;
  }
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: forbiddenMessage(attrs, reason),
    reason: 'Forbidden',
    details,
    code: 403,
  };
}

/** The 401 Status for a request no authenticator recognized. */
export function unauthorizedStatus(): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'Unauthorized',
    reason: 'Unauthorized',
    code: 401,
  };
}
