/**
 * INVITE client transaction: RFC 3261 §17.1.1 as corrected by RFC 6026 §7.2 and §8.4.
 *
 *                          | start(): INVITE sent
 *      Timer A fires       | Timer A (unreliable only), Timer B
 *      INVITE sent         V
 *      A = 2*A       +------------+      Timer B fires or transport error
 *        +-----------|            |----------------------------------------+
 *        |           |  calling   |            inform TU                   |
 *        +---------->|            |--------------------+                   |
 *                    +------------+  2xx               |                   |
 *                      |       |     2xx to TU         |                   |
 *             300-699  |       | 1xx                   |                   |
 *             ACK sent |       | 1xx to TU             |                   |
 *          resp. to TU |       V                       |                   |
 *                      |  +------------+ 1xx           |                   |
 *                      |  | proceeding |---+ 1xx to TU |                   |
 *                      |  |            |<--+           |                   |
 *                      |  +------------+               |                   |
 *                      |    |        |  2xx, 2xx to TU |                   |
 *                      |    |        +-----------+     |                   |
 *                      |    | 300-699            |     |                   |
 *                      |    | ACK sent           V     V                   |
 *                      V    V resp. to TU      +------------+ 2xx          |
 *      300-699       +------------+            |  accepted  |---+ 2xx to TU|
 *      ACK sent again|            |            |            |<--+ (no ACK) |
 *      (not to TU) +-| completed  |            +------------+              |
 *                  +>|            |                  |                     |
 *                    +------------+                  | Timer M fires       |
 *                      |        |                    |                     |
 *        Timer D fires |        | transport error    |                     |
 *                      |        | (ACK), inform TU   |                     |
 *                      V        V                    V                     |
 *                    +----------------------------------------+            |
 *                    |               terminated               |<-----------+
 *                    +----------------------------------------+
 *
 * The ACK for a 3xx-6xx belongs to this transaction and is built here (§17.1.1.3); the ACK for a 2xx belongs to
 * the TU, which is why 2xx responses, retransmissions included, go up and are never acknowledged here (RFC 6026).
 */
import { SipError } from '../errors.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/transport.js';
import { backoff } from './timers.js';
import { clientTransactionKey } from './transaction-key.js';
import { Transaction, type ClientTransactionOptions, type StateChange, type TerminatedEvent } from './transaction.js';

export type InviteClientState = 'calling' | 'proceeding' | 'accepted' | 'completed' | 'terminated';

export type InviteClientEvents = {
  state: StateChange<InviteClientState>;
  /** Every response the TU must see: provisional, the first final, and each 2xx in `accepted`. */
  response: { readonly response: SipResponse };
  /** Timer B: no final response. `error.status` is 408 (§8.1.3.1). */
  timeout: { readonly error: SipError };
  /** The INVITE or the ACK could not be sent. `error.status` is 503 (§8.1.3.1). */
  'transport-error': { readonly error: SipError };
  terminated: TerminatedEvent;
};

const TRANSITIONS: { readonly [S in InviteClientState]: readonly InviteClientState[] } = {
  calling: ['proceeding', 'accepted', 'completed', 'terminated'],
  proceeding: ['accepted', 'completed', 'terminated'],
  accepted: ['terminated'],
  completed: ['terminated'],
  terminated: [],
};

/**
 * The ACK for a non-2xx final response (§17.1.1.3): Request-URI, Call-ID, From, the top Via (so the same branch)
 * and the Route set of the INVITE; To of the response (with its tag); CSeq number of the INVITE with method ACK.
 */
export function createNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  if (response.status < 300) throw new SipError('invalid-argument', `the ACK for a ${response.status} is the TU's, not the transaction's`);
  const cseq = invite.cseq;
  if (cseq === undefined) throw new SipError('invalid-argument', 'the INVITE has no CSeq');
  const ack = invite.withMethod('ACK');
  const topVia = invite.headers.find((field) => field.key === 'via');
  const to = response.headers.find((field) => field.key === 'to') ?? invite.headers.find((field) => field.key === 'to');
  // Header fields are immutable, so the INVITE's and the response's can be shared rather than re-parsed.
  if (topVia !== undefined) ack.headers.push(topVia);
  for (const field of invite.headers) if (field.key === 'route') ack.headers.push(field);
  ack.set('Max-Forwards', invite.maxForwards ?? 70);
  for (const field of invite.headers) if (field.key === 'from' || field.key === 'call-id') ack.headers.push(field);
  if (to !== undefined) ack.headers.push(to);
  ack.set('CSeq', { seq: cseq.seq, method: 'ACK' });
  return ack;
}

