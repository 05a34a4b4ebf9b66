/**
 * Transaction timers: RFC 3261 §17 Table 4, with Timers L and M of RFC 6026.
 *
 * Everything derives from three base values (T1, T2, T4) so that a deployment with a known round-trip time can
 * scale the whole set at once, as §17.1.1.1 allows for T1. A transaction resolves its timers once, for the
 * reliability of its transport, because several of them (A, D, E, G, I, J, K) differ between UDP and streams.
 */
import { SipError } from '../errors.js';

export interface TimerConfig {
  /** RTT estimate; every retransmission and timeout scales with it. RFC 3261 default 500 ms. */
  readonly T1: number;
  /** Cap on the retransmission interval of non-INVITE requests and INVITE responses. Default 4 s. */
  readonly T2: number;
  /** Maximum time a message stays in the network. Default 5 s. */
  readonly T4: number;
  /** Timer C, a proxy's INVITE timeout (§16.6); only kept here so that one options object configures every timer. */
  readonly timerC: number;
  /** Timer D on unreliable transports; §17.1.1.2 demands at least 32 s. */
  readonly timerD: number;
  /** §17.2.1: how long an INVITE server transaction waits for the TU before sending 100 Trying itself. */
  readonly tryingDelay: number;
}

export type TimerOptions = Partial<TimerConfig>;

export const DEFAULT_TIMER_CONFIG: TimerConfig = Object.freeze({
  T1: 500,
  T2: 4000,
  T4: 5000,
  timerC: 180_000,
  timerD: 32_000,
  tryingDelay: 200,
});

/** Merges options over the defaults and rejects values that would break the state machines. */
export function timerConfig(options: TimerOptions = {}): TimerConfig {
  const config = { ...DEFAULT_TIMER_CONFIG, ...stripUndefined(options) };
  for (const [name, value] of Object.entries(config)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new SipError('invalid-argument', `timer ${name} must be a finite number of milliseconds >= 0, not ${String(value)}`);
    }
  }
  // A zero T1 would make Timer A/E/G fire in a tight loop.
  if (config.T1 <= 0) throw new SipError('invalid-argument', 'T1 must be greater than 0');
  if (config.T2 < config.T1) throw new SipError('invalid-argument', `T2 (${config.T2}) must not be smaller than T1 (${config.T1})`);
  return config;
}

function stripUndefined(options: TimerOptions): TimerOptions {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(options)) if (value !== undefined) out[name] = value;
  return out;
}

/**
 * The timer values for one transaction. A retransmission timer (A, E, G) is `undefined` on a reliable transport:
 * §17.1.1.2, §17.1.2.2 and §17.2.1 forbid retransmitting over a transport that already does.
 */
export interface TransactionTimers {
  readonly T1: number;
  readonly T2: number;
  readonly T4: number;
  /** INVITE request retransmission, first interval (doubles without cap). */
  readonly A: number | undefined;
  /** INVITE transaction timeout. */
  readonly B: number;
  /** Proxy INVITE transaction timeout. */
  readonly C: number;
  /** Wait time for response retransmissions (INVITE client, Completed). */
  readonly D: number;
  /** Non-INVITE request retransmission, first interval (doubles up to T2). */
  readonly E: number | undefined;
  /** Non-INVITE transaction timeout. */
  readonly F: number;
  /** INVITE final response retransmission, first interval (doubles up to T2). */
  readonly G: number | undefined;
  /** Wait time for ACK receipt. */
  readonly H: number;
  /** Wait time for ACK retransmissions. */
  readonly I: number;
  /** Wait time for non-INVITE request retransmissions. */
  readonly J: number;
  /** Wait time for non-INVITE response retransmissions. */
  readonly K: number;
  /** RFC 6026: wait time for INVITE retransmissions after a 2xx (server, Accepted). */
  readonly L: number;
  /** RFC 6026: wait time for 2xx retransmissions and forked 2xx (client, Accepted). */
  readonly M: number;
  /** 100 Trying delay of the INVITE server transaction. */
  readonly tryingDelay: number;
}

export function transactionTimers(reliable: boolean, config: TimerConfig = DEFAULT_TIMER_CONFIG): TransactionTimers {
  const { T1, T2, T4 } = config;
  return Object.freeze({
    T1,
    T2,
    T4,
    A: reliable ? undefined : T1,
    B: 64 * T1,
    C: config.timerC,
    D: reliable ? 0 : config.timerD,
    E: reliable ? undefined : T1,
    F: 64 * T1,
    G: reliable ? undefined : T1,
    H: 64 * T1,
    I: reliable ? 0 : T4,
    J: reliable ? 0 : 64 * T1,
    K: reliable ? 0 : T4,
    L: 64 * T1,
    M: 64 * T1,
    tryingDelay: config.tryingDelay,
  });
}

const NO_OPTIONS: TimerOptions = Object.freeze({});
/** Unreliable then reliable timers, per options object: the layer hands the same one to every transaction it starts. */
const resolved = new WeakMap<TimerOptions, readonly [TransactionTimers, TransactionTimers]>();

/** `transactionTimers(reliable, timerConfig(options))`, resolved and validated once per options object. */
export function timersFor(reliable: boolean, options: TimerOptions = NO_OPTIONS): TransactionTimers {
  let pair = resolved.get(options);
  if (pair === undefined) {
    const config = timerConfig(options);
    pair = [transactionTimers(false, config), transactionTimers(true, config)];
    resolved.set(options, pair);
  }
  return pair[reliable ? 1 : 0];
}

/** Next interval of a doubling retransmission timer; `cap` is T2 for Timers E and G, none for Timer A. */
export function backoff(previous: number, cap: number = Infinity): number {
  return Math.min(previous * 2, cap);
}
