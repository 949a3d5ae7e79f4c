/** Errors of the cloud controller manager (src/cloud). */

/** A flag or annotation value that cannot be used: says which and the value seen. */
export class CloudConfigError extends Error {
  readonly code = 'CLOUD_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'CloudConfigError';
  }
}

/** The provider has no implementation of an interface (e.g. routes on `local`). */
export class CloudNotImplementedError extends Error {
  readonly code = 'CLOUD_NOT_IMPLEMENTED';
  constructor(provider: string, feature: string) {
    super(`cloud provider "${provider}" does not implement ${feature}`);
    this.name = 'CloudNotImplementedError';
  }
}

/** The instance behind a node does not exist (any more) in the cloud. */
export class InstanceNotFoundError extends Error {
  readonly code = 'INSTANCE_NOT_FOUND';
  constructor(what: string) {
    super(`instance not found: ${what}`);
    this.name = 'InstanceNotFoundError';
  }
}

/**
 * A cloud resource exists under the name we would use but lacks this cluster's ownership tag:
 * never modified or deleted (someone else's, or another cluster's).
 */
export class ForeignResourceError extends Error {
  readonly code = 'FOREIGN_RESOURCE';
  constructor(kind: string, name: string, cluster: string) {
    super(`${kind} ${name} exists but is not owned by cluster "${cluster}"; refusing to touch it`);
    this.name = 'ForeignResourceError';
  }
}

/** The local provider's address pool has no free address left. */
export class PoolExhaustedError extends Error {
  readonly code = 'POOL_EXHAUSTED';
  constructor(pool: string) {
    super(`no free address left in the load balancer pool ${pool}`);
    this.name = 'PoolExhaustedError';
  }
}

/** A requested address (spec.loadBalancerIP) cannot be given: outside the pool or already taken. */
export class AddressUnavailableError extends Error {
  readonly code = 'ADDRESS_UNAVAILABLE';
  constructor(ip: string, why: string) {
    super(`load balancer address ${ip} is unavailable: ${why}`);
    this.name = 'AddressUnavailableError';
  }
}
