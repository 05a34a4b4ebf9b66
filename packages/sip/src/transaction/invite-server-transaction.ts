/**
 * INVITE server transaction: RFC 3261 §17.2.1 as corrected by RFC 6026 §7.1 and §8.5-8.7.
 *
 *                              | INVITE received, passed to TU
 *                              | 100 Trying after 200 ms if the TU is silent
 *     INVITE                   V
 *     last 1xx resent  +------------+    101-199 from TU
 *          +-----------|            |---+ response sent
 *          |           | proceeding |   |
 *          +---------->|            |<--+
 *                      +------------+--------------------------------------+
 *                        |        |                transport error,        |
 *        300-699 from TU |        | 2xx from TU    inform TU               |
 *        response sent   |        | response sent                          |
 *                        V        V                                        |
 *      INVITE      +-----------+  +------------+  INVITE: absorbed         |
 *      final       |           |  |            |  2xx from TU: sent        |
 *      resent +----| completed |  |  accepted  |  ACK: passed to TU        |
 *             +--->|           |  |            |  transport error:         |
 *   Timer G fires: +-----------+  +------------+  inform TU (stays)        |
 *   final resent,    |     |               |                               |
 *   G=min(2G,T2)     |     | Timer H fires | Timer L fires                 |
 *                ACK |     | or transport  |                               |
 *                    V     | error, inform |                               |
 *      +-----------+       | TU            |                               |
 *      | confirmed |--+ ACK, INVITE:       |                               |
 *      |           |<-+ absorbed           |                               |
 *      +-----------+       |               |                               |
 *            | Timer I     |               |                               |
 *            V             V               V                               |
 *      +--------------------------------------+                            |
 *      |              terminated              |<---------------------------+
 *      +--------------------------------------+
 *
 * A 2xx is sent once by the transaction and retransmitted by the TU (§13.3.1.4), which also receives the ACK for
 * it; the Accepted state only keeps INVITE retransmissions from looking like new requests (RFC 6026 §3).
 */
