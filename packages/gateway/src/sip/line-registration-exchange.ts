/**
 * One non-INVITE request of a line (REGISTER or an OPTIONS probe) and its outcome: digest challenges answered as
 * `UserAgent.request` does, plus what that call cannot give a line. A deadline of the line's own: the stack's Timer F
 * (32 s) is the only bound on a transaction, far too slow to notice a PBX that went away. Abandoning: a stopped or
 * superseded line ends its transaction instead of retransmitting into the void for half a minute. And the CSeq of the
 * last round, because the next REGISTER in the same Call-ID must be numbered above it (RFC 3261 §10.2.4).
 */
import {
  DigestClientError, SipError, type Clock, type DigestClient, type DigestClientFailure, type NonInviteClientTransaction,
  type SipRequest, type SipResponse, type TimerHandle, type TransportAddress, type UserAgent,
} from '@switchboard/sip';

export type ExchangeOutcome =
  | {
      readonly kind: 'response';
      readonly response: SipResponse;
      /** Set when a 401/407 is the final answer because our credentials cannot answer it or were refused. */
      readonly authFailure: DigestClientFailure | undefined;
    }
  /** No final response before the deadline or Timer F. */
  | { readonly kind: 'no-answer'; readonly detail: string }
  /** The transport could not send (connection refused, no route, no transport for the protocol). */
  | { readonly kind: 'unreachable'; readonly detail: string }
  | { readonly kind: 'abandoned' };

export interface ExchangeOptions {
  readonly clock: Clock;
  readonly digest?: DigestClient;
  /** Give up after this long, retransmissions and challenge rounds included; default: the transaction's Timer F. */
  readonly deadlineMs?: number;
  /**
   * The deadline bounds silence only, round by round: each request (the first, and each answer to a challenge) has
   * `deadlineMs` to draw any answer, a 100 Trying included; a server that answers has the transaction's own time.
   */
  readonly deadlineUntilAnswer?: boolean;
}

// Enough for a stale nonce plus one more challenge; beyond that a registrar is looping, not authenticating.
const MAX_ROUNDS = 3;

export class Exchange {
  readonly done: Promise<ExchangeOutcome>;
  private resolve!: (outcome: ExchangeOutcome) => void;
  private finished = false;
  private transaction: NonInviteClientTransaction | undefined;
  private deadline: TimerHandle | undefined;
  private lastCSeq: number;

  constructor(
    private readonly ua: UserAgent,
    private readonly request: SipRequest,
    private readonly destination: TransportAddress,
    private readonly options: ExchangeOptions,
  ) {
    const cseq = request.cseq;
    if (cseq === undefined) throw new SipError('invalid-argument', `the ${request.method} has no CSeq`);
    this.lastCSeq = cseq.seq;
    this.done = new Promise((resolve) => (this.resolve = resolve));
    if (options.deadlineMs !== undefined && options.deadlineUntilAnswer !== true) this.armDeadline(options.deadlineMs);
    this.send(request.clone(), 0);
  }

  /** The CSeq number of the last request sent; the next request in this Call-ID must use a higher one. */
  get cseq(): number {
    return this.lastCSeq;
  }

  abandon(): void {
    this.finish({ kind: 'abandoned' });
  }

  private send(attempt: SipRequest, round: number): void {
    let transaction: NonInviteClientTransaction;
    try {
      transaction = this.ua.sendRequest(attempt, this.destination);
    } catch (error) {
      this.finish({ kind: 'unreachable', detail: describe(error) });
      return;
    }
    this.transaction = transaction;
    if (this.options.deadlineMs !== undefined && this.options.deadlineUntilAnswer === true) this.armDeadline(this.options.deadlineMs);
    transaction.on('response', ({ response }) => {
      if (this.finished || this.transaction !== transaction) return;
      if (this.options.deadlineUntilAnswer === true) this.clearDeadline();
      if (response.status < 200) return;
      this.onFinalResponse(attempt, response, round);
    });
    // The transaction ends itself right after these two events: ending it here as well would be a second ending.
    transaction.on('timeout', () => this.finish({ kind: 'no-answer', detail: 'no answer (transaction timed out)' }, false));
    transaction.on('transport-error', ({ error }) => this.finish({ kind: 'unreachable', detail: describe(error) }, false));
  }

  private onFinalResponse(attempt: SipRequest, response: SipResponse, round: number): void {
    const challenged = response.status === 401 || response.status === 407;
    if (!challenged || this.options.digest === undefined) {
      this.finish({ kind: 'response', response, authFailure: undefined });
      return;
    }
    if (round + 1 >= MAX_ROUNDS) {
      this.finish({ kind: 'response', response, authFailure: 'rejected' });
      return;
    }
    let authorization;
    try {
      authorization = this.options.digest.authorize(attempt, response);
    } catch (error) {
      if (error instanceof DigestClientError) {
        this.finish({ kind: 'response', response, authFailure: error.reason });
        return;
      }
      throw error;
    }
    const next = this.request.clone();
    next.set(authorization.header, ...authorization.values);
    this.lastCSeq += 1;
    next.set('CSeq', { seq: this.lastCSeq, method: this.request.method });
    this.send(next, round + 1);
  }

  private finish(outcome: ExchangeOutcome, endTransaction = true): void {
    if (this.finished) return;
    this.finished = true;
    this.clearDeadline();
    const transaction = this.transaction;
    // Only a transaction still waiting is ended: one that completed must keep absorbing retransmitted responses.
    if (endTransaction && transaction !== undefined && (transaction.state === 'trying' || transaction.state === 'proceeding')) {
      transaction.terminate(outcome.kind === 'abandoned' ? 'abandoned by the line' : 'given up by the line');
    }
    this.resolve(outcome);
  }

  private armDeadline(ms: number): void {
    this.clearDeadline();
    this.deadline = this.options.clock.setTimeout(() => this.finish({ kind: 'no-answer', detail: `no answer within ${ms / 1000} s` }), ms);
  }

  private clearDeadline(): void {
    if (this.deadline !== undefined) this.options.clock.clearTimeout(this.deadline);
    this.deadline = undefined;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
