/**
 * The life of one browser connection.
 *
 *                 hello frame            token + operator ok
 *  awaiting-hello ─────────► authenticating ─────────► authenticated ◄─┐ auth.refresh, ping, call.*
 *        │                        │                         │  └────────┘
 *        │ timeout, not hello,    │ token refused,          │ token expired, flood, superseded,
 *        │ bad version            │ operator forbidden      │ shutdown, operator disabled
 *        ▼                        ▼                         ▼
 *        └──────────────────► closing ◄─────────────────────┘
 *                                 │ socket closed (by either side)
 *                                 ▼
 *                              closed
 *
 * `authenticating` exists because verifying a token is asynchronous: frames that arrive meanwhile must neither be
 * taken for a second hello nor be served before `welcome`. A socket the peer drops goes to `closed` from any state.
 */
export type SessionState = 'awaiting-hello' | 'authenticating' | 'authenticated' | 'closing' | 'closed';

const ALLOWED: Readonly<Record<SessionState, readonly SessionState[]>> = {
  'awaiting-hello': ['authenticating', 'closing', 'closed'],
  authenticating: ['authenticated', 'closing', 'closed'],
  authenticated: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

export class SessionStateError extends Error {
  constructor(
    readonly from: SessionState,
    readonly to: SessionState,
  ) {
    super(`session cannot go from ${from} to ${to}`);
    this.name = 'SessionStateError';
  }
}

/** The one place a session changes state; an illegal move is a bug in this layer, so it throws. */
export function transition(from: SessionState, to: SessionState): SessionState {
  if (!ALLOWED[from].includes(to)) throw new SessionStateError(from, to);
  return to;
}

export function canTransition(from: SessionState, to: SessionState): boolean {
  return ALLOWED[from].includes(to);
}
