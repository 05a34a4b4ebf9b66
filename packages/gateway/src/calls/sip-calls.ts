/**
 * The calls the gateway bridges between browsers and SIP: it places a browser's call on the operator's PBX line or
 * to a phone registered here, takes INVITEs from the PBX (for a line's user) and from registered phones (for an
 * operator's extension) and rings the operator's tabs, and routes each browser request and each in-dialog SIP
 * request to its `SipCall`.
 *
 * An INVITE is accepted only from where the gateway expects calls: a PBX that a line is registered with (the
 * Request-URI user is a line's user) or a phone registered here. A user nobody has gets 404; an operator's extension
 * called from anywhere else gets 403, so that the gateway is not a way for strangers to ring operators.
 */
import { randomUUID } from 'node:crypto';
import { DigestClient, cryptoRandom, unbracketed, type IncomingRequest, type Random, type SipRequest, type UserAgent } from '@switchboard/sip';
import { nodeDigestHasher } from '@switchboard/sip/node';
import { DTMF_DURATION_MS, type CallSummary, type ServerEvent } from '@switchboard/protocol';
import type { Clock } from '@switchboard/sip';
import type { Logger } from 'pino';
import type { CallRepository } from '../store/calls.js';
import { hostOf } from '../config/resolve-sip.js';
import type { PbxConfig } from '../config/types.js';
import { isExtension } from '../store/validation.js';
import { ProtocolError } from '../ws/errors.js';
import type { CallRequest, SessionHandle, SessionOperator, SessionRegistry } from '../ws/index.js';
import { EndedCalls } from './ended-calls.js';
import { SipBridge } from './sip-bridge.js';
import { SipCall, userOf, type CallMedia, type SipCallContext } from './sip-call.js';
import { respondWhileOpen } from '../sip/respond-while-open.js';
import { routeFor, type LineDirectory, type PhoneDirectory, type SipRoute } from './sip-routes.js';
import type { ContactLookup } from '../lookup/contact-lookup.js';

/** Codecs offered to phones registered here; a PBX's come from its config. */
export const PHONE_CODECS = ['opus', 'G722', 'PCMU', 'PCMA', 'telephone-event'] as const;

export interface SipCallLayerOptions {
  ua: UserAgent;
  registry: SessionRegistry;
  directory: { getByExtension(extension: string): Promise<SessionOperator | undefined> };
  lines: LineDirectory | undefined;
  phones: PhoneDirectory | undefined;
  /** The media bridge for a call, or undefined when the mode needs rtpengine and none is configured. */
  mediaFor(mode: 'rtpengine' | 'passthrough', callId: string, codecs: readonly string[]): CallMedia | undefined;
  calls: Pick<CallRepository, 'start' | 'setState' | 'end'>;
  clock: Clock;
  /** For the wait after a re-INVITE collision; crypto by default. */
  random?: Random;
  logger: Logger;
  ringTimeoutSeconds: number;
  /** Whether ringing this operator now would be a second call while call waiting is off. */
  busy(operatorId: string): boolean;
  /** The CRM's screen pop for incoming calls; without it tabs ring with the number alone. */
  lookup?: ContactLookup | undefined;
  newCallId?: () => string;
}

type Deliver = (session: SessionHandle, event: ServerEvent) => void;

export class SipCallLayer {
  private readonly calls = new Map<string, SipCall>();
  /** Phone-to-phone calls in progress. */
  private readonly bridges = new Set<SipBridge>();
  private readonly ended: EndedCalls;
  /** Ended calls whose call log writes are not done yet, so that closing waits for them. */
  private readonly finishing = new Set<SipCall>();
  private readonly digests = new Map<string, DigestClient>();
  private readonly log: Logger;
  private readonly context: SipCallContext;
  private readonly newCallId: () => string;
  private closed = false;

  constructor(private readonly options: SipCallLayerOptions) {
    this.log = options.logger.child({ component: 'sip-calls' });
    this.newCallId = options.newCallId ?? (() => `c-${randomUUID()}`);
    this.context = {
      ua: options.ua,
      clock: options.clock,
      random: options.random ?? cryptoRandom,
      logger: this.log,
      calls: options.calls,
      ringTimeoutMs: options.ringTimeoutSeconds * 1000,
      lookup: options.lookup,
      digestFor: (route) => this.digestFor(route),
      ended: (call) => this.forget(call),
    };
    this.ended = new EndedCalls(options.clock);
  }

  /** Whether the call is one of this layer's, live or ended a moment ago. */
  owns(callId: string, operatorId: string): boolean {
    return this.calls.has(callId) || this.ended.causeFor(callId, operatorId) !== undefined;
  }

  /** Whether the call is one of this layer's and still going. */
  isLive(callId: string): boolean {
    const call = this.calls.get(callId);
    return call !== undefined && call.state !== 'ended';
  }

