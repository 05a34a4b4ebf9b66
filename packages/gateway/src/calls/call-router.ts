/**
 * Local routing: the gateway as the call server for its own operators. A call to an extension rings every session
 * of that operator; the first to answer gets the call and the others are told it was answered elsewhere. Offers,
 * answers and ICE candidates are relayed between the two browsers; nothing about media passes through here.
 *
 * Each request is checked against who is asking: a session can only touch calls of its own operator, and only in
 * the role it has in that call (the caller's tab cancels, the callee's tabs answer or reject, the two carrying
 * sessions hang up). In-memory state moves synchronously; the call log is written behind it, one write after the
 * other per call, so a slow disk never holds up ringing.
 */
import { randomUUID } from 'node:crypto';
import { CALL_END_CAUSES, type CallEndCause, type CallSummary, type ServerEvent } from '@switchboard/protocol';
import type { Clock } from '@switchboard/sip';
import type { Logger } from 'pino';
import type { CallRepository } from '../store/calls.js';
import { isExtension } from '../store/validation.js';
import { ProtocolError } from '../ws/errors.js';
import type { AfterReply, CallRequest, CallResult, SessionHandle, SessionOperator, SessionRegistry } from '../ws/index.js';
import { EndedCalls } from './ended-calls.js';
import { FAILURE_CAUSES, REASON_PHRASES, endedEvent } from './events.js';
import { LOCAL_CALL_FEATURES, LocalCall, party } from './local-call.js';
import type { SipCallLayer } from './sip-calls.js';
import type { ContactLookup } from '../lookup/contact-lookup.js';

export interface ExtensionDirectory {
  getByExtension(extension: string): Promise<SessionOperator | undefined>;
}

export interface RoutingOptions {
  /** How long a call rings before it ends as `no-answer`. */
  ringTimeoutSeconds: number;
  /** Ring operators who are already on a call; when off they are `busy`. */
  callWaiting: boolean;
}

export interface CallRouterOptions {
  registry: SessionRegistry;
  directory: ExtensionDirectory;
  calls: Pick<CallRepository, 'start' | 'setState' | 'end'>;
  routing: RoutingOptions;
  clock: Clock;
  logger: Logger;
  newCallId?: () => string;
  /** Calls one operator may have placed and not yet finished. */
  maxOutgoingPerOperator?: number;
  /** Calls to and from SIP (PBX lines, phones registered here); without it only operators reach each other. */
  sip?: SipCallLayer;
  /** The CRM's screen pop: who the calling operator is in the CRM. */
  lookup?: ContactLookup | undefined;
}

export const DEFAULT_MAX_OUTGOING_PER_OPERATOR = 4;
/** ICE candidates relayed per direction of a call: a browser gathers a handful, never hundreds. */
export const MAX_CANDIDATES_PER_LEG = 64;

/** Delivers events, holding back those for the requesting session until its reply is out. */
type Deliver = (session: SessionHandle, event: ServerEvent) => void;

export class CallRouter {
  private readonly calls = new Map<string, LocalCall>();
  private readonly byOperator = new Map<string, Set<LocalCall>>();
  private readonly ended: EndedCalls;
  /** Call log writes not yet done, so that closing waits for them whatever became of their calls. */
  private readonly writes = new Set<Promise<void>>();
  private readonly log: Logger;
  private readonly newCallId: () => string;
  private readonly maxOutgoing: number;
  private closed = false;

  constructor(private readonly options: CallRouterOptions) {
    this.log = options.logger.child({ component: 'calls' });
    this.newCallId = options.newCallId ?? (() => `c-${randomUUID()}`);
    this.maxOutgoing = options.maxOutgoingPerOperator ?? DEFAULT_MAX_OUTGOING_PER_OPERATOR;
    this.ended = new EndedCalls(options.clock);
  }

