/**
 * A request served statelessly (RFC 3261 §8.2.7): the answer goes out and nothing is kept, no timer, no entry in
 * the layer's table. A retransmission of the request is then a new request to the TU, which must answer it the
 * same way; that is the deal for the methods a layer is told to serve so (a registrar's REGISTER: Kamailio and
 * OpenSIPS answer it statelessly too).
 *
 *        | request received, passed to TU
 *        V
 *   +----------+  1xx from TU, sent
 *   |  trying  |------------------+
 *   +----------+                  V
 *        |                 +------------+
 *        |                 | proceeding |--+ 1xx from TU, sent
 *        |                 +------------+<-+
 *        | 200-699 from TU,      |
 *        | sent (or TU ends it)  | 200-699 from TU, sent (or TU ends it)
 *        V                       V
 *   +---------------------------------+
 *   |           terminated            |
 *   +---------------------------------+
 *
 * Same surface as the non-INVITE server transaction where the TU touches it (`state`, `respond`, `terminate`), so
 * the TU answers it like any other. A failed send is not retried: there is nothing to retransmit from.
 */
import { SipError } from '../errors.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/transport.js';
import type { TransactionSender } from './transaction.js';

export type StatelessServerState = 'trying' | 'proceeding' | 'terminated';

const TRANSITIONS: { readonly [S in StatelessServerState]: readonly StatelessServerState[] } = {
  trying: ['proceeding', 'terminated'],
  proceeding: ['proceeding', 'terminated'],
  terminated: [],
};

export class StatelessServerTransaction {
  private current: StatelessServerState = 'trying';

  constructor(
    readonly request: SipRequest,
    /** Where responses go: the request's source as the transport reported it (§18.2.2, RFC 3581). */
    readonly source: TransportAddress,
    readonly connectionId: string | undefined,
    private readonly sender: TransactionSender,
  ) {
    if (request.method === 'INVITE' || request.method === 'ACK') {
      throw new SipError('invalid-argument', `${request.method} cannot be served statelessly`);
    }
  }

  get state(): StatelessServerState {
    return this.current;
  }

  /** Sends a response from the TU; throws `transaction-terminated` after the final one, as a transaction would. */
  respond(response: SipResponse): void {
    if (response.cseq?.method !== this.request.cseq?.method) {
      throw new SipError('invalid-argument', `the response does not answer ${this.request.method} (CSeq method)`);
    }
    if (this.current === 'terminated') {
      throw new SipError('transaction-terminated', `the ${this.request.method} was answered already; cannot send ${response.status}`);
    }
    this.transition(response.status >= 200 ? 'terminated' : 'proceeding');
    let sending: Promise<void>;
    try {
      sending = this.sender.send(response, this.source, this.connectionId);
    } catch (error) {
      sending = Promise.reject(error);
    }
    // Nobody to tell: a stateless server forgets the request once its answer is handed to the transport.
    sending.catch(() => undefined);
  }

  terminate(_reason?: string): void {
    if (this.current !== 'terminated') this.transition('terminated');
  }

  private transition(to: StatelessServerState): void {
    if (!TRANSITIONS[this.current].includes(to)) {
      throw new SipError('invalid-state', `stateless ${this.request.method}: no transition from ${this.current} to ${to}`);
    }
    this.current = to;
  }
}
