/**
 * The transaction layer (RFC 3261 §17): owns every client and server transaction, matches inbound messages to
 * them, and hands the TU only what it must act on.
 *
 * Inbound, in order:
 * - a response that matches a client transaction, and whose top Via has the sent-by of that transaction's request
 *   (§18.1.2), goes to it; any other is dropped and reported as `stray-response` (RFC 6026 §7.3: only a stateless
 *   proxy may forward one);
 * - an ACK that matches an INVITE server transaction goes to it, which absorbs it unless it is the ACK for a 2xx;
 *   every other ACK is the TU's (`ack`);
 * - a request of a method served statelessly (`statelessMethods`) goes to the TU with a stateless server
 *   transaction, which nothing here keeps;
 * - a request that matches a server transaction is a retransmission and goes to it;
 * - any other request gets a new server transaction and goes to the TU (`request`); for a CANCEL the INVITE it
 *   cancels is looked up by §9.2 and given to the TU beside it.
 *
 * A transaction leaves the layer the moment it terminates, so a message arriving afterwards is treated as new.
 */
import { cryptoRandom, newBranch, systemClock, type Clock, type Random } from '../clock.js';
import { SipError } from '../errors.js';
import { isResponse, type SipMessage, type SipRequest, type SipResponse } from '../message/sip-message.js';
import type { InboundMessage, TransportAddress } from '../transport/transport.js';
import { TypedEmitter } from '../typed-emitter.js';
import { InviteClientTransaction } from './invite-client-transaction.js';
import { InviteServerTransaction } from './invite-server-transaction.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import { StatelessServerTransaction } from './stateless-server-transaction.js';
import { timerConfig, type TimerConfig, type TimerOptions } from './timers.js';
import {
  cancelTargetKey, clientTransactionKey, isLegacyKey, isRfc3261Branch, legacyToTagMatches, sentByMatches, serverTransactionKey,
} from './transaction-key.js';
import { type ClientTransactionOptions, type TransactionSender } from './transaction.js';

export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
/** What the layer keeps and matches retransmissions and CANCELs to. */
export type StatefulServerTransaction = InviteServerTransaction | NonInviteServerTransaction;
/** What the TU answers a request through. */
export type ServerTransaction = StatefulServerTransaction | StatelessServerTransaction;

export interface TransactionLayerOptions {
  sender: TransactionSender;
  clock?: Clock;
  /** For branches of requests that arrive without one. */
  random?: Random;
  timers?: TimerOptions;
  /**
   * Methods served statelessly (§8.2.7): no transaction is kept for them, so every retransmission is a new
   * request for the TU (stateless-server-transaction.ts). For idempotent methods whose TU answers repeats alike,
   * such as REGISTER at a registrar (as Kamailio's and OpenSIPS's registrars answer it). INVITE and ACK cannot be.
   */
  statelessMethods?: readonly string[];
}

export interface NewRequestEvent {
  readonly request: SipRequest;
  /** Answer through this. Every request needs an answer: a non-INVITE server transaction has no timer of its own. */
  readonly transaction: ServerTransaction;
  readonly source: TransportAddress;
  readonly connectionId: string | undefined;
  /**
   * For a CANCEL: the INVITE server transaction it cancels (§9.2), or undefined when there is none (answer 481).
   * With one, answer the CANCEL 200 and, if the INVITE has no final response yet, the INVITE 487.
   */
  readonly cancels: InviteServerTransaction | undefined;
}

export interface AckEvent {
  readonly request: SipRequest;
  readonly source: TransportAddress;
  readonly connectionId: string | undefined;
  /** Set when the ACK matched an INVITE server transaction in `accepted` (same branch as the INVITE). */
  readonly transaction: InviteServerTransaction | undefined;
}

export type TransactionLayerEvents = {
  request: NewRequestEvent;
  /** An ACK for a 2xx: it belongs to the dialog, not to any transaction (§17.1.1.1, RFC 6026 §8.7). */
  ack: AckEvent;
  /**
   * A response no client transaction claims, or one whose top Via has a sent-by other than its request's (§18.1.2).
   * Already dropped; reported for logging and stateless proxies.
   */
  'stray-response': { readonly response: SipResponse; readonly source: TransportAddress; readonly connectionId: string | undefined };
  /** A request without the headers matching needs (Via, CSeq, and for RFC 2543 peers From, To, Call-ID). Dropped. */
  invalid: { readonly request: SipRequest; readonly source: TransportAddress; readonly connectionId: string | undefined };
};

export interface SendRequestOptions {
  /** Stream connection to send on (e.g. the one a dialog's peer is reachable over). */
  connectionId?: string;
}

/**
 * A CANCEL for `request` as §9.1 builds it: Request-URI, Call-ID, From, To (tags included) and the CSeq number of
 * the request, method CANCEL; its top Via as the only Via (same branch, so §9.2 can match it); its Route set.
 */
