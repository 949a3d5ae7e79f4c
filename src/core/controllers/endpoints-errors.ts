/**
 * Errors of the Endpoints / EndpointSlice controllers. Thrown from a sync so the work queue retries
 * the service with backoff; each has a stable `code`.
 */
import { ApiStatusError } from '../client/rest-client.js';

/** Selected pods name nodes the cache does not have: they were left out, retry later. */
export class NodeNotFoundError extends Error {
  readonly code = 'NodeNotFound';
  readonly nodes: string[];
  constructor(service: string, nodes: string[]) {
    super(
      `service ${service}: skipped pods on missing node(s) ${nodes.map((n) => n || '<none>').join(', ')}`,
    );
    this.name = 'NodeNotFoundError';
    this.nodes = nodes;
  }
}

/** A create refused because the namespace is going away (or gone): nothing left to do. */
export function isNamespaceGone(e: unknown): boolean {
  if (!(e instanceof ApiStatusError)) return false;
  if (e.httpStatus === 404 && e.status?.details?.kind === 'namespaces') return true;
  if (e.httpStatus !== 403) return false;
  const causes: { reason?: string; type?: string }[] = e.status?.details?.causes ?? [];
  return causes.some((c) => c.reason === 'NamespaceTerminating' || c.type === 'NamespaceTerminating');
}

/** The answer was 404 Not Found. */
export function isNotFound(e: unknown): boolean {
  return e instanceof ApiStatusError && e.httpStatus === 404;
}

/** The answer was 409 (AlreadyExists or Conflict). */
export function isConflict(e: unknown): boolean {
  return e instanceof ApiStatusError && e.httpStatus === 409;
}
