/**
 * Building blocks shared by the message schemas. Patterns are written for `new RegExp(pattern)` without flags,
 * because that is how TypeBox's interpreter (and any JSON Schema validator) compiles them.
 */
import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';
import {
  MAX_ID_LENGTH,
  MAX_INTEGER,
  MAX_SDP_BYTES,
  MAX_TARGET_LENGTH,
} from './limits.js';

/**
 * Text that may end up on screen or in logs: C0 and C1 controls (line breaks included), bidi overrides and
 * lone surrogates are refused so that one field cannot forge another line or reorder what an operator reads.
 */
const DISPLAYABLE_CHARACTER = '[^\\u0000-\\u001F\\u007F-\\u009F\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069\\uD800-\\uDFFF]';
const DISPLAYABLE = `^${DISPLAYABLE_CHARACTER}*$`;

const DISPLAYABLE_HINT = 'no control characters, line breaks or bidirectional overrides';
const ASCII_HINT = 'visible ASCII characters, no spaces';

/** Visible ASCII, no space: ids and tokens travel through logs, URLs and SIP headers unchanged. */
const VISIBLE_ASCII = '^[\\u0021-\\u007E]+$';

/**
 * A dialled target becomes the user part of a Request-URI. Letters, digits and RFC 3261 "unreserved" marks,
 * plus `+` (E.164), `#` and `*` (feature codes). Everything that would change the URI's structure (`@ : ; ? %`),
 * break out of a name-addr (`< > "`) or hide from a reader (spaces, controls) is refused here, before any SIP
 * code sees it.
 */
export const TARGET_PATTERN = "^[A-Za-z0-9+#*\\-_.!~'()]+$";

/** The custom schema keyword that picks the error code when this field is what is wrong. */
export const ERROR_CODE_KEYWORD = 'x-error-code';

/** The custom schema keyword that says, in error messages, what a pattern allows. */
export const PATTERN_HINT_KEYWORD = 'x-pattern-hint';

/** Whole-message bounds checked after the schema (UTF-8 byte length), keyed by property name. */
export const BYTE_LIMITED_PROPERTIES: Readonly<Record<string, number>> = { sdp: MAX_SDP_BYTES };

export const Id = (description: string) =>
  Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, pattern: VISIBLE_ASCII, description, [PATTERN_HINT_KEYWORD]: ASCII_HINT });

export const Text = (maxLength: number, description: string, minLength = 0) =>
  Type.String({ minLength, maxLength, pattern: DISPLAYABLE, description, [PATTERN_HINT_KEYWORD]: DISPLAYABLE_HINT });

/**
 * Keys of a record shown to people (a contact's field labels). A record's key schema is only a pattern, so the
 * length bound lives in it too.
 */
export const labelPattern = (maxLength: number) => `^${DISPLAYABLE_CHARACTER}{1,${maxLength}}$`;

export const Ascii = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, pattern: VISIBLE_ASCII, description, [PATTERN_HINT_KEYWORD]: ASCII_HINT });

export const Target = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: MAX_TARGET_LENGTH,
    pattern: TARGET_PATTERN,
    description,
    [ERROR_CODE_KEYWORD]: 'invalid-target',
    [PATTERN_HINT_KEYWORD]: "letters, digits and + # * - _ . ! ~ ' ( ) only",
  });

/**
 * An SDP body. The schema bounds characters (never fewer than bytes); the parser then bounds UTF-8 bytes.
 * Requiring `v=0` first catches a candidate or a JSON blob sent where a description belongs.
 */
export const Sdp = (description: string) =>
  Type.String({ minLength: 4, maxLength: MAX_SDP_BYTES, pattern: '^v=0\\r?\\n', description, [PATTERN_HINT_KEYWORD]: 'an SDP body starts with "v=0"' });

export const EpochMs = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_INTEGER, description });

export const DurationMs = (description: string, maximum = MAX_INTEGER) =>
  Type.Integer({ minimum: 0, maximum, description });

export const SipStatus = (description: string) => Type.Integer({ minimum: 100, maximum: 699, description });

/** Every object in the protocol is closed: an unknown property is a mistake or a version mismatch, never ignored. */
export const Closed = { additionalProperties: false } as const;

/** A closed set of strings; the values also exist as an exported array so code can iterate them. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, description: string) {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  ) as TUnion<TLiteral<T[number]>[]>;
}
