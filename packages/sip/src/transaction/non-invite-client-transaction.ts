/**
 * Non-INVITE client transaction: RFC 3261 §17.1.2.
 *
 *                             | start(): request sent
 *                             | Timer E (unreliable only), Timer F
 *         Timer E fires       V
 *         request sent  +------------+
 *         E = min(2E,T2)|            |   Timer F fires or transport error
 *             +---------|   trying   |----------------------------------+
 *             |         |            |   inform TU                      |
 *             +-------->|            |                                  |
 *                       +------------+                                  |
 *         200-699         |       |                                     |
 *         resp. to TU     |       | 1xx, resp. to TU                    |
 *            +------------+       V                                     |
 *            |          +------------+                                  |
 *            |  Timer E |            |   Timer F fires or transport error
 *            |  req sent| proceeding |----------------------------------+
 *            |  E = T2  |            |   inform TU                      |
 *            |    +-----|            |<---+                             |
 *            |    +---->|            |----+ 1xx, resp. to TU           |
 *            |          +------------+                                  |
 *            |            |                                             |
 *            |            | 200-699, resp. to TU                        |
 *            V            V                                             |
 *          +----------------+                                           |
 *          |   completed    |---+ any response: absorbed                |
 *          |                |<--+                                       |
 *          +----------------+                                           |
 *                 | Timer K fires                                       |
 *                 V                                                     |
 *          +----------------+                                           |
 *          |   terminated   |<------------------------------------------+
 *          +----------------+
 *
 * Timer F runs from the first transmission and is not restarted by a provisional response: a non-INVITE request
 * must finish within 64*T1 whatever the server says (§17.1.2.2).
 */
import { SipError } from '../errors.js';
import type { SipResponse } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/transport.js';
import { backoff } from './timers.js';
import { clientTransactionKey } from './transaction-key.js';
import { Transaction, type ClientTransactionOptions, type StateChange, type TerminatedEvent } from './transaction.js';

export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export type NonInviteClientEvents = {
  state: StateChange<NonInviteClientState>;
  /** Provisional responses and the final response; retransmitted finals are absorbed. */
  response: { readonly response: SipResponse };
  /** Timer F: no final response. `error.status` is 408 (§8.1.3.1). */
  timeout: { readonly error: SipError };
  /** The request could not be sent. `error.status` is 503 (§8.1.3.1). */
  'transport-error': { readonly error: SipError };
  terminated: TerminatedEvent;
};

const TRANSITIONS: { readonly [S in NonInviteClientState]: readonly NonInviteClientState[] } = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
};

export class NonInviteClientTransaction extends Transaction<NonInviteClientState, NonInviteClientEvents> {
  private current: NonInviteClientState = 'trying';
  private started = false;
  private finalResponse: SipResponse | undefined;

  constructor(options: ClientTransactionOptions) {
    const { request } = options;
    // ACK is never a transaction (§17.1: the ACK for 2xx is the TU's, the one for non-2xx the INVITE's).
    if (request.method === 'INVITE' || request.method === 'ACK') {
      throw new SipError('invalid-argument', `a non-INVITE client transaction cannot send ${request.method}`);
    }
    const id = clientTransactionKey(request);
    if (id === undefined) throw new SipError('invalid-argument', `the ${request.method} needs a top Via with an RFC 3261 branch and a CSeq`);
    super(id, request, options.destination, options.connectionId, options);
  }

  get state(): NonInviteClientState {
    return this.current;
  }

  get destination(): TransportAddress {
    return this.peer;
  }

  get response(): SipResponse | undefined {
    return this.finalResponse;
  }

  /** Sends the request and starts Timers E and F. */
  start(): void {
    if (this.started) throw new SipError('invalid-state', `the ${this.request.method} client transaction was already started`);
    this.started = true;
    this.transmit(this.request, this.request.method);
    if (this.timers.E !== undefined) this.scheduleTimerE(this.timers.E);
    this.startTimer('F', this.timers.F, () => {
      const error = new SipError('transaction-timeout', `no final response to ${this.request.method} within Timer F (${this.timers.F} ms)`, { status: 408 });
      this.emit('timeout', { error });
      this.transition('terminated', error);
    });
  }

  receiveResponse(response: SipResponse): void {
    if (this.current !== 'trying' && this.current !== 'proceeding') return;
    if (response.status < 200) {
      if (this.current === 'trying') this.transition('proceeding');
    } else {
      this.finalResponse = response;
      this.transition('completed');
    }
    this.emit('response', { response });
  }

  terminate(reason = 'terminated by the transaction user'): void {
    if (this.current === 'terminated') return;
    this.transition('terminated', new SipError('transaction-terminated', reason));
  }

  protected onTransportError(error: SipError): void {
    if (this.current !== 'trying' && this.current !== 'proceeding') return;
    this.emit('transport-error', { error });
    this.transition('terminated', error);
  }

  private scheduleTimerE(interval: number): void {
    this.startTimer('E', interval, () => {
      this.transmit(this.request, `${this.request.method} retransmission`);
      // §17.1.2.2: doubling up to T2 while Trying, a flat T2 once a provisional response has arrived.
      this.scheduleTimerE(this.current === 'proceeding' ? this.timers.T2 : backoff(interval, this.timers.T2));
    });
  }

  private transition(to: NonInviteClientState, error?: SipError): void {
    const from = this.current;
    if (!TRANSITIONS[from].includes(to)) {
      throw new SipError('invalid-state', `${this.request.method} client transaction ${this.id}: no transition from ${from} to ${to}`);
    }
    this.current = to;
    switch (to) {
      case 'completed':
        this.stopTimer('E', 'F');
        this.startTimer('K', this.timers.K, () => this.transition('terminated'));
        break;
      case 'terminated':
        this.stopAllTimers();
        break;
      case 'trying':
      case 'proceeding':
        // Timers E and F carry on: see the state diagram.
        break;
    }
    this.emit('state', { from, to });
    if (to === 'terminated') this.emit('terminated', { error });
  }
}

