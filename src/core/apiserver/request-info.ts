/**
 * Parse a request path + method into what the request is about: which API, resource, namespace,
 * name, subresource and verb. Pure; the router and the authorizer both use it.
 */

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceRequest {
  type: 'resource';
  verb: Verb;
  group: string;
  version: string;
  /** Plural resource name. */
  resource: string;
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
  /** The rest of the path after `proxy` (nodes/{name}/proxy/{subpath}), without its leading slash. */
  subpath?: string | undefined;
}

export interface NonResourceRequest {
  type: 'nonresource';
  path: string;
  verb: string;
}

export type RequestInfo = ResourceRequest | NonResourceRequest;

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** Classify a request. `watchParam` is the value of the `watch` query parameter. */
export function parseRequestInfo(
  method: string,
  path: string,
  opts: { watchParam?: string | undefined } = {},
): RequestInfo {
  const parts = path.split('/').filter((p) => p !== '');
  const lowerMethod = method.toLowerCase();
  const nonResource: NonResourceRequest = { type: 'nonresource', path, verb: lowerMethod };
  let rest: string[];
  let group: string;
  let version: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return nonResource;
  }
  let isWatchPath = false;
  if (rest[0] === 'watch') {
    isWatchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  let subpath: string | undefined;
  if (rest.length > 3 && rest[2] === 'proxy') {
    // Keep the proxied path as sent (a trailing slash matters to the backend).
    const idx = path.indexOf(`/${rest[1]}/proxy/`);
    subpath = idx >= 0 ? path.slice(idx + rest[1]!.length + '/proxy/'.length + 1) : rest.slice(3).join('/');
    rest = rest.slice(0, 3);
  } else if (rest.length === 3 && rest[2] === 'proxy') subpath = '';
  if (rest.length === 0 || rest.length > 3) return nonResource;
  const resource = rest[0]!;
  let name = rest[1];
  const subresource = rest[2];
  if (resource === 'namespaces' && namespace !== undefined && rest[0] === 'namespaces') {
    // `/api/v1/namespaces/foo[/status]` is the namespace object itself.
    name = namespace;
    namespace = undefined;
    const sub = rest[2];
    return {
      type: 'resource',
      verb: verbFor(lowerMethod, true, isWatchPath || isTrue(opts.watchParam)),
      group,
      version,
      resource,
      name,
      subresource: sub,
    };
  }
  const watch = isWatchPath || isTrue(opts.watchParam);
  return {
    type: 'resource',
    verb: verbFor(lowerMethod, name !== undefined, watch),
    group,
    version,
    resource,
    namespace,
    name,
    subresource,
    ...(subpath !== undefined ? { subpath } : {}),
  };
}

function isTrue(v: string | undefined): boolean {
  return v === 'true' || v === '1';
}

function verbFor(method: string, hasName: boolean, watch: boolean): Verb {
  switch (method) {
    case 'post':
      return 'create';
    case 'put':
      return 'update';
    case 'patch':
      return 'patch';
    case 'delete':
      return hasName ? 'delete' : 'deletecollection';
    default:
      if (watch) return 'watch';
      return hasName ? 'get' : 'list';
  }
}
