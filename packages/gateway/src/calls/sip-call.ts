/**
 * One call between a browser and the SIP side, with the gateway as a back-to-back user agent: the browser leg is
 * the protocol's call (offer, answer, events), the SIP leg a dialog of the gateway's own, and media either passes
 * through (a WebRTC-capable PBX) or is bridged by rtpengine. Each leg only ever sees the other through this class.
 *
 *   outbound (browser → SIP):  dialing ─INVITE sent─► ringing ─183+SDP─► early ─2xx─► active
 *   inbound  (SIP → browser):  ringing (tabs rung, 180 sent) ──────── answer in a tab ─► active
 *                              any state ──hangup, BYE, CANCEL, failure, timeout──► ended
 */
import { randomUUID } from 'node:crypto';
import { causeFromSipStatus, type CallEndCause, type CallFeatures, type CallSummary, type ServerEvent } from '@switchboard/protocol';
import {
  addressOfUri,
  Dialog,
  DigestClient,
  escapeUser,
  formatNameAddr,
  formatUri,
  parseUri,
  type IncomingRequest,
  type Random,
  type RespondOptions,
  type InviteClientTransaction,
  type SipRequest,
  type SipResponse,
  type Uri,
  type UserAgent,
} from '@switchboard/sip';
import type { Clock, TimerHandle } from '@switchboard/sip';
import type { Logger } from 'pino';
import type { CallRepository } from '../store/calls.js';
import { ProtocolError } from '../ws/errors.js';
import type { SessionHandle, SessionOperator } from '../ws/index.js';
import { REASON_PHRASES, endedEvent, sipStatusFor } from './events.js';
import { admitToDialog, respondWhileOpen, sdpOf } from '../sip/respond-while-open.js';
import type { SipRoute } from './sip-routes.js';
import type { ContactLookup } from '../lookup/contact-lookup.js';
import { outboundRoute } from '../sip/outbound-proxy.js';
import type { MediaSession } from '../media/media-session.js';
import { dtmfRefusal, sipCallFeatures, type DtmfMode } from './call-features.js';
import { sendDtmfByInfo } from './info-dtmf.js';
import { SipSessionUpdates } from './sip-session-updates.js';
import { BlindTransfer } from './blind-transfer.js';
import { SipLeg } from './sip-leg.js';

/** The media bridge of one call (rtpengine or passthrough). */
export type CallMedia = MediaSession;

export type SipCallState = 'dialing' | 'ringing' | 'early' | 'active' | 'ended';

const ALLOWED: Readonly<Record<SipCallState, readonly SipCallState[]>> = {
  dialing: ['ringing', 'early', 'active', 'ended'],
  ringing: ['early', 'active', 'ended'],
  early: ['active', 'ended'],
  active: ['ended'],
  ended: [],
};

export interface SipCallContext {
  ua: UserAgent;
  clock: Clock;
  /** For the wait after a re-INVITE collision. */
  random: Random;
  logger: Logger;
  calls: Pick<CallRepository, 'start' | 'setState' | 'end'>;
  /** Credentials for a PBX line's INVITEs; never logged. */
  digestFor(route: Extract<SipRoute, { kind: 'pbx' }>): DigestClient;
  ringTimeoutMs: number;
  lookup?: ContactLookup | undefined;
  /** Told once the call has ended, so the layer can forget it. */
  ended(call: SipCall): void;
}

type Deliver = (session: SessionHandle, event: ServerEvent) => void;
const send: Deliver = (session, event) => void session.send(event);

/** The number the browser shows for a SIP or tel URI: the user part, or the telephone number. */
export function userOf(uri: Uri | undefined): string {
  if (uri === undefined) return 'anonymous';
  if (uri.type === 'tel') return uri.number.slice(0, 64);
  if (uri.type === 'sip' && uri.user !== undefined && uri.user !== '') return uri.user.slice(0, 64);
  return 'anonymous';
}

