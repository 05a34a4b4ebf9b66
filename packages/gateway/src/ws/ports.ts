/**
 * What the WebSocket layer needs from the rest of the gateway, as interfaces other modules implement: token
 * verification (auth/), the operator directory (store/) and the facts a `welcome` reports that this layer does not
 * own (ICE servers, the SIP line, calls in progress). Keeping them here lets each side be tested with fakes.
 */
import type { CallSummary, CloseReason, IceServer, LineState } from '@switchboard/protocol';

/**
 * Checks a CRM token. Refusals throw an `Error` whose `code` is one of the protocol's close reason names
 * (`token-invalid`, `token-expired`, `token-audience`, `token-tampered`, `forbidden`); anything else thrown is
 * treated as a fault of the gateway, not of the token.
 */
export interface TokenVerifier {
  verify(token: string): Promise<{ operatorId: string; expiresAt: number }>;
}

export interface OperatorDirectory {
  get(id: string): Promise<{ id: string; displayName: string; extension: string; enabled: boolean } | undefined>;
}

export type SessionOperator = NonNullable<Awaited<ReturnType<OperatorDirectory['get']>>>;

/** The error a `TokenVerifier` throws to refuse a token. */
export class TokenRefusal extends Error {
  constructor(
    readonly code: CloseReason,
    message: string = code,
  ) {
    super(message);
    this.name = 'TokenRefusal';
  }
}

/**
 * The parts of `welcome` (and of the `auth.refresh` reply) that come from other subsystems. Every member is
 * optional: without TURN there are no ICE servers, without a PBX the line is `unregistered`, and without call
 * routing there are no calls.
 */
export interface SessionInfoProvider {
  /** Called on login and on every refresh, so time-limited TURN credentials follow the token. */
  iceServers?(operator: SessionOperator): IceServer[] | Promise<IceServer[]>;
  lineState?(operator: SessionOperator): LineState | Promise<LineState>;
  calls?(operator: SessionOperator, sessionId: string): CallSummary[] | Promise<CallSummary[]>;
}
