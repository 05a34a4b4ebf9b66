/**
 * Non-INVITE server transaction: RFC 3261 §17.2.2.
 *
 *                          | request received, passed to TU
 *                          V
 *                    +------------+  request: absorbed
 *                    |   trying   |---+
 *                    |            |<--+
 *                    +------------+----------------------+
 *                          |                             |
 *                          | 1xx from TU                 | 200-699 from TU
 *                          | response sent               | response sent
 *       request            V         1xx from TU         |
 *       last 1xx   +------------+    response sent       |
 *       resent +---|            |---+                    |
 *              +-->| proceeding |<--+                    |
 *                  +------------+--------------------+   |
 *                          |      transport error,   |   |
 *                          |      inform TU          |   |
 *                          | 200-699 from TU         |   |
 *       request            | response sent           |   |
 *       final      +------------+                    |   |
 *       resent +---|            |<-------------------|---+
 *              +-->| completed  |                    |
 *                  +------------+--------------------+
 *                          |      transport error,   |
 *                          | Timer J  inform TU      |
 *                          V                         V
 *                  +--------------------------------------+
 *                  |              terminated              |
 *                  +--------------------------------------+
 *
 * Nothing here waits for the TU: a request the TU never answers keeps its transaction in `trying` until the TU
 * answers or calls `terminate()`, because §17.2.2 gives the server no timer in that state.
 *
 * When Timer J is zero (a reliable transport), `completed` ends at once rather than on a timer of 0 ms.
 */
import { SipError } from '../errors.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/transport.js';
import { serverTransactionKey } from './transaction-key.js';
import { Transaction, type ServerTransactionOptions, type StateChange, type TerminatedEvent } from './transaction.js';

export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export type NonInviteServerEvents = {
  state: StateChange<NonInviteServerState>;
  'transport-error': { readonly error: SipError };
  terminated: TerminatedEvent;
};

const TRANSITIONS: { readonly [S in NonInviteServerState]: readonly NonInviteServerState[] } = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
};

export class NonInviteServerTransaction extends Transaction<NonInviteServerState, NonInviteServerEvents> {
  private current: NonInviteServerState = 'trying';
  private last: SipResponse | undefined;

  constructor(options: ServerTransactionOptions) {
    const { request } = options;
    if (request.method === 'INVITE' || request.method === 'ACK') {
      throw new SipError('invalid-argument', `a non-INVITE server transaction cannot serve ${request.method}`);
    }
    const id = serverTransactionKey(request);
    if (id === undefined) throw new SipError('invalid-argument', `the ${request.method} lacks the Via, CSeq, From, To or Call-ID that matching needs`);
    super(id, request, options.source, options.connectionId, options);
  }

  get state(): NonInviteServerState {
    return this.current;
  }

  get source(): TransportAddress {
    return this.peer;
  }

  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  /** Nothing to arm (see the module comment); present so the layer treats every server transaction alike. */
  start(): void {}

  /**
   * Sends a response from the TU. Throws `invalid-state` for a response after the final one (§17.2.2 would
   * discard it; a TU that sends one has a bug worth seeing) and `transaction-terminated` once the transaction is gone.
   */
  respond(response: SipResponse): void {
    if (response.cseq?.method !== this.request.cseq?.method) {
      throw new SipError('invalid-argument', `the response does not answer ${this.request.method} (CSeq method)`);
    }
    const status = response.status;
    switch (this.current) {
      case 'trying':
      case 'proceeding':
        this.last = response;
        this.transmit(response, `${status} response`);
        if (status >= 200) this.transition('completed');
        else if (this.current === 'trying') this.transition('proceeding');
        return;
      case 'completed':
        throw new SipError('invalid-state', `${this.request.method} server transaction ${this.id} already sent its final response; cannot send ${status}`);
      case 'terminated':
        throw new SipError('transaction-terminated', `${this.request.method} server transaction ${this.id} has terminated; cannot send ${status}`);
    }
  }

  /** A retransmission of the request: answered with the latest response, if there is one yet (§17.2.2). */
  receiveRequest(_request: SipRequest): void {
    if ((this.current === 'proceeding' || this.current === 'completed') && this.last !== undefined) {
      this.transmit(this.last, 'response retransmission');
    }
  }

  terminate(reason = 'terminated by the transaction user'): void {
    if (this.current === 'terminated') return;
    this.transition('terminated', new SipError('transaction-terminated', reason));
  }

  protected onTransportError(error: SipError): void {
    if (this.current !== 'proceeding' && this.current !== 'completed') return;
    this.emit('transport-error', { error });
    this.transition('terminated', error);
  }

  private transition(to: NonInviteServerState, error?: SipError): void {
    const from = this.current;
    if (!TRANSITIONS[from].includes(to)) {
      throw new SipError('invalid-state', `${this.request.method} server transaction ${this.id}: no transition from ${from} to ${to}`);
    }
    this.current = to;
    switch (to) {
      case 'completed':
        if (this.timers.J === 0) break;
        this.startTimer('J', this.timers.J, () => this.transition('terminated'));
        break;
      case 'terminated':
        this.stopAllTimers();
        break;
      case 'trying':
      case 'proceeding':
        break;
    }
    this.emit('state', { from, to });
    if (to === 'terminated') this.emit('terminated', { error });
    else if (to === 'completed' && this.timers.J === 0) this.transition('terminated');
  }
}