/** A number or extension dialled through a PBX: the user part of a URI in the PBX's domain. */
function atPbx(target: string, pbx: Extract<SipRoute, { kind: 'pbx' }>['pbx']): Uri {
  return parseUri(`sip:${escapeUser(target)}@${pbx.domain}`);
}

export class SipCall {
  private current: SipCallState;
  /** Outbound: the placing session. Inbound: the answering one, once answered. */
  carrier: SessionHandle | undefined;
  /** Inbound: tabs rung with `call.incoming`. */
  readonly rung = new Set<SessionHandle>();
  answeredAt: number | undefined;
  endCause: CallEndCause | undefined;
  private invite: SipRequest | undefined;
  private transaction: InviteClientTransaction | undefined;
  /** The SIP side's dialog, and where its requests go. */
  private readonly leg: SipLeg;
  /** The SIP leg's session once answered: its descriptions, hold, and re-INVITEs either way. */
  private updates: SipSessionUpdates | undefined;
  private ringTimer: TimerHandle | undefined;
  private cancelRequested = false;
  private authenticated = false;
  private ringingSent = false;
  private persisted: Promise<void> = Promise.resolve();
  /** What the answered call offers the browser; told in `call.answered`. */
  private features: CallFeatures | undefined;
  /** The PBX line of the call (either direction), whose credentials answer a challenge to an in-dialog request. */
  private pbxRoute: Extract<SipRoute, { kind: 'pbx' }> | undefined;
  /** DTMF requests in the order they came, so that two of them never interleave their digits. */
  private dtmfQueue: Promise<void> = Promise.resolve();
  /** A blind transfer asked for; once accepted, the SIP leg outlives the browser's call until it is over. */
  private transferring: BlindTransfer | undefined;
  private readonly log: Logger;

  private constructor(
    private readonly ctx: SipCallContext,
    readonly id: string,
    readonly direction: 'outbound' | 'inbound',
    readonly operator: SessionOperator,
    readonly remote: { number: string; name?: string },
    private readonly media: CallMedia,
    readonly startedAt: number,
  ) {
    this.current = direction === 'outbound' ? 'dialing' : 'ringing';
    this.log = ctx.logger.child({ callId: id, direction });
    this.leg = new SipLeg(ctx.ua, this.log, direction, () => (this.pbxRoute === undefined ? undefined : ctx.digestFor(this.pbxRoute)));
  }

  static outbound(ctx: SipCallContext, id: string, session: SessionHandle, target: string, media: CallMedia): SipCall {
    const call = new SipCall(ctx, id, 'outbound', session.operator, { number: target }, media, ctx.clock.now());
    call.carrier = session;
    return call;
  }

  /** `line`: the operator's PBX line the call came in on; undefined for a call from a phone registered here. */
  static inbound(ctx: SipCallContext, id: string, operator: SessionOperator, incoming: IncomingRequest, media: CallMedia, line: Extract<SipRoute, { kind: 'pbx' }> | undefined): SipCall {
    const from = incoming.request.from;
    const remote = { number: userOf(from?.uri), ...(from?.displayName ? { name: from.displayName.slice(0, 128) } : {}) };
    const call = new SipCall(ctx, id, 'inbound', operator, remote, media, ctx.clock.now());
    call.leg.incoming = incoming;
    call.pbxRoute = line;
    return call;
  }

  /** Inbound: the INVITE; the leg keeps it, for where in-dialog requests go. */
  private get incoming(): IncomingRequest | undefined {
    return this.leg.incoming;
  }

  /** How digits reach the SIP side: what the PBX is set to take; phones registered here take SIP INFO. */
  private get dtmfMode(): DtmfMode {
    return this.pbxRoute?.pbx.dtmf ?? 'info';
  }

  /** Whether the call's SIP side is a PBX (through a line), rather than a phone registered here. */
  get throughPbx(): boolean {
    return this.pbxRoute !== undefined;
  }

  get state(): SipCallState {
    return this.current;
  }

  private moveTo(next: SipCallState): void {
    if (!ALLOWED[this.current].includes(next)) throw new Error(`a SIP call cannot go from ${this.current} to ${next}`);
    this.current = next;
  }

