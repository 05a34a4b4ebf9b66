/**
 * The per-connection bounds of the WebSocket layer. Defaults suit a browser that pings every 25 s and sends a
 * handful of call requests; deployments tune them through configuration, and tests shrink the timers.
 */
import { MAX_FRAME_BYTES } from '@switchboard/protocol';

export interface SessionLimits {
  /** Largest frame accepted, in UTF-8 bytes; at most the protocol's `MAX_FRAME_BYTES`, announced in `welcome`. */
  maxFrameBytes: number;
  /** Time from the upgrade to the `hello` frame; a socket that says nothing costs memory and a file descriptor. */
  helloTimeoutMs: number;
  /** `welcome.pingIntervalMs`: how often clients should ping. */
  pingIntervalMs: number;
  /** How long before the token expires `auth.expiring` is sent: time for the host page to mint a new token. */
  expiringNoticeMs: number;
  /** Refill rate of the per-connection token bucket. */
  messagesPerSecond: number;
  /** Bucket size: bursts a legitimate client produces (a reconnect replaying state, trickled ICE). */
  burst: number;
  /** Refused messages in a row after which the connection is closed with `too-many-messages`. */
  maxRateLimitedInARow: number;
  /** Malformed requests in a row after which the connection is closed with `protocol-violation`. */
  maxInvalidInARow: number;
  /** Sessions one operator may hold at once (tabs and devices); the oldest is superseded beyond it. */
  maxSessionsPerOperator: number;
  /** How long shutdown waits for clients to acknowledge the close before dropping their sockets. */
  closeGraceMs: number;
}

export const DEFAULT_SESSION_LIMITS: Readonly<SessionLimits> = Object.freeze({
  maxFrameBytes: MAX_FRAME_BYTES,
  helloTimeoutMs: 10_000,
  pingIntervalMs: 25_000,
  expiringNoticeMs: 60_000,
  messagesPerSecond: 20,
  burst: 40,
  maxRateLimitedInARow: 20,
  maxInvalidInARow: 20,
  maxSessionsPerOperator: 8,
  closeGraceMs: 2_000,
});

/** Fills in defaults and refuses values that would make the layer unsafe or the `welcome` invalid. */
export function resolveLimits(partial: Partial<SessionLimits> = {}): SessionLimits {
  const limits: SessionLimits = { ...DEFAULT_SESSION_LIMITS };
  for (const [key, value] of Object.entries(partial) as [keyof SessionLimits, number | undefined][]) {
    if (value !== undefined) limits[key] = value;
  }
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`limits.${key} must be a non-negative number, not ${value}`);
  }
  // welcome.maxFrameBytes is bounded by the protocol schema; a larger value would make every welcome invalid.
  if (limits.maxFrameBytes < 1024 || limits.maxFrameBytes > MAX_FRAME_BYTES) {
    throw new RangeError(`limits.maxFrameBytes must be between 1024 and ${MAX_FRAME_BYTES}`);
  }
  if (limits.messagesPerSecond <= 0 || limits.burst < 1) throw new RangeError('limits.messagesPerSecond and limits.burst must be positive');
  if (limits.maxSessionsPerOperator < 1) throw new RangeError('limits.maxSessionsPerOperator must be at least 1');
  return limits;
}
