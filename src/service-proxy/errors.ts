/**
 * Errors of the service proxy, each with a stable `code`.
 */

/** A command (iptables-restore, conntrack, ...) exited non-zero. */
export class CommandFailedError extends Error {
  readonly code = 'CommandFailed';
  readonly command: string;
  readonly exitCode: number;
  readonly stderr: string;
  constructor(command: string, exitCode: number, stderr: string) {
    super(`${command} exited with ${exitCode}: ${stderr.trim().slice(0, 2000)}`);
    this.name = 'CommandFailedError';
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** A configuration value the proxy cannot use (bad CIDR, unknown mode, ...). */
export class ProxyConfigError extends Error {
  readonly code = 'ProxyConfig';
  constructor(message: string) {
    super(message);
    this.name = 'ProxyConfigError';
  }
}

/** A userspace listener could not be opened on the mapped address. */
export class ListenError extends Error {
  readonly code = 'Listen';
  readonly address: string;
  constructor(address: string, cause: string) {
    super(`cannot listen on ${address}: ${cause}`);
    this.name = 'ListenError';
    this.address = address;
  }
}
