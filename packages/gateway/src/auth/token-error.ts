/**
 * Why a token was refused. Each code is the name of the protocol close reason the session ends with, so the
 * WebSocket layer closes with `closeCode(error.code)` and needs no table of its own. `internal` is not the token's
 * fault (the key set could not be fetched): the client backs off and tries the same token again.
 */
import { closeCode, type CloseReason } from '@switchboard/protocol';

export const TOKEN_ERROR_CODES = ['token-invalid', 'token-expired', 'token-audience', 'token-tampered', 'internal'] as const satisfies readonly CloseReason[];

export type TokenErrorCode = (typeof TOKEN_ERROR_CODES)[number];

export class TokenError extends Error {
  override readonly name = 'TokenError';
  readonly code: TokenErrorCode;

  constructor(code: TokenErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** The WebSocket close code for this refusal (4001-4004, or 4202). */
  get closeCode(): number {
    return closeCode(this.code);
  }
}
