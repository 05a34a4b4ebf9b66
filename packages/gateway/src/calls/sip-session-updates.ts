/**
 * The SIP leg's session once a call is answered, and its changes by re-INVITE in either direction (RFC 3261 §14,
 * RFC 3264 §8): session refreshes, hold and resume, and the peer moving its media or changing codecs. The browser
 * leg is never renegotiated (the browser stops its own microphone and speaker while it holds): a peer's offer that
 * moves the media goes to the media relay, which answers it for the browser's side as that stands; where the relay
 * cannot (passthrough), or the browser would have to change codec, it gets 488 and the session stays as it was.
 *
 *   idle ──hold/resume──► offering ──2xx (ACKed)──► idle        our new direction in force
 *    ▲                     │  │
 *    │                     │  └─491──► waiting ──2.1-4 s, or 0-2 s when the peer made the Call-ID──► idle, offer again
 *    └──other non-2xx──────┘          (the session is unchanged; 408, 481 or no answer: the call is lost)
 *   any ──call ended──► closed
 *
 *   beside these, while the relay takes a peer's offer that moves the media: answering (our offers wait)
 *
 * A re-INVITE from the peer is answered at once in any state but `offering`, where it gets 491. One that moves the
 * media is answered once the relay has taken it; meanwhile our own offers wait, and another re-INVITE from the
 * peer gets 500 with Retry-After (§14.2).
 */
import {
  formatNameAddr,
  type Clock,
  type Dialog,
  type DigestClient,
  type IncomingRequest,
  type MediaDirection,
  type Random,
  type RespondOptions,
  type SipRequest,
  type SipResponse,
  type TimerHandle,
  type UserAgent,
} from '@switchboard/sip';
import type { Logger } from 'pino';
import { ProtocolError } from '../ws/errors.js';
import { respondWhileOpen, sdpOf } from '../sip/respond-while-open.js';
import { followingVersion, holds, meet, ownWish, reversed, sameTransport, wishOf, withDirection } from './media-direction.js';
import type { MediaUpdate } from '../media/media-session.js';
import type { Flow } from './sip-leg.js';

type UpdateState = 'idle' | 'offering' | 'waiting' | 'closed';

const ALLOWED: Readonly<Record<UpdateState, readonly UpdateState[]>> = {
  idle: ['offering', 'closed'],
  offering: ['idle', 'waiting', 'closed'],
  waiting: ['idle', 'closed'],
  closed: [],
};

/** Offers lost to glare (491) before the operator is told it did not work. */
const MAX_OFFERS = 3;
/** A re-INVITE still without a final answer is CANCELled (a 487 leaves the session as it was). */
const CANCEL_AFTER_MS = 8000;
/**
 * And given up for lost if even that brings no final answer (a far end that sent 1xx, which stops Timer B, and then
 * nothing): 64 * T1, the time a transaction without any answer gets.
 */
const GIVE_UP_AFTER_MS = 32_000;

export interface HoldState {
  /** The operator holds the call. */
  local: boolean;
  /** The far end holds it. */
  remote: boolean;
}

/** The call around the SIP leg, as far as re-INVITEs need it. */
export interface ReinviteLeg {
  /** The call's dialog; undefined once it has ended. */
  dialog(): Dialog | undefined;
  /** Where a request in the dialog goes. */
  flowFor(request: SipRequest): Flow;
  /** Credentials that answer a challenge to our re-INVITE (a PBX line's); none for other calls. */
  readonly digest: DigestClient | undefined;
  /** The gateway made the Call-ID (it sent the INVITE): it waits longer after glare (§14.1). */
  readonly ownsCallId: boolean;
  /** The peer no longer has the call (408, 481, no answer to our re-INVITE): the call must end. */
  lost(reason: string, sipStatus: number | undefined): void;
  /** The peer held or resumed the call. */
  holdChanged(hold: HoldState): void;
  /** The peer's new offer moves the media or changes codecs: the media relay's answer (see MediaSession). */
  updateMedia(offer: string): Promise<MediaUpdate>;
}

export interface SessionUpdatesContext {
  ua: UserAgent;
  clock: Clock;
  random: Random;
  logger: Logger;
}

type Outcome =
  | { kind: 'answered'; response: SipResponse }
  | { kind: 'glare' }
  | { kind: 'refused'; status: number; reason: string }
  | { kind: 'lost'; reason: string; status?: number };

