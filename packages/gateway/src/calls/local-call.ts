/**
 * A call between two operators of this gateway, browser to browser. The gateway carries only signalling: the offer,
 * the answer and ICE candidates go from one session to the other, and media flows between the browsers (through
 * TURN when they cannot reach each other).
 *
 *                answer (one callee session)
 *   ringing ─────────────────────────────────► active
 *      │                                         │
 *      │ cancel, reject, ring timeout,           │ hangup (either side),
 *      │ caller gone, last callee tab gone       │ a carrying session gone
 *      ▼                                         ▼
 *      └──────────────────► ended ◄──────────────┘
 *
 * The caller's side is the one session that placed the call. The callee's side is every session of the callee
 * operator while ringing, and the one that answered afterwards.
 */
import type { CallEndCause, CallFeatures, CallSummary, Contact, Party } from '@switchboard/protocol';
import type { TimerHandle } from '@switchboard/sip';
import type { SessionHandle, SessionOperator } from '../ws/index.js';

/**
 * Neither digits nor transfer between two browsers: a browser cannot hear telephone-events, and handing a call to
 * a third operator needs the gateway to reconnect media it never carried.
 */
export const LOCAL_CALL_FEATURES: CallFeatures = { dtmf: 'none', transfer: false };

export type LocalCallState = 'ringing' | 'active' | 'ended';

const ALLOWED: Readonly<Record<LocalCallState, readonly LocalCallState[]>> = {
  ringing: ['active', 'ended'],
  active: ['ended'],
  ended: [],
};

export class CallStateError extends Error {
  constructor(
    readonly from: LocalCallState,
    readonly to: LocalCallState,
  ) {
    super(`a call cannot go from ${from} to ${to}`);
    this.name = 'CallStateError';
  }
}

export function transition(from: LocalCallState, to: LocalCallState): LocalCallState {
  if (!ALLOWED[from].includes(to)) throw new CallStateError(from, to);
  return to;
}

export interface CallEnd {
  cause: CallEndCause;
  sipStatus: number | undefined;
  reason: string | undefined;
  at: number;
}

export class LocalCall {
  private current: LocalCallState = 'ringing';
  /** Callee sessions that were sent `call.incoming`, so each learns how the call ended for it. */
  readonly rung = new Set<SessionHandle>();
  answeredBy: SessionHandle | undefined;
  answeredAt: number | undefined;
  ended: CallEnd | undefined;
  ringTimer: TimerHandle | undefined;
  /** Which side holds the call; each browser carries out its own hold. */
  readonly held = { caller: false, callee: false };
  /** What the CRM knows about the caller, shown to the callee's tabs. */
  contact: Contact | undefined;
  /** ICE candidates relayed so far, per direction; bounded so that one client cannot make the gateway a pump. */
  candidatesFromCaller = 0;
  candidatesFromCallee = 0;
  /** Store writes for this call, in order; each waits for the one before. */
  persisted: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly caller: { operator: SessionOperator; session: SessionHandle },
    readonly callee: SessionOperator,
    readonly offer: string,
    readonly startedAt: number,
  ) {}

  get state(): LocalCallState {
    return this.current;
  }

  moveTo(next: LocalCallState): void {
    this.current = transition(this.current, next);
  }

  /** Is the operator a party to this call, and on which side. */
  sideOf(operatorId: string): 'caller' | 'callee' | undefined {
    if (operatorId === this.caller.operator.id) return 'caller';
    if (operatorId === this.callee.id) return 'callee';
    return undefined;
  }

  /** The sessions carrying the call's media: the caller's, and the callee's once answered. */
  carries(session: SessionHandle): boolean {
    return session === this.caller.session || session === this.answeredBy;
  }

  /** How the call looks to a session of `operatorId`: for `welcome.calls`. */
  summaryFor(operatorId: string, sessionId: string): CallSummary {
    const outbound = operatorId === this.caller.operator.id;
    const remote: Party = outbound ? party(this.callee) : party(this.caller.operator);
    const carrier = outbound ? this.caller.session : this.answeredBy;
    return {
      callId: this.id,
      direction: outbound ? 'outbound' : 'inbound',
      state: this.current === 'active' ? 'active' : 'ringing',
      remote,
      here: carrier?.id === sessionId,
      startedAt: this.startedAt,
      ...(this.answeredAt === undefined ? {} : { answeredAt: this.answeredAt }),
    };
  }
}

/** An operator as the other side sees them: extension and display name. */
export function party(operator: SessionOperator): Party {
  return operator.displayName === '' ? { number: operator.extension } : { number: operator.extension, name: operator.displayName };
}