  /** The WebSocket layer's `onRequest` hook. */
  readonly handle = async (session: SessionHandle, request: CallRequest, afterReply: AfterReply): Promise<CallResult> => {
    const deliver: Deliver = (target, event) => {
      if (target === session) afterReply(() => target.send(event));
      else target.send(event);
    };
    if (request.type !== 'call.start' && !this.calls.has(request.callId) && this.options.sip?.owns(request.callId, session.operator.id)) {
      return this.options.sip.handle(session, request, deliver);
    }
    switch (request.type) {
      case 'call.start':
        return this.start(session, request.target, request.sdp, request.context, deliver, afterReply);
      case 'call.answer':
        this.answer(session, request.callId, request.sdp, deliver);
        return {};
      case 'call.reject':
        this.reject(session, request.callId, request.reason, deliver);
        return {};
      case 'call.cancel':
        this.cancel(session, request.callId, deliver);
        return {};
      case 'call.hangup':
        this.hangup(session, request.callId, deliver);
        return {};
      case 'call.ice':
        this.relayCandidate(session, request.callId, request.candidate);
        return {};
      case 'call.hold':
      case 'call.resume':
        this.setHold(session, request.callId, request.type === 'call.hold', deliver);
        return {};
      case 'call.dtmf':
      case 'call.transfer':
        this.callFor(session, request.callId);
        throw new ProtocolError('not-supported', `${request.type} is not available on calls between operators`);
    }
  };

  /** The WebSocket layer's `onSessionOpened` hook: a tab opened while a call rings its operator rings too. */
  readonly sessionOpened = (session: SessionHandle): void => {
    for (const call of this.byOperator.get(session.operator.id) ?? []) {
      if (call.state !== 'ringing' || call.callee.id !== session.operator.id || call.rung.has(session)) continue;
      if (session.send(incomingEvent(call))) call.rung.add(session);
    }
  };

  /** The WebSocket layer's `onSessionClosed` hook: what a session carried ends, what it was ringing for goes on. */
  readonly sessionClosed = (session: SessionHandle): void => {
    this.options.sip?.sessionClosed(session);
    const deliver: Deliver = (target, event) => target.send(event);
    for (const call of [...(this.byOperator.get(session.operator.id) ?? [])]) {
      if (call.state === 'ended') continue;
      if (session === call.caller.session) {
        if (call.state === 'ringing') this.end(call, 'cancelled', deliver, 'the caller disconnected');
        else this.end(call, 'normal', deliver, 'the caller disconnected');
      } else if (session === call.answeredBy) {
        this.end(call, 'normal', deliver, 'the callee disconnected');
      } else if (call.state === 'ringing' && call.rung.delete(session) && this.ringingSessions(call).length === 0) {
        this.end(call, 'unavailable', deliver, 'no session of the callee is left');
      }
    }
  };

  /** Calls in progress for an operator, as `welcome.calls` reports them to one of its sessions. */
  callsOf(operator: SessionOperator, sessionId: string): CallSummary[] {
    const local = [...(this.byOperator.get(operator.id) ?? [])].filter((call) => call.state !== 'ended').map((call) => call.summaryFor(operator.id, sessionId));
    return [...local, ...(this.options.sip?.callsOf(operator, sessionId) ?? [])];
  }

  /** Whether a new call for this operator would be refused as busy (call waiting off and a call in progress). */
  isBusy(operatorId: string): boolean {
    if (this.options.routing.callWaiting) return false;
    const local = [...(this.byOperator.get(operatorId) ?? [])].some((call) => call.state !== 'ended');
    return local || (this.options.sip?.liveFor(operatorId) ?? 0) > 0;
  }

  /** Live calls; ended ones still remembered are not counted. */
  get size(): number {
    let live = 0;
    for (const call of this.calls.values()) if (call.state !== 'ended') live++;
    return live;
  }

  /** Ends every call (`failed`, the gateway is stopping) and waits until the call log has them. */
  async close(): Promise<void> {
    this.closed = true;
    const deliver: Deliver = (target, event) => target.send(event);
    const all = [...this.calls.values()];
    for (const call of all) if (call.state !== 'ended') this.end(call, 'failed', deliver, 'the gateway is shutting down');
    await Promise.all([...this.writes, this.options.sip?.close()]);
  }

  // Requests --------------------------------------------------------------------------------------------