export class SipSessionUpdates {
  private current: UpdateState = 'idle';
  /** The descriptions in force: the last we sent and the peer's last. */
  private local: string;
  private remote: string;
  private localHold = false;
  /** What the peer last offered, from its side: it holds the call when it will not receive. */
  private remoteWish: MediaDirection;
  /** Hold and resume requests, one at a time in the order they came. */
  private queue: Promise<unknown> = Promise.resolve();
  private glareWait: { timer: TimerHandle; done: () => void } | undefined;
  /** Settles the offer on its way, so that a call ending meanwhile does not leave the request waiting. */
  private inFlight: ((outcome: Outcome) => void) | undefined;
  /** The peer's re-INVITE that moves the media, while the relay takes it; never rejects. */
  private answering: Promise<void> | undefined;

  constructor(
    private readonly ctx: SessionUpdatesContext,
    private readonly leg: ReinviteLeg,
    agreed: { local: string; remote: string },
  ) {
    this.local = agreed.local;
    this.remote = agreed.remote;
    this.remoteWish = wishOrSendrecv(agreed.remote);
  }

  get hold(): HoldState {
    return { local: this.localHold, remote: holds(this.remoteWish) };
  }

  /**
   * Holds or resumes the call at the far end. Resolves once the far end has agreed, with whether anything changed;
   * rejects with a `ProtocolError` when it refused (the call goes on as it was) or when the call is gone.
   */
  setLocalHold(held: boolean): Promise<boolean> {
    const run = this.queue.then(() => this.changeHold(held));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** A re-INVITE from the peer, already admitted to the dialog. */
  receive(incoming: IncomingRequest): void {
    const dialog = this.leg.dialog();
    if (this.current === 'closed' || dialog === undefined) {
      incoming.respond(481);
      return;
    }
    if (this.current === 'offering') {
      incoming.respond(491, { reason: 'Request Pending' });
      return;
    }
    if (this.answering !== undefined) {
      const retryAfter = this.ctx.random.bytes(1)[0]! % 11;
      incoming.respond(500, { reason: 'Previous Re-INVITE Still Being Answered', headers: [['Retry-After', String(retryAfter)]] });
      return;
    }
    const offer = sdpOf(incoming.request);
    const contact = dialog.localContact;
    const headers: [string, string][] = contact === undefined ? [] : [['Contact', formatNameAddr(contact)]];
    if (offer === undefined) {
      // Its answer would come in the ACK, where it could move the media with nobody to tell rtpengine or the browser.
      incoming.respond(488, { reason: 'An SDP Offer Is Required' });
      return;
    }
    if (originLine(offer) !== undefined && originLine(offer) === originLine(this.remote)) {
      // A session refresh (RFC 4028): the same description, version included, gets ours unchanged.
      incoming.respond(200, { body: this.local, contentType: 'application/sdp', headers });
      this.log.debug('session refreshed by a re-INVITE');
      return;
    }
    if (!sameTransport(this.remote, offer)) {
      this.answering = this.answerMove(incoming, offer, headers).finally(() => {
        this.answering = undefined;
      });
      return;
    }
    this.take(incoming, offer, withDirection(this.local, this.answerDirection(offer)), headers);
  }

  /**
   * The peer's offer moves the media: answered with the relay's answer once it has taken the new session. The relay
   * uses that session at once, so when no 2xx can go out (the call ended, a CANCEL came first) it goes back.
   */
  private async answerMove(incoming: IncomingRequest, offer: string, headers: [string, string][]): Promise<void> {
    let update: MediaUpdate;
    try {
      update = await this.leg.updateMedia(offer);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const refusal = this.current === 'closed' ? { status: 487, reason: 'Request Terminated' } : refusalFor(code);
      this.log.info({ code, err: error }, `re-INVITE that moves the media or changes codecs refused: ${refusal.status} ${refusal.reason}`);
      this.respond(incoming, refusal.status, { reason: refusal.reason });
      return;
    }
    if (this.current === 'closed') {
      this.respond(incoming, 487);
      return;
    }
    let sdp: string;
    try {
      // One version up from ours, whatever the relay's o= line or the direction change.
      sdp = followingVersion(this.local, withDirection(update.answer, this.answerDirection(offer)));
    } catch (error) {
      this.log.warn({ err: error }, 'the media relay answered a re-INVITE with SDP that does not parse');
      await update.revert();
      this.respond(incoming, 500, { reason: 'Media Relay Failed' });
      return;
    }
    if (!this.take(incoming, offer, sdp, headers)) await update.revert();
  }

  /** Sends the 2xx; once it is on its way, the peer's offer and our answer are the session. False if it could not go. */
  private take(incoming: IncomingRequest, offer: string, answer: string, headers: [string, string][]): boolean {
    const before = this.hold;
    const wish = wishOf(offer);
    if (this.respond(incoming, 200, { body: answer, contentType: 'application/sdp', headers }) === undefined) return false;
    this.local = answer;
    this.remote = offer;
    this.remoteWish = wish;
    const after = this.hold;
    this.log.info({ direction: wish }, 're-INVITE from the far end taken');
    if (after.remote !== before.remote) this.leg.holdChanged(after);
    return true;
  }

  /** After an await the request may have been answered already (a CANCEL gets 487 from the user agent). */
  private respond(incoming: IncomingRequest, status: number, options?: RespondOptions): SipResponse | undefined {
    return respondWhileOpen(incoming, status, options, this.log, 'the re-INVITE');
  }

  /** What both sides allow: our own hold met by the peer's wish. */
  private answerDirection(offer: string): MediaDirection {
    return meet(ownWish(this.localHold), reversed(wishOf(offer)));
  }

  /** The call has ended: nothing more is sent, and a hold waiting after glare is told so. */
  close(): void {
    if (this.current === 'closed') return;
    this.current = 'closed';
    this.inFlight?.({ kind: 'lost', reason: 'the call has ended' });
    const wait = this.glareWait;
    this.glareWait = undefined;
    if (wait !== undefined) {
      this.ctx.clock.clearTimeout(wait.timer);
      wait.done();
    }
  }

  private get log(): Logger {
    return this.ctx.logger;
  }

  private moveTo(next: UpdateState): void {
    if (!ALLOWED[this.current].includes(next)) throw new Error(`session updates cannot go from ${this.current} to ${next}`);
    this.current = next;
  }

  private async changeHold(held: boolean): Promise<boolean> {
    for (let offers = 1; ; offers++) {
      // §14.1: no offer of ours while an INVITE of the peer's is still being answered.
      while (this.answering !== undefined) await this.answering;
      if (this.current === 'closed') throw new ProtocolError('call-state', 'the call has ended');
      if (this.localHold === held) return false;
      const offer = withDirection(this.local, meet(ownWish(held), reversed(this.remoteWish)));
      this.moveTo('offering');
      let outcome: Outcome;
      try {
        outcome = await new Promise<Outcome>((settle) => this.sendOffer(offer, undefined, settle));
      } catch (error) {
        if (!this.hasClosed()) this.moveTo('idle');
        this.log.warn({ err: error }, 'could not send the re-INVITE');
        throw new ProtocolError('internal', 'the re-INVITE could not be sent');
      }
      if (this.hasClosed()) throw new ProtocolError('call-state', 'the call has ended');
      switch (outcome.kind) {
        case 'answered': {
          this.moveTo('idle');
          this.local = offer;
          this.remote = sdpOf(outcome.response) ?? this.remote;
          this.localHold = held;
          this.log.info({ held }, held ? 'call held at the far end' : 'call resumed at the far end');
          return true;
        }
        case 'glare':
          if (offers >= MAX_OFFERS) {
            this.moveTo('idle');
            throw new ProtocolError('call-state', 'the far end kept changing the call at the same time; try again');
          }
          this.moveTo('waiting');
          await this.waitAfterGlare();
          if (this.hasClosed()) throw new ProtocolError('call-state', 'the call has ended');
          this.moveTo('idle');
          continue;
        case 'refused': {
          this.moveTo('idle');
          const { status, reason } = outcome;
          throw new ProtocolError('not-supported', `the far end refused to ${held ? 'hold' : 'resume'} the call: ${status} ${reason}`.slice(0, 200), { sipStatus: status });
        }
        case 'lost':
          this.moveTo('idle');
          this.leg.lost(outcome.reason, outcome.status);
          throw new ProtocolError('call-state', `the call has ended: ${outcome.reason}`.slice(0, 200));
      }
    }
  }

  /** Sends one re-INVITE and settles with its outcome; a challenge is answered once with the leg's credentials. */
  private sendOffer(sdp: string, answering: { challenged: SipRequest; challenge: SipResponse } | undefined, settle: (outcome: Outcome) => void): void {
    const dialog = this.leg.dialog();
    if (dialog === undefined) {
      settle({ kind: 'lost', reason: 'the dialog has ended' });
      return;
    }
    const reinvite = dialog.createRequest('INVITE', { body: sdp, contentType: 'application/sdp' });
    if (answering !== undefined) {
      const authorization = this.leg.digest!.authorize(answering.challenged, answering.challenge);
      reinvite.set(authorization.header, ...authorization.values);
    }
    const { destination, connectionId } = this.leg.flowFor(reinvite);
    // Built now, while the dialog is confirmed: a 2xx that comes after the call ended still gets its ACK.
    const ackIfGone = dialog.createAck(reinvite);
    const transaction = this.ctx.ua.sendInvite(reinvite, destination, connectionId);
    let ack: SipRequest | undefined;
    let settled = false;
    let cancelled = false;
    const clock = this.ctx.clock;
    const cancelTimer = clock.setTimeout(() => {
      cancelled = true;
      void this.ctx.ua.transactions.cancel(transaction).catch(() => undefined);
    }, CANCEL_AFTER_MS);
    const giveUpTimer = clock.setTimeout(() => once({ kind: 'lost', reason: 'the far end never finished answering the re-INVITE', status: 408 }), GIVE_UP_AFTER_MS);
    const stopTimers = (): void => {
      clock.clearTimeout(cancelTimer);
      clock.clearTimeout(giveUpTimer);
    };
    const once = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      stopTimers();
      if (this.inFlight === once) this.inFlight = undefined;
      settle(outcome);
    };
    this.inFlight = once;
    transaction.on('response', ({ response }) => {
      const status = response.status;
      if (status < 200) return;
      if (status < 300) {
        // Every 2xx, retransmissions included, gets the ACK (§13.2.2.4); the first also refreshes the target.
        if (ack === undefined) {
          dialog.receiveResponse(response);
          ack = dialog.state === 'confirmed' ? dialog.createAck(reinvite) : ackIfGone;
        }
        const flow = this.leg.flowFor(ack);
        void this.ctx.ua.sendAck(ack, flow.destination, flow.connectionId).catch(() => undefined);
        once({ kind: 'answered', response });
        return;
      }
      if (settled) return;
      // The retry after a challenge has deadlines of its own.
      stopTimers();
      if ((status === 401 || status === 407) && answering === undefined && this.leg.digest !== undefined) {
        try {
          settled = true;
          this.sendOffer(sdp, { challenged: reinvite, challenge: response }, settle);
          return;
        } catch (error) {
          settled = false;
          this.log.warn({ code: (error as { code?: string }).code }, 'the challenge to the re-INVITE could not be answered');
        }
      }
      const reason = response.reason.slice(0, 120);
      if (status === 491) once({ kind: 'glare' });
      else if (status === 408 || status === 481) once({ kind: 'lost', reason: `the far end answered the re-INVITE ${status} ${reason}`, status });
      else if (status === 487 && cancelled) once({ kind: 'refused', status, reason: `no answer within ${CANCEL_AFTER_MS / 1000} s` });
      else once({ kind: 'refused', status, reason });
    });
    // §14.1: no answer to a re-INVITE ends the dialog, as a 408 would.
    transaction.on('timeout', () => once({ kind: 'lost', reason: 'the far end did not answer the re-INVITE', status: 408 }));
    transaction.on('transport-error', ({ error }) => once({ kind: 'lost', reason: `SIP transport error: ${error.message.slice(0, 120)}` }));
  }

