/**
 * The frame shapes every message shares. A client message is always a request: it names a `type` and carries an
 * `id` the client chose, and the gateway answers each one exactly once with a reply echoing that `id`. The gateway
 * also sends events, which have a `type` and no `id`. A reply has no `type`: the client knows what it asked.
 */
import { Type, type Static, type TObject, type TProperties, type TLiteral, type TString } from '@sinclair/typebox';
import { ErrorObjectSchema, type ErrorCode, type ErrorObject } from './errors.js';
import { Closed, Id } from './fields.js';

/** The version this package speaks. Sent in `hello` and confirmed in `welcome`. */
export const PROTOCOL_VERSION = 1;

/**
 * Optional `Sec-WebSocket-Protocol` value. Gateways accept connections without it (the version that counts is
 * the one in `hello`), but proxies and logs can route or label on it.
 */
export const WEBSOCKET_SUBPROTOCOL = 'switchboard.v1';

export const RequestId = Id('chosen by the client, unique among its requests still awaiting a reply');

export type RequestSchema<T extends string, P extends TProperties> = TObject<
  { type: TLiteral<T>; id: TString } & P
>;
export type EventSchema<T extends string, P extends TProperties> = TObject<{ type: TLiteral<T> } & P>;

export function request<const T extends string, P extends TProperties>(
  type: T,
  properties: P,
  description: string,
): RequestSchema<T, P> {
  return Type.Object({ type: Type.Literal(type), id: RequestId, ...properties }, { ...Closed, description }) as RequestSchema<T, P>;
}

export function event<const T extends string, P extends TProperties>(
  type: T,
  properties: P,
  description: string,
): EventSchema<T, P> {
  return Type.Object({ type: Type.Literal(type), ...properties }, { ...Closed, description }) as EventSchema<T, P>;
}

export function result<P extends TProperties>(properties: P, description: string): TObject<P> {
  return Type.Object(properties, { ...Closed, description });
}

/** Result of requests that only succeed or fail. */
export const EmptyResultSchema = result({}, 'nothing beyond success');

export const ReplyOkSchema = Type.Object(
  {
    id: RequestId,
    ok: Type.Literal(true),
    result: Type.Record(Type.String(), Type.Unknown(), { description: 'shape depends on the request type' }),
  },
  Closed,
);

export const ReplyErrorSchema = Type.Object(
  {
    id: Type.Union([RequestId, Type.Null()], { description: 'null when the request had no readable id' }),
    ok: Type.Literal(false),
    error: ErrorObjectSchema,
  },
  Closed,
);

export type ReplyOk<R = Record<string, unknown>> = { id: string; ok: true; result: R };
export type ReplyError = Static<typeof ReplyErrorSchema>;
export type Reply<R = Record<string, unknown>> = ReplyOk<R> | ReplyError;

export function replyOk<R extends object>(id: string, value: R): ReplyOk<R> {
  return { id, ok: true, result: value };
}

export function replyError(
  id: string | null,
  code: ErrorCode,
  message: string,
  details?: ErrorObject['details'],
): ReplyError {
  const error: ErrorObject = details === undefined ? { code, message } : { code, message, details };
  return { id, ok: false, error };
}
