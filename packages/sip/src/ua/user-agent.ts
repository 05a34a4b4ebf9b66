/**
 * The user agent core (RFC 3261 §8) between the transports, the transaction layer and an application.
 *
 * It stamps each outgoing request with a Via of the transport that sends it (§18.1.1), answers on its own what an
 * application need not see (requests §8.2 refuses, OPTIONS, CANCEL with its 487), retransmits a 2xx to an INVITE
 * until the ACK comes (§13.3.1.4), and retries a request challenged with 401/407 when given credentials (§22.2).
 * Everything an application must decide reaches it as a `request` event with a `respond` function.
 */
import type { DigestClient } from '../auth/digest-client.js';
import { cryptoRandom, newBranch, randomToken, systemClock, type Clock, type Random, type TimerHandle } from '../clock.js';
import { SipError } from '../errors.js';
import type { KnownHeaderName, KnownHeaderValues } from '../message/header-codecs.js';
import { formatVia, type NameAddr } from '../message/header-values.js';
import { SipRequest, type SipResponse } from '../message/sip-message.js';
import { validateRequest, type ValidateOptions } from '../message/validate-request.js';
import { NO_PARAMS, parseUri, type Uri } from '../message/uri.js';
import { timerConfig, type TimerOptions } from '../transaction/timers.js';
import type { InviteClientTransaction } from '../transaction/invite-client-transaction.js';
import type { NonInviteClientTransaction } from '../transaction/non-invite-client-transaction.js';
import { StatelessServerTransaction } from '../transaction/stateless-server-transaction.js';
import { TransactionLayer, type AckEvent, type NewRequestEvent, type ServerTransaction } from '../transaction/transaction-layer.js';
import type { SipTransport, TransportAddress, TransportProtocol } from '../transport/transport.js';
import { TypedEmitter } from '../typed-emitter.js';

export interface UserAgentOptions {
  /** At least one; outgoing requests use the one whose protocol matches the destination. */
  transports: readonly SipTransport[];
  clock?: Clock;
  random?: Random;
  timers?: TimerOptions;
  /** Product token sent in User-Agent and Server headers. */
  product?: string;
  /** What this UA accepts (methods, extensions, body types); requests outside it are refused per §8.2. */
  accepts?: ValidateOptions;
  /**
   * How long the application may leave a request without a final response before the UA answers for it, so that no
   * server transaction is held forever: non-INVITE requests get 500 after `request` (default 60*T1, just before the
   * client gives up at 64*T1, §17.1.2.2 Timer F); an INVITE gets 480 after `invite` (default 3 minutes, as Timer C
   * bounds a proxy's wait, §16.6).
   */
  unansweredTimeout?: { request?: number; invite?: number };
  /** Methods answered statelessly: see `TransactionLayerOptions.statelessMethods`. */
  statelessMethods?: readonly string[];
}

/**
 * A header of a response: its text, or for a header the stack knows (named by its lower-case key) the structured
 * value, which is formatted as is instead of being parsed back from text the caller formatted.
 */
export type ResponseHeader =
  | readonly [name: string, value: string]
  | { readonly [K in KnownHeaderName]: readonly [name: K, value: KnownHeaderValues[K]] }[KnownHeaderName];

export interface RespondOptions {
  reason?: string;
  headers?: readonly ResponseHeader[];
  body?: string | Uint8Array;
  contentType?: string;
  /** To tag for a response that creates a dialog; by default the UA picks one per request. */
  toTag?: string;
}

export interface IncomingRequest {
  readonly request: SipRequest;
  readonly source: TransportAddress;
  readonly connectionId: string | undefined;
  readonly transaction: ServerTransaction;
  /** The To tag the UA uses in every response to this request, unless told otherwise. */
  readonly toTag: string;
  respond(status: number, options?: RespondOptions): SipResponse;
}

export type UserAgentEvents = {
  request: IncomingRequest;
  /** ACK for a 2xx we sent: the dialog is confirmed. */
  ack: AckEvent;
  /** An INVITE the caller cancelled; the UA has answered it 487. */
  cancelled: { readonly request: SipRequest };
  /** A 2xx to an INVITE was never ACKed within 64*T1 (§13.3.1.4): the application should end the dialog with a BYE. */
  'ack-timeout': { readonly request: SipRequest; readonly response: SipResponse };
};

export interface RequestOptions {
  /** Answers 401/407 challenges with these credentials. */
  digest?: DigestClient;
  connectionId?: string;
}

interface PendingAck {
  timer: TimerHandle | undefined;
  deadline: number;
}

