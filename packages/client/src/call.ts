/**
 * One call, incoming or outgoing, as the host page sees it. The gateway's events drive its state; its methods send
 * requests and resolve with their replies (the state follows from the events those replies lead to).
 *
 *   ringing ──call.progress (early media)──► early
 *      │ └──────────call.answered───────┐      │ call.answered
 *      │                                ▼      ▼
 *      │                               active ◄┘
 *      │                                 │
 *      └────── call.ended, socket lost ──┴──► ended   (from early too)
 */
import type {
  CallEndCause,
  CallFeatures,
  Contact,
  EventOf,
  IceCandidate,
  Party,
  RejectReason,
  RequestType,
  ResultOf,
} from '@switchboard/protocol';
import type { RequestParams } from './connection.js';
import { Emitter, type Listener } from './emitter.js';
import { ClientError } from './errors.js';
import { checkDtmfRequest, DEFAULT_DTMF_MS, MAX_DTMF_DIGITS, MAX_DTMF_MS, MIN_DTMF_MS } from './generated/server-checks.js';
import type { CallMedia } from './media.js';

export type CallState = 'ringing' | 'early' | 'active' | 'ended';
export type CallDirection = 'inbound' | 'outbound';
/** The gateway's causes, plus the one only this tab knows: its connection to the gateway was lost. */
export type EndCause = CallEndCause | 'connection-lost';

const TRANSITIONS: Record<CallState, readonly CallState[]> = {
  ringing: ['early', 'active', 'ended'],
  early: ['active', 'ended'],
  active: ['ended'],
  ended: [],
};

export interface CallEnded {
  cause: EndCause;
  sipStatus?: number;
  /** For people: the SIP reason phrase or Reason header text. */
  reason?: string;
}

export interface CallEvents {
  state: { state: CallState; previous: CallState };
  ended: CallEnded;
  /** Hold changed on either side. */
  hold: { local: boolean; remote: boolean };
  /** The CRM's lookup found the number an outgoing call dialled (incoming calls have theirs from the start). */
  contact: Contact;
}

export interface Call {
  readonly id: string;
  readonly direction: CallDirection;
  /** The other party: the caller of an incoming call, the dialled target of an outgoing one. */
  readonly remote: Party;
  /** What the CRM's lookup found for the other party: the caller of an incoming call, the dialled number of an outgoing one. */
  readonly contact: Contact | undefined;
  readonly state: CallState;
  readonly endCause: EndCause | undefined;
  readonly sipStatus: number | undefined;
  readonly endReason: string | undefined;
  readonly muted: boolean;
  readonly holdState: { local: boolean; remote: boolean };
  /** What the call offers once answered (DTMF, transfer): undefined until then. Show only the controls that work. */
  readonly features: CallFeatures | undefined;
  on<K extends keyof CallEvents>(name: K, listener: Listener<CallEvents[K]>): () => void;
  /**
   * Opens the microphone and answers; resolves once the call is active (its `features` known) or has ended. On a
   * microphone failure the call keeps ringing, so it can still be rejected.
   */
  answer(): Promise<void>;
  reject(reason?: RejectReason): Promise<void>;
  /** Cancels an unanswered outgoing call, hangs up an answered one, declines a ringing incoming one. */
  hangup(): Promise<void>;
  /** Local only: stops sending microphone audio. */
  mute(muted: boolean): void;
  hold(): Promise<void>;
  resume(): Promise<void>;
  /**
   * Digits to the far end of an answered call (0-9, A-D, * and #; 40-2000 ms each, 100 by default), sent the way
   * `features.dtmf` says: through the gateway, or by this browser in the call's audio (RFC 4733), when the promise
   * resolves as soon as they are queued. `not-supported` where the call takes none.
   */
  sendDtmf(digits: string, durationMs?: number): Promise<void>;
  /** Blind transfer; the call ends with cause `transferred` once the far end accepts. */
  transfer(target: string): Promise<void>;
}

/** What a call needs from the phone that owns it. */
export interface CallHost {
  request<T extends RequestType>(type: T, params: RequestParams<T>): Promise<ResultOf<T>>;
  /** Microphone and peer connection; reports microphone failures as `media-error` before rejecting. */
  openMedia(callId: string | undefined): Promise<CallMedia>;
  report(error: ClientError): void;
  ended(call: PhoneCall): void;
}

