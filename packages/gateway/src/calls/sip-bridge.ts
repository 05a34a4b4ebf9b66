/**
 * A call from one phone registered here to another: two SIP dialogs back to back, the caller's (A, where the
 * gateway is the UAS) and the callee's (B, where it is the UAC). Both sides speak plain RTP, so the SDP passes
 * through unchanged and media flows between the phones. Responses from B are relayed to A, BYE and CANCEL go
 * across, and each side only ever sees the gateway. Both phones are reached where they registered (or called)
 * from, whatever their Contact says: that is what works behind NAT and on connections.
 *
 *   calling ──1xx──► calling ──2xx from B──► answered (200 to A, ACK to B) ──BYE either side──► ended
 *      └────────────── CANCEL from A, final failure from B, timeout ─────────────────────────────┘
 *
 * Once answered, a re-INVITE from either phone (hold, resume, session refresh) goes on in the other dialog and its
 * final answer comes back, SDP and all: the gateway only relays, as it did for the first offer. One at a time;
 * a second while one is pending gets 491 (RFC 3261 §14.2).
 */
import {
  Dialog,
  formatNameAddr,
  type IncomingRequest,
  type RespondOptions,
  type InviteClientTransaction,
  type SipRequest,
  type SipResponse,
  type TransportAddress,
  type UserAgent,
} from '@switchboard/sip';
import type { Logger } from 'pino';
import { admitToDialog, bodyOptions, respondWhileOpen } from '../sip/respond-while-open.js';
import type { PhoneBinding } from './sip-routes.js';

export type BridgeState = 'calling' | 'answered' | 'ended';

/** Headers of A's INVITE that describe the call rather than the hop, and so go on to B. */
const CARRIED = ['Content-Type', 'Allow', 'Supported', 'User-Agent'];

export class SipBridge {
  private current: BridgeState = 'calling';
  private aDialog: Dialog | undefined;
  private bDialog: Dialog | undefined;
  private bInvite: SipRequest | undefined;
  private bTransaction: InviteClientTransaction | undefined;
  private readonly destination: TransportAddress;
  /** A re-INVITE being relayed: another one meanwhile gets 491. */
  private relaying = false;

  constructor(
    private readonly ua: UserAgent,
    private readonly a: IncomingRequest,
    private readonly callee: PhoneBinding,
    private readonly log: Logger,
    private readonly ended: (bridge: SipBridge) => void,
  ) {
    this.destination = callee.source;
  }

  get state(): BridgeState {
    return this.current;
  }

  start(): void {
    const request = this.a.request;
    const fromUser = request.from?.uri.type === 'sip' ? request.from.uri.user : undefined;
    const local = this.ua.transport(this.destination.protocol).local;
    const invite = this.ua.createRequest('INVITE', this.callee.contact, {
      from: `sip:${fromUser ?? 'anonymous'}@${local.host}:${local.port}`,
      to: request.to?.uri ?? this.callee.contact,
      contact: this.ua.contact(fromUser, this.destination.protocol),
    });
    if (request.from?.displayName) invite.set('From', { ...invite.from!, displayName: request.from.displayName });
    for (const name of CARRIED) for (const value of request.getAll(name)) if (!invite.has(name)) invite.append(name, value);
    if (request.bodyLength > 0) invite.setBody(request.body, request.contentType === undefined ? undefined : `${request.contentType.mediaType}`);
    this.bInvite = invite;
    const transaction = this.ua.sendInvite(invite, this.destination, this.callee.connectionId);
    this.bTransaction = transaction;
    transaction.on('response', ({ response }) => this.fromB(response));
    transaction.on('timeout', () => this.fail(408));
    transaction.on('transport-error', () => this.fail(503));
  }

  private fromB(response: SipResponse): void {
    const status = response.status;
    if (status === 100) return;
    if (status >= 200 && status < 300) {
      this.answered(response);
      return;
    }
    if (this.current !== 'calling') return;
    if (status < 200) {
      this.respondA(status, { reason: response.reason, ...bodyOptions(response) });
      return;
    }
    this.respondA(status, { reason: response.reason });
    this.finish('failed');
  }

  private answered(response: SipResponse): void {
    let dialog: Dialog;
    try {
      dialog = Dialog.fromUac(this.bInvite!, response);
    } catch {
      return;
    }
    const ack = dialog.createAck(this.bInvite!);
    void this.ua.sendAck(ack, this.destination, this.callee.connectionId).catch(() => undefined);
    if (this.bDialog !== undefined) return;
    this.bDialog = dialog;
    if (this.current !== 'calling') {
      this.bye(dialog, this.destination, this.callee.connectionId);
      return;
    }
    const sent = this.respondA(200, {
      reason: response.reason,
      body: response.body,
      contentType: response.contentType?.mediaType ?? 'application/sdp',
      headers: [['Contact', formatNameAddr(this.ua.contact(this.a.request.uri.type === 'sip' ? this.a.request.uri.user : undefined, this.a.source.protocol))]],
    });
    if (sent === undefined) {
      this.bye(dialog, this.destination, this.callee.connectionId);
      this.finish('cancelled');
      return;
    }
    this.aDialog = Dialog.fromUas(this.a.request, sent);
    this.current = 'answered';
    this.log.info('phone-to-phone call answered');
  }

