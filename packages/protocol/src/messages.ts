/**
 * The message catalogue of protocol v1: which requests exist with the result each one gets, and which events.
 * Types come from the schemas, so a field added to a schema is a field in the type, and nothing else can drift.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CALL_EVENTS, CALL_REQUESTS } from './calls.js';
import { ReplyErrorSchema, ReplyOkSchema, type Reply } from './envelope.js';
import { SESSION_EVENTS, SESSION_REQUESTS } from './session.js';

export const REQUESTS = { ...SESSION_REQUESTS, ...CALL_REQUESTS } as const;
export const EVENTS = { ...SESSION_EVENTS, ...CALL_EVENTS } as const;

export type RequestType = keyof typeof REQUESTS;
export type EventType = keyof typeof EVENTS;

/** The request of a given type, e.g. `RequestOf<'call.start'>`. */
export type RequestOf<T extends RequestType> = Static<(typeof REQUESTS)[T]['request']>;
/** The result a successful reply to that request carries. */
export type ResultOf<T extends RequestType> = Static<(typeof REQUESTS)[T]['result']>;
export type EventOf<T extends EventType> = Static<(typeof EVENTS)[T]>;

export type ClientMessage = { [T in RequestType]: RequestOf<T> }[RequestType];
export type ServerEvent = { [T in EventType]: EventOf<T> }[EventType];
export type ServerMessage = ServerEvent | Reply;

/** Reserved for later versions: no v1 message uses these names, and none may use them with another meaning. */
export const RESERVED_TYPES = [
  'call.update',
  'call.transfer.attended',
  'call.dtmf.received',
  'call.recording',
  'operator.presence',
  'session.draining',
] as const;

export const REQUEST_TYPES = Object.keys(REQUESTS) as RequestType[];
export const EVENT_TYPES = Object.keys(EVENTS) as EventType[];

export function isRequestType(value: unknown): value is RequestType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(REQUESTS, value);
}

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(EVENTS, value);
}

/**
 * Whole-direction schemas, for JSON Schema export and documentation. Validation does not use them: it picks the
 * schema by `type` first, which gives errors about the message that was meant rather than about every union arm.
 */
export function clientMessageSchema(): TSchema {
  return Type.Union(REQUEST_TYPES.map((t) => REQUESTS[t].request));
}

export function serverMessageSchema(): TSchema {
  return Type.Union([...EVENT_TYPES.map((t) => EVENTS[t]), ReplyOkSchema, ReplyErrorSchema]);
}
