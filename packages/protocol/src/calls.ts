/**
 * Calls. The browser is always one leg of a call the gateway bridges to SIP, so the browser sees WebRTC-shaped
 * facts (SDP offers and answers, ICE candidates) and never SIP dialogs.
 *
 * Outgoing: `call.start` (with the browser's offer) → reply `{ callId }` → `call.ringing` / `call.progress`
 * (early media answer) → `call.answered` (answer SDP) → `call.ended`.
 * Incoming: `call.incoming` (with the gateway's offer) reaches every session of the operator → one of them sends
 * `call.answer` (answer SDP) → it gets `call.answered`; every other session gets `call.ended` `answered-elsewhere`.
 * The gateway sends the reply to `call.start` before any event about that call.
 */
import { Type, type Static } from '@sinclair/typebox';
import { EmptyResultSchema, event, request, result } from './envelope.js';
import { Closed, EpochMs, Id, Sdp, SipStatus, Target, Text, labelPattern, oneOf } from './fields.js';
import {
  MAX_CONTACT_FIELDS,
  MAX_CONTEXT_LENGTH,
  DTMF_DURATION_MS,
  MAX_DTMF_DIGITS,
  MAX_ICE_CANDIDATE_LENGTH,
  MAX_NAME_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_URL_LENGTH,
} from './limits.js';

export const CallId = Id('chosen by the gateway, unique among the operator’s calls');

/**
 * Why a call ended, with the SIP status each maps to: `sipStatus` is what the gateway sends on the SIP leg when
 * the cause starts in the browser (a decline, a ring timeout), `fromSip` the final responses the gateway reads as
 * that cause. A status in no list ends the call as `failed`.
 */
export const CALL_END_CAUSES = {
  normal: { sipStatus: 200, fromSip: [] },
  'answered-elsewhere': { sipStatus: 200, fromSip: [] },
  transferred: { sipStatus: 200, fromSip: [] },
  busy: { sipStatus: 486, fromSip: [486, 600] },
  declined: { sipStatus: 603, fromSip: [603] },
  'no-answer': { sipStatus: 480, fromSip: [408] },
  unavailable: { sipStatus: 480, fromSip: [480, 502, 503, 504] },
  'not-found': { sipStatus: 404, fromSip: [404, 410, 484, 604] },
  cancelled: { sipStatus: 487, fromSip: [487] },
  failed: { sipStatus: 500, fromSip: [] },
  timeout: { sipStatus: 408, fromSip: [] },
} as const satisfies Record<string, { sipStatus: number; fromSip: readonly number[] }>;

export type CallEndCause = keyof typeof CALL_END_CAUSES;

const CAUSE_NAMES = Object.keys(CALL_END_CAUSES) as [CallEndCause, ...CallEndCause[]];

/** The cause a final SIP failure response (3xx-6xx) ends a call with. */
export function causeFromSipStatus(status: number): CallEndCause {
  for (const cause of CAUSE_NAMES) {
    if ((CALL_END_CAUSES[cause].fromSip as readonly number[]).includes(status)) return cause;
  }
  return 'failed';
}

