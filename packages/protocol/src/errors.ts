/**
 * The one error object of the protocol. Programs branch on `code`, which never changes meaning within a protocol
 * version; `message` is for people and may be reworded at any time.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Closed, Text, oneOf } from './fields.js';
import { MAX_ERROR_DETAILS, MAX_TEXT_LENGTH } from './limits.js';

export const ERROR_CODES = [
  /** Not JSON, not an object, a field missing or of the wrong shape. `details.path` says where. */
  'bad-request',
  /** A `type` this protocol version does not have. */
  'unknown-type',
  /** `call.start` or `call.transfer` with a target that cannot be dialled. */
  'invalid-target',
  /** A request other than `hello` before the session is authenticated. */
  'not-authenticated',
  /** Authenticated, but this operator may not do this (dial this number, transfer, ...). */
  'forbidden',
  /** The call (or other object) named in the request does not exist for this operator. */
  'not-found',
  /** The call exists but is in a state where this request makes no sense (hang up a ringing call, ...). */
  'call-state',
  /** Another tab, or this one, already answered the call. */
  'already-answered',
  /** `auth.refresh` with a token that fails verification; the session keeps its current token. */
  'token-rejected',
  /** Too many requests; `details.retryAfterMs` says when to try again. */
  'rate-limited',
  /** A frame or a field larger than the protocol allows. */
  'too-large',
  /** A request this gateway does not offer (transfer disabled, DTMF on a line without it, ...). */
  'not-supported',
  /** A fault in the gateway; the request may be retried. */
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const DetailValue = Type.Union([Type.String({ maxLength: MAX_TEXT_LENGTH }), Type.Number(), Type.Boolean(), Type.Null()]);

export const ErrorObjectSchema = Type.Object(
  {
    code: oneOf(ERROR_CODES, 'stable machine-readable code'),
    message: Text(MAX_TEXT_LENGTH, 'human-readable explanation; never parse it'),
    details: Type.Optional(
      Type.Record(Type.String(), DetailValue, {
        maxProperties: MAX_ERROR_DETAILS,
        description: 'flat extra facts, e.g. { path, problem } for bad requests or { retryAfterMs }',
      }),
    ),
  },
  Closed,
);

export type ErrorObject = Static<typeof ErrorObjectSchema>;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
