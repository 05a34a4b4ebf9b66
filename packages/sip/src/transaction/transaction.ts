/**
 * What the four transaction state machines share: how they reach the network, how they keep their timers, and
 * how a failed send becomes a transport error in the state machine (§17.1.4, §17.2.4).
 *
 * The state machines themselves, and their single guarded transition function each, live in their own classes.
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { SipError } from '../errors.js';
import { SipRequest, type SipMessage } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/transport.js';
import { TypedEmitter, type EventMap } from '../typed-emitter.js';
import { timersFor, type TimerOptions, type TransactionTimers } from './timers.js';

/**
 * The narrow view of the transport layer a transaction needs. A `SipTransport` satisfies it as is; a stack with
 * several transports passes an object that picks one by `destination.protocol`.
 */
export interface TransactionSender {
  /** Rejects (preferably with a `SipError` of code `transport`) when the message cannot be sent. */
  send(message: SipMessage, destination: TransportAddress, connectionId?: string): Promise<void>;
  /**
   * Whether the transport towards `destination` is reliable. Without it, everything but UDP counts as reliable,
   * which is right for TCP, TLS, WS and WSS.
   */
  isReliable?(destination: TransportAddress): boolean;
}

export interface TransactionOptions {
  sender: TransactionSender;
  /** Defaults to the system clock; tests pass a `ManualClock`. */
  clock?: Clock;
  /** T1/T2/T4 and the rest; defaults are RFC 3261's. */
  timers?: TimerOptions;
  /** Overrides `sender.isReliable` for this transaction. */
  reliable?: boolean;
}

export interface ClientTransactionOptions extends TransactionOptions {
  request: SipRequest;
  destination: TransportAddress;
  /** Stream connection to send on; otherwise the transport reuses or opens one. */
  connectionId?: string;
}

export interface ServerTransactionOptions extends TransactionOptions {
  request: SipRequest;
  /** Where responses go: the request's source as the transport reported it (§18.2.2, RFC 3581). */
  source: TransportAddress;
  /** The stream connection the request arrived on; responses go back on it (§18.2.2). */
  connectionId?: string;
}

export interface StateChange<S extends string> {
  readonly from: S;
  readonly to: S;
}

export interface TerminatedEvent {
  /** Why the transaction ended early (timeout, transport failure, forced termination); undefined on a normal end. */
  readonly error: SipError | undefined;
}

export function isReliableDestination(sender: TransactionSender, destination: TransportAddress): boolean {
  return sender.isReliable?.(destination) ?? destination.protocol !== 'udp';
}

/** §8.1.3.1 and §17.1.4: the TU treats a transport failure like a 503 response. */
export function transportFailure(cause: unknown, what: string): SipError {
  if (cause instanceof SipError && cause.code === 'transport' && cause.status !== undefined) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new SipError('transport', `${what}: ${detail}`, { status: 503, cause });
}

export abstract class Transaction<
  State extends string,
  Events extends EventMap & { state: StateChange<State>; terminated: TerminatedEvent },
> extends TypedEmitter<Events> {
  /** The transaction's matching key (transaction-key.ts). */
  readonly id: string;
  readonly request: SipRequest;
  /** The peer: where requests (client) or responses (server) go. */
  readonly peer: TransportAddress;
  /** The stream connection to use, if any. */
  readonly connectionId: string | undefined;
  readonly reliable: boolean;
  readonly timers: TransactionTimers;
  protected readonly clock: Clock;
  private readonly sender: TransactionSender;
  private readonly running = new Map<string, TimerHandle>();

  abstract get state(): State;

  protected constructor(id: string, request: SipRequest, peer: TransportAddress, connectionId: string | undefined, options: TransactionOptions) {
    super();
    this.id = id;
    this.request = request;
    this.peer = peer;
    this.connectionId = connectionId;
    this.sender = options.sender;
    this.clock = options.clock ?? systemClock;
    this.reliable = options.reliable ?? isReliableDestination(options.sender, peer);
    this.timers = timersFor(this.reliable, options.timers);
  }

  /** Names of the timers now running (A, B, G, ...): for diagnostics and tests. */
  get runningTimers(): string[] {
    return [...this.running.keys()].sort();
  }

  /**
   * `once('terminated', ...)` under a name that is callable on a union of transaction classes (TypeScript cannot
   * call the generic `on` of a union).
   */
  onTerminated(listener: (event: TerminatedEvent) => void): () => void {
    return this.once('terminated', listener);
  }

  /** Called when a send fails; each state machine decides whether its current state cares. */
  protected abstract onTransportError(error: SipError): void;

  protected startTimer(name: string, ms: number, fire: () => void): void {
    this.stopTimer(name);
    const handle = this.clock.setTimeout(() => {
      // A timer cleared by a transition in the same instant must not fire afterwards.
      if (this.running.get(name) !== handle) return;
      this.running.delete(name);
      fire();
    }, ms);
    this.running.set(name, handle);
  }

  protected stopTimer(...names: string[]): void {
    for (const name of names) {
      const handle = this.running.get(name);
      if (handle === undefined) continue;
      this.clock.clearTimeout(handle);
      this.running.delete(name);
    }
  }

  protected stopAllTimers(): void {
    this.stopTimer(...this.running.keys());
  }

  /**
   * Passes a message to the transport. Failures arrive later, asynchronously, and by then the transaction may have
   * moved on: `onTransportError` sees the state at that moment.
   */
  protected transmit(message: SipMessage, what: string): void {
    let sending: Promise<void>;
    try {
      sending = this.sender.send(message, this.peer, this.connectionId);
    } catch (error) {
      sending = Promise.reject(error);
    }
    sending.then(undefined, (error: unknown) => this.onTransportError(transportFailure(error, `cannot send ${what}`)));
  }
}