export class UserAgent extends TypedEmitter<UserAgentEvents> {
  readonly transactions: TransactionLayer;
  private readonly transports: Map<TransportProtocol, SipTransport>;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly t1: number;
  private readonly t2: number;
  private readonly product: string;
  private readonly accepts: ValidateOptions | undefined;
  private readonly unanswered: { request: number; invite: number };
  private readonly awaitingAck = new Map<string, PendingAck>();
  private readonly guards = new Set<TimerHandle>();
  private readonly detach: (() => void)[] = [];

  constructor(options: UserAgentOptions) {
    super();
    if (options.transports.length === 0) throw new SipError('invalid-argument', 'a user agent needs at least one transport');
    this.transports = new Map(options.transports.map((transport) => [transport.protocol, transport]));
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? cryptoRandom;
    const timers = timerConfig(options.timers);
    this.t1 = timers.T1;
    this.t2 = timers.T2;
    this.product = options.product ?? 'Switchboard';
    this.accepts = options.accepts;
    this.unanswered = { request: options.unansweredTimeout?.request ?? 60 * this.t1, invite: options.unansweredTimeout?.invite ?? 180_000 };
    this.transactions = new TransactionLayer({
      sender: {
        send: (message, destination, connectionId) => this.transport(destination.protocol).send(message, destination, connectionId),
        isReliable: (destination) => this.transports.get(destination.protocol)?.reliable ?? true,
      },
      clock: this.clock,
      random: this.random,
      timers: options.timers,
      statelessMethods: options.statelessMethods,
    });
    for (const transport of options.transports) this.detach.push(transport.on('message', (inbound) => this.transactions.receive(inbound)));
    this.transactions.on('request', (event) => this.onRequest(event));
    this.transactions.on('ack', (event) => this.onAck(event));
  }

  /** The transports this user agent can send on, in the order they were given. */
  get protocols(): TransportProtocol[] {
    return [...this.transports.keys()];
  }

  transport(protocol: TransportProtocol): SipTransport {
    const transport = this.transports.get(protocol);
    if (transport === undefined) throw new SipError('transport', `no ${protocol} transport`);
    return transport;
  }

  /** Our address as a Contact for requests that go out over `protocol`. */
  contact(user: string | undefined, protocol: TransportProtocol = 'udp'): NameAddr {
    const local = this.transport(protocol).local;
    const host = local.host.includes(':') ? `[${local.host}]` : local.host;
    const params = protocol === 'udp' ? NO_PARAMS : new Map([['transport', protocol]]);
    const uri: Uri = { type: 'sip', scheme: 'sip', user, password: undefined, host, port: local.port, params, headers: new Map() };
    return { displayName: undefined, uri, params: NO_PARAMS };
  }

  /**
   * A new out-of-dialog request (§8.1.1): From with a fresh tag, To, Call-ID, CSeq, Max-Forwards, User-Agent.
   * To defaults to the Request-URI, and for a REGISTER to the From address (the address-of-record, §10.2).
   */
  createRequest(method: string, target: Uri | string, init: { from: Uri | string; to?: Uri | string; contact?: NameAddr; cseq?: number; callId?: string }): SipRequest {
    const uri = typeof target === 'string' ? parseUri(target) : target;
    const request = new SipRequest(method, uri);
    const from = typeof init.from === 'string' ? parseUri(init.from) : init.from;
    const to = init.to === undefined ? (method === 'REGISTER' ? from : uri) : typeof init.to === 'string' ? parseUri(init.to) : init.to;
    request.append('From', { displayName: undefined, uri: from, params: new Map([['tag', randomToken(this.random, 10)]]) });
    request.append('To', { displayName: undefined, uri: to, params: NO_PARAMS });
    request.append('Call-ID', init.callId ?? `${randomToken(this.random, 20)}`);
    request.append('CSeq', { seq: init.cseq ?? 1, method });
    request.append('Max-Forwards', 70);
    if (init.contact !== undefined) request.append('Contact', init.contact);
    request.append('User-Agent', this.product);
    return request;
  }

  /** Puts our Via on top of `request` for the transport that reaches `destination` (§18.1.1; rport per RFC 3581). */
  stampVia(request: SipRequest, destination: TransportAddress): void {
    const local = this.transport(destination.protocol).local;
    const host = local.host.includes(':') ? `[${local.host}]` : local.host;
    const transport = destination.protocol.toUpperCase();
    const params = new Map<string, string | null>([['branch', newBranch(this.random)], ['rport', null]]);
    request.prepend('Via', formatVia({ protocol: 'SIP/2.0', transport, host, port: local.port, params }));
  }