  summaryFor(sessionId: string): CallSummary {
    return {
      callId: this.id,
      direction: this.direction,
      state: this.current === 'active' ? 'active' : this.current === 'early' ? 'early' : 'ringing',
      remote: this.remote,
      here: this.carrier?.id === sessionId,
      startedAt: this.startedAt,
      ...(this.answeredAt === undefined ? {} : { answeredAt: this.answeredAt }),
    };
  }

  // Outbound ------------------------------------------------------------------------------------------------

  /** Sends the INVITE for the browser's offer. Failures end the call; nothing is thrown. */
  async dial(route: SipRoute, target: string, browserSdp: string): Promise<void> {
    try {
      const sdp = await this.media.offerFromBrowser(browserSdp);
      if (this.current === 'ended') return;
      const { requestUri, from, destination, connectionId } = this.addressing(route, target);
      const protocol = destination.protocol;
      const invite = this.ctx.ua.createRequest('INVITE', requestUri, { from, callId: `${randomUUID()}`, contact: this.ctx.ua.contact(userOf(from), protocol) });
      if (this.operator.displayName !== '') {
        const fromHeader = invite.from!;
        invite.set('From', { ...fromHeader, displayName: this.operator.displayName });
      }
      if (route.kind === 'pbx') {
        this.pbxRoute = route;
        const preloaded = outboundRoute(route.pbx.outboundProxy === undefined ? undefined : parseUri(route.pbx.outboundProxy));
        if (preloaded !== undefined) invite.prepend('Route', preloaded);
      }
      invite.setBody(sdp, 'application/sdp');
      invite.append('Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY');
      this.leg.destination = destination;
      // A phone on TLS, TCP or a WebSocket is reached over the connection it registered on, in the dialog too: its
      // Contact may name an address nobody can connect to (a NAT, a browser's `.invalid` host).
      if (route.kind === 'phone' && connectionId !== undefined) this.leg.phoneFlow = { destination, connectionId };
      this.send(invite, route, connectionId);
      // The far side may ring for ever (a PBX without a ring timeout of its own): give up as the operator would.
      this.ringTimer = this.ctx.clock.setTimeout(() => {
        this.ringTimer = undefined;
        if (this.current !== 'ringing' && this.current !== 'early') return;
        this.cancelRequested = true;
        if (this.transaction !== undefined) void this.ctx.ua.transactions.cancel(this.transaction).catch(() => undefined);
        this.end('no-answer', send, REASON_PHRASES['no-answer']);
      }, this.ctx.ringTimeoutMs);
    } catch (error) {
      this.log.warn({ err: error }, 'could not place the SIP call');
      this.end('failed', send, error instanceof Error ? error.message.slice(0, 200) : 'the call could not be placed');
    }
  }

  private addressing(route: SipRoute, target: string) {
    if (route.kind === 'phone') {
      const from = parseUri(`sip:${this.operator.extension}@${this.ctx.ua.transport(route.binding.source.protocol).local.host}`);
      return { requestUri: route.binding.contact, from, destination: route.binding.source, connectionId: route.binding.connectionId };
    }
    const pbx = route.pbx;
    const requestUri = atPbx(target, pbx);
    const from = parseUri(`sip:${route.line.user}@${pbx.domain}`);
    // The server the line is registered with: the one that knows the line, and the one the PBX's DNS preferred.
    return { requestUri, from, destination: route.server ?? addressOfUri(parseUri(pbx.outboundProxy ?? pbx.registrar)), connectionId: undefined };
  }

  private send(invite: SipRequest, route: SipRoute, connectionId: string | undefined): void {
    this.invite = invite;
    const transaction = this.ctx.ua.sendInvite(invite, this.leg.destination!, connectionId);
    this.transaction = transaction;
    if (this.current === 'dialing') this.moveTo('ringing');
    transaction.on('response', ({ response }) => void this.onResponse(response, route, connectionId));
    transaction.on('timeout', () => this.end('timeout', send, 'the SIP side did not answer'));
    transaction.on('transport-error', ({ error }) => this.end('failed', send, `SIP transport error: ${error.message.slice(0, 120)}`));
    if (this.cancelRequested) void this.ctx.ua.transactions.cancel(transaction).catch(() => undefined);
  }

