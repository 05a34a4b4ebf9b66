/**
 * SIP dialogs (RFC 3261 §12): the state two user agents share between a dialog-creating request and its end.
 * A dialog builds the requests we send inside it (§12.2.1.1), checks the ones we receive (§12.2.2) and follows the
 * responses that move it between states. It never sends anything: transactions and transports stay outside, so the
 * caller passes each message through the matching method (`receiveRequest`, `receiveResponse`, `responseSent`).
 *
 * State machine (one guarded `transition`, every change emits `state`):
 *
 *      UAC: 1xx with To tag received       UAC: 2xx received
 *      UAS: 1xx with To tag sent           UAS: 2xx sent
 *                  |                                |
 *                  v                                v
 *             +---------+   2xx to the      +-----------+
 *             |  early  |------------------>| confirmed |
 *             +---------+   creating req.   +-----------+
 *                  |                                |
 *                  | non-2xx final to the           | BYE received; final response to our BYE;
 *                  | creating request; BYE;         | 481/408 to an in-dialog request (§12.2.1.2);
 *                  | 481/408; terminate()           | terminate()
 *                  v                                v
 *             +--------------------------------------------+
 *             |                 terminated                 |  (final: no request can be built)
 *             +--------------------------------------------+
 */
import { SipError } from '../errors.js';
import { isToken, type CSeq, type NameAddr } from '../message/header-values.js';
import { SipRequest, type SipMessage, type SipResponse } from '../message/sip-message.js';
import { uriEquals, type Uri } from '../message/uri.js';
import { TypedEmitter } from '../typed-emitter.js';
import type { DialogId } from './dialog-id.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

/** Which end of the dialog-creating transaction we were: it decides how the route set and tags are read. */
export type DialogRole = 'uac' | 'uas';

export type DialogTerminationReason =
  /** The dialog-creating request got (or we answered it with) a non-2xx final response. */
  | 'rejected'
  | 'bye-received'
  /** Our BYE got a final response (other than an authentication challenge, which the caller retries). */
  | 'bye-completed'
  /** 481 or 408 to a request inside the dialog: the peer no longer knows it (RFC 3261 §12.2.1.2). */
  | 'gone'
  | 'local';

export type DialogTransitionReason = 'confirmed' | DialogTerminationReason;

export type DialogEvents = {
  state: { readonly state: DialogState; readonly previous: DialogState; readonly reason: DialogTransitionReason };
  /** The remote target changed: a target refresh request or response carried a new Contact. */
  'target-refresh': { readonly target: Uri; readonly previous: Uri };
};

/**
 * What to answer an in-dialog request with. When `accept` is false the caller must send `status`/`reason` and
 * not act on the request; `cause` is for logs and metrics.
 */
export type DialogRequestVerdict =
  | { readonly accept: true }
  | {
    readonly accept: false;
    readonly status: number;
    readonly reason: string;
    readonly cause: 'out-of-order' | 'terminated' | 'bad-request';
  };

export interface DialogOptions {
  /**
   * The secure flag. By default it is true when the dialog-creating request had a SIPS Request-URI: §12.1.1 also
   * asks for TLS on the hop, which only the caller knows, so a caller that did not use TLS passes `false`.
   */
  secure?: boolean;
  /** Our Contact when the message that created the dialog has none (the request on the UAC side, our response on the UAS side). */
  localContact?: NameAddr;
  /** Local CSeq of the first request a UAS sends inside the dialog (§8.1.1.5 only asks for a value below 2^31). Default 1. */
  initialLocalCseq?: number;
}

export interface InDialogRequestOptions {
  body?: Uint8Array | string;
  /** Content-Type of the body; required with a non-empty body unless `headers` sets one. */
  contentType?: string;
  /**
   * Extra headers. Each replaces any header of the same name the dialog would add (Max-Forwards, Contact); the
   * headers that identify the dialog or route the request (Call-ID, CSeq, From, To, Route, Via) are refused.
   */
  headers?: Readonly<Record<string, string | number | readonly string[]>>;
}

const TRANSITIONS: { readonly [S in DialogState]: readonly DialogState[] } = {
  early: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  terminated: [],
};

/**
 * Requests whose Contact replaces the remote target: re-INVITE and UPDATE (RFC 3261 §12.2, RFC 3311 §5.2),
 * SUBSCRIBE and NOTIFY (RFC 6665 §4.1.2.1, §4.2.2).
 */
