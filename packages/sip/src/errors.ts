/**
 * One error hierarchy for the whole SIP core. Every error carries a stable `code` that callers branch on
 * (messages are for people and may change); a `SipError` that maps to a SIP response carries its `status`.
 */
export type SipErrorCode =
  | 'parse'
  | 'framing'
  | 'invalid-argument'
  | 'invalid-state'
  | 'transport'
  /** No SIP server could be located for a URI (RFC 3263). */
  | 'dns'
  | 'transaction-timeout'
  | 'transaction-terminated'
  | 'auth'
  | 'dialog'
  | 'sdp';

export interface SipErrorOptions {
  status?: number;
  cause?: unknown;
}

export class SipError extends Error {
  readonly code: SipErrorCode;
  /** The SIP status code this error maps to, when it maps to one. */
  readonly status: number | undefined;

  constructor(code: SipErrorCode, message: string, options: SipErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SipError';
    this.code = code;
    this.status = options.status;
  }
}

/** Thrown by the parser. `status` is the response a UAS should send for the offending request (400, 505, 413, 513, ...). */
export class SipParseError extends SipError {
  declare readonly status: number;
  /** Reason phrase to use in that response. */
  readonly reason: string;

  constructor(message: string, status = 400, reason = defaultReason(status), cause?: unknown) {
    super('parse', message, { status, cause });
    this.name = 'SipParseError';
    this.reason = reason;
  }
}

/** Thrown by the stream framer; the connection the bytes came from must be closed. */
export class SipFramingError extends SipError {
  constructor(message: string, status = 400, cause?: unknown) {
    super('framing', message, { status, cause });
    this.name = 'SipFramingError';
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  483: 'Too Many Hops',
  505: 'Version Not Supported',
  513: 'Message Too Large',
};

function defaultReason(status: number): string {
  return REASONS[status] ?? 'Bad Request';
}
