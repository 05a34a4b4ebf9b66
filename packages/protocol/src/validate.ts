/**
 * Checking already-parsed values against the catalogue. Validation picks the schema by `type` (or, for replies,
 * by `ok`) before checking, so an error names the one message that was meant, and reports only the first thing
 * wrong with it: a client fixing one field at a time converges, and a hostile frame costs one pass.
 *
 * Uses TypeBox's interpreter (`Check`/`Errors`), not `TypeCompiler`: the compiler builds functions with
 * `new Function`, which a CRM page with a strict Content-Security-Policy (no 'unsafe-eval') would refuse.
 */
import type { TSchema } from '@sinclair/typebox';
import { Errors, ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Check } from '@sinclair/typebox/value';
import { PROTOCOL_VERSION, RequestId, ReplyErrorSchema, ReplyOkSchema } from './envelope.js';
import type { ErrorCode } from './errors.js';
import { BYTE_LIMITED_PROPERTIES, ERROR_CODE_KEYWORD, PATTERN_HINT_KEYWORD } from './fields.js';
import {
  EVENTS,
  REQUESTS,
  isEventType,
  isRequestType,
  type ClientMessage,
  type RequestType,
  type ResultOf,
  type ServerMessage,
} from './messages.js';
import { utf8Exceeds } from './utf8.js';

/** What was wrong, as a stable token (the `problem` in an error's `details`). */
export const PROBLEMS = [
  'too-large',
  'json',
  'missing',
  'unexpected',
  'type',
  'not-allowed',
  'too-short',
  'too-long',
  'pattern',
  'range',
  'too-few',
  'too-many',
  'unknown-type',
  'unsupported-version',
  'internal',
] as const;
export type Problem = (typeof PROBLEMS)[number];

export interface ParseFailure {
  code: ErrorCode;
  /** JSON Pointer (RFC 6901) to the offending value; "" for the whole frame. */
  path: string;
  problem: Problem;
  /** For people: the path and what was wrong with it. */
  message: string;
  /** The request id, when one could be read, so that the error reply can echo it. */
  id?: string;
}

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: ParseFailure };

export interface CheckServerOptions {
  /**
   * The request type still awaiting a reply under this id. When given, a successful reply's `result` is checked
   * against that request's result schema; without it, only its envelope is.
   */
  requestTypeOf?: (id: string) => RequestType | undefined;
}

