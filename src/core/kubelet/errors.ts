/** Errors of the kubelet, each with a stable `code`. */

export type KubeletErrorCode =
  | 'OPTIONS'
  | 'NO_COMMAND'
  | 'CONFIG_REF'
  | 'IPAM_EXHAUSTED'
  | 'NETWORK'
  | 'RUNTIME'
  | 'VOLUME';

export class KubeletError extends Error {
  readonly code: KubeletErrorCode;
  constructor(code: KubeletErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'KubeletError';
  }
}

/** A referenced ConfigMap/Secret (or key) is missing: the container waits (CreateContainerConfigError). */
export class ConfigRefError extends KubeletError {
  constructor(message: string) {
    super('CONFIG_REF', message);
    this.name = 'ConfigRefError';
  }
}
