/**
 * Login tokens from the host CRM. The widget GETs the host's token URL with the host's cookies and reads
 * `{"token": "..."}`. A failure (not signed in, a server error, no network or no answer within 10 s, an unreadable
 * answer) is reported and
 * retried with exponential backoff and jitter until it works, so a page left open while the CRM restarts, or
 * while the operator signs in again in another tab, recovers by itself.
 *
 * `get()` resolves only with a token: the SDK stays "connecting" meanwhile instead of running its own retries on
 * top of these.
 */
import { backoffDelay, type Timers } from '@switchboard/client';

export type TokenFailure =
  | { kind: 'unauthorized'; status: number }
  | { kind: 'server'; status: number }
  | { kind: 'network' }
  | { kind: 'malformed' };

export interface TokenProblem {
  failure: TokenFailure;
  /** 1 for the first failed attempt in a row. */
  attempt: number;
  retryInMs: number;
}

export type Clock = Timers;

/** The part of `fetch` used here, so tests can hand in their own. */
export type FetchLike = (
  url: string,
  init: { credentials: 'same-origin'; cache: 'no-store'; headers: Record<string, string>; signal: AbortSignal },
) => Promise<{
  status: number;
  ok: boolean;
  text(): Promise<string>;
}>;

export interface TokenSourceOptions {
  url: string;
  fetch: FetchLike;
  clock: Clock;
  /** In [0, 1). */
  random: () => number;
  /** A failed attempt and when the next one comes; `undefined` once a token arrived. */
  onProblem: (problem: TokenProblem | undefined) => void;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** How long one attempt (request and body) may take; default 10 s. */
  timeoutMs?: number;
  /** A signal that aborts after `ms`; default `timeoutSignal` with the clock. */
  timeoutSignal?: (ms: number) => AbortSignal;
}

export const TOKEN_TIMEOUT_MS = 10_000;

/** The SDK's reconnect backoff, counted from the first failed attempt and capped at a minute. */
export function retryDelay(attempt: number, random: () => number, initialMs = 1_000, maxMs = 60_000): number {
  return backoffDelay(Math.max(attempt - 1, 0), random, { initialDelayMs: initialMs, maxDelayMs: maxMs });
}

export class TokenSourceStopped extends Error {
  override name = 'TokenSourceStopped';
}

/**
 * A signal that aborts after `ms`: `AbortSignal.timeout` where the browser has it (Safari before 16, older
 * Chromium-based embeds do not), else a controller and a timer.
 */
export function timeoutSignal(ms: number, clock: Clock, native: ((ms: number) => AbortSignal) | null = nativeTimeout()): AbortSignal {
  if (native) return native(ms);
  const controller = new AbortController();
  clock.setTimeout(() => controller.abort(new DOMException('The token request timed out', 'TimeoutError')), ms);
  return controller.signal;
}

function nativeTimeout(): ((ms: number) => AbortSignal) | null {
  return typeof AbortSignal.timeout === 'function' ? (ms) => AbortSignal.timeout(ms) : null;
}

export class TokenSource {
  private inFlight: Promise<string> | undefined;
  private stopped = false;
  private timer: unknown;
  private wake: (() => void) | undefined;
  /** Aborts the request under way on stop(), so an unmounted widget leaves no request to the CRM behind. */
  private readonly stopper = new AbortController();

  constructor(private readonly options: TokenSourceOptions) {}

  /** A fresh token; callers asking while a fetch (or a wait between fetches) is under way share it. */
  get(): Promise<string> {
    if (this.stopped) return Promise.reject(new TokenSourceStopped('the phone was unmounted'));
    this.inFlight ??= this.fetchUntilDone().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Ends the retries; a pending `get()` rejects. */
  stop(): void {
    this.stopped = true;
    this.options.clock.clearTimeout(this.timer);
    this.wake?.();
    this.stopper.abort(new TokenSourceStopped('the phone was unmounted'));
  }

  private async fetchUntilDone(): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt();
      if (this.stopped) throw new TokenSourceStopped('the phone was unmounted');
      if (typeof result === 'string') {
        this.options.onProblem(undefined);
        return result;
      }
      const retryInMs = retryDelay(attempt, this.options.random, this.options.initialDelayMs, this.options.maxDelayMs);
      this.options.onProblem({ failure: result, attempt, retryInMs });
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = this.options.clock.setTimeout(resolve, retryInMs);
      });
      this.wake = undefined;
      if (this.stopped) throw new TokenSourceStopped('the phone was unmounted');
    }
  }

  private async attempt(): Promise<string | TokenFailure> {
    const ms = this.options.timeoutMs ?? TOKEN_TIMEOUT_MS;
    const timeout = this.options.timeoutSignal ? this.options.timeoutSignal(ms) : timeoutSignal(ms, this.options.clock);
    // Either the timeout or stop() ends the attempt; AbortSignal.any is too new to rely on.
    const sources = [timeout, this.stopper.signal];
    const controller = new AbortController();
    const signal = controller.signal;
    const forward = (): void => {
      const source = sources.find((s) => s.aborted);
      controller.abort(source?.reason);
    };
    // A CRM that accepts the connection and never answers would otherwise leave the phone "connecting" for good.
    // Racing the signal as well covers a fetch (or a body) that ignores it.
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => {});
    for (const source of sources) {
      if (source.aborted) forward();
      else source.addEventListener('abort', forward, { once: true });
    }
    try {
      return await Promise.race([this.request(signal), aborted]);
    } catch {
      return { kind: 'network' };
    } finally {
      for (const source of sources) source.removeEventListener('abort', forward);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  /** Throws only when the CRM cannot be reached (or took too long). */
  private async request(signal: AbortSignal): Promise<string | TokenFailure> {
    const response = await this.options.fetch(this.options.url, {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { accept: 'application/json' },
      signal,
    });
    if (response.status === 401 || response.status === 403) return { kind: 'unauthorized', status: response.status };
    if (!response.ok) return { kind: 'server', status: response.status };
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw error;
      return { kind: 'malformed' };
    }
    try {
      const body: unknown = JSON.parse(text);
      const token = typeof body === 'object' && body !== null ? (body as { token?: unknown }).token : undefined;
      // The protocol's bound on tokens: visible ASCII, at most 8 KiB.
      if (typeof token === 'string' && /^[\x21-\x7e]{1,8192}$/.test(token)) return token;
    } catch {
      // Falls through: an HTML login page or a truncated body reads the same to the operator.
    }
    return { kind: 'malformed' };
  }
}