  private async start(
    session: SessionHandle,
    target: string,
    sdp: string,
    context: string | undefined,
    deliver: Deliver,
    afterReply: AfterReply,
  ): Promise<{ callId: string }> {
    if (this.closed) throw new ProtocolError('not-supported', 'the gateway is shutting down');
    const caller = session.operator;
    if (target === caller.extension) throw new ProtocolError('forbidden', 'an operator cannot call their own extension');
    // Calls to other operators and calls out through SIP count alike: the cap is on what one operator has placed.
    const placed = [...(this.byOperator.get(caller.id) ?? [])].filter((call) => call.state !== 'ended' && call.caller.operator.id === caller.id).length
      + (this.options.sip?.outgoingFor(caller.id) ?? 0);
    if (placed >= this.maxOutgoing) {
      throw new ProtocolError('forbidden', `at most ${this.maxOutgoing} outgoing calls at a time`, { limit: this.maxOutgoing });
    }

    const callee = isExtension(target) ? await this.options.directory.getByExtension(target) : undefined;
    if (callee === undefined || !callee.enabled) {
      const placed = await this.options.sip?.place(session, target, sdp, context, afterReply);
      if (placed !== undefined) {
        this.lookUpDialled(session, placed.callId, target, afterReply);
        return placed;
      }
    }
    const id = this.newCallId();
    const now = this.options.clock.now();
    if (callee === undefined || !callee.enabled) {
      // No PBX behind this gateway yet: a number that is not one of our extensions does not exist.
      await this.options.calls.start({ id, direction: 'outbound', fromOperator: caller.id, externalNumber: target, context: context ?? null, startedAt: now });
      this.log.info({ callId: id, from: caller.id, target }, 'call to an unknown extension');
      const cause: CallEndCause = 'not-found';
      const at = this.options.clock.now();
      deliver(session, endedEvent(id, cause, REASON_PHRASES[cause], at));
      await this.persistEnd(id, cause, at);
      return { callId: id };
    }

    await this.options.calls.start({ id, direction: 'internal', fromOperator: caller.id, toOperator: callee.id, context: context ?? null, startedAt: now });
    const call = new LocalCall(id, { operator: caller, session }, callee, sdp, now);
    this.track(call);
    this.log.info({ callId: id, from: caller.id, to: callee.id }, 'call placed');
    this.lookUpDialled(session, id, target, afterReply);

    const contact = await this.options.lookup?.find(caller.extension);
    if (contact !== undefined) call.contact = contact;
    // The caller's session may have closed, and ended the call, while the log was written or the CRM asked.
    if (call.state === 'ended') return { callId: id };
    if (!session.open) {
      this.end(call, 'cancelled', deliver, 'the caller disconnected');
      return { callId: id };
    }
    const busy =
      !this.options.routing.callWaiting &&
      ([...(this.byOperator.get(callee.id) ?? [])].some((other) => other !== call && other.state !== 'ended') || (this.options.sip?.liveFor(callee.id) ?? 0) > 0);
    if (busy) {
      this.end(call, 'busy', deliver, REASON_PHRASES.busy);
      return { callId: id };
    }
    const incoming = incomingEvent(call);
    for (const tab of this.options.registry.sessionsOf(callee.id)) {
      if (tab.send(incoming)) call.rung.add(tab);
    }
    if (call.rung.size === 0) {
      this.end(call, 'unavailable', deliver, 'the operator has no session open');
      return { callId: id };
    }
    deliver(session, { type: 'call.ringing', callId: id });
    call.ringTimer = this.options.clock.setTimeout(() => {
      call.ringTimer = undefined;
      if (call.state === 'ringing') this.end(call, 'no-answer', (s, e) => s.send(e), REASON_PHRASES['no-answer']);
    }, this.options.routing.ringTimeoutSeconds * 1000);
    return { callId: id };
  }

  /**
   * The screen pop for the caller: who the dialled number is in the CRM. Not awaited, so ringing never waits for
   * the CRM; the contact follows as its own event, never before the reply with the call's id (a cached answer can
   * be ready first). A call that has ended by then gets nothing: the tab has forgotten it.
   */
  private lookUpDialled(session: SessionHandle, callId: string, target: string, afterReply: AfterReply): void {
    const lookup = this.options.lookup;
    if (lookup === undefined) return;
    void lookup.find(target).then((contact) => {
      if (contact === undefined) return;
      afterReply(() => {
        const local = this.calls.get(callId);
        if (local !== undefined ? local.state === 'ended' : !this.options.sip?.isLive(callId)) return;
        session.send({ type: 'call.contact', callId, contact });
      });
    });
  }