export class InviteClientTransaction extends Transaction<InviteClientState, InviteClientEvents> {
  private current: InviteClientState = 'calling';
  private started = false;
  private ack: SipRequest | undefined;
  private finalResponse: SipResponse | undefined;

  constructor(options: ClientTransactionOptions) {
    const { request } = options;
    if (request.method !== 'INVITE') throw new SipError('invalid-argument', `an INVITE client transaction cannot send ${request.method}`);
    const id = clientTransactionKey(request);
    if (id === undefined) throw new SipError('invalid-argument', 'the INVITE needs a top Via with an RFC 3261 branch and a CSeq');
    super(id, request, options.destination, options.connectionId, options);
  }

  get state(): InviteClientState {
    return this.current;
  }

  get destination(): TransportAddress {
    return this.peer;
  }

  /** The ACK this transaction sent for a non-2xx final response. */
  get ackRequest(): SipRequest | undefined {
    return this.ack;
  }

  /** The first final response received (later 2xx in `accepted` are reported but not kept). */
  get response(): SipResponse | undefined {
    return this.finalResponse;
  }

  /** Sends the INVITE and starts Timers A and B. */
  start(): void {
    if (this.started) throw new SipError('invalid-state', 'the INVITE client transaction was already started');
    this.started = true;
    this.transmit(this.request, 'INVITE');
    if (this.timers.A !== undefined) this.scheduleTimerA(this.timers.A);
    this.startTimer('B', this.timers.B, () => {
      const error = new SipError('transaction-timeout', `no final response to the INVITE within Timer B (${this.timers.B} ms)`, { status: 408 });
      this.emit('timeout', { error });
      this.transition('terminated', error);
    });
  }

  /** A response the transaction layer matched to this transaction (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.current) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          if (this.current === 'calling') this.transition('proceeding');
        } else if (status < 300) {
          this.finalResponse = response;
          this.transition('accepted');
        } else {
          this.finalResponse = response;
          this.ack = createNon2xxAck(this.request, response);
          this.transmit(this.ack, 'ACK');
          this.transition('completed');
        }
        this.emit('response', { response });
        return;
      case 'accepted':
        // RFC 6026 §7.2: 2xx retransmissions and 2xx from other forks go to the TU, which ACKs each one.
        if (status >= 200 && status < 300) this.emit('response', { response });
        return;
      case 'completed':
        // §17.1.1.2: the peer did not get our ACK; repeat it, and keep the duplicate from the TU.
        if (status >= 300) {
          const ack = this.ack !== undefined && response.toTag === this.ack.toTag ? this.ack : createNon2xxAck(this.request, response);
          this.transmit(ack, 'ACK');
        }
        return;
      case 'terminated':
        return;
    }
  }

  /** Ends the transaction at once (the TU gave up, or the stack is closing). No CANCEL is sent: see TransactionLayer.cancel. */
  terminate(reason = 'terminated by the transaction user'): void {
    if (this.current === 'terminated') return;
    this.transition('terminated', new SipError('transaction-terminated', reason));
  }

  protected onTransportError(error: SipError): void {
    // Only states that have just sent something can lose it; a late failure of an old retransmission is moot.
    if (this.current !== 'calling' && this.current !== 'completed') return;
    this.emit('transport-error', { error });
    this.transition('terminated', error);
  }

  private scheduleTimerA(interval: number): void {
    this.startTimer('A', interval, () => {
      this.transmit(this.request, 'INVITE retransmission');
      this.scheduleTimerA(backoff(interval));
    });
  }

  private transition(to: InviteClientState, error?: SipError): void {
    const from = this.current;
    if (!TRANSITIONS[from].includes(to)) {
      throw new SipError('invalid-state', `INVITE client transaction ${this.id}: no transition from ${from} to ${to}`);
    }
    this.current = to;
    switch (to) {
      case 'proceeding':
        // §17.1.1.2: a provisional response stops retransmissions, and Timer B only guards Calling.
        this.stopTimer('A', 'B');
        break;
      case 'accepted':
        this.stopTimer('A', 'B');
        this.startTimer('M', this.timers.M, () => this.transition('terminated'));
        break;
      case 'completed':
        this.stopTimer('A', 'B');
        this.startTimer('D', this.timers.D, () => this.transition('terminated'));
        break;
      case 'terminated':
        this.stopAllTimers();
        break;
      case 'calling':
        break;
    }
    this.emit('state', { from, to });
    if (to === 'terminated') this.emit('terminated', { error });
  }
}
