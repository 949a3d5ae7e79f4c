/** Errors of the cluster DNS component, each with a stable `code`. */

/** A bad option: upstream address, listen address, zone, TTL. */
export class DnsConfigError extends Error {
  readonly code = 'DNS_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'DnsConfigError';
  }
}

/** The server could not listen where asked (in use, not allowed, address missing). */
export class DnsListenError extends Error {
  readonly code = 'DNS_LISTEN';
  constructor(message: string) {
    super(message);
    this.name = 'DnsListenError';
  }
}

/** Setting up the node-local address (dummy interface) failed. */
export class DnsInterfaceError extends Error {
  readonly code = 'DNS_INTERFACE';
  constructor(message: string) {
    super(message);
    this.name = 'DnsInterfaceError';
  }
}