export function createCancel(request: SipRequest): SipRequest {
  if (request.method === 'ACK' || request.method === 'CANCEL') {
    throw new SipError('invalid-argument', `a ${request.method} cannot be cancelled`);
  }
  const cseq = request.cseq;
  if (cseq === undefined) throw new SipError('invalid-argument', `the ${request.method} has no CSeq`);
  const cancel = request.withMethod('CANCEL');
  const topVia = request.headers.find((field) => field.key === 'via');
  if (topVia !== undefined) cancel.headers.push(topVia);
  for (const field of request.headers) if (field.key === 'route') cancel.headers.push(field);
  cancel.set('Max-Forwards', request.maxForwards ?? 70);
  for (const field of request.headers) {
    if (field.key === 'from' || field.key === 'to' || field.key === 'call-id') cancel.headers.push(field);
  }
  cancel.set('CSeq', { seq: cseq.seq, method: 'CANCEL' });
  return cancel;
}

export class TransactionLayer extends TypedEmitter<TransactionLayerEvents> {
  private readonly sender: TransactionSender;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly timers: TimerConfig;
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, StatefulServerTransaction>();
  private readonly statelessMethods: ReadonlySet<string>;

  constructor(options: TransactionLayerOptions) {
    super();
    for (const method of options.statelessMethods ?? []) {
      if (method === 'INVITE' || method === 'ACK') throw new SipError('invalid-argument', `${method} cannot be served statelessly`);
    }
    this.statelessMethods = new Set(options.statelessMethods);
    this.sender = options.sender;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? cryptoRandom;
    // Validated here so that a bad option fails when the stack is built, not at the first request.
    this.timers = timerConfig(options.timers);
  }

  get clientTransactionCount(): number {
    return this.clients.size;
  }

  get serverTransactionCount(): number {
    return this.servers.size;
  }

  /**
   * Starts an INVITE client transaction towards `destination`. The INVITE must carry its top Via (the transport's
   * sent-by); without an RFC 3261 branch in it, one is generated and the request is changed.
   */
  sendInvite(invite: SipRequest, destination: TransportAddress, options: SendRequestOptions = {}): InviteClientTransaction {
    if (invite.method !== 'INVITE') throw new SipError('invalid-argument', `sendInvite() takes an INVITE, not ${invite.method}`);
    const key = this.prepareClientRequest(invite);
    return this.startClient(key, new InviteClientTransaction(this.clientOptions(invite, destination, options)));
  }

  /**
   * Starts a non-INVITE client transaction (CANCEL included) towards `destination`; the Via rules of `sendInvite`
   * apply. ACK is refused: the ACK for a 2xx goes through `sendStateless`, the one for a non-2xx is the INVITE
   * transaction's own.
   */
  sendRequest(request: SipRequest, destination: TransportAddress, options: SendRequestOptions = {}): NonInviteClientTransaction {
    if (request.method === 'INVITE') throw new SipError('invalid-argument', 'send an INVITE with sendInvite()');
    if (request.method === 'ACK') {
      throw new SipError('invalid-argument', 'an ACK is not a transaction: send the ACK for a 2xx with sendStateless()');
    }
    const key = this.prepareClientRequest(request);
    return this.startClient(key, new NonInviteClientTransaction(this.clientOptions(request, destination, options)));
  }

  /**
   * Cancels a pending INVITE (§9.1). The CANCEL waits for a provisional response, since before one it could
   * overtake the INVITE; it is not sent at all once the INVITE has a final response or has ended. Resolves to the
   * CANCEL's own transaction, or undefined when none was needed. Cancel each INVITE once.
   */
  cancel(invite: InviteClientTransaction, extraHeaders: readonly (readonly [name: string, value: string])[] = []): Promise<NonInviteClientTransaction | undefined> {
    return new Promise((resolve, reject) => {
      const send = (): void => {
        try {
          const cancel = createCancel(invite.request);
          for (const [name, value] of extraHeaders) cancel.append(name, value);
          resolve(this.sendRequest(cancel, invite.destination, { connectionId: invite.connectionId }));
        } catch (error) {
          reject(error);
        }
      };
      if (invite.state === 'proceeding') return send();
      if (invite.state !== 'calling') return resolve(undefined);
      const off = invite.on('state', ({ to }) => {
        off();
        if (to === 'proceeding') send();
        else resolve(undefined);
      });
    });
  }

  /** Sends outside any transaction: the ACK for a 2xx, or a response a stateless element generates. */
  sendStateless(message: SipMessage, destination: TransportAddress, connectionId?: string): Promise<void> {
    return this.sender.send(message, destination, connectionId);
  }

