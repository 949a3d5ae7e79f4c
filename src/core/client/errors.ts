/** Errors of the client library (API answers are ApiStatusError, in rest-client.ts). */

/** Leader election options that cannot work together (e.g. a renew deadline past the lease). */
export class LeaderElectionConfigError extends Error {
  readonly code = 'LeaderElectionConfig';
  constructor(message: string) {
    super(message);
    this.name = 'LeaderElectionConfigError';
  }
}
