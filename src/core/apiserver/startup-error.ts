/** A startup failure the CLI prints as one clear line and exits with status 1. */
export class StartupError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'StartupError';
  }
}