  /** §14.1: 2.1 to 4 s in steps of 10 ms when we made the Call-ID, else 0 to 2 s, so that two sides do not collide again. */
  private waitAfterGlare(): Promise<void> {
    const bytes = this.ctx.random.bytes(2);
    const steps = ((bytes[0]! << 8) | bytes[1]!) % (this.leg.ownsCallId ? 191 : 201);
    const delayMs = (this.leg.ownsCallId ? 2100 : 0) + steps * 10;
    return new Promise((resolve) => {
      const timer = this.ctx.clock.setTimeout(() => {
        this.glareWait = undefined;
        resolve();
      }, delayMs);
      this.glareWait = { timer, done: resolve };
    });
  }

  /** Re-reads the state after an await, where the compiler's narrowing from before no longer holds. */
  private hasClosed(): boolean {
    return this.current === 'closed';
  }
}

/** How the media relay's refusal of a moving offer is answered; none of these ends the dialog (RFC 6141). */
function refusalFor(code: unknown): { status: number; reason: string } {
  switch (code) {
    case 'unsupported':
      return { status: 488, reason: 'Media Changes Not Supported' };
    case 'no-common-codec':
      return { status: 488, reason: 'Not Acceptable Here' };
    case 'invalid-sdp':
      return { status: 400, reason: 'Bad Session Description' };
    default:
      return { status: 500, reason: 'Media Relay Failed' };
  }
}

/** An SDP's o= line, which stays the same, version included, for as long as the session does not change (RFC 3264 §8). */
function originLine(sdp: string): string | undefined {
  return /^o=([^\r\n]*)/m.exec(sdp)?.[1]?.trim();
}

function wishOrSendrecv(sdp: string): MediaDirection {
  try {
    return wishOf(sdp);
  } catch {
    return 'sendrecv';
  }
}