  /** Live calls of the operator, either direction. */
  liveFor(operatorId: string): number {
    let count = 0;
    for (const call of this.calls.values()) if (call.operator.id === operatorId && call.state !== 'ended') count++;
    return count;
  }

  /** Live calls the operator placed. */
  outgoingFor(operatorId: string): number {
    let count = 0;
    for (const call of this.calls.values()) if (call.operator.id === operatorId && call.direction === 'outbound' && call.state !== 'ended') count++;
    return count;
  }

  callsOf(operator: SessionOperator, sessionId: string): CallSummary[] {
    return [...this.calls.values()].filter((call) => call.operator.id === operator.id && call.state !== 'ended').map((call) => call.summaryFor(sessionId));
  }

  // Browser → SIP ------------------------------------------------------------------------------------------

  /** Places the call when there is a SIP route for it; undefined when there is none. */
  async place(session: SessionHandle, target: string, sdp: string, context: string | undefined, afterReply: (send: () => void) => void): Promise<{ callId: string } | undefined> {
    if (this.closed) return undefined;
    const route = routeFor(session.operator.id, target, this.options.lines, this.options.phones);
    if (route === undefined) return undefined;
    const id = this.newCallId();
    const media = this.mediaFor(route, id);
    if (media === undefined) throw new ProtocolError('not-supported', 'this call needs a media relay (rtpengine) and none is configured');
    await this.options.calls.start({ id, direction: 'outbound', fromOperator: session.operator.id, externalNumber: target, context: context ?? null, startedAt: this.options.clock.now() });
    const call = SipCall.outbound(this.context, id, session, target, media);
    this.calls.set(id, call);
    const line = route.kind === 'pbx' ? this.options.lines?.stateOf(session.operator.id) : undefined;
    if (line !== undefined && line.state !== 'registered') {
      // Dialling through a PBX that does not have the line would only time out: say why at once.
      const why = `the line is not registered${line.reason ? ` (${line.reason})` : ''}`;
      afterReply(() => call.end('unavailable', (s, e) => void s.send(e), why.slice(0, 200), line.sipStatus ?? 503));
      return { callId: id };
    }
    this.log.info({ callId: id, operatorId: session.operator.id, route: route.kind, target }, 'placing a SIP call');
    // Dialled once the reply is out: events about the call must not overtake the call's id.
    afterReply(() => void call.dial(route, target, sdp));
    return { callId: id };
  }

  /** A browser request about a call this layer owns. */
  async handle(session: SessionHandle, request: Exclude<CallRequest, { type: 'call.start' }>, deliver: Deliver): Promise<Record<string, never>> {
    const call = this.calls.get(request.callId);
    if (call === undefined || call.operator.id !== session.operator.id) {
      const cause = this.ended.causeFor(request.callId, session.operator.id);
      if (cause !== undefined) throw new ProtocolError('call-state', `the call has ended (${cause})`, { cause });
      throw new ProtocolError('not-found', 'no such call for this operator', { callId: request.callId });
    }
    switch (request.type) {
      case 'call.answer':
        await call.answer(session, request.sdp, deliver);
        return {};
      case 'call.reject':
        call.reject(request.reason, deliver);
        return {};
      case 'call.cancel':
        call.cancel(session, deliver);
        return {};
      case 'call.hangup':
        call.hangup(session, deliver);
        return {};
      case 'call.dtmf':
        await call.sendDtmf(request.digits, request.durationMs ?? DTMF_DURATION_MS.default);
        return {};
      case 'call.hold':
      case 'call.resume':
        await call.setHold(session, request.type === 'call.hold', deliver);
        return {};
      case 'call.transfer':
        call.requireTransferable(session);
        if (!call.throughPbx) await this.requireLocalTarget(request.target);
        await call.transfer(session, request.target, deliver);
        return {};
      case 'call.ice':
        // rtpengine and WebRTC-capable PBXs take the candidates in the SDP, which the SDK waits for; late ones
        // cannot be passed on in SIP without re-INVITEs, and are not needed on the networks this serves.
        return {};
    }
  }

  /** Without a PBX the far end calls the target here: it must be an operator's extension or a phone registered here. */
  private async requireLocalTarget(target: string): Promise<void> {
    if ((this.options.phones?.lookup(target).length ?? 0) > 0) return;
    const operator = isExtension(target) ? await this.options.directory.getByExtension(target) : undefined;
    if (operator === undefined || !operator.enabled) throw new ProtocolError('not-found', `no operator or phone here has extension ${target}`, { target });
  }

  sessionClosed(session: SessionHandle): void {
    for (const call of [...this.calls.values()]) if (call.operator.id === session.operator.id) call.sessionClosed(session);
  }