  /** The caller sent CANCEL; the user agent has answered it and A's INVITE (487). */
  cancelledByA(): void {
    if (this.current !== 'calling') return;
    if (this.bTransaction !== undefined) void this.ua.transactions.cancel(this.bTransaction).catch(() => undefined);
    this.finish('cancelled');
  }

  matches(request: SipRequest): 'a' | 'b' | undefined {
    if (this.aDialog?.matchesRequest(request)) return 'a';
    if (this.bDialog?.matchesRequest(request)) return 'b';
    return undefined;
  }

  isInvite(request: SipRequest): boolean {
    const own = this.a.request;
    return own === request || (own.callId === request.callId && own.cseq?.seq === request.cseq?.seq && request.fromTag === own.fromTag);
  }

  /** A BYE from either side: answered, and passed on to the other. */
  byeFrom(side: 'a' | 'b', incoming: IncomingRequest): void {
    incoming.respond(200);
    if (side === 'a' && this.bDialog !== undefined) this.bye(this.bDialog, this.destination, this.callee.connectionId);
    if (side === 'b' && this.aDialog !== undefined) this.bye(this.aDialog, this.a.source, this.a.connectionId);
    this.finish('normal');
  }

  /** A re-INVITE in one side's dialog: sent on in the other, its final response relayed back. */
  reinviteFrom(side: 'a' | 'b', incoming: IncomingRequest): void {
    const [own, other] = side === 'a' ? [this.aDialog, this.bDialog] : [this.bDialog, this.aDialog];
    if (this.current !== 'answered' || own === undefined || other === undefined) {
      incoming.respond(491, { reason: 'Request Pending' });
      return;
    }
    if (!admitToDialog(own, incoming)) return;
    if (this.relaying) {
      incoming.respond(491, { reason: 'Request Pending' });
      return;
    }
    const request = incoming.request;
    const reinvite = other.createRequest('INVITE', bodyOptions(request));
    const [destination, connectionId] = side === 'a' ? [this.destination, this.callee.connectionId] : [this.a.source, this.a.connectionId];
    this.relaying = true;
    const transaction = this.ua.sendInvite(reinvite, destination, connectionId);
    const done = (status: number, options: RespondOptions = {}): void => {
      this.relaying = false;
      respondWhileOpen(incoming, status, options, this.log, 'the re-INVITE');
    };
    transaction.on('response', ({ response }) => {
      if (response.status < 200) return;
      if (response.status >= 300) {
        done(response.status, { reason: response.reason });
        return;
      }
      void this.ua.sendAck(other.createAck(reinvite), destination, connectionId).catch(() => undefined);
      const contact = own.localContact;
      done(200, {
        reason: response.reason,
        ...bodyOptions(response),
        headers: contact === undefined ? [] : [['Contact', formatNameAddr(contact)]],
      });
    });
    transaction.on('timeout', () => done(408));
    transaction.on('transport-error', () => done(503));
    this.log.info({ from: side }, 're-INVITE relayed to the other phone');
  }

  /** Ends both sides (gateway shutting down). */
  hangupBoth(): void {
    if (this.current === 'calling') {
      this.respondA(503);
      if (this.bTransaction !== undefined) void this.ua.transactions.cancel(this.bTransaction).catch(() => undefined);
    } else if (this.current === 'answered') {
      if (this.aDialog !== undefined) this.bye(this.aDialog, this.a.source, this.a.connectionId);
      if (this.bDialog !== undefined) this.bye(this.bDialog, this.destination, this.callee.connectionId);
    }
    this.finish('failed');
  }

  private fail(status: number): void {
    if (this.current !== 'calling') return;
    this.respondA(status);
    this.finish('failed');
  }

  private finish(how: string): void {
    if (this.current === 'ended') return;
    this.current = 'ended';
    this.aDialog?.terminate();
    this.bDialog?.terminate();
    this.log.info({ how }, 'phone-to-phone call ended');
    this.ended(this);
  }

  private respondA(status: number, options: RespondOptions = {}): SipResponse | undefined {
    return respondWhileOpen(this.a, status, options, this.log, 'the caller');
  }

  private bye(dialog: Dialog, destination: TransportAddress, connectionId: string | undefined): void {
    try {
      const bye = dialog.createRequest('BYE');
      void this.ua.request(bye, destination, connectionId === undefined ? {} : { connectionId }).catch(() => undefined);
    } catch (error) {
      this.log.warn({ err: error }, 'could not send BYE');
    }
  }

}