  private answer(session: SessionHandle, callId: string, sdp: string, deliver: Deliver): void {
    const call = this.callFor(session, callId);
    if (call.sideOf(session.operator.id) !== 'callee') throw new ProtocolError('call-state', 'this operator placed the call; only the callee answers');
    if (call.state === 'active') throw new ProtocolError('already-answered', 'the call was answered in another session');
    this.requireLive(call);
    call.moveTo('active');
    this.stopRinging(call);
    const at = this.options.clock.now();
    call.answeredBy = session;
    call.answeredAt = at;
    deliver(call.caller.session, { type: 'call.answered', callId, sdp, answeredAt: at, features: LOCAL_CALL_FEATURES });
    deliver(session, { type: 'call.answered', callId, answeredAt: at, features: LOCAL_CALL_FEATURES });
    for (const tab of call.rung) {
      if (tab !== session) deliver(tab, endedEvent(callId, 'answered-elsewhere', 'answered in another session', at));
    }
    call.rung.clear();
    this.persist(call, () => this.options.calls.setState(callId, 'active', at));
    this.log.info({ callId, sessionId: session.id }, 'call answered');
  }

  private reject(session: SessionHandle, callId: string, reason: 'decline' | 'busy', deliver: Deliver): void {
    const call = this.callFor(session, callId);
    if (call.sideOf(session.operator.id) !== 'callee') throw new ProtocolError('call-state', 'this operator placed the call; use call.cancel');
    if (call.state === 'active') throw new ProtocolError('call-state', 'the call is answered; use call.hangup');
    this.requireLive(call);
    const cause: CallEndCause = reason === 'busy' ? 'busy' : 'declined';
    this.end(call, cause, deliver, REASON_PHRASES[cause]);
  }

  private cancel(session: SessionHandle, callId: string, deliver: Deliver): void {
    const call = this.callFor(session, callId);
    if (call.caller.session !== session) throw this.notCarrier(call, session);
    if (call.state === 'active') throw new ProtocolError('call-state', 'the call is answered; use call.hangup');
    this.requireLive(call);
    this.end(call, 'cancelled', deliver, 'cancelled by the caller');
  }

  private hangup(session: SessionHandle, callId: string, deliver: Deliver): void {
    const call = this.callFor(session, callId);
    this.requireLive(call);
    if (call.state === 'ringing') {
      throw new ProtocolError('call-state', call.caller.session === session ? 'the call is not answered; use call.cancel' : 'the call is not answered; use call.reject');
    }
    if (!call.carries(session)) throw this.notCarrier(call, session);
    this.end(call, 'normal', deliver, session === call.caller.session ? 'the caller hung up' : 'the callee hung up');
  }

  /**
   * Hold between two browsers is theirs to carry out: the holding one stops its microphone and its speaker, and
   * both are told who holds (the other side sees `remote`). Nothing is renegotiated, so resuming is instant.
   */
  private setHold(session: SessionHandle, callId: string, held: boolean, deliver: Deliver): void {
    const call = this.callFor(session, callId);
    this.requireLive(call);
    if (call.state !== 'active') throw new ProtocolError('call-state', `${held ? 'hold' : 'resume'} needs an answered call`);
    if (!call.carries(session)) throw this.notCarrier(call, session);
    const side = session === call.caller.session ? 'caller' : 'callee';
    if (call.held[side] === held) return;
    call.held[side] = held;
    const other = side === 'caller' ? 'callee' : 'caller';
    const otherSession = side === 'caller' ? call.answeredBy : call.caller.session;
    deliver(session, { type: 'call.hold-state', callId, local: call.held[side], remote: call.held[other] });
    if (otherSession !== undefined) deliver(otherSession, { type: 'call.hold-state', callId, local: call.held[other], remote: call.held[side] });
    this.log.info({ callId, by: side, held }, held ? 'call held' : 'call resumed');
  }

  private relayCandidate(session: SessionHandle, callId: string, candidate: Extract<CallRequest, { type: 'call.ice' }>['candidate']): void {
    const call = this.callFor(session, callId);
    this.requireLive(call);
    if (!call.carries(session)) throw this.notCarrier(call, session);
    const fromCaller = session === call.caller.session;
    const relayed = fromCaller ? ++call.candidatesFromCaller : ++call.candidatesFromCallee;
    if (relayed > MAX_CANDIDATES_PER_LEG) throw new ProtocolError('too-large', `at most ${MAX_CANDIDATES_PER_LEG} ICE candidates per call`);
    const event: ServerEvent = { type: 'call.ice', callId, candidate };
    // While ringing, every tab that may answer needs the caller's candidates; the client keeps them until it answers.
    const targets = fromCaller ? (call.answeredBy ? [call.answeredBy] : [...call.rung]) : [call.caller.session];
    for (const target of targets) target.send(event);
  }