export interface CallInit {
  id: string;
  direction: CallDirection;
  remote: Party;
  contact?: Contact;
  /** The gateway's offer, for an incoming call. */
  offer?: string;
  /** The media of an outgoing call, opened before the call had an id. */
  media?: CallMedia;
}

type CallEvent = EventOf<'call.ringing' | 'call.progress' | 'call.answered' | 'call.ended' | 'call.ice' | 'call.hold-state' | 'call.contact'>;

export class PhoneCall implements Call {
  readonly id: string;
  readonly direction: CallDirection;
  readonly remote: Party;
  contact: Contact | undefined;
  state: CallState = 'ringing';
  endCause: EndCause | undefined;
  sipStatus: number | undefined;
  endReason: string | undefined;
  muted = false;
  holdState = { local: false, remote: false };
  features: CallFeatures | undefined;
  private readonly events = new Emitter<CallEvents>();
  private readonly offer: string | undefined;
  private media: CallMedia | undefined;
  private answering = false;
  /** Remote candidates that arrive for an incoming call before it is answered. */
  private readonly earlyCandidates: (IceCandidate | null)[] = [];

  constructor(
    private readonly host: CallHost,
    init: CallInit,
  ) {
    this.id = init.id;
    this.direction = init.direction;
    this.remote = init.remote;
    this.contact = init.contact;
    this.offer = init.offer;
    if (init.media) this.attach(init.media);
  }

  on<K extends keyof CallEvents>(name: K, listener: Listener<CallEvents[K]>): () => void {
    return this.events.on(name, listener);
  }

  async answer(): Promise<void> {
    if (this.direction !== 'inbound' || this.state !== 'ringing' || this.answering || this.offer === undefined) {
      throw new ClientError('invalid-state', `cannot answer a ${this.state} ${this.direction} call`);
    }
    this.answering = true;
    try {
      const media = await this.host.openMedia(this.id);
      // The state may have changed while the microphone prompt was open.
      if ((this.state as CallState) === 'ended') {
        media.close();
        throw new ClientError('invalid-state', `the call ended (${this.endCause}) before it could be answered`);
      }
      this.attach(media);
      for (const candidate of this.earlyCandidates.splice(0)) void media.addRemoteCandidate(candidate);
      const sdp = await media.acceptOffer(this.offer);
      await this.host.request('call.answer', { callId: this.id, sdp });
    } catch (error) {
      // Without an answer sent the call still rings here and elsewhere: release the microphone, keep the call.
      this.media?.close();
      this.media = undefined;
      throw error;
    } finally {
      this.answering = false;
    }
    // The gateway's call.answered (with what the call offers) follows its reply: what comes after an answer, such
    // as digits, needs it. A lost connection ends the call, so this never waits for ever.
    if (this.state === 'ringing') {
      await new Promise<void>((resolve) => {
        const off = this.events.on('state', () => {
          off();
          resolve();
        });
      });
    }
  }

  async reject(reason: RejectReason = 'decline'): Promise<void> {
    if (this.direction !== 'inbound' || this.state !== 'ringing') {
      throw new ClientError('invalid-state', `cannot reject a ${this.state} ${this.direction} call`);
    }
    await this.host.request('call.reject', { callId: this.id, reason });
  }

  async hangup(): Promise<void> {
    if (this.state === 'ended') return;
    if (this.state === 'active') {
      await this.host.request('call.hangup', { callId: this.id });
    } else if (this.direction === 'inbound') {
      await this.reject('decline');
    } else {
      try {
        await this.host.request('call.cancel', { callId: this.id });
      } catch (error) {
        // Answered while the cancel was on its way: the user still wants the call over.
        if (!(error instanceof ClientError && error.code === 'call-state')) throw error;
        await this.host.request('call.hangup', { callId: this.id });
      }
    }
  }

  mute(muted: boolean): void {
    this.muted = muted;
    this.media?.mute(muted);
  }

  async hold(): Promise<void> {
    await this.host.request('call.hold', { callId: this.id });
  }

