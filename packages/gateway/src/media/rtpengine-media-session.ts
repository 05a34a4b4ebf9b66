/**
 * One call's media through rtpengine: the browser leg speaks WebRTC (ICE, DTLS-SRTP, rtcp-mux, SAVPF), the SIP
 * leg plain RTP/AVP. Each SDP goes to rtpengine as an ng offer or answer, with flags chosen by the peer that
 * receives the rewritten SDP (the same flags Kamailio deployments use, proven between Chromium and baresip).
 *
 * The ng call is keyed by the call id; each leg has a fixed synthetic tag, so that re-offers from either side and
 * a repeated answer (183, then 200) address the same rtpengine monologues.
 */
import { browserSideOfOffer, requireBrowserSide } from './browser-side.js';
import { checkSdp, restrictOffer } from './codec-policy.js';
import { MediaError } from './media-error.js';
import type { MediaSession, MediaUpdate } from './media-session.js';
import type { MediaLogger, NgSdpOptions, RtpengineClient } from './rtpengine-client.js';

const BROWSER_TAG = 'switchboard-browser';
const SIP_TAG = 'switchboard-sip';

type Leg = 'browser' | 'sip';

const REPLACE = ['origin', 'session-connection'];

/** SDP for a SIP peer: no ICE, no DTLS or SDES, RTCP on its own port, RTP/AVP. */
export const TO_SIP: NgSdpOptions = {
  replace: REPLACE,
  ice: 'remove',
  transportProtocol: 'RTP/AVP',
  dtls: 'off',
  sdes: ['off'],
  rtcpMux: ['demux'],
};

/**
 * An offer for a browser. rtpengine takes the DTLS server role here, and the browser (answering) becomes the
 * client; generate-mid because browsers need a=mid and plain SIP offers lack it.
 */
export const TO_BROWSER_OFFER: NgSdpOptions = {
  replace: REPLACE,
  ice: 'force',
  transportProtocol: 'UDP/TLS/RTP/SAVPF',
  dtls: 'passive',
  sdes: ['off'],
  rtcpMux: ['offer', 'require'],
  flags: ['generate-mid'],
};

/**
 * An answer for an offering browser. No DTLS role: rtpengine 10.5 completes ICE with the browser while handling
 * the offer and starts DTLS as client right away; an answer saying setup:passive would contradict that and the
 * handshake would never finish.
 */
export const TO_BROWSER_ANSWER: NgSdpOptions = {
  replace: REPLACE,
  ice: 'force',
  transportProtocol: 'UDP/TLS/RTP/SAVPF',
  sdes: ['off'],
  rtcpMux: ['require'],
};

/**
 * The SIP side's re-offer within an answered call, towards a browser that is not asked: no DTLS role, so that the
 * one in force stays (rtpengine 10.5 keeps an established DTLS session either way, but the browser is never told
 * of another), and the same ICE.
 */
export const REOFFER_TO_BROWSER: NgSdpOptions = {
  replace: REPLACE,
  ice: 'force',
  transportProtocol: 'UDP/TLS/RTP/SAVPF',
  sdes: ['off'],
  rtcpMux: ['offer', 'require'],
  flags: ['generate-mid'],
};

/** How many times the hold music plays over: days for any track, so that no hold outlasts it (a resume stops it). */
export const HOLD_MUSIC_REPEATS = 1_000_000;
/**
 * Tries of a resume's stop and unblock, each within the client's own timeout: one lost there would leave the far end
 * hearing music over the operator, or not hearing the operator at all, for the rest of the call.
 */
const RESUME_TRIES = 3;

export interface RtpengineMediaSessionOptions {
  readonly client: RtpengineClient;
  readonly callId: string;
  readonly codecs: readonly string[];
  readonly logger: MediaLogger;
  /** Played to the SIP leg while the operator holds; none: the held side hears silence. */
  readonly holdMusic?: string | undefined;
}

