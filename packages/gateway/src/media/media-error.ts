/**
 * The one error class of the media layer. Callers branch on `code`; messages are for people (and logs) and may
 * change. How the B2BUA is expected to map codes: `no-common-codec` to 488, `unreachable`/`refused`/`invalid-reply`
 * to a 5xx towards the caller, `invalid-sdp` to 400 (or 488 when the SDP came in a response).
 */
export type MediaErrorCode =
  /** rtpengine did not answer within the configured time: down, firewalled, or the address is wrong. */
  | 'unreachable'
  /** rtpengine answered `result: error`; the message carries its `error-reason`. */
  | 'refused'
  /** rtpengine answered something that is not a usable ng reply. */
  | 'invalid-reply'
  /** Malformed bencode, or a value bencode cannot represent. */
  | 'invalid-bencode'
  /** An SDP that could not be parsed. */
  | 'invalid-sdp'
  /** None of the PBX's codecs is in the offer. */
  | 'no-common-codec'
  /** Operations out of order, e.g. an answer without an offer. */
  | 'invalid-state'
  | 'invalid-argument'
  /** What this media mode cannot do, e.g. move a passthrough call's media without the browser. */
  | 'unsupported'
  /** The client or the media session was closed. */
  | 'closed';

export class MediaError extends Error {
  override readonly name = 'MediaError';
  readonly code: MediaErrorCode;

  constructor(code: MediaErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export function isMediaError(error: unknown, code?: MediaErrorCode): error is MediaError {
  return error instanceof MediaError && (code === undefined || error.code === code);
}
