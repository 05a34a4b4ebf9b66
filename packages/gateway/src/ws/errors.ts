/**
 * Errors crossing the boundary between this layer and the request handlers behind it. A handler throws a
 * `ProtocolError` to answer with a specific protocol error; anything else it throws becomes `internal`, so a
 * handler bug never leaks a stack trace to a browser.
 */
import { CLOSE_REASONS, isErrorCode, type CloseReason, type ErrorCode, type ErrorObject } from '@switchboard/protocol';

export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorObject['details'],
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function isProtocolError(error: unknown): error is ProtocolError {
  return error instanceof ProtocolError || (error instanceof Error && error.name === 'ProtocolError' && isErrorCode((error as { code?: unknown }).code));
}

export function isCloseReason(value: unknown): value is CloseReason {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(CLOSE_REASONS, value);
}

/** The close reason a token verifier's refusal names, or undefined when what it threw is not a refusal. */
export function refusalReason(error: unknown): CloseReason | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return isCloseReason(code) ? code : undefined;
}

/** Close reasons a verifier may use; other names (superseded, server-shutdown) are not about tokens. */
export const TOKEN_REFUSALS: ReadonlySet<CloseReason> = new Set<CloseReason>([
  'token-invalid',
  'token-expired',
  'token-audience',
  'token-tampered',
  'forbidden',
]);
