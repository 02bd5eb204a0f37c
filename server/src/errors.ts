import type { ErrorBody, ErrorCode, Issue } from '@foyer/shared';

/** A refusal with a protocol error code; handlers throw it, the gateway replies with it. */
export class LobbyError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
    this.name = 'LobbyError';
  }

  toBody(): ErrorBody {
    return this.issues ? { code: this.code, message: this.message, issues: this.issues } : { code: this.code, message: this.message };
  }
}