  private async onResponse(response: SipResponse, route: SipRoute, connectionId: string | undefined): Promise<void> {
    const status = response.status;
    if (status < 200) {
      if (status === 100 || this.current === 'ended') return;
      const early = sdpOf(response);
      if (early !== undefined && this.current !== 'early') {
        const sdp = await this.media.answerFromSip(early).catch((error: unknown) => this.mediaFailed(error));
        if (sdp === undefined || this.hasEnded()) return;
        this.moveTo('early');
        this.tellCarrier({ type: 'call.progress', callId: this.id, sdp });
      } else if (!this.ringingSent) {
        this.ringingSent = true;
        this.tellCarrier({ type: 'call.ringing', callId: this.id });
      }
      return;
    }
    if (status < 300) {
      await this.onAnswered(response);
      return;
    }
    if ((status === 401 || status === 407) && route.kind === 'pbx' && !this.authenticated && this.current !== 'ended') {
      this.authenticated = true;
      try {
        const authorization = this.ctx.digestFor(route).authorize(this.invite!, response);
        const retry = this.invite!.clone();
        retry.remove('Via');
        retry.set(authorization.header, ...authorization.values);
        retry.set('CSeq', { seq: (this.invite!.cseq?.seq ?? 1) + 1, method: 'INVITE' });
        this.send(retry, route, connectionId);
        return;
      } catch (error) {
        this.log.warn({ code: (error as { code?: string }).code }, 'the PBX challenge could not be answered');
      }
    }
    const cause = this.cancelRequested && status === 487 ? 'cancelled' : causeFromSipStatus(status);
    this.end(cause, send, response.reason.slice(0, 200), status);
  }

  private async onAnswered(response: SipResponse): Promise<void> {
    let dialog: Dialog;
    try {
      dialog = Dialog.fromUac(this.invite!, response);
    } catch (error) {
      this.log.warn({ err: error }, '2xx that creates no dialog');
      return;
    }
    // Every 2xx gets its ACK, retransmissions and forks included (§13.2.2.4).
    const ack = dialog.createAck(this.invite!);
    const flow = this.leg.flowFor(ack);
    await this.ctx.ua.sendAck(ack, flow.destination, flow.connectionId).catch(() => undefined);
    if (this.leg.dialog !== undefined) return;
    this.leg.dialog = dialog;
    if (this.current === 'ended') {
      // Answered after the browser gave up: the dialog exists on the far side, so it must be ended there.
      this.leg.bye();
      return;
    }
    const sdp = await this.media.answerFromSip(response.bodyText).catch((error: unknown) => this.mediaFailed(error));
    if (sdp === undefined || this.hasEnded()) {
      this.leg.bye();
      return;
    }
    this.startUpdates({ local: this.invite!.bodyText, remote: response.bodyText });
    this.stopRinging();
    this.moveTo('active');
    const at = this.ctx.clock.now();
    this.answeredAt = at;
    this.features = sipCallFeatures(this.dtmfMode, sdp);
    this.tellCarrier({ type: 'call.answered', callId: this.id, sdp, answeredAt: at, features: this.features });
    this.persist(() => this.ctx.calls.setState(this.id, 'active', at));
    this.log.info('SIP call answered');
  }

  // Inbound -------------------------------------------------------------------------------------------------