  /** Sends an INVITE in a new client transaction. */
  sendInvite(invite: SipRequest, destination: TransportAddress, connectionId?: string): InviteClientTransaction {
    this.stampVia(invite, destination);
    return this.transactions.sendInvite(invite, destination, connectionId === undefined ? {} : { connectionId });
  }

  /** Sends a request other than INVITE and ACK in a new client transaction. */
  sendRequest(request: SipRequest, destination: TransportAddress, connectionId?: string): NonInviteClientTransaction {
    this.stampVia(request, destination);
    return this.transactions.sendRequest(request, destination, connectionId === undefined ? {} : { connectionId });
  }

  /** Sends an ACK for a 2xx: outside any transaction, with a branch of its own (§13.2.2.4, §17.1.1.3). */
  async sendAck(ack: SipRequest, destination: TransportAddress, connectionId?: string): Promise<void> {
    this.stampVia(ack, destination);
    await this.transactions.sendStateless(ack, destination, connectionId);
  }

  /**
   * Sends a non-INVITE request and resolves with its final response. With `digest`, a 401/407 is answered with
   * credentials and the request sent again with the next CSeq; a second refusal resolves with that response.
   *
   * Given several destinations (as `locateSipServers` lists them), it tries them in order (RFC 3263 §4.3): a
   * transaction timeout, a transport error or a 503 sends the request to the next one, a new transaction with a
   * new branch and the next CSeq; the last destination's outcome is the answer. The request goes unchanged
   * otherwise, so the destinations must all suit its Contact (`locateSipServers` with one transport gives such a
   * list). `connectionId` is used only with one destination.
   */
  async request(request: SipRequest, destination: TransportAddress | readonly TransportAddress[], options: RequestOptions = {}): Promise<SipResponse> {
    const targets: readonly TransportAddress[] = isAddressList(destination) ? destination : [destination];
    if (targets.length === 0) throw new SipError('invalid-argument', `no destination for ${request.method}`);
    // The CSeq counts on from one destination to the next: a REGISTER's must rise within its Call-ID (§10.2), and
    // the servers of one domain may share their bindings.
    const sent: { seq: number | undefined } = { seq: undefined };
    if (targets.length === 1) return this.requestTo(request, targets[0]!, options, sent);
    const { connectionId: _, ...perTarget } = options;
    for (let i = 0; ; i++) {
      const last = i === targets.length - 1;
      try {
        const response = await this.requestTo(request, targets[i]!, perTarget, sent);
        if (response.status !== 503 || last) return response;
      } catch (error) {
        const failover = error instanceof SipError && (error.code === 'transaction-timeout' || error.code === 'transport');
        if (last || !failover) throw error;
      }
    }
  }

  private async requestTo(request: SipRequest, destination: TransportAddress, options: RequestOptions, sent: { seq: number | undefined }): Promise<SipResponse> {
    let attempt = request.clone();
    if (sent.seq !== undefined) attempt.set('CSeq', { seq: sent.seq + 1, method: request.method });
    for (let round = 0; ; round++) {
      sent.seq = attempt.cseq!.seq;
      const response = await this.finalResponse(this.sendRequest(attempt, destination, options.connectionId));
      const challenged = response.status === 401 || response.status === 407;
      if (!challenged || options.digest === undefined || round >= 3) return response;
      let authorization;
      try {
        authorization = options.digest.authorize(attempt, response);
      } catch (error) {
        // Refused credentials or an unsupported challenge: the response is the answer.
        if (error instanceof SipError && error.code === 'auth') return response;
        throw error;
      }
      const next = request.clone();
      next.set(authorization.header, ...authorization.values);
      next.set('CSeq', { seq: attempt.cseq!.seq + 1, method: request.method });
      attempt = next;
    }
  }

