/** The call events both kinds of call send to browsers, built one way so that causes and codes never drift. */
import { CALL_END_CAUSES, type CallEndCause, type ServerEvent } from '@switchboard/protocol';

/** Reason phrases sent with `call.ended`, for people; programs use `cause`. */
export const REASON_PHRASES: Partial<Record<CallEndCause, string>> = {
  busy: 'Busy Here',
  declined: 'Declined',
  'no-answer': 'No Answer',
  unavailable: 'Temporarily Unavailable',
  'not-found': 'Not Found',
  cancelled: 'Request Terminated',
};

/** Causes that are failures of the call attempt, and so carry the SIP status they map to. */
export const FAILURE_CAUSES: ReadonlySet<CallEndCause> = new Set(['busy', 'declined', 'no-answer', 'unavailable', 'not-found', 'cancelled', 'failed', 'timeout']);

export function sipStatusFor(cause: CallEndCause): number | undefined {
  return FAILURE_CAUSES.has(cause) ? CALL_END_CAUSES[cause].sipStatus : undefined;
}

export function endedEvent(callId: string, cause: CallEndCause, reason: string | undefined, at: number, sipStatus = sipStatusFor(cause)): ServerEvent {
  return {
    type: 'call.ended',
    callId,
    cause,
    ...(sipStatus === undefined ? {} : { sipStatus }),
    ...(reason === undefined ? {} : { reason }),
    endedAt: at,
  };
}