  /** Rings the operator's tabs with the converted offer; answers 180, or 480 when no tab took it. */
  async ring(tabs: readonly SessionHandle[], deliverTo: (tabs: readonly SessionHandle[], event: ServerEvent) => SessionHandle[]): Promise<void> {
    const incoming = this.incoming!;
    // The CRM is asked while rtpengine converts the offer: the screen pop costs no extra ringing time unless the
    // CRM is slower than rtpengine.
    const contact = this.ctx.lookup?.find(this.remote.number);
    let sdp: string;
    try {
      sdp = await this.media.offerFromSip(incoming.request.bodyText);
    } catch (error) {
      this.respond(500);
      this.mediaFailed(error);
      return;
    }
    const found = await contact;
    if (this.current === 'ended') return;
    const event: ServerEvent = {
      type: 'call.incoming',
      callId: this.id,
      from: this.remote,
      to: { number: userOf(incoming.request.uri) },
      sdp,
      receivedAt: this.startedAt,
      ...(found === undefined ? {} : { contact: found }),
    };
    for (const tab of deliverTo(tabs, event)) this.rung.add(tab);
    if (this.rung.size === 0) {
      this.end('unavailable', send, 'the operator has no session open');
      return;
    }
    this.respond(180);
    this.ringTimer = this.ctx.clock.setTimeout(() => {
      this.ringTimer = undefined;
      if (this.current === 'ringing') this.end('no-answer', send, REASON_PHRASES['no-answer']);
    }, this.ctx.ringTimeoutMs);
  }

  async answer(session: SessionHandle, browserSdp: string, deliver: Deliver): Promise<void> {
    if (this.direction !== 'inbound') throw new ProtocolError('call-state', 'this operator placed the call; only the callee answers');
    if (this.current === 'active' || this.carrier !== undefined) throw new ProtocolError('already-answered', 'the call was answered in another session');
    this.requireLive();
    this.carrier = session;
    let sdp: string;
    try {
      sdp = await this.media.answerFromBrowser(browserSdp);
    } catch (error) {
      this.carrier = undefined;
      this.mediaFailed(error);
      throw new ProtocolError('internal', 'the media relay refused the answer');
    }
    if (this.current === 'ended') throw new ProtocolError('call-state', `the call has ended (${this.endCause ?? 'ended'})`);
    const response = this.respond(200, { body: sdp, contentType: 'application/sdp', headers: [['Contact', this.contactFor()]] });
    if (response === undefined) throw new ProtocolError('call-state', 'the caller gave up');
    this.leg.dialog = Dialog.fromUas(this.incoming!.request, response);
    this.startUpdates({ local: sdp, remote: this.incoming!.request.bodyText });
    this.stopRinging();
    this.moveTo('active');
    const at = this.ctx.clock.now();
    this.answeredAt = at;
    this.features = sipCallFeatures(this.dtmfMode, browserSdp);
    deliver(session, { type: 'call.answered', callId: this.id, answeredAt: at, features: this.features });
    for (const tab of this.rung) if (tab !== session) deliver(tab, endedEvent(this.id, 'answered-elsewhere', 'answered in another session', at));
    this.rung.clear();
    this.persist(() => this.ctx.calls.setState(this.id, 'active', at));
    this.log.info({ sessionId: session.id }, 'SIP call answered in the browser');
  }

  reject(reason: 'decline' | 'busy', deliver: Deliver): void {
    if (this.direction !== 'inbound') throw new ProtocolError('call-state', 'this operator placed the call; use call.cancel');
    if (this.current === 'active') throw new ProtocolError('call-state', 'the call is answered; use call.hangup');
    this.requireLive();
    this.end(reason === 'busy' ? 'busy' : 'declined', deliver, reason === 'busy' ? REASON_PHRASES.busy : REASON_PHRASES.declined);
  }

  /** The caller gave up (CANCEL): the user agent has answered 487 already. */
  cancelledBySip(): void {
    this.end('cancelled', send, 'the caller hung up');
  }

  // Either direction ----------------------------------------------------------------------------------------

  cancel(session: SessionHandle, deliver: Deliver): void {
    if (this.direction !== 'outbound' || session !== this.carrier) throw new ProtocolError('call-state', 'only the session that placed the call cancels it');
    if (this.current === 'active') throw new ProtocolError('call-state', 'the call is answered; use call.hangup');
    this.requireLive();
    this.cancelRequested = true;
    if (this.transaction !== undefined) void this.ctx.ua.transactions.cancel(this.transaction).catch(() => undefined);
    // The browser is told at once; the 487 that follows changes nothing for it.
    this.end('cancelled', deliver, 'cancelled by the caller');
  }