export class RtpengineMediaSession implements MediaSession {
  private readonly client: RtpengineClient;
  private readonly callId: string;
  private readonly codecs: readonly string[];
  private readonly logger: MediaLogger;
  private readonly holdMusic: string | undefined;
  /** Whether the operator holds; whether rtpengine may be playing the music, and may be blocking the browser. */
  private onHold = false;
  private musicMayPlay = false;
  private browserMayBeBlocked = false;
  /** Operations run one at a time, in call order, so that close() sees the last offer that reached rtpengine. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The leg whose offer awaits (or last received) an answer. */
  private offerer: Leg | undefined;
  /** Once an answer went through, both tags exist and offers must name the other one. */
  private answered = false;
  /** The browser's side of the session: its answer, or its offer and the answer that offer got. */
  private browser: { answer: string } | { offer: string; answered?: string } | undefined;
  /** The SIP side's description in force: its offer or its answer, then each re-offer taken. */
  private sipSide: string | undefined;
  private sentAny = false;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: RtpengineMediaSessionOptions) {
    this.client = options.client;
    this.callId = options.callId;
    this.codecs = options.codecs;
    this.logger = options.logger;
    this.holdMusic = options.holdMusic;
  }

  offerFromBrowser(sdp: string): Promise<string> {
    return this.offer('browser', sdp);
  }

  answerFromSip(sdp: string): Promise<string> {
    return this.answer('sip', sdp);
  }

  offerFromSip(sdp: string): Promise<string> {
    return this.offer('sip', sdp);
  }

  answerFromBrowser(sdp: string): Promise<string> {
    return this.answer('browser', sdp);
  }

  updateFromSip(sdp: string): Promise<MediaUpdate> {
    return this.run(async () => {
      const { side, sending } = this.browserSide();
      const previous = this.sipSide;
      if (previous === undefined) throw new MediaError('invalid-state', 'a re-offer from the SIP leg needs an answered call');
      const restricted = restrictOffer(sdp, this.codecs);
      requireBrowserSide(restricted, side, sending);
      // rtpengine takes the SIP side's new address and codecs from the offer, and uses them at once; what it would
      // send the browser is not sent: the browser's side is answered as it stands.
      await this.offerSipSide(restricted);
      let answer: string;
      try {
        answer = await this.answerWithBrowserSide(side);
      } catch (error) {
        await this.restoreSipSide(previous, side);
        throw error;
      }
      this.sipSide = restricted;
      this.logger.debug({ callId: this.callId }, 'SIP re-offer through rtpengine');
      return {
        answer,
        // The far end never took the answer.
        revert: () => this.run(async () => {
          if (!this.closed && this.sipSide === restricted) await this.restoreSipSide(previous, side);
        }).catch(() => undefined),
      };
    });
  }

  private async offerSipSide(sipSdp: string): Promise<void> {
    await this.client.offer({ callId: this.callId, fromTag: SIP_TAG, toTag: BROWSER_TAG, sdp: sipSdp, ...REOFFER_TO_BROWSER });
    this.offerer = 'sip';
  }

  private async answerWithBrowserSide(browserSide: string): Promise<string> {
    return (await this.client.answer({ callId: this.callId, fromTag: SIP_TAG, toTag: BROWSER_TAG, sdp: browserSide, ...TO_SIP })).sdp;
  }

  /**
   * rtpengine back to the SIP side's session the far end still has, after a re-offer it took: best effort, since
   * the call goes on either way; a failure is logged with what it means.
   */
  private async restoreSipSide(previous: string, browserSide: string): Promise<void> {
    try {
      await this.offerSipSide(previous);
      await this.answerWithBrowserSide(browserSide);
      this.sipSide = previous;
    } catch (error) {
      this.logger.warn({ callId: this.callId, err: error }, 'rtpengine could not go back to the SIP side\'s session: its media may go to an address the far end left');
    }
  }

  setHoldMusic(playing: boolean): Promise<void> {
    const file = this.holdMusic;
    if (file === undefined || this.closed) return Promise.resolve();
    // In the queue, so that a quick hold and resume reach rtpengine in their order.
    return this.run(async () => {
      // After close() the call is deleted at rtpengine, music and block with it.
      if (this.closed || playing === this.onHold || !this.answered) return;
      this.onHold = playing;
      const sip = { callId: this.callId, fromTag: SIP_TAG };
      const browser = { callId: this.callId, fromTag: BROWSER_TAG };
      if (playing) {
        const played = await this.attempt('play media', `the held call is silent (${file})`, 1, () =>
          this.client.playMedia({ ...sip, file, repeatTimes: HOLD_MUSIC_REPEATS }),
        );
        // Refused, nothing plays; any other failure may have reached rtpengine, and the resume then stops it.
        this.musicMayPlay = played !== 'refused';
        if (typeof played === 'string') return;
        this.logger.debug({ callId: this.callId, file, durationMs: played.durationMs }, 'hold music playing');
        // A held browser still sends silence, which rtpengine may forward beside the music. Blocked only once the
        // music plays: without either, the far end would get no RTP at all, and inactivity timers drop such calls.
        const blocked = await this.attempt('block media', 'the far end may hear silence beside the music', 1, () => this.client.blockMedia(browser));
        this.browserMayBeBlocked = blocked !== 'refused';
      } else {
        if (this.musicMayPlay) await this.attempt('stop media', 'the far end may go on hearing the music', RESUME_TRIES, () => this.client.stopMedia(sip));
        if (this.browserMayBeBlocked) {
          await this.attempt('unblock media', 'the far end may not hear the operator', RESUME_TRIES, () => this.client.unblockMedia(browser));
        }
        this.musicMayPlay = false;
        this.browserMayBeBlocked = false;
      }
    }).catch(() => undefined);
  }

  /**
   * One ng command of the hold music, which never fails the call: its result, or the code of its error. A command
   * that got no answer is sent again while tries remain; a refusal is final.
   */
  private async attempt<T>(command: string, consequence: string, tries: number, send: () => Promise<T>): Promise<T | MediaError['code'] | 'failed'> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        const code = error instanceof MediaError ? error.code : 'failed';
        if (attempt < tries && code !== 'refused' && code !== 'closed') continue;
        // Closed: the gateway is stopping, and the call with it.
        const log = code === 'closed' ? this.logger.debug.bind(this.logger) : this.logger.warn.bind(this.logger);
        log({ callId: this.callId, command, code, attempts: attempt, err: error }, `rtpengine did not ${command}: ${consequence}`);
        return code;
      }
    }
  }

  close(): Promise<void> {
    this.closing ??= this.release();
    return this.closing;
  }

  private offer(from: Leg, sdp: string): Promise<string> {
    return this.run(async () => {
      // Towards the PBX its preference decides the order; towards a browser the PBX's offer keeps its own.
      const restricted = restrictOffer(sdp, this.codecs, { reorder: from === 'browser' });
      this.sentAny = true;
      const reply = await this.client.offer({
        callId: this.callId,
        fromTag: tagOf(from),
        toTag: this.answered ? tagOf(other(from)) : undefined,
        sdp: restricted,
        ...(from === 'browser' ? TO_SIP : TO_BROWSER_OFFER),
      });
      this.offerer = from;
      if (from === 'browser') this.browser = { offer: restricted };
      else this.sipSide = restricted;
      this.logger.debug({ callId: this.callId, from }, 'media offer through rtpengine');
      return reply.sdp;
    });
  }

  private answer(from: Leg, sdp: string): Promise<string> {
    return this.run(async () => {
      const offerer = other(from);
      if (this.offerer !== offerer) {
        throw new MediaError('invalid-state', `an answer from the ${from} leg needs an offer from the ${offerer} leg first`);
      }
      checkSdp(sdp, `${from} answer`);
      const reply = await this.client.answer({
        callId: this.callId,
        fromTag: tagOf(offerer),
        toTag: tagOf(from),
        sdp,
        ...(from === 'sip' ? TO_BROWSER_ANSWER : TO_SIP),
      });
      this.answered = true;
      if (from === 'browser') {
        this.browser = { answer: sdp };
      } else {
        this.sipSide = sdp;
        if (this.browser !== undefined && 'offer' in this.browser) this.browser.answered = reply.sdp;
      }
      this.logger.debug({ callId: this.callId, from }, 'media answer through rtpengine');
      return reply.sdp;
    });
  }

  /**
   * The browser's side of the session as an answer states it (see browser-side.ts), and the answer that decided
   * what the browser sends.
   */
  private browserSide(): { side: string; sending: string } {
    const browser = this.browser;
    if (!this.answered || browser === undefined) throw new MediaError('invalid-state', 'a re-offer from the SIP leg needs an answered call');
    if ('answer' in browser) return { side: browser.answer, sending: browser.answer };
    try {
      return { side: browserSideOfOffer(browser.offer, browser.answered!), sending: browser.answered! };
    } catch (error) {
      throw new MediaError('invalid-state', `the browser's side of the call is unclear: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Operations asked for before close() still run (close waits for them); later ones are refused. */
  private run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new MediaError('closed', `the media session of call ${this.callId} is closed`));
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async release(): Promise<void> {
    this.closed = true;
    await this.queue;
    // Nothing reached rtpengine, so nothing to delete. An offer that timed out may still have arrived: delete then too.
    if (!this.sentAny) return;
    try {
      // At once: the B2BUA closes only when the call is over, and a late answer must not revive its media.
      await this.client.delete({ callId: this.callId, delaySeconds: 0 });
      this.logger.debug({ callId: this.callId }, 'media released at rtpengine');
    } catch (error) {
      // Nothing the caller could do about it: rtpengine drops calls without media after its own timeout. A refusal
      // is usually "unknown call-id" after an offer that failed, so only silence deserves a warning.
      const code = error instanceof MediaError ? error.code : undefined;
      const log = code === 'refused' ? this.logger.debug.bind(this.logger) : this.logger.warn.bind(this.logger);
      log({ callId: this.callId, code, err: error }, 'rtpengine did not delete the call media');
    }
  }
}

function tagOf(leg: Leg): string {
  return leg === 'browser' ? BROWSER_TAG : SIP_TAG;
}

function other(leg: Leg): Leg {
  return leg === 'browser' ? 'sip' : 'browser';
}
