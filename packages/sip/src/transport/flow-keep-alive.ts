/**
 * Keep-alives of a flow this side opened (RFC 5626 §4.4.1): a ping after a wait drawn afresh each time between 80 %
 * and 100 % of the interval (so that many flows opened together do not ping together), and the flow counted as failed
 * when neither a pong nor anything else comes from the peer within the pong timeout. What a ping and a pong are is the
 * transport's business: a CRLF pair answered by one CRLF over TCP and TLS, a WebSocket ping frame answered by a pong
 * frame over WS.
 *
 * Every WebSocket peer answers pings (RFC 6455 §5.5.2), but a SIP peer without RFC 5626 need only skip CRLFs
 * (RFC 3261 §7.5). With `expectPong: 'once-answered'` a ping goes unanswered without consequence until the peer has
 * answered one: only a peer known to answer can be known dead by its silence.
 *
 *            start               wait over: ping()
 *   idle ──────────▶ waiting ───────────────────▶ awaiting-pong ── pong timeout, peer known to answer: failed() ──▶ failed
 *                       ▲                               │
 *                       └── pong, or other traffic, ────┤
 *                       └── pong timeout, peer not known to answer
 *   stop, from any state ──▶ stopped
 */
import { SipError } from '../errors.js';
import { systemClock, type Clock, type Random, type TimerHandle } from '../clock.js';

export type FlowKeepAliveState = 'idle' | 'waiting' | 'awaiting-pong' | 'failed' | 'stopped';

export interface FlowKeepAliveOptions {
  /** Nominal time between pings, ms. Default 120000, RFC 5626's default for connection-oriented flows. */
  intervalMs?: number;
  /** How long a ping may go unanswered, ms. Default 10000 (RFC 5626 §4.4.1). Below 80 % of the interval. */
  pongTimeoutMs?: number;
}

export const DEFAULT_KEEP_ALIVE_INTERVAL = 120_000;
export const DEFAULT_PONG_TIMEOUT = 10_000;

/** Whether an unanswered ping fails the flow from the start, or only once the peer has answered a ping. */
export type PongExpectation = 'always' | 'once-answered';

export interface FlowKeepAliveActions {
  /** Sends a ping on the flow. A ping that cannot be sent is a ping without a pong. */
  ping(): void;
  /** No pong came in time: the flow is dead, and should be closed. */
  failed(): void;
}

const TRANSITIONS: Record<FlowKeepAliveState, readonly FlowKeepAliveState[]> = {
  idle: ['waiting', 'stopped'],
  waiting: ['awaiting-pong', 'stopped'],
  'awaiting-pong': ['waiting', 'failed', 'stopped'],
  failed: ['stopped'],
  stopped: [],
};

/** The interval and pong timeout, checked: a bad option fails when the transport is made, not at the first ping. */
export function keepAliveTimes(options: FlowKeepAliveOptions = {}): Required<FlowKeepAliveOptions> {
  const intervalMs = options.intervalMs ?? DEFAULT_KEEP_ALIVE_INTERVAL;
  const pongTimeoutMs = options.pongTimeoutMs ?? DEFAULT_PONG_TIMEOUT;
  for (const [name, value] of [['intervalMs', intervalMs], ['pongTimeoutMs', pongTimeoutMs]] as const) {
    if (!Number.isFinite(value) || value <= 0 || value > 2_147_483_647) {
      throw new SipError('invalid-argument', `keepAlive.${name} must be a positive number of milliseconds`);
    }
  }
  // A pong still awaited when the next ping is due would overlap two rounds.
  if (pongTimeoutMs >= intervalMs * 0.8) {
    throw new SipError('invalid-argument', 'keepAlive.pongTimeoutMs must be below 80 % of keepAlive.intervalMs');
  }
  return { intervalMs, pongTimeoutMs };
}

export class FlowKeepAlive {
  private current: FlowKeepAliveState = 'idle';
  private timer: TimerHandle | undefined;
  private peerAnswers: boolean;
  private readonly times: Required<FlowKeepAliveOptions>;
  private readonly clock: Clock;

  constructor(
    options: FlowKeepAliveOptions,
    expectPong: PongExpectation,
    private readonly random: Random,
    private readonly actions: FlowKeepAliveActions,
    clock: Clock = systemClock,
  ) {
    this.times = keepAliveTimes(options);
    this.peerAnswers = expectPong === 'always';
    this.clock = clock;
  }

  get state(): FlowKeepAliveState {
    return this.current;
  }

  /** Starts the first wait; once the flow is usable. */
  start(): void {
    if (this.current === 'idle') this.waitForNextPing();
  }

  /** A pong came: true when it answers the ping awaited, and the peer is then known to answer pings. */
  pong(): boolean {
    if (this.current !== 'awaiting-pong') return false;
    this.peerAnswers = true;
    return this.alive();
  }

  /** Something else came from the peer: it is alive, as a pong would have said. True when a pong was awaited. */
  alive(): boolean {
    if (this.current !== 'awaiting-pong') return false;
    this.waitForNextPing();
    return true;
  }

  /** The flow closed, or keep-alives are no longer wanted. */
  stop(): void {
    this.clearTimer();
    if (this.current !== 'stopped') this.transition('stopped');
  }

  private waitForNextPing(): void {
    this.transition('waiting');
    this.arm(this.nextWait(), () => {
      this.transition('awaiting-pong');
      this.arm(this.times.pongTimeoutMs, () => {
        if (!this.peerAnswers) {
          this.waitForNextPing();
          return;
        }
        this.transition('failed');
        this.actions.failed();
      });
      this.actions.ping();
    });
  }

  /** Between 80 % and 100 % of the interval, uniformly, from two random bytes. */
  private nextWait(): number {
    const bytes = this.random.bytes(2);
    const fraction = ((bytes[0]! << 8) | bytes[1]!) / 0xffff;
    return Math.round(this.times.intervalMs * (0.8 + 0.2 * fraction));
  }

  private arm(ms: number, fire: () => void): void {
    this.clearTimer();
    const handle = this.clock.setTimeout(() => {
      if (this.timer !== handle) return;
      this.timer = undefined;
      fire();
    }, ms);
    this.timer = handle;
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private transition(to: FlowKeepAliveState): void {
    if (!TRANSITIONS[this.current].includes(to)) {
      throw new SipError('invalid-state', `keep-alive cannot go from ${this.current} to ${to}`);
    }
    this.current = to;
  }
}