  // SIP → browser ------------------------------------------------------------------------------------------

  readonly onInvite = (incoming: IncomingRequest): void => {
    void this.acceptInvite(incoming).catch((error: unknown) => {
      this.log.error({ err: error }, 'incoming INVITE failed');
      respondWhileOpen(incoming, 500, {}, this.log, 'the INVITE');
    });
  };

  private async acceptInvite(incoming: IncomingRequest): Promise<void> {
    const request = incoming.request;
    // A re-INVITE: a call with a browser answers a session refresh itself and refuses media changes without ending
    // the call; between two phones it is relayed to the other.
    if (request.toTag !== undefined) {
      const call = this.callInDialog(request);
      if (call !== undefined) return call.reinvite(incoming);
      for (const bridge of this.bridges) {
        const side = bridge.matches(request);
        if (side !== undefined) return bridge.reinviteFrom(side, incoming);
      }
      incoming.respond(481);
      return;
    }
    if (this.closed) {
      incoming.respond(503);
      return;
    }
    const user = request.uri.type === 'sip' ? (request.uri.user ?? '') : '';
    if (this.bridgeToPhone(user, incoming)) return;
    const target = await this.targetOf(user, incoming);
    if (target === undefined) return;
    if (request.bodyLength === 0 || request.contentType?.mediaType !== 'application/sdp') {
      incoming.respond(488, { reason: 'An SDP Offer Is Required' });
      return;
    }
    const { operator, mode, codecs, line } = target;
    if (this.options.busy(operator.id)) {
      incoming.respond(486);
      return;
    }
    const tabs = this.options.registry.sessionsOf(operator.id);
    if (tabs.length === 0) {
      incoming.respond(480, { reason: 'Operator Not Signed In' });
      return;
    }
    const id = this.newCallId();
    const media = this.options.mediaFor(mode, id, codecs);
    if (media === undefined) {
      this.log.error({ operatorId: operator.id }, 'an incoming call needs rtpengine and none is configured');
      incoming.respond(488, { reason: 'No Media Relay' });
      return;
    }
    const external = userOf(request.from?.uri);
    await this.options.calls.start({ id, direction: 'inbound', toOperator: operator.id, externalNumber: external, startedAt: this.options.clock.now() });
    const call = SipCall.inbound(this.context, id, operator, incoming, media, line);
    this.calls.set(id, call);
    this.log.info({ callId: id, operatorId: operator.id, from: external }, 'incoming SIP call');
    await call.ring(tabs, (sessions, event) => sessions.filter((tab) => tab.send(event)));
  }

  /** Who an INVITE is for, if it comes from somewhere calls are taken from; answers the INVITE otherwise. */
  private async targetOf(user: string, incoming: IncomingRequest): Promise<{ operator: SessionOperator; mode: 'rtpengine' | 'passthrough'; codecs: readonly string[]; line: Extract<SipRoute, { kind: 'pbx' }> | undefined } | undefined> {
    const lines = this.options.lines?.linesForUser(user) ?? [];
    if (lines.length > 0) {
      // One user may be an account at several PBXs, each an operator's line: the PBX the INVITE comes from decides.
      const directory = this.options.lines!;
      const line = lines.find((candidate) => comesFromPbx(candidate.pbx, incoming.source.host, (host) => directory.isPbxServer(candidate.pbx.name, host)));
      if (line === undefined) {
        this.log.warn({ source: incoming.source, pbx: lines.map((candidate) => candidate.pbx.name) }, 'INVITE for a line from somewhere other than its PBX refused');
        incoming.respond(403, { reason: 'Not From The PBX' });
        return undefined;
      }
      const operator = this.options.registry.sessionsOf(line.operatorId)[0]?.operator;
      if (operator === undefined) {
        incoming.respond(480, { reason: 'Operator Not Available' });
        return undefined;
      }
      return { operator, mode: line.pbx.media, codecs: line.pbx.codecs, line: { kind: 'pbx', line, pbx: line.pbx, server: undefined } };
    }
    const operator = isExtension(user) ? await this.options.directory.getByExtension(user) : undefined;
    if (operator === undefined || !operator.enabled) {
      incoming.respond(404);
      return undefined;
    }
    if (!(this.options.phones?.isRegisteredSource(incoming.source) ?? false)) {
      incoming.respond(403, { reason: 'Not Registered Here' });
      return undefined;
    }
    return { operator, mode: 'rtpengine', codecs: PHONE_CODECS, line: undefined };
  }

