/**
 * API errors as Kubernetes metav1.Status objects. Every failure the API server answers with goes
 * through ApiError so that kubectl and client libraries print it the way they do for upstream.
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error answered as a metav1.Status with an HTTP code and a reason. */
export class ApiError extends Error {
  readonly code: string;
  readonly httpCode: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;
  constructor(httpCode: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'ApiError';
    this.httpCode = httpCode;
    this.reason = reason;
    this.code = reason;
    this.details = details;
  }

  /** The Status body of this error. */
  toStatus(): Status {
    const s: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.httpCode,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** What an error message calls a resource: `deployments.apps`, or `pods` in the core group. */
export function qualifiedResource(r: { plural: string; group: string }): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

type Res = { plural: string; group: string };

/** 404: `pods "x" not found`. */
export function notFound(r: Res, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(r)} "${name}" not found`, {
    name,
    group: r.group,
    kind: r.plural,
  });
}

/** 409 AlreadyExists: `pods "x" already exists`. */
export function alreadyExists(r: Res, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(r)} "${name}" already exists`, {
    name,
    group: r.group,
    kind: r.plural,
  });
}

/** 409 Conflict for a stale resourceVersion or a failed precondition. */
export function conflict(r: Res, name: string, why: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(r)} "${name}": ${why}`,
    {
      name,
      group: r.group,
      kind: r.plural,
    },
  );
}

/** The standard message of a stale-resourceVersion conflict. */
export const OBJECT_MODIFIED =
  'the object has been modified; please apply your changes to the latest version and try again';

/** 422 Invalid with field causes. */
export function invalid(opts: {
  kind: string;
  group: string;
  name: string;
  message: string;
  causes: StatusCause[];
}): ApiError {
  return new ApiError(422, 'Invalid', opts.message, {
    name: opts.name,
    group: opts.group,
    kind: opts.kind,
    causes: opts.causes,
  });
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** 405 MethodNotAllowed. */
export function methodNotSupported(r: Res, verb: string): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    `${verb} is not supported on resources of kind "${qualifiedResource(r)}"`,
  );
}

/** 410 Expired: the requested resourceVersion is compacted. */
export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

/** 401 Unauthorized. */
export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

/** 403 Forbidden. */
export function forbidden(message: string, details?: StatusDetails): ApiError {
  return new ApiError(403, 'Forbidden', message, details);
}

/** 415 UnsupportedMediaType. */
export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (not here: ${contentType})`,
  );
}

/** 406 NotAcceptable. */
export function notAcceptable(accept: string): ApiError {
  return new ApiError(
    406,
    'NotAcceptable',
    `only the following media types are accepted: application/json, application/yaml (requested: ${accept})`,
  );
}

/** 413 RequestEntityTooLarge. */
export function tooLarge(limit: number): ApiError {
  return new ApiError(413, 'RequestEntityTooLarge', `the request body is too large: limit is ${limit} bytes`);
}

/** 500 InternalError. */
export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

/** 504 Timeout for a storage operation that did not finish. */
export function timeout(message: string): ApiError {
  return new ApiError(504, 'Timeout', message);
}
