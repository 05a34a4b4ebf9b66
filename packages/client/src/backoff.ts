/**
 * When to try again after the gateway closed the session. The close reason decides whether to try at all (the
 * protocol's `reconnect` advice, refined below); the delay grows exponentially with random spread, so that a
 * restarting gateway is not hit by every tab at the same instant.
 */
import type { CloseReason } from '@switchboard/protocol';
import { CLOSE_REASONS } from './generated/server-checks.js';

export interface BackoffOptions {
  /** The first delay; each further attempt doubles it. Default 1 s. */
  initialDelayMs?: number;
  /** The longest delay. Default 30 s. */
  maxDelayMs?: number;
}

export type ReconnectPlan =
  | { action: 'backoff' }
  /** Ask the host page for a fresh token and try again at once, only once in a row. */
  | { action: 'fresh-token' }
  | { action: 'stop' };

/**
 * `token-invalid` is advised "new token" by the protocol, but a host page that just produced a malformed token
 * will produce another: only an expired token is worth one immediate retry. Codes outside the table (1000, 1001,
 * 1006 after a network loss, a newer version's) are treated as transient.
 */
export function reconnectPlan(reason: CloseReason | undefined, code: number, freshTokenTried: boolean): ReconnectPlan {
  if (reason === 'token-expired') return freshTokenTried ? { action: 'stop' } : { action: 'fresh-token' };
  if (reason === 'token-invalid') return { action: 'stop' };
  const advice = CLOSE_REASONS[code]?.[1] ?? 'backoff';
  return advice === 'never' ? { action: 'stop' } : { action: 'backoff' };
}

/** "Equal jitter": half the exponential delay, plus up to as much again at random. */
export function backoffDelay(attempt: number, random: () => number, options: BackoffOptions = {}): number {
  const initial = options.initialDelayMs ?? 1_000;
  const max = options.maxDelayMs ?? 30_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