export const TARGET_REFRESH_METHODS: ReadonlySet<string> = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY']);

/** Headers owned by the dialog (or, for Via, by the transport) that `headers` may not override. */
const RESERVED_HEADERS = new Set(['call-id', 'cseq', 'from', 'to', 'route', 'via']);

const MAX_CSEQ = 4294967295;

interface DialogInit {
  role: DialogRole;
  state: DialogState;
  id: DialogId;
  local: NameAddr;
  remote: NameAddr;
  remoteTarget: Uri;
  routeSet: NameAddr[];
  secure: boolean;
  localCseq: number | undefined;
  remoteCseq: number | undefined;
  localContact: NameAddr | undefined;
  creating: CSeq;
  initialLocalCseq: number;
}

export class Dialog extends TypedEmitter<DialogEvents> {
  readonly id: DialogId;
  readonly role: DialogRole;
  readonly secure: boolean;
  private current: DialogState;
  private readonly local: NameAddr;
  private readonly remote: NameAddr;
  private target: Uri;
  private routes: NameAddr[];
  private localSeq: number | undefined;
  private remoteSeq: number | undefined;
  private contact: NameAddr | undefined;
  /** CSeq of the dialog-creating request: responses to it drive early → confirmed / terminated. */
  private readonly creating: CSeq;
  private readonly initialLocalCseq: number;

  private constructor(init: DialogInit) {
    super();
    this.role = init.role;
    this.current = init.state;
    this.id = init.id;
    this.local = init.local;
    this.remote = init.remote;
    this.target = init.remoteTarget;
    this.routes = init.routeSet;
    this.secure = init.secure;
    this.localSeq = init.localCseq;
    this.remoteSeq = init.remoteCseq;
    this.contact = init.localContact;
    this.creating = init.creating;
    this.initialLocalCseq = init.initialLocalCseq;
  }

  /**
   * The dialog a UAC holds after sending `request` and receiving `response`: a 1xx with a To tag (early) or a
   * 2xx (confirmed) (§12.1.2). Each forked 2xx or tagged 1xx with a different To tag is a dialog of its own.
   */
  static fromUac(request: SipRequest, response: SipResponse, options: DialogOptions = {}): Dialog {
    const { callId, cseq, localTag, remoteTag } = checkPair(request, response, 'uac');
    const contact = firstContact(response);
    // A 2xx without Contact leaves nowhere to send the ACK and BYE; a 1xx may omit it and the 2xx will bring it.
    if (contact === undefined && response.status >= 200) throw new SipError('dialog', `${response.status} creating a dialog has no Contact`);
    return new Dialog({
      role: 'uac',
      state: response.status < 200 ? 'early' : 'confirmed',
      id: { callId, localTag, remoteTag },
      local: bare(request.from!),
      remote: bare(request.to!),
      remoteTarget: contact?.uri ?? request.uri,
      // §12.1.2: Record-Route lists the proxies from the UAS towards us; we send the other way.
      routeSet: response.parsedAll('record-route').reverse(),
      secure: options.secure ?? request.uri.scheme === 'sips',
      localCseq: cseq.seq,
      remoteCseq: undefined,
      localContact: firstContact(request) ?? options.localContact,
      creating: cseq,
      initialLocalCseq: cseq.seq,
    });
  }

  /**
   * The dialog a UAS holds after receiving `request` and sending `response` with its To tag: early for a 1xx,
   * confirmed for a 2xx (§12.1.1). Later responses to the same request go through `responseSent`.
   */
  static fromUas(request: SipRequest, response: SipResponse, options: DialogOptions = {}): Dialog {
    const { callId, cseq, localTag, remoteTag } = checkPair(request, response, 'uas');
    const contact = firstContact(request);
    if (contact === undefined) {
      throw new SipError('dialog', `${request.method} creating a dialog has no Contact`, { status: 400 });
    }
    const initialLocalCseq = options.initialLocalCseq ?? 1;
    if (!Number.isInteger(initialLocalCseq) || initialLocalCseq < 0 || initialLocalCseq >= 2 ** 31) {
      throw new SipError('invalid-argument', `initialLocalCseq must be an integer below 2^31, not ${initialLocalCseq}`);
    }
    return new Dialog({
      role: 'uas',
      state: response.status < 200 ? 'early' : 'confirmed',
      id: { callId, localTag, remoteTag },
      local: bare(request.to!),
      remote: bare(request.from!),
      remoteTarget: contact.uri,
      routeSet: request.parsedAll('record-route'),
      secure: options.secure ?? request.uri.scheme === 'sips',
      localCseq: undefined,
      remoteCseq: cseq.seq,
      localContact: firstContact(response) ?? options.localContact,
      creating: cseq,
      initialLocalCseq,
    });
  }

