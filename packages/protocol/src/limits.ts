/**
 * Every bound the protocol enforces. Both sides check the same numbers, so a message one side accepts the other
 * accepts too; the gateway may lower `MAX_FRAME_BYTES` per deployment but never raise the field limits, since
 * clients built against this version refuse anything longer.
 */

/** Largest frame either side accepts, in UTF-8 bytes. A call offer with a full SDP fits several times over. */
export const MAX_FRAME_BYTES = 64 * 1024;

/** A signed token (JWT). Tokens carrying whole permission lists belong in the CRM, not in every login. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** SDP bodies, in UTF-8 bytes. Audio offers with every candidate gathered stay well under 16 KiB. */
export const MAX_SDP_BYTES = 32 * 1024;

/** A dialled target: extension, E.164 number or SIP user part. E.164 itself stops at 15 digits. */
export const MAX_TARGET_LENGTH = 64;

/** Request ids, call ids, session ids, operator ids. */
export const MAX_ID_LENGTH = 64;

/** Names and numbers shown to people (display names, caller numbers, client names). */
export const MAX_NAME_LENGTH = 128;

/** Free text: error messages, end-of-call reasons, line failure reasons. */
export const MAX_TEXT_LENGTH = 512;

/** An opaque reference the CRM attaches to an outgoing call (a record id, a URL). */
export const MAX_CONTEXT_LENGTH = 512;

/** One trickled ICE candidate line. */
export const MAX_ICE_CANDIDATE_LENGTH = 1024;

export const MAX_ICE_SERVERS = 8;
export const MAX_ICE_URLS = 8;
export const MAX_URL_LENGTH = 512;

/** Digits in one `call.dtmf` request. */
export const MAX_DTMF_DIGITS = 32;

/** Each digit's tone, in ms: the shortest a receiver reliably detects, the longest a key is held, and the usual. */
export const DTMF_DURATION_MS = { min: 40, max: 2000, default: 100 } as const;

/** Calls listed in `welcome`: an operator rarely has more than a few at once. */
export const MAX_CALLS = 32;

/** Extra key/value pairs in the screen-pop contact slot. */
export const MAX_CONTACT_FIELDS = 32;

/** Properties in an error's `details`. */
export const MAX_ERROR_DETAILS = 16;

/** Epoch milliseconds and durations stay exact in a JavaScript number. */
export const MAX_INTEGER = Number.MAX_SAFE_INTEGER;