  hangup(session: SessionHandle, deliver: Deliver): void {
    this.requireLive();
    if (this.current !== 'active') throw new ProtocolError('call-state', this.direction === 'outbound' ? 'the call is not answered; use call.cancel' : 'the call is not answered; use call.reject');
    if (session !== this.carrier) throw new ProtocolError('call-state', 'the call is carried by another session of this operator');
    this.leg.bye();
    this.end('normal', deliver, 'hung up in the browser');
  }

  /** DTMF from the operator, to the SIP side of an answered call. */
  sendDtmf(digits: string, durationMs: number): Promise<void> {
    this.requireLive();
    if (this.current !== 'active' || this.leg.dialog === undefined || this.features === undefined) throw new ProtocolError('call-state', 'DTMF needs an answered call');
    if (this.features.dtmf !== 'gateway') throw dtmfRefusal(this.features);
    const sent = this.dtmfQueue.then(() => sendDtmfByInfo(this.dialogRequests(), digits, durationMs));
    this.dtmfQueue = sent.catch(() => undefined);
    return sent;
  }

  /**
   * Blind transfer to `target` (see `BlindTransfer`): resolves once the far end has taken the REFER, and the call
   * then ends for the browser as `transferred`. A refusal rejects and leaves the call as it was.
   */
  async transfer(session: SessionHandle, target: string, deliver: Deliver): Promise<void> {
    const dialog = this.requireTransferable(session);
    const transfer = new BlindTransfer(this.ctx.clock, this.log, () => this.released());
    this.transferring = transfer;
    const referredBy = `<${formatUri(dialog.localUri)}>`;
    try {
      await transfer.refer(this.dialogRequests(), `<${formatUri(this.referTarget(target))}>`, referredBy);
    } catch (error) {
      this.transferring = undefined;
      if (error instanceof ProtocolError && error.code === 'call-state' && !this.hasEnded()) {
        // 481, 408 or no answer: the far end has no such call any more.
        this.leg.bye();
        this.end('failed', send, 'the SIP side no longer has this call', (error.details as { sipStatus?: number } | undefined)?.sipStatus);
      }
      throw error;
    }
    if (this.hasEnded()) {
      // Ended while the REFER was out: the leg, if the far end took it, is not waited on.
      this.releaseTransferredLeg();
      throw new ProtocolError('call-state', `the call has ended (${this.endCause ?? 'ended'})`);
    }
    this.log.info({ target }, 'call transferred');
    this.end('transferred', deliver, `transferred to ${target}`);
    transfer.linger();
  }

  /** Throws unless `session` may transfer the call now; the call's dialog. */
  requireTransferable(session: SessionHandle): Dialog {
    this.requireLive();
    const dialog = this.leg.dialog;
    if (this.current !== 'active' || dialog === undefined) throw new ProtocolError('call-state', 'transfer needs an answered call');
    if (session !== this.carrier) throw new ProtocolError('call-state', 'the call is carried by another session of this operator');
    if (this.transferring !== undefined) throw new ProtocolError('call-state', 'a transfer of this call is under way');
    return dialog;
  }

  /** A NOTIFY in this call's dialog: how the far end's call to a transfer target goes. */
  notifyFromSip(incoming: IncomingRequest): void {
    const dialog = this.leg.dialog;
    if (dialog === undefined || this.transferring === undefined) {
      incoming.respond(481, { reason: 'Subscription Does Not Exist' });
      return;
    }
    if (!admitToDialog(dialog, incoming)) return;
    this.transferring.notify(incoming);
  }

  /** Where the far end is to call: the target at the PBX, or at this gateway for a phone registered here. */
  private referTarget(target: string): Uri {
    const pbx = this.pbxRoute?.pbx;
    if (pbx !== undefined) return atPbx(target, pbx);
    return this.ctx.ua.contact(escapeUser(target), this.leg.protocol).uri;
  }