  /**
   * A registered phone calling another registered phone: bridged SIP to SIP. The caller must be registered here
   * itself; the callee's extension must have a live binding. Checked before operators' extensions, so a phone account
   * and an operator should not share a number.
   */
  private bridgeToPhone(user: string, incoming: IncomingRequest): boolean {
    const phones = this.options.phones;
    const binding = phones?.lookup(user)[0];
    if (binding === undefined || !phones!.isRegisteredSource(incoming.source)) return false;
    // A line's user belongs to the PBX side even if a phone account has the same name.
    if ((this.options.lines?.linesForUser(user).length ?? 0) > 0) return false;
    if (this.closed) {
      incoming.respond(503);
      return true;
    }
    const bridge = new SipBridge(this.options.ua, incoming, binding, this.log.child({ sipCallId: incoming.request.callId }), (done) => this.bridges.delete(done));
    this.bridges.add(bridge);
    bridge.start();
    return true;
  }

  readonly onBye = (incoming: IncomingRequest): void => {
    for (const bridge of this.bridges) {
      const side = bridge.matches(incoming.request);
      if (side !== undefined) {
        bridge.byeFrom(side, incoming);
        return;
      }
    }
    const call = this.callInDialog(incoming.request);
    if (call === undefined) {
      incoming.respond(481);
      return;
    }
    call.byeFromSip(incoming);
  };

  /** NOTIFYs come only for a transfer's REFER; anything else is for no subscription of ours. */
  readonly onNotify = (incoming: IncomingRequest): void => {
    const call = this.callInDialog(incoming.request);
    if (call === undefined) {
      incoming.respond(481, { reason: 'Subscription Does Not Exist' });
      return;
    }
    call.notifyFromSip(incoming);
  };

  /** The user agent answered a CANCEL (and the INVITE with 487); the browser side is told here. */
  readonly onCancelled = (request: SipRequest): void => {
    for (const bridge of this.bridges) if (bridge.isInvite(request)) bridge.cancelledByA();
    for (const call of this.calls.values()) if (call.direction === 'inbound' && call.isInvite(request)) call.cancelledBySip();
  };

  /** Ends every call (`failed`) and waits until the call log has them. */
  async close(): Promise<void> {
    this.closed = true;
    for (const bridge of [...this.bridges]) bridge.hangupBoth();
    for (const call of [...this.calls.values()]) call.shutDown('the gateway is shutting down');
    await Promise.all([...this.finishing].map((call) => call.whenPersisted()));
  }

  // Helpers ------------------------------------------------------------------------------------------------

  /** The call whose SIP dialog an in-dialog request belongs to (a transferred call's too, while its leg lingers). */
  private callInDialog(request: SipRequest): SipCall | undefined {
    for (const call of this.calls.values()) if (call.matchesDialog(request)) return call;
    return undefined;
  }

  private mediaFor(route: SipRoute, callId: string): CallMedia | undefined {
    return route.kind === 'pbx' ? this.options.mediaFor(route.pbx.media, callId, route.pbx.codecs) : this.options.mediaFor('rtpengine', callId, PHONE_CODECS);
  }

  private digestFor(route: Extract<SipRoute, { kind: 'pbx' }>): DigestClient {
    const line = route.line;
    let client = this.digests.get(line.operatorId);
    if (client === undefined) {
      client = new DigestClient({
        credentials: (realm) =>
          line.pbx.realm !== undefined && realm !== line.pbx.realm ? undefined : { username: line.authUser, password: line.password.reveal() },
        hasher: nodeDigestHasher,
        random: cryptoRandom,
      });
      this.digests.set(line.operatorId, client);
    }
    return client;
  }

  /** An ended call is dropped at once; its id and cause stay in `ended`, its pending log writes in `finishing`. */
  private forget(call: SipCall): void {
    this.calls.delete(call.id);
    this.ended.add(call.id, call.endCause ?? 'failed', [call.operator.id]);
    this.finishing.add(call);
    void call.whenPersisted().then(() => this.finishing.delete(call));
  }
}

const IP_LITERAL = /^(\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$/;

/**
 * Whether a request from `host` can come from the PBX: its registrar's or outbound proxy's address, or an address DNS
 * gave for the servers the lines register with (`isLocated`). A registrar known by name behind an outbound proxy is
 * never looked up (REGISTERs go to the proxy), so it cannot be checked, and is trusted as configured.
 */
export function comesFromPbx(pbx: PbxConfig, host: string, isLocated: (host: string) => boolean): boolean {
  const hostOfUri = (uri: string | undefined) => {
    const h = uri === undefined ? undefined : hostOf(uri);
    return h === undefined ? undefined : unbracketed(h).toLowerCase();
  };
  const registrar = hostOfUri(pbx.registrar);
  const proxy = hostOfUri(pbx.outboundProxy);
  // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d; DNS and the config name it a.b.c.d.
  const wanted = host.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  if (wanted === registrar || wanted === proxy || isLocated(wanted)) return true;
  return proxy !== undefined && registrar !== undefined && !IP_LITERAL.test(registrar);
}
