/**
 * Blind transfer of a call's SIP leg, the gateway being the transferor (RFC 3515 REFER, RFC 5589 §6): the far end
 * (the transferee) is asked to call the target itself. Once it accepts the REFER (2xx), the operator is done with
 * the call; the SIP leg stays up only while the far end reports how its call to the target goes (NOTIFYs with a
 * `message/sipfrag` body, on the REFER's implicit subscription): a transferee may drop its call to the target, or
 * stop reporting, when the transferor hangs up first (RFC 5589 §6). The leg is released (BYE) at the first final
 * outcome, when the subscription ends, when the far end hangs up, or after `LINGER_MS` at most. A target that
 * refuses is logged; the caller is then the far end's to look after, as with any blind transfer.
 *
 *   referring ──2xx──► accepted ──linger──► lingering ──final sipfrag, terminated, BYE, LINGER_MS──► done
 *       │                 (the browser's call ends in between)                                       ▲
 *       └──refused, no answer, call ended───────────────────────────────────────────────────────────┘
 *
 * NOTIFYs may overtake the REFER's 2xx (RFC 3515 §2.4.4): an outcome that arrives first is kept, and the leg is
 * released as soon as the lingering starts.
 */
import type { Clock, IncomingRequest, SipResponse, TimerHandle } from '@switchboard/sip';
import type { Logger } from 'pino';
import { ProtocolError } from '../ws/errors.js';
import type { DialogRequests } from './sip-leg.js';

/** How long the SIP leg waits for the far end to report the outcome of its call to the target. */
export const LINGER_MS = 60_000;

type TransferState = 'referring' | 'accepted' | 'lingering' | 'done';

const ALLOWED: Readonly<Record<TransferState, readonly TransferState[]>> = {
  referring: ['accepted', 'done'],
  accepted: ['lingering', 'done'],
  lingering: ['done'],
  done: [],
};

/** The status of a `message/sipfrag` body's status line (`SIP/2.0 180 Ringing`), or undefined when it has none. */
export function sipfragStatus(body: string): number | undefined {
  const match = /^SIP\/2\.0 ([1-6]\d\d)(?: |\r?\n|$)/.exec(body);
  return match ? Number(match[1]) : undefined;
}

export class BlindTransfer {
  private current: TransferState = 'referring';
  private outcome: number | undefined;
  private subscriptionOver = false;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    /** The transfer is over: release the SIP leg. Called once, never for a REFER that was refused. */
    private readonly released: () => void,
  ) {}

  get state(): TransferState {
    return this.current;
  }

  private moveTo(next: TransferState): void {
    if (!ALLOWED[this.current].includes(next)) throw new Error(`a transfer cannot go from ${this.current} to ${next}`);
    this.current = next;
  }

  /** Whether the far end took the REFER and the SIP leg is kept for the outcome. */
  get holdsLeg(): boolean {
    return this.current === 'accepted' || this.current === 'lingering';
  }

  /**
   * Sends the REFER and resolves once the far end accepted it; `linger` is to follow. A refusal rejects with the ProtocolError the browser
   * gets, and leaves the call as it was; a 481 rejects with `call-state` (the caller ends the call).
   */
  async refer(leg: DialogRequests, referTo: string, referredBy: string): Promise<void> {
    const refer = leg.createRequest('REFER');
    refer.append('Refer-To', referTo);
    refer.append('Referred-By', referredBy);
    let response: SipResponse;
    try {
      response = await leg.send(refer);
    } catch (error) {
      this.settle();
      // No answer in the dialog: the far end is gone (RFC 3261 §12.2.1.2), and the caller ends the call.
      throw new ProtocolError('call-state', `the SIP side did not answer the transfer (${error instanceof Error ? error.message.slice(0, 120) : String(error)})`);
    }
    if (this.current === 'done') return;
    const status = response.status;
    if (status >= 300) {
      this.settle();
      const details = { sipStatus: status };
      const said = `${status} ${response.reason}`.slice(0, 120);
      if (status === 481 || status === 408) throw new ProtocolError('call-state', 'the SIP side no longer has this call', details);
      if (status === 403 || status === 603) throw new ProtocolError('forbidden', `the SIP side refused the transfer: ${said}`, details);
      throw new ProtocolError('not-supported', `the SIP side did not take the transfer: ${said}`, details);
    }
    this.moveTo('accepted');
  }

  /** Waits for the outcome, at most LINGER_MS; releases the leg at once when it is known already. */
  linger(): void {
    if (this.current !== 'accepted') return;
    this.moveTo('lingering');
    if (this.over()) {
      this.finish();
      return;
    }
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.log.info('no outcome of the transfer reported in time; releasing the call');
      this.finish();
    }, LINGER_MS);
  }

  /** A NOTIFY in the call's dialog (already admitted to it): the far end reporting on its call to the target. */
  notify(incoming: IncomingRequest): void {
    const request = incoming.request;
    const event = (request.get('Event') ?? '').split(';')[0]!.trim().toLowerCase();
    if (event !== 'refer') {
      incoming.respond(489);
      return;
    }
    const status = request.contentType?.mediaType === 'message/sipfrag' ? sipfragStatus(request.bodyText) : undefined;
    const terminated = /^\s*terminated\b/i.test(request.get('Subscription-State') ?? '');
    incoming.respond(200);
    if (status !== undefined) this.outcome = status;
    if (terminated) this.subscriptionOver = true;
    this.log.info({ sipfrag: status, terminated }, 'transfer progress');
    if (this.current === 'lingering' && this.over()) this.finish();
  }

  private over(): boolean {
    return (this.outcome !== undefined && this.outcome >= 200) || this.subscriptionOver;
  }

  /** The call ended some other way (the far end hung up, the gateway shuts down): nothing more to wait for. */
  settle(): void {
    if (this.current === 'done') return;
    this.stopTimer();
    this.moveTo('done');
  }

  private finish(): void {
    this.settle();
    if (this.outcome !== undefined && this.outcome >= 300) this.log.warn({ sipfrag: this.outcome }, 'the transfer target did not take the call');
    this.released();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