  async resume(): Promise<void> {
    await this.host.request('call.resume', { callId: this.id });
  }

  async sendDtmf(digits: string, durationMs?: number): Promise<void> {
    const features = this.features;
    if (this.state !== 'active' || features === undefined) throw new ClientError('invalid-state', `cannot send digits on a ${this.state} call`);
    if (features.dtmf === 'gateway') {
      await this.host.request('call.dtmf', { callId: this.id, digits, ...(durationMs === undefined ? {} : { durationMs }) });
      return;
    }
    if (features.dtmf === 'none') throw new ClientError('not-supported', 'this call takes no digits (a call between operators, or media without telephone-events)');
    // The gateway never sees these digits, so they are held to the rules of the request it would have checked.
    const duration = durationMs ?? DEFAULT_DTMF_MS;
    if (!checkDtmfRequest({ type: 'call.dtmf', id: '0', callId: this.id, digits, durationMs: duration })) {
      throw new ClientError('bad-request', `digits must be 1 to ${MAX_DTMF_DIGITS} of 0-9, A-D, * and #, each lasting ${MIN_DTMF_MS} to ${MAX_DTMF_MS} ms`);
    }
    // An active call in this tab always has its media: the tab placed the call, or answered it.
    await this.media!.sendDtmf(digits, duration);
  }

  async transfer(target: string): Promise<void> {
    await this.host.request('call.transfer', { callId: this.id, target });
  }

  /** An event from the gateway about this call. */
  handle(event: CallEvent): void {
    if (this.state === 'ended') return;
    switch (event.type) {
      case 'call.ringing':
        break;
      case 'call.progress':
        // A 183 that overtakes the 200 on the SIP side has nothing left to say.
        if (this.state === 'active') break;
        this.applyAnswer(event.sdp, true);
        if (this.state === 'ringing') this.transition('early');
        break;
      case 'call.answered':
        this.features = event.features;
        if (event.sdp !== undefined) this.applyAnswer(event.sdp, false);
        this.transition('active');
        break;
      case 'call.ice':
        if (this.media) void this.media.addRemoteCandidate(event.candidate).catch((error: ClientError) => this.host.report(error));
        else this.earlyCandidates.push(event.candidate);
        break;
      case 'call.hold-state':
        this.holdState = { local: event.local, remote: event.remote };
        this.media?.hold(event.local);
        this.events.emit('hold', { ...this.holdState });
        break;
      case 'call.contact':
        this.contact = event.contact;
        this.events.emit('contact', event.contact);
        break;
      case 'call.ended': {
        const ended: CallEnded = { cause: event.cause };
        if (event.sipStatus !== undefined) ended.sipStatus = event.sipStatus;
        if (event.reason !== undefined) ended.reason = event.reason;
        this.end(ended);
        break;
      }
    }
  }

  /** Ends the call here, whatever the gateway thinks: media stops, the phone forgets it. */
  end(ended: CallEnded): void {
    if (this.state === 'ended') return;
    this.endCause = ended.cause;
    this.sipStatus = ended.sipStatus;
    this.endReason = ended.reason;
    this.media?.close();
    this.transition('ended');
    this.host.ended(this);
    this.events.emit('ended', ended);
  }

  private attach(media: CallMedia): void {
    this.media = media;
    media.mute(this.muted);
    media.onTrickle = (candidate) => {
      this.host.request('call.ice', { callId: this.id, candidate }).catch((error: ClientError) => this.host.report(error));
    };
  }

  private applyAnswer(sdp: string, provisional: boolean): void {
    this.media?.applyAnswer(sdp, provisional).catch((error: ClientError) => this.host.report(error));
  }

  private transition(to: CallState): void {
    const previous = this.state;
    if (to === previous) return;
    if (!TRANSITIONS[previous].includes(to)) throw new ClientError('invalid-state', `call ${this.id}: no transition ${previous} → ${to}`);
    this.state = to;
    this.events.emit('state', { state: to, previous });
  }

  /** The media of this call, for the phone to update (fresh TURN credentials). */
  get peerMedia(): CallMedia | undefined {
    return this.media;
  }
}
