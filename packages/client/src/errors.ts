/**
 * The SDK's one error hierarchy. Programs branch on `code`, never on `message`: codes are the protocol's error
 * codes for refused requests, close reasons for refused sessions, and the SDK's own codes below.
 */
import type { CloseReason, ErrorCode } from '@switchboard/protocol';

export type MicrophoneErrorKind = 'denied' | 'missing' | 'busy' | 'failed';

export type ClientErrorCode =
  /** The gateway refused a request (its reply's error code). */
  | ErrorCode
  /** The gateway closed the session for this reason. */
  | CloseReason
  | `microphone-${MicrophoneErrorKind}`
  /** No reply within the request timeout. */
  | 'timeout'
  /** A request or call while the phone is not connected. */
  | 'not-connected'
  /** The socket closed before a reply arrived, or before the session was welcomed. */
  | 'connection-lost'
  /** `disconnect()` was called while this was under way. */
  | 'disconnected'
  /** A frame from the gateway that does not match the protocol; it was dropped. */
  | 'protocol-error'
  /** The host page's `getToken()` threw or returned something that is not a token. */
  | 'token-unavailable'
  /** WebRTC refused an offer, an answer or a candidate. */
  | 'webrtc-failed'
  /** The browser would not start remote audio (autoplay policy, usually until the user clicks). */
  | 'audio-playback'
  /** The call is in a state where this makes no sense (answer an outgoing call, ...). */
  | 'invalid-state';

export interface ClientErrorOptions {
  cause?: unknown;
  /** Extra facts from the gateway's error reply (`path`, `problem`, `retryAfterMs`, ...). */
  details?: Readonly<Record<string, string | number | boolean | null>>;
}

export class ClientError extends Error {
  override name = 'ClientError';
  readonly details: ClientErrorOptions['details'];

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options: ClientErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details;
  }
}

/** The gateway closed or refused the session; `closeCode` is the WebSocket close code. */
export class ConnectionError extends ClientError {
  override name = 'ConnectionError';

  constructor(
    code: ClientErrorCode,
    message: string,
    readonly closeCode?: number,
    options: ClientErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

/** The microphone could not be opened. */
export class MicrophoneError extends ClientError {
  override name = 'MicrophoneError';

  constructor(
    readonly kind: MicrophoneErrorKind,
    message: string,
    options: ClientErrorOptions = {},
  ) {
    super(`microphone-${kind}`, message, options);
  }
}

/** How a `getUserMedia` failure reads to a person and to a program: the DOMException names browsers use. */
export function microphoneErrorKind(error: unknown): MicrophoneErrorKind {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'missing';
    case 'NotReadableError':
    case 'AbortError':
      return 'busy';
    default:
      return 'failed';
  }
}

const MICROPHONE_MESSAGES: Record<MicrophoneErrorKind, string> = {
  denied: 'microphone access was denied',
  missing: 'no microphone was found',
  busy: 'the microphone is in use by another application',
  failed: 'the microphone could not be opened',
};

export function microphoneError(error: unknown): MicrophoneError {
  const kind = microphoneErrorKind(error);
  return new MicrophoneError(kind, MICROPHONE_MESSAGES[kind], { cause: error });
}