  get state(): DialogState { return this.current; }
  get localUri(): Uri { return this.local.uri; }
  get remoteUri(): Uri { return this.remote.uri; }
  get remoteTarget(): Uri { return this.target; }
  /** In the order Route headers are written on the requests we send. */
  get routeSet(): readonly NameAddr[] { return this.routes.slice(); }
  /** `undefined` until we send a request (UAS side). */
  get localCseq(): number | undefined { return this.localSeq; }
  /** `undefined` until the peer sends a request (UAC side). */
  get remoteCseq(): number | undefined { return this.remoteSeq; }
  get localContact(): NameAddr | undefined { return this.contact; }

  /** Whether an incoming request belongs to this dialog: our tag in To, the peer's in From (§12.2.2). */
  matchesRequest(request: SipRequest): boolean {
    return request.callId === this.id.callId && request.toTag === this.id.localTag && (request.fromTag ?? '') === this.id.remoteTag;
  }

  /** Whether a response to one of our requests belongs to this dialog: our tag in From, the peer's in To. */
  matchesResponse(response: SipResponse): boolean {
    return response.callId === this.id.callId && response.fromTag === this.id.localTag && (response.toTag ?? '') === this.id.remoteTag;
  }

  /**
   * A new request inside the dialog (§12.2.1.1), with the next local CSeq. It has no Via: the transport adds it.
   * Not for ACK (`createAck`) nor CANCEL, which copies the request it cancels (§9.1).
   */
  createRequest(method: string, options: InDialogRequestOptions = {}): SipRequest {
    if (!isToken(method)) throw new SipError('invalid-argument', `invalid method ${JSON.stringify(method)}`);
    if (method === 'ACK') throw new SipError('invalid-argument', 'an ACK for a 2xx is built by createAck');
    if (method === 'CANCEL') throw new SipError('invalid-argument', 'a CANCEL is built from the request it cancels, not from the dialog');
    this.requireState(['early', 'confirmed'], `send ${method}`);
    // §15: the callee ends an early dialog with a final response to the INVITE, never with BYE.
    if (method === 'BYE' && this.role === 'uas' && this.current === 'early') {
      throw new SipError('invalid-state', 'a UAS cannot send BYE on an early dialog: reject the INVITE instead');
    }
    const seq = this.localSeq === undefined ? this.initialLocalCseq : this.localSeq + 1;
    if (seq > MAX_CSEQ) throw new SipError('invalid-state', 'local CSeq exhausted (2^32 - 1)');
    const request = this.build(method, seq, options);
    this.localSeq = seq;
    return request;
  }

  /**
   * The ACK for a 2xx to `invite` (§13.2.2.4): built like any in-dialog request, but with the INVITE's CSeq
   * number and credentials, and without taking a new CSeq. Keep it: every retransmission of the 2xx gets this
   * same ACK again, even once the dialog has ended.
   */
  createAck(invite: SipRequest, options: InDialogRequestOptions = {}): SipRequest {
    const cseq = invite.cseq;
    if (invite.method !== 'INVITE' || cseq === undefined) throw new SipError('invalid-argument', 'createAck needs the INVITE being acknowledged');
    if (invite.callId !== this.id.callId || invite.fromTag !== this.id.localTag) {
      throw new SipError('dialog', 'the INVITE does not belong to this dialog');
    }
    this.requireState(['confirmed'], 'acknowledge a 2xx (pass the 2xx to receiveResponse first)');
    const ack = this.build('ACK', cseq.seq, options);
    for (const name of ['Authorization', 'Proxy-Authorization']) {
      for (const value of invite.getAll(name)) ack.append(name, value);
    }
    return ack;
  }