  // Helpers ---------------------------------------------------------------------------------------------

  /** The call, if the session's operator is a party to it; otherwise it does not exist as far as they know. */
  private callFor(session: SessionHandle, callId: string): LocalCall {
    const call = this.calls.get(callId);
    if (call === undefined) {
      const cause = this.ended.causeFor(callId, session.operator.id);
      if (cause !== undefined) throw new ProtocolError('call-state', `the call has ended (${cause})`, { cause });
    }
    if (call === undefined || call.sideOf(session.operator.id) === undefined) {
      throw new ProtocolError('not-found', 'no such call for this operator', { callId });
    }
    return call;
  }

  private requireLive(call: LocalCall): void {
    if (call.state === 'ended') {
      throw new ProtocolError('call-state', `the call has ended (${call.ended?.cause ?? 'ended'})`, { cause: call.ended?.cause ?? null });
    }
  }

  private notCarrier(call: LocalCall, session: SessionHandle): ProtocolError {
    return call.sideOf(session.operator.id) === 'caller' || call.answeredBy !== undefined
      ? new ProtocolError('call-state', 'the call is carried by another session of this operator')
      : new ProtocolError('call-state', 'the call has not been answered');
  }

  private ringingSessions(call: LocalCall): SessionHandle[] {
    return [...call.rung].filter((tab) => tab.open);
  }

  private stopRinging(call: LocalCall): void {
    if (call.ringTimer !== undefined) this.options.clock.clearTimeout(call.ringTimer);
    call.ringTimer = undefined;
  }

  /** Ends a live call for everyone who knows it, logs the end, and remembers the id for a while. */
  private end(call: LocalCall, cause: CallEndCause, deliver: Deliver, reason: string | undefined): void {
    if (call.state === 'ended') return;
    call.moveTo('ended');
    this.stopRinging(call);
    const at = this.options.clock.now();
    const sipStatus = FAILURE_CAUSES.has(cause) ? CALL_END_CAUSES[cause].sipStatus : undefined;
    call.ended = { cause, sipStatus, reason, at };
    const event = endedEvent(call.id, cause, reason, at);
    const told = new Set<SessionHandle>([call.caller.session, ...(call.answeredBy ? [call.answeredBy] : call.rung)]);
    for (const target of told) deliver(target, event);
    call.rung.clear();
    this.persist(call, () => this.options.calls.end(call.id, { cause, sipStatus: sipStatus ?? null, endedAt: at }));
    this.log.info({ callId: call.id, cause, reason }, 'call ended');
    this.forget(call);
    this.ended.add(call.id, cause, [call.caller.operator.id, call.callee.id]);
  }

  private async persistEnd(id: string, cause: CallEndCause, at: number): Promise<void> {
    try {
      await this.options.calls.end(id, { cause, sipStatus: CALL_END_CAUSES[cause].sipStatus, endedAt: at });
    } catch (error) {
      this.log.error({ err: error, callId: id }, 'could not log the end of a call');
    }
  }

  private persist(call: LocalCall, write: () => Promise<unknown>): void {
    const next = call.persisted.then(write).then(
      () => undefined,
      (error: unknown) => this.log.error({ err: error, callId: call.id }, 'could not update the call log'),
    );
    call.persisted = next;
    this.writes.add(next);
    void next.then(() => this.writes.delete(next));
  }

  private track(call: LocalCall): void {
    this.calls.set(call.id, call);
    for (const operatorId of [call.caller.operator.id, call.callee.id]) {
      let set = this.byOperator.get(operatorId);
      if (set === undefined) this.byOperator.set(operatorId, (set = new Set()));
      set.add(call);
    }
  }

  private forget(call: LocalCall): void {
    this.calls.delete(call.id);
    for (const operatorId of [call.caller.operator.id, call.callee.id]) {
      const set = this.byOperator.get(operatorId);
      set?.delete(call);
      if (set?.size === 0) this.byOperator.delete(operatorId);
    }
  }
}

function incomingEvent(call: LocalCall): ServerEvent {
  return {
    type: 'call.incoming',
    callId: call.id,
    from: party(call.caller.operator),
    to: party(call.callee),
    sdp: call.offer,
    receivedAt: call.startedAt,
    ...(call.contact === undefined ? {} : { contact: call.contact }),
  };
}