  /**
   * The operator holds or resumes the call: a re-INVITE that changes the direction of the SIP leg's media. Resolves
   * once the far end agreed; the carrying session is then told the new hold state (through `deliver`).
   */
  async setHold(session: SessionHandle, held: boolean, deliver: Deliver): Promise<void> {
    this.requireLive();
    const updates = this.updates;
    if (this.current !== 'active' || updates === undefined) throw new ProtocolError('call-state', `${held ? 'hold' : 'resume'} needs an answered call`);
    if (session !== this.carrier) throw new ProtocolError('call-state', 'the call is carried by another session of this operator');
    if (!(await updates.setLocalHold(held))) return;
    // Not awaited: the operator's hold holds with or without music, and the media session keeps the order.
    this.media.setHoldMusic(updates.hold.local).catch((error: unknown) => this.log.warn({ err: error }, 'the hold music failed'));
    deliver(session, { type: 'call.hold-state', callId: this.id, ...updates.hold });
  }

  /** A BYE from the SIP side for this call's dialog. */
  byeFromSip(incoming: IncomingRequest): void {
    incoming.respond(200);
    this.leg.dialog?.terminate();
    this.leg.dialog = undefined;
    this.end('normal', send, 'the far end hung up');
    this.releaseTransferredLeg();
  }

  /**
   * A re-INVITE in this call's dialog: a session refresh (RFC 4028: PBXs send one every few minutes when session
   * timers are on, and end the call when it fails), the far end holding or resuming the call, or moving its media
   * (a PBX taking itself out of the media path, a transfer at the PBX). See
   * `SipSessionUpdates` for what is taken and what gets 488.
   */
  reinvite(incoming: IncomingRequest): void {
    const dialog = this.leg.dialog;
    if (dialog === undefined || this.current !== 'active' || this.updates === undefined) {
      incoming.respond(488, { reason: 'Not Acceptable Before The Call Is Answered' });
      return;
    }
    if (!admitToDialog(dialog, incoming)) return;
    this.updates.receive(incoming);
  }

  matchesDialog(request: SipRequest): boolean {
    return this.leg.dialog?.matchesRequest(request) ?? false;
  }

  /** Whether a CANCEL's INVITE is this call's. */
  isInvite(request: SipRequest): boolean {
    const own = this.incoming?.request;
    return own !== undefined && (own === request || (own.callId === request.callId && own.cseq?.seq === request.cseq?.seq));
  }

  /** The session is gone: what it carried ends; a ringing call goes on ringing in the other tabs. */
  sessionClosed(session: SessionHandle): void {
    if (this.current === 'ended') return;
    if (session === this.carrier) {
      if (this.current === 'active') {
        this.leg.bye();
        this.end('normal', send, 'the browser disconnected');
      } else {
        this.cancelRequested = true;
        if (this.transaction !== undefined) void this.ctx.ua.transactions.cancel(this.transaction).catch(() => undefined);
        this.end('cancelled', send, 'the browser disconnected');
      }
      return;
    }
    if (this.rung.delete(session) && [...this.rung].every((tab) => !tab.open) && this.current === 'ringing') {
      this.end('unavailable', send, 'no session of the operator is left');
    }
  }

  /** Ends the call for the browser side and releases media; the SIP side is answered or told by the caller. */
  end(cause: CallEndCause, deliver: Deliver, reason: string | undefined, sipStatus?: number): void {
    if (this.current === 'ended') return;
    if (this.direction === 'inbound' && this.leg.dialog === undefined) {
      // Still a pending INVITE: the browser's refusal becomes the final response.
      this.respond(sipStatusFor(cause) ?? 500);
    }
    this.current = 'ended';
    this.endCause = cause;
    this.stopRinging();
    this.updates?.close();
    const at = this.ctx.clock.now();
    const status = sipStatus ?? sipStatusFor(cause);
    const event = endedEvent(this.id, cause, reason, at, status);
    const told = new Set<SessionHandle>([...(this.carrier ? [this.carrier] : []), ...this.rung]);
    for (const tab of told) deliver(tab, event);
    this.rung.clear();
    this.persist(() => this.ctx.calls.end(this.id, { cause, sipStatus: status ?? null, endedAt: at }));
    void this.media.close().catch((error: unknown) => this.log.warn({ err: error }, 'media release failed'));
    this.log.info({ cause, sipStatus: status, reason }, 'SIP call ended');
    if (this.transferring?.state === 'referring') this.transferring.settle();
    // A transferred call's SIP leg stays until the transfer is over; the layer forgets the call then.
    if (!this.transferring?.holdsLeg) this.ctx.ended(this);
  }

