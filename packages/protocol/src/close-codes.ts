/**
 * Why the gateway closed a session. The WebSocket close code carries the reason (browsers expose `code` reliably,
 * the reason text less so), and the reason text repeats its name for people reading logs. Codes live in the
 * 4000-4999 range RFC 6455 leaves to applications, grouped by hundreds: 40xx login, 41xx protocol, 42xx lifecycle.
 *
 * `reconnect` tells the client what to do next, so the SDK needs no table of its own:
 * - `new-token`: ask the host page for a fresh token, then reconnect;
 * - `backoff`: reconnect after a randomised delay with the token it has (if still valid);
 * - `never`: stop and report; reconnecting would fail the same way.
 */
export type ReconnectAdvice = 'new-token' | 'backoff' | 'never';

export interface CloseReasonInfo {
  readonly code: number;
  readonly reconnect: ReconnectAdvice;
  readonly description: string;
}

export const CLOSE_REASONS = {
  'hello-required': {
    code: 4000,
    reconnect: 'backoff',
    description: 'the first message was not `hello`, or none arrived in time',
  },
  'token-invalid': { code: 4001, reconnect: 'new-token', description: 'the token is malformed or lacks a claim' },
  'token-expired': {
    code: 4002,
    reconnect: 'new-token',
    description: 'the token expired, at login or later without an `auth.refresh`',
  },
  'token-audience': { code: 4003, reconnect: 'never', description: 'the token was issued for another audience' },
  'token-tampered': { code: 4004, reconnect: 'never', description: 'the token signature does not verify' },
  forbidden: { code: 4005, reconnect: 'never', description: 'the operator is unknown, disabled or has no line' },
  'protocol-unsupported': {
    code: 4100,
    reconnect: 'never',
    description: 'the gateway does not speak the protocol version in `hello`',
  },
  'protocol-violation': {
    code: 4101,
    reconnect: 'backoff',
    description: 'binary frames, or requests that stay malformed after error replies',
  },
  'too-large': { code: 4102, reconnect: 'backoff', description: 'a frame larger than the gateway accepts' },
  'too-many-messages': { code: 4103, reconnect: 'backoff', description: 'the client kept sending past rate limits' },
  superseded: {
    code: 4200,
    reconnect: 'never',
    description: 'a newer connection with the same `instance` replaced this one',
  },
  'server-shutdown': { code: 4201, reconnect: 'backoff', description: 'the gateway is stopping or restarting' },
  internal: { code: 4202, reconnect: 'backoff', description: 'a fault in the gateway ended the session' },
} as const satisfies Record<string, CloseReasonInfo>;

export type CloseReason = keyof typeof CLOSE_REASONS;

export const CLOSE_CODE_MIN = 4000;
export const CLOSE_CODE_MAX = 4999;

export function closeCode(reason: CloseReason): number {
  return CLOSE_REASONS[reason].code;
}

/** The reason behind a close code, or undefined for codes outside this table (1000, 1006, a newer version's). */
export function closeReason(code: number): CloseReason | undefined {
  for (const reason of Object.keys(CLOSE_REASONS) as CloseReason[]) {
    if (CLOSE_REASONS[reason].code === code) return reason;
  }
  return undefined;
}