export const REJECT_REASONS = ['decline', 'busy'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const CALL_DIRECTIONS = ['inbound', 'outbound'] as const;

/**
 * How digits reach the far end of an answered call: `gateway` — the browser asks with `call.dtmf` and the gateway
 * sends them (SIP INFO); `media` — the browser puts them in its own audio as RFC 4733 telephone-events
 * (`RTCDTMFSender`), because the PBX takes them there and the call's media negotiated them; `none` — nowhere (a
 * call between two operators, or media without telephone-event).
 */
export const DTMF_PATHS = ['gateway', 'media', 'none'] as const;
export type DtmfPath = (typeof DTMF_PATHS)[number];

/** What an answered call offers beyond hold and hang-up, so that an interface shows only controls that work. */
export const CallFeaturesSchema = Type.Object(
  {
    dtmf: oneOf(DTMF_PATHS, 'gateway: send call.dtmf; media: the browser sends RFC 4733 telephone-events itself; none: no DTMF on this call'),
    transfer: Type.Boolean({ description: 'call.transfer can hand the far end to another number' }),
  },
  Closed,
);
export const CALL_STATES = ['ringing', 'early', 'active'] as const;

export const PartySchema = Type.Object(
  {
    number: Text(MAX_NAME_LENGTH, 'number or user part as the SIP side gave it; "anonymous" when withheld', 1),
    name: Type.Optional(Text(MAX_NAME_LENGTH, 'display name, when known')),
  },
  Closed,
);

/**
 * The screen-pop slot: what the CRM's contact lookup found for the caller. Only `http(s)` links, so a lookup
 * result can never put a `javascript:` URL in front of an operator.
 */
export const ContactSchema = Type.Object(
  {
    id: Type.Optional(Text(MAX_NAME_LENGTH, 'the contact’s id in the CRM')),
    name: Type.Optional(Text(MAX_NAME_LENGTH, 'contact name')),
    company: Type.Optional(Text(MAX_NAME_LENGTH, 'organisation')),
    url: Type.Optional(
      Type.String({ maxLength: MAX_URL_LENGTH, pattern: '^https?://[^\\s<>"\\u0000-\\u001F\\u007F]+$', description: 'record page' }),
    ),
    fields: Type.Optional(
      Type.Record(Type.String({ pattern: labelPattern(MAX_NAME_LENGTH) }), Text(MAX_TEXT_LENGTH, 'value'), {
        additionalProperties: false,
        maxProperties: MAX_CONTACT_FIELDS,
        description: 'further label → value pairs to show',
      }),
    ),
  },
  Closed,
);

/** Mirrors `RTCIceCandidateInit`, minus nulls: omit `sdpMid`/`sdpMLineIndex` when the browser gives null. */
export const IceCandidateSchema = Type.Object(
  {
    candidate: Text(MAX_ICE_CANDIDATE_LENGTH, 'the a=candidate line without "a="'),
    sdpMid: Type.Optional(Text(32, 'media stream id')),
    sdpMLineIndex: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    usernameFragment: Type.Optional(Text(256, 'ICE ufrag')),
  },
  Closed,
);

const IceCandidateOrEnd = Type.Union([IceCandidateSchema, Type.Null()], {
  description: 'a candidate, or null once gathering is complete',
});

export const CallSummarySchema = Type.Object(
  {
    callId: CallId,
    direction: oneOf(CALL_DIRECTIONS, 'who placed the call'),
    state: oneOf(CALL_STATES, 'ringing: no answer yet; early: early media; active: answered'),
    remote: PartySchema,
    here: Type.Boolean({ description: 'true when this session carries the call’s media' }),
    startedAt: EpochMs('when the call was placed or arrived'),
    answeredAt: Type.Optional(EpochMs('when it was answered')),
  },
  Closed,
);

// Client requests -------------------------------------------------------------------------------------------

const callOnly = { callId: CallId };

export const CallStartSchema = request(
  'call.start',
  {
    target: Target('extension, E.164 number (+4930...) or SIP user part'),
    sdp: Sdp('the browser’s offer'),
    context: Type.Optional(Text(MAX_CONTEXT_LENGTH, 'opaque CRM reference stored with the call record')),
  },
  'place a call',
);
export const CallAnswerSchema = request('call.answer', { ...callOnly, sdp: Sdp('the browser’s answer') }, 'answer an incoming call');
export const CallRejectSchema = request(
  'call.reject',
  { ...callOnly, reason: oneOf(REJECT_REASONS, 'decline → 603 for everyone; busy → 486') },
  'refuse an incoming call',
);
export const CallCancelSchema = request('call.cancel', callOnly, 'abandon an outgoing call before it is answered');
export const CallHangupSchema = request('call.hangup', callOnly, 'end an answered call');
export const CallIceSchema = request('call.ice', { ...callOnly, candidate: IceCandidateOrEnd }, 'trickle a local ICE candidate');
export const CallHoldSchema = request('call.hold', callOnly, 'put the remote party on hold');
export const CallResumeSchema = request('call.resume', callOnly, 'take the remote party off hold');
export const CallDtmfSchema = request(
  'call.dtmf',
  {
    ...callOnly,
    digits: Type.String({ minLength: 1, maxLength: MAX_DTMF_DIGITS, pattern: '^[0-9A-D*#]+$', description: 'tones to send' }),
    durationMs: Type.Optional(
      Type.Integer({ minimum: DTMF_DURATION_MS.min, maximum: DTMF_DURATION_MS.max, description: `per tone; default ${DTMF_DURATION_MS.default}` }),
    ),
  },
  'send DTMF tones on an answered call whose features say dtmf "gateway"',
);
export const CallTransferSchema = request(
  'call.transfer',
  { ...callOnly, target: Target('where to send the remote party') },
  'blind transfer; the call ends with `transferred` once the far end accepts',
);

export const CallStartResultSchema = result({ callId: CallId }, 'the new call’s id');

export const CALL_REQUESTS = {
  'call.start': { request: CallStartSchema, result: CallStartResultSchema },
  'call.answer': { request: CallAnswerSchema, result: EmptyResultSchema },
  'call.reject': { request: CallRejectSchema, result: EmptyResultSchema },
  'call.cancel': { request: CallCancelSchema, result: EmptyResultSchema },
  'call.hangup': { request: CallHangupSchema, result: EmptyResultSchema },
  'call.ice': { request: CallIceSchema, result: EmptyResultSchema },
  'call.hold': { request: CallHoldSchema, result: EmptyResultSchema },
  'call.resume': { request: CallResumeSchema, result: EmptyResultSchema },
  'call.dtmf': { request: CallDtmfSchema, result: EmptyResultSchema },
  'call.transfer': { request: CallTransferSchema, result: EmptyResultSchema },
} as const;

// Server events ---------------------------------------------------------------------------------------------

export const CallIncomingSchema = event(
  'call.incoming',
  {
    ...callOnly,
    from: PartySchema,
    to: Type.Optional(PartySchema),
    sdp: Sdp('the gateway’s offer'),
    contact: Type.Optional(ContactSchema),
    receivedAt: EpochMs('when the call reached the gateway'),
  },
  'a call for this operator; every session of the operator gets it',
);
export const CallRingingSchema = event('call.ringing', callOnly, 'the far end is ringing (180)');
export const CallProgressSchema = event(
  'call.progress',
  { ...callOnly, sdp: Sdp('early media answer; apply as a provisional answer') },
  'early media (183 with SDP)',
);
export const CallAnsweredSchema = event(
  'call.answered',
  {
    ...callOnly,
    sdp: Type.Optional(Sdp('the answer, for outgoing calls')),
    answeredAt: EpochMs('when the call was answered'),
    features: CallFeaturesSchema,
  },
  'the call is up; for incoming calls only the answering session gets this',
);
export const CallEndedSchema = event(
  'call.ended',
  {
    ...callOnly,
    cause: oneOf(CAUSE_NAMES, 'why the call ended'),
    sipStatus: Type.Optional(SipStatus('the SIP status seen or sent, when there was one')),
    reason: Type.Optional(Text(MAX_TEXT_LENGTH, 'reason phrase or Reason header text, for people')),
    endedAt: EpochMs('when the call ended'),
  },
  'the call is over; its id is never reused',
);
export const CallIceEventSchema = event('call.ice', { ...callOnly, candidate: IceCandidateOrEnd }, 'a remote ICE candidate');
export const CallHoldStateSchema = event(
  'call.hold-state',
  {
    ...callOnly,
    local: Type.Boolean({ description: 'the operator put the call on hold' }),
    remote: Type.Boolean({ description: 'the far end put the call on hold' }),
  },
  'hold changed on either side',
);
export const CallContactSchema = event(
  'call.contact',
  { ...callOnly, contact: ContactSchema },
  'what the CRM’s lookup found for the number an outgoing call dialled; comes once, when it is known',
);
export const CALL_EVENTS = {
  'call.incoming': CallIncomingSchema,
  'call.contact': CallContactSchema,
  'call.ringing': CallRingingSchema,
  'call.progress': CallProgressSchema,
  'call.answered': CallAnsweredSchema,
  'call.ended': CallEndedSchema,
  'call.ice': CallIceEventSchema,
  'call.hold-state': CallHoldStateSchema,
} as const;

export type Party = Static<typeof PartySchema>;
export type Contact = Static<typeof ContactSchema>;
export type IceCandidate = Static<typeof IceCandidateSchema>;
export type CallSummary = Static<typeof CallSummarySchema>;
export type CallFeatures = Static<typeof CallFeaturesSchema>;