  /**
   * Checks a request received inside the dialog (§12.2.2) and applies it: remote CSeq, target refresh, BYE.
   * A request that does not `matchesRequest` is a routing bug in the caller and throws `SipError('dialog')`.
   * ACK and CANCEL reuse the CSeq number of their INVITE, so they are accepted without the ordering check.
   */
  receiveRequest(request: SipRequest): DialogRequestVerdict {
    if (!this.matchesRequest(request)) throw new SipError('dialog', 'request does not belong to this dialog');
    const cseq = request.cseq;
    if (cseq === undefined) return { accept: false, status: 400, reason: 'Missing CSeq', cause: 'bad-request' };
    if (this.current === 'terminated') {
      return { accept: false, status: 481, reason: 'Call/Transaction Does Not Exist', cause: 'terminated' };
    }
    if (request.method === 'ACK' || request.method === 'CANCEL') return { accept: true };
    // A lower number is out of order and must get a 500 (§12.2.2). An equal number is a retransmission, which the
    // server transaction absorbs before it gets here.
    if (this.remoteSeq !== undefined && cseq.seq < this.remoteSeq) {
      return { accept: false, status: 500, reason: 'Server Internal Error', cause: 'out-of-order' };
    }
    this.remoteSeq = cseq.seq;
    if (request.method === 'BYE') this.transition('terminated', 'bye-received');
    else if (TARGET_REFRESH_METHODS.has(request.method)) this.refreshTarget(request);
    return { accept: true };
  }

  /**
   * Applies a response to a request we sent: the dialog-creating request (UAC side) or any request inside the
   * dialog. A response that does not `matchesResponse` throws `SipError('dialog')`.
   */
  receiveResponse(response: SipResponse): void {
    if (!this.matchesResponse(response)) throw new SipError('dialog', 'response does not belong to this dialog');
    const cseq = response.cseq;
    if (cseq === undefined) throw new SipError('dialog', 'response without CSeq');
    const status = response.status;
    if (this.current === 'terminated' || status === 100) return;
    if (this.role === 'uac' && cseq.seq === this.creating.seq && cseq.method === this.creating.method) {
      if (status >= 300) this.transition('terminated', 'rejected');
      else if (status >= 200) {
        // A 2xx retransmission on a confirmed dialog changes nothing: the route set is frozen from here on.
        if (this.current !== 'early') return;
        // §13.2.2.4: the 2xx, not the 1xx, fixes the route set of an early dialog.
        this.routes = response.parsedAll('record-route').reverse();
        this.refreshTarget(response);
        this.transition('confirmed', 'confirmed');
      } else if (this.current === 'early') this.refreshTarget(response); // RFC 6141 §3.1: a 1xx may refresh an early dialog's target.
      return;
    }
    if (status === 481 || status === 408) this.transition('terminated', 'gone');
    else if (cseq.method === 'BYE' && status >= 200 && status !== 401 && status !== 407) this.transition('terminated', 'bye-completed');
    else if (status >= 200 && status < 300 && TARGET_REFRESH_METHODS.has(cseq.method)) this.refreshTarget(response);
  }

  /**
   * Applies a response we sent (UAS side). Only responses to the dialog-creating request change anything: a 2xx
   * confirms the dialog, a non-2xx final ends it. Our Contact in them becomes the local contact.
   */
  responseSent(response: SipResponse): void {
    if (response.callId !== this.id.callId || response.toTag !== this.id.localTag || (response.fromTag ?? '') !== this.id.remoteTag) {
      throw new SipError('dialog', 'response does not belong to this dialog');
    }
    const cseq = response.cseq;
    if (this.role !== 'uas' || cseq === undefined || cseq.seq !== this.creating.seq || cseq.method !== this.creating.method) return;
    if (this.current === 'terminated' || response.status < 200) {
      this.contact = firstContact(response) ?? this.contact;
      return;
    }
    if (response.status >= 300) this.transition('terminated', 'rejected');
    else if (this.current === 'early') {
      this.contact = firstContact(response) ?? this.contact;
      this.transition('confirmed', 'confirmed');
    }
  }

  /** Ends the dialog locally (e.g. after giving up on it); a no-op when it has ended already. */
  terminate(): void {
    if (this.current !== 'terminated') this.transition('terminated', 'local');
  }

  /** The one place the state changes; anything not drawn in the diagram above throws. */
  private transition(to: DialogState, reason: DialogTransitionReason): void {
    const previous = this.current;
    if (!TRANSITIONS[previous].includes(to)) {
      throw new SipError('invalid-state', `dialog cannot go from ${previous} to ${to} (${reason})`);
    }
    this.current = to;
    this.emit('state', { state: to, previous, reason });
  }

  private requireState(allowed: readonly DialogState[], action: string): void {
    if (!allowed.includes(this.current)) throw new SipError('invalid-state', `cannot ${action}: dialog is ${this.current}`);
  }