export function fail(code: ErrorCode, path: string, problem: Problem, what: string, id?: string): { ok: false; error: ParseFailure } {
  const error: ParseFailure = { code, path, problem, message: path === '' ? what : `${path}: ${what}` };
  if (id !== undefined) error.id = id;
  return { ok: false, error };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(value: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(value, key) ? value[key] : undefined;
}

function readableId(value: Record<string, unknown>): string | undefined {
  const id = own(value, 'id');
  return Check(RequestId, id) ? (id as string) : undefined;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function expected(schema: TSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const type = schema.type;
  if (type === 'integer') return 'an integer';
  if (type === 'null') return 'null';
  if (type === 'array' || type === 'object') return `an ${type}`;
  return typeof type === 'string' ? `a ${type}` : 'a different value';
}

function hint(schema: TSchema): string {
  const text: unknown = schema[PATTERN_HINT_KEYWORD];
  return typeof text === 'string' ? ` (${text})` : '';
}

/** Union arms that are all literals are a closed set of values; say which. */
function literalValues(schema: TSchema): string[] | undefined {
  const arms: unknown = schema.anyOf;
  if (!Array.isArray(arms) || !arms.every((a: TSchema) => typeof a.const === 'string')) return undefined;
  return arms.map((a: TSchema) => a.const as string);
}

/**
 * A union error lists every arm's errors. Report the arm the value was evidently meant for: the first one of the
 * same JSON kind (an object arm for an object, ...), which for our unions is always at most one.
 */
function unionCause(error: ValueError): ValueError | undefined {
  for (const arm of error.errors) {
    const first = arm.First();
    if (first && first.path !== error.path) return first;
  }
  return undefined;
}

interface Described {
  problem: Problem;
  what: string;
}

function describe(error: ValueError): Described {
  const { schema, value } = error;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return { problem: 'missing', what: 'is required' };
    case ValueErrorType.ObjectAdditionalProperties:
      return { problem: 'unexpected', what: 'is not a property of this message' };
    case ValueErrorType.StringMaxLength:
      return { problem: 'too-long', what: `is longer than ${schema.maxLength} characters` };
    case ValueErrorType.StringMinLength:
      return schema.minLength === 1
        ? { problem: 'too-short', what: 'must not be empty' }
        : { problem: 'too-short', what: `is shorter than ${schema.minLength} characters` };
    case ValueErrorType.StringPattern:
      return { problem: 'pattern', what: `has characters or a form not allowed here${hint(schema)}` };
    case ValueErrorType.Literal:
      return { problem: 'not-allowed', what: `must be ${JSON.stringify(schema.const)}` };
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return { problem: 'range', what: `must be at least ${schema.minimum}` };
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return { problem: 'range', what: `must be at most ${schema.maximum}` };
    case ValueErrorType.ArrayMaxItems:
      return { problem: 'too-many', what: `has more than ${schema.maxItems} items` };
    case ValueErrorType.ArrayMinItems:
      return { problem: 'too-few', what: `needs at least ${schema.minItems} item(s)` };
    case ValueErrorType.ObjectMaxProperties:
      return { problem: 'too-many', what: `has more than ${schema.maxProperties} properties` };
    case ValueErrorType.Union: {
      const values = literalValues(schema);
      if (values) return { problem: 'not-allowed', what: `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}` };
      return { problem: 'type', what: `must be ${(schema.anyOf as TSchema[]).map(expected).join(' or ')}, not ${typeName(value)}` };
    }
    default:
      return { problem: 'type', what: `must be ${expected(schema)}, not ${typeName(value)}` };
  }
}

/** The first thing wrong with `value`, as a failure; `prefix` places a nested check (a reply's result) in the frame. */
function firstError(schema: TSchema, value: unknown, id: string | undefined, prefix = ''): { ok: false; error: ParseFailure } | undefined {
  let error = Errors(schema, value).First();
  if (!error) return undefined;
  if (error.type === ValueErrorType.Union) error = unionCause(error) ?? error;
  const { problem, what } = describe(error);
  const custom: unknown = error.schema[ERROR_CODE_KEYWORD];
  // A field's own code (invalid-target) covers what it contains; a missing or mistyped field is a malformed request.
  const aboutContent = problem === 'pattern' || problem === 'too-long' || problem === 'too-short';
  // Otherwise an over-long field is `too-large`, as an oversized frame is: the client sent more than the protocol allows.
  const code: ErrorCode = typeof custom === 'string' && aboutContent ? (custom as ErrorCode) : problem === 'too-long' ? 'too-large' : 'bad-request';
  return fail(code, prefix + error.path, problem, what, id);
}

/** Schema check, then the bounds a schema cannot express: UTF-8 byte lengths. */
function checkAgainst<T>(schema: TSchema, value: Record<string, unknown>, id: string | undefined, prefix = ''): ParseResult<T> {
  if (!Check(schema, value)) return firstError(schema, value, id, prefix) ?? fail('internal', prefix, 'internal', 'failed a check that reported no error', id);
  for (const [key, limit] of Object.entries(BYTE_LIMITED_PROPERTIES)) {
    const field = own(value, key);
    if (typeof field === 'string' && utf8Exceeds(field, limit)) {
      return fail('too-large', `${prefix}/${key}`, 'too-long', `is longer than ${limit} bytes`, id);
    }
  }
  return { ok: true, message: value as T };
}

export function checkClientMessage(value: unknown): ParseResult<ClientMessage> {
  if (!isRecord(value)) return fail('bad-request', '', 'type', `a message must be an object, not ${typeName(value)}`);
  const id = readableId(value);
  const type = own(value, 'type');
  if (type === undefined) return fail('bad-request', '/type', 'missing', 'is required', id);
  if (typeof type !== 'string') return fail('bad-request', '/type', 'type', `must be a string, not ${typeName(type)}`, id);
  if (!isRequestType(type)) return fail('unknown-type', '/type', 'unknown-type', `${JSON.stringify(type.slice(0, 64))} is not a request of protocol v${PROTOCOL_VERSION}`, id);
  if (type === 'hello') {
    // The version is read before anything else, so that a newer client's hello is refused for its version
    // and not for a field this version has never heard of.
    const protocol = own(value, 'protocol');
    if (typeof protocol === 'number' && Number.isInteger(protocol) && protocol !== PROTOCOL_VERSION) {
      return fail('bad-request', '/protocol', 'unsupported-version', `version ${protocol} is not supported; this gateway speaks ${PROTOCOL_VERSION}`, id);
    }
  }
  return checkAgainst<ClientMessage>(REQUESTS[type].request, value, id);
}

export function checkResult<T extends RequestType>(type: T, value: unknown): ParseResult<ResultOf<T>> {
  if (!isRecord(value)) return fail('bad-request', '', 'type', `a result must be an object, not ${typeName(value)}`);
  return checkAgainst<ResultOf<T>>(REQUESTS[type].result, value, undefined);
}

export function checkServerMessage(value: unknown, options: CheckServerOptions = {}): ParseResult<ServerMessage> {
  if (!isRecord(value)) return fail('bad-request', '', 'type', `a message must be an object, not ${typeName(value)}`);
  const id = readableId(value);
  const type = own(value, 'type');
  if (type !== undefined) {
    if (typeof type !== 'string') return fail('bad-request', '/type', 'type', `must be a string, not ${typeName(type)}`, id);
    if (!isEventType(type)) return fail('unknown-type', '/type', 'unknown-type', `${JSON.stringify(type.slice(0, 64))} is not an event of protocol v${PROTOCOL_VERSION}`, id);
    return checkAgainst<ServerMessage>(EVENTS[type], value, id);
  }
  const ok = own(value, 'ok');
  if (ok === undefined) return fail('bad-request', '/type', 'missing', 'an event needs a type, a reply needs ok', id);
  if (ok === false) return checkAgainst<ServerMessage>(ReplyErrorSchema, value, id);
  if (ok !== true) return fail('bad-request', '/ok', 'type', `must be a boolean, not ${typeName(ok)}`, id);
  const envelope = checkAgainst<ServerMessage>(ReplyOkSchema, value, id);
  if (!envelope.ok || id === undefined) return envelope;
  const pending = options.requestTypeOf?.(id);
  if (pending === undefined) return envelope;
  const inner = checkAgainst(REQUESTS[pending].result, value.result as Record<string, unknown>, id, '/result');
  return inner.ok ? envelope : inner;
}
