/**
 * When a line sends its next REGISTER: the refresh point inside a granted registration, and the wait after a failure.
 * Pure functions of the injected random value, so their bounds are tested exactly.
 */
import type { ContactValue, SipResponse, SipUri, Uri } from '@switchboard/sip';

export interface BackoffOptions {
  /** Ceiling of the first wait after a failure; it doubles with each failure in a row. */
  readonly initialMs: number;
  readonly maxMs: number;
  /** No wait is shorter, whatever the random draw: a refusing PBX must never see a tight loop. */
  readonly floorMs: number;
  /**
   * Ceiling of the first wait after the PBX refused our credentials. Many PBXs (fail2ban on Asterisk and FreePBX)
   * ban an address after a few failed REGISTERs in a short time, which would take every other line down with it.
   * Such waits are drawn from the upper half of their ceiling.
   */
  readonly authInitialMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialMs: 2_000, maxMs: 300_000, floorMs: 1_000, authInitialMs: 60_000 });

/**
 * The wait before retry number `failures` (1 for the first failure in a row): "full jitter" between the floor and a
 * ceiling that doubles up to the maximum, so lines that failed together (a PBX restart) do not retry together.
 */
export function backoffDelay(failures: number, random: number, options: BackoffOptions, refusedCredentials = false): number {
  const initial = refusedCredentials ? Math.max(options.initialMs, options.authInitialMs) : options.initialMs;
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const ceiling = Math.min(options.maxMs, initial * 2 ** exponent);
  // Refused credentials wait at least half their first ceiling: the floor alone would allow a retry a second later.
  const floor = refusedCredentials ? Math.min(initial / 2, ceiling) : Math.min(options.floorMs, ceiling);
  return Math.round(floor + clampUnit(random) * (ceiling - floor));
}

/**
 * When to refresh a registration granted for `grantedSeconds`: at 80-90 % of it, spread by `random` so that lines
 * registered in the same second (after a restart) do not all refresh in the same second either.
 */
export function refreshDelay(grantedSeconds: number, random: number): number {
  return Math.round(grantedSeconds * 1000 * (0.8 + 0.1 * clampUnit(random)));
}

/**
 * The lifetime a 2xx to our REGISTER granted (RFC 3261 §10.2.4): our Contact's expires parameter, else the Expires
 * header, else what we asked for. Registrars answer with every binding of the address of record, so ours is found by
 * its URI; `undefined` when the 2xx lists bindings and ours is not among them (the registrar did not keep it).
 */
export function grantedExpires(response: SipResponse, contact: Uri, requested: number): number | undefined {
  const contacts = response.contacts.filter((value): value is Exclude<ContactValue, '*'> => value !== '*');
  const header = response.parsed('expires');
  if (contacts.length === 0) return header ?? requested;
  const ours = contacts.find((value) => sameBinding(value.uri, contact));
  if (ours === undefined) return undefined;
  const param = ours.params.get('expires');
  const seconds = param === undefined || param === null ? Number.NaN : Number.parseInt(param, 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : header ?? requested;
}

/** Retry-After of a 503 or 5xx, in milliseconds (RFC 3261 §20.33: seconds, maybe a comment and parameters after). */
export function retryAfterMs(response: SipResponse): number | undefined {
  const value = response.get('retry-after');
  const match = value === undefined ? null : /^\s*(\d{1,9})/.exec(value);
  return match === null ? undefined : Number.parseInt(match[1]!, 10) * 1000;
}

// Registrars echo a Contact in their own spelling (parameter order, host case, a default port made explicit), so
// the comparison is on what routes to us: user, host and port.
function sameBinding(a: Uri, b: Uri): boolean {
  if (a.type !== 'sip' || b.type !== 'sip') return false;
  const port = (uri: SipUri): number => uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060);
  return (a.user ?? '') === (b.user ?? '') && a.host.toLowerCase() === b.host.toLowerCase() && port(a) === port(b);
}

function clampUnit(value: number): number {
  return Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0;
}