  private refreshTarget(message: SipMessage): void {
    const contact = firstContact(message);
    if (contact === undefined || uriEquals(contact.uri, this.target)) return;
    const previous = this.target;
    this.target = contact.uri;
    this.emit('target-refresh', { target: contact.uri, previous });
  }

  /** §12.2.1.1: Request-URI and Route for loose or strict routing, then the dialog's identifying headers. */
  private build(method: string, seq: number, options: InDialogRequestOptions): SipRequest {
    const { uri, routes } = this.routing();
    const request = new SipRequest(method, uri);
    request.append('Max-Forwards', 70);
    if (routes.length > 0) request.append('Route', ...routes);
    request.append('From', { ...this.local, params: new Map([['tag', this.id.localTag]]) });
    const toParams = new Map<string, string | null>();
    if (this.id.remoteTag !== '') toParams.set('tag', this.id.remoteTag);
    request.append('To', { ...this.remote, params: toParams });
    request.append('Call-ID', this.id.callId);
    request.append('CSeq', { seq, method });
    if (this.contact !== undefined) request.append('Contact', this.contact);
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (RESERVED_HEADERS.has(name.toLowerCase())) throw new SipError('invalid-argument', `${name} is set by the dialog`);
      const values = typeof value === 'string' || typeof value === 'number' ? [value] : value;
      request.set(name, ...values);
    }
    if (options.body !== undefined) {
      if (options.body.length > 0 && options.contentType === undefined && !request.has('Content-Type')) {
        throw new SipError('invalid-argument', 'a body needs a content type');
      }
      request.setBody(options.body, options.contentType);
    }
    return request;
  }

  private routing(): { uri: Uri; routes: NameAddr[] } {
    const first = this.routes[0];
    if (first === undefined) return { uri: this.target, routes: [] };
    if (first.uri.type === 'sip' && first.uri.params.has('lr')) return { uri: this.target, routes: this.routes.slice() };
    // Strict routing (RFC 2543 proxies): the next hop goes in the Request-URI (less the method parameter and headers,
    // which SipRequest leaves out of any Request-URI) and the real target at the end.
    return {
      uri: first.uri,
      routes: [...this.routes.slice(1), { displayName: undefined, uri: this.target, params: new Map() }],
    };
  }
}

function bare(address: NameAddr): NameAddr {
  return { displayName: address.displayName, uri: address.uri, params: new Map() };
}

function firstContact(message: SipMessage): NameAddr | undefined {
  for (const contact of message.contacts) if (contact !== '*') return contact;
  return undefined;
}

/** Validates that `response` answers `request` and can create a dialog; returns what both sides agree on. */
function checkPair(request: SipRequest, response: SipResponse, role: DialogRole): { callId: string; cseq: CSeq; localTag: string; remoteTag: string } {
  const callId = request.callId;
  const cseq = request.cseq;
  const fromTag = request.fromTag;
  const toTag = response.toTag;
  if (callId === undefined || cseq === undefined || request.from === undefined || request.to === undefined) {
    throw new SipError('dialog', 'the dialog-creating request lacks Call-ID, CSeq, From or To', { status: 400 });
  }
  if (request.method === 'ACK' || request.method === 'CANCEL') throw new SipError('dialog', `${request.method} cannot create a dialog`);
  if (response.status <= 100 || response.status >= 300) {
    throw new SipError('dialog', `only 101-299 responses create dialogs, not ${response.status}`);
  }
  if (toTag === undefined) throw new SipError('dialog', `${response.status} without a To tag cannot create a dialog`);
  const responseCseq = response.cseq;
  if (response.callId !== callId || responseCseq?.seq !== cseq.seq || responseCseq.method !== cseq.method || (response.fromTag ?? '') !== (fromTag ?? '')) {
    throw new SipError('dialog', 'the response does not answer the request');
  }
  if (role === 'uac') {
    // Our own request must carry our tag: §8.1.1.3 makes it mandatory, and the dialog id depends on it.
    if (fromTag === undefined) throw new SipError('dialog', 'the request has no From tag');
    return { callId, cseq, localTag: fromTag, remoteTag: toTag };
  }
  if (request.toTag !== undefined) throw new SipError('dialog', 'a request with a To tag is already inside a dialog');
  return { callId, cseq, localTag: toTag, remoteTag: fromTag ?? '' };
}