  /** Feeds one message from a transport (the `message` event of a SipTransport). */
  receive(inbound: InboundMessage): void {
    const { message } = inbound;
    if (isResponse(message)) this.receiveResponse(message, inbound);
    else this.receiveRequest(message, inbound);
  }

  findClientTransaction(response: SipResponse): ClientTransaction | undefined {
    const key = clientTransactionKey(response);
    return key === undefined ? undefined : this.clients.get(key);
  }

  /** The server transaction a request (ACK and retransmissions included) belongs to, if it exists. */
  findServerTransaction(request: SipRequest): StatefulServerTransaction | undefined {
    return this.lookupServer(serverTransactionKey(request), request);
  }

  /** Terminates every transaction (their `terminated` events carry a `transaction-terminated` error). */
  close(): void {
    for (const transaction of [...this.clients.values(), ...this.servers.values()]) transaction.terminate('transaction layer closed');
    this.clients.clear();
    this.servers.clear();
  }

  private receiveResponse(response: SipResponse, inbound: InboundMessage): void {
    const transaction = this.findClientTransaction(response);
    // A key exists only for a response with a top Via, and our requests all carry one.
    if (transaction === undefined || !sentByMatches(transaction.request.via!, response.via!)) {
      this.emit('stray-response', { response, source: inbound.source, connectionId: inbound.connectionId });
      return;
    }
    transaction.receiveResponse(response);
  }

  private receiveRequest(request: SipRequest, inbound: InboundMessage): void {
    const { source, connectionId } = inbound;
    const key = serverTransactionKey(request);
    if (key === undefined) {
      this.emit('invalid', { request, source, connectionId });
      return;
    }
    if (this.statelessMethods.has(request.method)) {
      const transaction = new StatelessServerTransaction(request, source, connectionId, this.sender);
      this.emit('request', { request, transaction, source, connectionId, cancels: undefined });
      return;
    }
    const existing = this.lookupServer(key, request);
    if (request.method === 'ACK') {
      if (existing instanceof InviteServerTransaction) {
        if (existing.receiveAck(request)) this.emit('ack', { request, source, connectionId, transaction: existing });
      } else {
        this.emit('ack', { request, source, connectionId, transaction: undefined });
      }
      return;
    }
    if (existing !== undefined) {
      existing.receiveRequest(request);
      return;
    }
    const options = { request, source, connectionId, sender: this.sender, clock: this.clock, timers: this.timers };
    const transaction = request.method === 'INVITE' ? new InviteServerTransaction(options) : new NonInviteServerTransaction(options);
    this.servers.set(key, transaction);
    transaction.onTerminated(() => {
      if (this.servers.get(key) === transaction) this.servers.delete(key);
    });
    transaction.start();
    let cancels: InviteServerTransaction | undefined;
    if (request.method === 'CANCEL') {
      const target = this.lookupServer(cancelTargetKey(request), request);
      if (target instanceof InviteServerTransaction) {
        cancels = target;
        // The INVITE's owner hears first, while the INVITE is still in `proceeding` for it to answer 487.
        target.receiveCancel(request, transaction as NonInviteServerTransaction);
      }
    }
    this.emit('request', { request, transaction, source, connectionId, cancels });
  }

  /** Gives the request an RFC 3261 branch if it lacks one and returns its key, refusing a key already in use. */
  private prepareClientRequest(request: SipRequest): string {
    const via = request.via;
    if (via === undefined) throw new SipError('invalid-argument', `the ${request.method} has no Via; the sender must add its own`);
    if (!isRfc3261Branch(via.params.get('branch'))) {
      const params = new Map(via.params);
      params.set('branch', newBranch(this.random));
      request.removeFirst('Via');
      request.prepend('Via', { ...via, params });
    }
    const key = clientTransactionKey(request);
    if (key === undefined) throw new SipError('invalid-argument', `the ${request.method} has no CSeq`);
    if (this.clients.has(key)) throw new SipError('invalid-state', `a client transaction ${key} is already running`);
    return key;
  }

  private clientOptions(request: SipRequest, destination: TransportAddress, options: SendRequestOptions): ClientTransactionOptions {
    return { request, destination, connectionId: options.connectionId, sender: this.sender, clock: this.clock, timers: this.timers };
  }

  private startClient<T extends ClientTransaction>(key: string, transaction: T): T {
    this.clients.set(key, transaction);
    transaction.onTerminated(() => {
      if (this.clients.get(key) === transaction) this.clients.delete(key);
    });
    transaction.start();
    return transaction;
  }

  private lookupServer(key: string | undefined, request: SipRequest): StatefulServerTransaction | undefined {
    if (key === undefined) return undefined;
    const transaction = this.servers.get(key);
    if (transaction === undefined) return undefined;
    if (isLegacyKey(key) && !legacyToTagMatches(request, transaction.request, transaction.lastResponse)) return undefined;
    return transaction;
  }
}