  /** Ends the call with a BYE to the far end, also when a transfer still holds the SIP leg. */
  shutDown(reason: string): void {
    if (this.current !== 'ended') this.leg.bye();
    this.end('failed', send, reason);
    this.releaseTransferredLeg();
  }

  /** Resolves once the call log has every write for this call. */
  whenPersisted(): Promise<void> {
    return this.persisted;
  }

  // Plumbing ------------------------------------------------------------------------------------------------

  /** A transfer is over: the SIP leg goes (unless the far end ended it) and the layer forgets the call. */
  private released(): void {
    this.leg.bye();
    this.ctx.ended(this);
  }

  /** The call ended some other way while a transfer still held its SIP leg: the leg is not waited on. */
  private releaseTransferredLeg(): void {
    if (!this.transferring?.holdsLeg) return;
    this.transferring.settle();
    this.released();
  }

  /** Requests in the call's dialog; one that comes due after the call ended (queued digits) says how it ended. */
  private dialogRequests() {
    return this.leg.requests(() => (this.hasEnded() ? (this.endCause ?? 'ended') : undefined));
  }

  private startUpdates(agreed: { local: string; remote: string }): void {
    this.updates = new SipSessionUpdates({ ua: this.ctx.ua, clock: this.ctx.clock, random: this.ctx.random, logger: this.log }, {
      dialog: () => this.leg.dialog,
      flowFor: (request) => this.leg.flowFor(request),
      digest: this.leg.digest(),
      ownsCallId: this.direction === 'outbound',
      lost: (reason, sipStatus) => {
        this.leg.bye();
        this.end('failed', send, reason, sipStatus);
      },
      holdChanged: (hold) => this.tellCarrier({ type: 'call.hold-state', callId: this.id, ...hold }),
      updateMedia: (offer) => this.media.updateFromSip(offer),
    }, agreed);
  }

  private respond(status: number, options: RespondOptions = {}): SipResponse | undefined {
    return this.incoming === undefined ? undefined : respondWhileOpen(this.incoming, status, options, this.log, 'the INVITE');
  }

  private contactFor(): string {
    const incoming = this.incoming!;
    return formatNameAddr(this.ctx.ua.contact(userOf(incoming.request.uri), incoming.source.protocol));
  }

  private tellCarrier(event: ServerEvent): void {
    this.carrier?.send(event);
  }

  /** Re-reads the state after an await, where the compiler's narrowing from before no longer holds. */
  private hasEnded(): boolean {
    return this.current === 'ended';
  }

  private requireLive(): void {
    if (this.current === 'ended') throw new ProtocolError('call-state', `the call has ended (${this.endCause ?? 'ended'})`);
  }

  private stopRinging(): void {
    if (this.ringTimer !== undefined) this.ctx.clock.clearTimeout(this.ringTimer);
    this.ringTimer = undefined;
  }

  private mediaFailed(error: unknown): undefined {
    const message = error instanceof Error ? error.message : String(error);
    this.log.error({ err: error }, 'media bridge failed');
    if (this.current !== 'ended') {
      if (this.leg.dialog !== undefined) this.leg.bye();
      else if (this.transaction !== undefined && this.current !== 'dialing') void this.ctx.ua.transactions.cancel(this.transaction).catch(() => undefined);
      this.end('failed', send, `media: ${message.slice(0, 160)}`);
    }
    return undefined;
  }

  private persist(write: () => Promise<unknown>): void {
    this.persisted = this.persisted.then(write).then(
      () => undefined,
      (error: unknown) => this.log.error({ err: error }, 'could not update the call log'),
    );
  }
}