  private finalResponse(transaction: NonInviteClientTransaction): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      transaction.on('response', ({ response }) => {
        if (response.status >= 200) resolve(response);
      });
      transaction.on('timeout', ({ error }) => reject(error));
      transaction.on('transport-error', ({ error }) => reject(error));
    });
  }

  async close(): Promise<void> {
    for (const pending of this.awaitingAck.values()) if (pending.timer !== undefined) this.clock.clearTimeout(pending.timer);
    this.awaitingAck.clear();
    for (const guard of this.guards) this.clock.clearTimeout(guard);
    this.guards.clear();
    for (const off of this.detach) off();
    this.transactions.close();
  }

  private onRequest(event: NewRequestEvent): void {
    const { request, transaction, source, connectionId } = event;
    const toTag = randomToken(this.random, 10);
    let guard: TimerHandle | undefined;
    const respond = (status: number, options: RespondOptions = {}): SipResponse => {
      if (status >= 200 && guard !== undefined) {
        this.clock.clearTimeout(guard);
        this.guards.delete(guard);
        guard = undefined;
      }
      let response: SipResponse;
      try {
        response = request.createResponse(status, options.reason, { toTag: options.toTag ?? toTag });
        // makeFields takes text and structured values alike; `append` cannot type a name only known at run time.
        for (const [name, value] of options.headers ?? []) response.append(name, value as string);
        if (status >= 200 && !response.has('Server')) response.append('Server', this.product);
        if (options.body !== undefined) response.setBody(options.body, options.contentType);
        transaction.respond(response);
      } catch (error) {
        // A final answer that could not be built or sent would leave the transaction waiting forever: §17.2 gives a
        // server transaction no timer before its final response.
        if (status >= 200 && (transaction.state === 'trying' || transaction.state === 'proceeding')) transaction.terminate('the final response could not be built or sent');
        throw error;
      }
      if (request.method === 'INVITE' && status >= 200 && status < 300) this.retransmitUntilAck(request, response, source, connectionId);
      return response;
    };
    if (request.method === 'CANCEL') {
      const invite = event.cancels;
      if (invite === undefined) {
        respond(481);
        return;
      }
      respond(200);
      if (invite.state === 'proceeding') {
        invite.respond(invite.request.createResponse(487, undefined, { toTag }));
        this.emit('cancelled', { request: invite.request });
      }
      return;
    }
    const verdict = validateRequest(request, this.accepts);
    if (verdict !== null) {
      respond(verdict.status, { reason: verdict.reason, headers: verdict.headers ?? [] });
      return;
    }
    if (request.method === 'OPTIONS' && this.listenerCount('request') === 0) {
      respond(200, { headers: [['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS'], ['Accept', 'application/sdp']] });
      return;
    }
    if (this.listenerCount('request') === 0) {
      respond(request.method === 'INVITE' ? 480 : 501);
      return;
    }
    // A request served statelessly holds nothing while it waits for its answer, so it needs no guard.
    if (!(transaction instanceof StatelessServerTransaction)) {
      const invite = request.method === 'INVITE';
      guard = this.clock.setTimeout(() => {
        this.guards.delete(guard!);
        guard = undefined;
        // A CANCEL may have ended it already (the UA's 487), or the transaction may be gone.
        if (transaction.state !== 'trying' && transaction.state !== 'proceeding') return;
        try {
          respond(invite ? 480 : 500, { reason: invite ? 'Not Answered' : 'Request Not Answered' });
        } catch {
          // Nothing to answer with: `respond` has ended the transaction, and a timer has no caller to tell.
        }
      }, invite ? this.unanswered.invite : this.unanswered.request);
      this.guards.add(guard);
    }
    this.emit('request', { request, source, connectionId, transaction, toTag, respond });
  }

  /** §13.3.1.4: the 2xx goes again at T1, 2*T1, ... capped at T2, until the ACK or 64*T1. Reliable transports need none. */
  private retransmitUntilAck(invite: SipRequest, response: SipResponse, destination: TransportAddress, connectionId: string | undefined): void {
    const key = ackKey(invite.callId, invite.cseq?.seq);
    const pending: PendingAck = { timer: undefined, deadline: this.clock.now() + 64 * this.t1 };
    this.awaitingAck.set(key, pending);
    const reliable = this.transports.get(destination.protocol)?.reliable ?? true;
    const schedule = (interval: number): void => {
      pending.timer = this.clock.setTimeout(() => {
        if (this.awaitingAck.get(key) !== pending) return;
        if (this.clock.now() >= pending.deadline) {
          this.awaitingAck.delete(key);
          this.emit('ack-timeout', { request: invite, response });
          return;
        }
        if (!reliable) this.transactions.sendStateless(response, destination, connectionId).catch(() => undefined);
        schedule(reliable ? pending.deadline - this.clock.now() : Math.min(interval * 2, this.t2));
      }, interval);
    };
    schedule(reliable ? 64 * this.t1 : this.t1);
  }

  private onAck(event: AckEvent): void {
    const key = ackKey(event.request.callId, event.request.cseq?.seq);
    const pending = this.awaitingAck.get(key);
    if (pending !== undefined) {
      if (pending.timer !== undefined) this.clock.clearTimeout(pending.timer);
      this.awaitingAck.delete(key);
    }
    this.emit('ack', event);
  }
}

function ackKey(callId: string | undefined, seq: number | undefined): string {
  return `${callId ?? ''}\u0000${seq ?? ''}`;
}

function isAddressList(destination: TransportAddress | readonly TransportAddress[]): destination is readonly TransportAddress[] {
  return Array.isArray(destination);
}