import { SipError } from '../errors.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/transport.js';
import type { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import { backoff } from './timers.js';
import { serverTransactionKey } from './transaction-key.js';
import { Transaction, type ServerTransactionOptions, type StateChange, type TerminatedEvent } from './transaction.js';

export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

export type InviteServerEvents = {
  state: StateChange<InviteServerState>;
  /** An ACK the TU must handle: one that reached this transaction in `accepted` (the ACK for the 2xx). */
  ack: { readonly request: SipRequest };
  /** A CANCEL for this INVITE arrived while it can still take effect (`proceeding`). Answer it on `transaction`. */
  cancel: { readonly request: SipRequest; readonly transaction: NonInviteServerTransaction };
  /** Timer H: the ACK for the non-2xx final response never came. */
  timeout: { readonly error: SipError };
  'transport-error': { readonly error: SipError };
  terminated: TerminatedEvent;
};

const TRANSITIONS: { readonly [S in InviteServerState]: readonly InviteServerState[] } = {
  proceeding: ['completed', 'accepted', 'terminated'],
  completed: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
};

export class InviteServerTransaction extends Transaction<InviteServerState, InviteServerEvents> {
  private current: InviteServerState = 'proceeding';
  private started = false;
  private provisional: SipResponse | undefined;
  private last: SipResponse | undefined;

  constructor(options: ServerTransactionOptions) {
    const { request } = options;
    if (request.method !== 'INVITE') throw new SipError('invalid-argument', `an INVITE server transaction cannot serve ${request.method}`);
    const id = serverTransactionKey(request);
    if (id === undefined) throw new SipError('invalid-argument', 'the INVITE lacks the Via, CSeq, From, To or Call-ID that matching needs');
    super(id, request, options.source, options.connectionId, options);
  }

  get state(): InviteServerState {
    return this.current;
  }

  get source(): TransportAddress {
    return this.peer;
  }

  /** The most recent response sent (RFC 2543 ACK matching needs its To tag). */
  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  /** Arms the 100 Trying timer. Call before handing the request to the TU, so a synchronous answer cancels it. */
  start(): void {
    if (this.started) throw new SipError('invalid-state', 'the INVITE server transaction was already started');
    this.started = true;
    this.startTimer('trying', this.timers.tryingDelay, () => {
      // §17.2.1: quench INVITE retransmissions quickly; no To tag on a 100 (§8.2.6.2 makes it SHOULD NOT).
      this.sendProvisional(this.request.createResponse(100));
    });
  }

  /**
   * Sends a response from the TU. Throws `invalid-state` when the state does not take this response (a second
   * final response, a provisional after the final) and `transaction-terminated` once the transaction is gone.
   */
  respond(response: SipResponse): void {
    if (response.cseq?.method !== this.request.cseq?.method) throw new SipError('invalid-argument', 'the response does not answer an INVITE (CSeq method)');
    const status = response.status;
    switch (this.current) {
      case 'proceeding':
        this.stopTimer('trying');
        if (status < 200) {
          this.sendProvisional(response);
        } else if (status < 300) {
          this.last = response;
          this.transmit(response, `${status} response`);
          this.transition('accepted');
        } else {
          this.last = response;
          this.transmit(response, `${status} response`);
          this.transition('completed');
        }
        return;
      case 'accepted':
        // RFC 6026 §8.7: the TU's 2xx retransmissions (and 2xx for other dialogs) still go through here.
        if (status >= 200 && status < 300) {
          this.last = response;
          this.transmit(response, `${status} response`);
          return;
        }
        break;
      case 'completed':
      case 'confirmed':
        break;
      case 'terminated':
        throw new SipError('transaction-terminated', `INVITE server transaction ${this.id} has terminated; cannot send ${status}`);
    }
    throw new SipError('invalid-state', `INVITE server transaction ${this.id} cannot send ${status} in state ${this.current}`);
  }

  /** A retransmission of the INVITE (§17.2.1). */
  receiveRequest(_request: SipRequest): void {
    switch (this.current) {
      case 'proceeding':
        if (this.provisional !== undefined) this.transmit(this.provisional, 'provisional response retransmission');
        return;
      case 'completed':
        if (this.last !== undefined) this.transmit(this.last, 'final response retransmission');
        return;
      case 'accepted':
      case 'confirmed':
      case 'terminated':
        // RFC 6026 §7.1: absorbed; in `accepted` the TU owns the 2xx retransmissions.
        return;
    }
  }

  /**
   * An ACK matched to this transaction. Returns true when the TU must handle it (the ACK for a 2xx, RFC 6026
   * §8.7), false when the transaction absorbed it.
   */
  receiveAck(request: SipRequest): boolean {
    switch (this.current) {
      case 'completed':
        this.transition('confirmed');
        return false;
      case 'accepted':
        this.emit('ack', { request });
        return true;
      case 'proceeding':
      case 'confirmed':
      case 'terminated':
        return false;
    }
  }

  /** A CANCEL that §9.2 matched to this INVITE, and the server transaction that will answer it. */
  receiveCancel(request: SipRequest, transaction: NonInviteServerTransaction): void {
    if (this.current === 'proceeding') this.emit('cancel', { request, transaction });
  }

  terminate(reason = 'terminated by the transaction user'): void {
    if (this.current === 'terminated') return;
    this.transition('terminated', new SipError('transaction-terminated', reason));
  }

  protected onTransportError(error: SipError): void {
    switch (this.current) {
      case 'proceeding':
      case 'completed':
        this.emit('transport-error', { error });
        this.transition('terminated', error);
        return;
      case 'accepted':
        // RFC 6026 Figure 7: reported, but the state stays so INVITE retransmissions are still absorbed.
        this.emit('transport-error', { error });
        return;
      case 'confirmed':
      case 'terminated':
        return;
    }
  }

  private sendProvisional(response: SipResponse): void {
    this.provisional = response;
    this.last = response;
    this.transmit(response, `${response.status} response`);
  }

  private scheduleTimerG(interval: number): void {
    this.startTimer('G', interval, () => {
      if (this.last !== undefined) this.transmit(this.last, 'final response retransmission');
      this.scheduleTimerG(backoff(interval, this.timers.T2));
    });
  }

  private transition(to: InviteServerState, error?: SipError): void {
    const from = this.current;
    if (!TRANSITIONS[from].includes(to)) {
      throw new SipError('invalid-state', `INVITE server transaction ${this.id}: no transition from ${from} to ${to}`);
    }
    this.current = to;
    switch (to) {
      case 'completed':
        if (this.timers.G !== undefined) this.scheduleTimerG(this.timers.G);
        this.startTimer('H', this.timers.H, () => {
          const timeout = new SipError('transaction-timeout', `no ACK within Timer H (${this.timers.H} ms)`, { status: 408 });
          this.emit('timeout', { error: timeout });
          this.transition('terminated', timeout);
        });
        break;
      case 'confirmed':
        // §17.2.1: the ACK ends retransmissions; Timer I only waits out ACK retransmissions.
        this.stopTimer('G', 'H');
        this.startTimer('I', this.timers.I, () => this.transition('terminated'));
        break;
      case 'accepted':
        this.startTimer('L', this.timers.L, () => this.transition('terminated'));
        break;
      case 'terminated':
        this.stopAllTimers();
        break;
      case 'proceeding':
        break;
    }
    this.emit('state', { from, to });
    if (to === 'terminated') this.emit('terminated', { error });
  }
}
