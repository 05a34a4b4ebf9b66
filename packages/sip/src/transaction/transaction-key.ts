/**
 * Transaction matching (RFC 3261 §17.1.3, §17.2.3, §9.2) expressed as string keys, so that finding the
 * transaction of an inbound message is one Map lookup.
 *
 * Two messages belong to the same transaction exactly when their keys are equal, with one exception that a key
 * cannot express: under the RFC 2543 rules an ACK carries the To tag of the *response* it acknowledges, not the
 * To tag of the INVITE, so INVITE-family keys leave the To tag out and `legacyToTagMatches` checks it once the
 * candidate transaction is known.
 */
import { BRANCH_MAGIC_COOKIE } from '../clock.js';
import type { Via } from '../message/header-values.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import { unescapeUriPart, type Uri, type UriParams } from '../message/uri.js';

/**
 * True when the branch is an RFC 3261 transaction id. A branch that is only the magic cookie (RFC 4475 §3.2.1)
 * claims RFC 3261 but identifies nothing, so it gets the RFC 2543 treatment like a branch without the cookie.
 */
export function isRfc3261Branch(branch: string | null | undefined): branch is string {
  return typeof branch === 'string' && branch.length > BRANCH_MAGIC_COOKIE.length && branch.startsWith(BRANCH_MAGIC_COOKIE);
}

/** The branch of the top Via, if it has a value. */
export function topBranch(message: SipRequest | SipResponse): string | undefined {
  return message.via?.params.get('branch') ?? undefined;
}

/**
 * Key of the client transaction a message belongs to (§17.1.3): top-Via branch and CSeq method. For an outgoing
 * request pass the request; for an inbound response, the response. Undefined when there is nothing to match on.
 */
export function clientTransactionKey(message: SipRequest | SipResponse): string | undefined {
  const branch = topBranch(message);
  const method = message.cseq?.method;
  if (branch === undefined || method === undefined) return undefined;
  // Our own requests always carry RFC 3261 branches, so a response without one cannot be ours.
  if (!isRfc3261Branch(branch)) return undefined;
  return `c|${branch}|${method}`;
}

/**
 * Whether a response's top Via names the sent-by our request carried (§18.1.2: a response whose sent-by is not one
 * the client transport inserts is discarded, whatever its branch). Hosts compare without case (§20.42); a port left
 * out is the transport's default, as §18.2.2 reads it.
 */
export function sentByMatches(ours: Via, theirs: Via): boolean {
  return ours.host.toLowerCase() === theirs.host.toLowerCase() && portOrDefault(ours) === portOrDefault(theirs);
}

function portOrDefault(via: Via): number {
  return via.port ?? (via.transport.toUpperCase() === 'TLS' ? 5061 : 5060);
}

/**
 * Key of the server transaction an inbound request belongs to (§17.2.3). An ACK gets the key of the INVITE it
 * acknowledges. Undefined when the request lacks a header the rules need (the TU should never see it).
 */
export function serverTransactionKey(request: SipRequest): string | undefined {
  return serverKeyAs(request, request.method === 'ACK' ? 'INVITE' : request.method);
}

/**
 * Key of the INVITE server transaction a CANCEL cancels (§9.2: match as if the CANCEL had the method of the
 * request it cancels). Only INVITE is tried: CANCEL has no effect on a non-INVITE request (§9.2), so there is
 * nothing to find for one.
 */
export function cancelTargetKey(cancel: SipRequest): string | undefined {
  return serverKeyAs(cancel, 'INVITE');
}

/** Whether a server key was built with the RFC 2543 fallback (and so needs `legacyToTagMatches`). */
export function isLegacyKey(key: string): boolean {
  return key.startsWith('s2543|');
}

/**
 * The To-tag part of RFC 2543 matching that the key leaves out for INVITE, ACK and CANCEL: an ACK must carry the
 * To tag of the response the transaction sent; an INVITE retransmission or a CANCEL, the To tag of the INVITE.
 */
export function legacyToTagMatches(incoming: SipRequest, original: SipRequest, lastResponse: SipResponse | undefined): boolean {
  if (incoming.method === 'ACK') return lastResponse !== undefined && incoming.toTag === lastResponse.toTag;
  return incoming.toTag === original.toTag;
}

function serverKeyAs(request: SipRequest, method: string): string | undefined {
  const via = request.via;
  if (via === undefined || request.cseq === undefined) return undefined;
  const branch = via.params.get('branch');
  if (isRfc3261Branch(branch)) {
    return `s|${branch}|${sentBy(via)}|${method}`;
  }
  const callId = request.callId;
  const from = request.from;
  const to = request.to;
  if (callId === undefined || from === undefined || to === undefined) return undefined;
  // INVITE-family keys leave the To tag to legacyToTagMatches (see the module comment).
  const toTag = method === 'INVITE' ? '' : (request.toTag ?? '');
  return [
    's2543',
    canonicalUri(request.uri),
    toTag,
    request.fromTag ?? '',
    callId,
    String(request.cseq.seq),
    method,
    canonicalVia(via),
  ].join('|');
}

/** sent-by compared as written but for host case (§20.42: hosts are case-insensitive). */
function sentBy(via: Via): string {
  return `${via.host.toLowerCase()}:${via.port ?? ''}`;
}

function canonicalVia(via: Via): string {
  return `${via.protocol.toUpperCase()}/${via.transport} ${sentBy(via)}${canonicalParams(via.params)}`;
}

function canonicalParams(params: UriParams): string {
  const parts: string[] = [];
  for (const [name, value] of params) parts.push(value === null ? name : `${name}=${unescapeUriPart(value).toLowerCase()}`);
  return parts.sort().map((part) => ';' + part).join('');
}

/**
 * A spelling of a URI under which URIs that RFC 3261 §19.1.4 calls equal (escapes, host and parameter case,
 * parameter order) coincide. Stricter than §19.1.4 in one respect: a parameter present on only one side makes
 * the URIs differ here. For the retransmissions this keys, which repeat the URI verbatim, that never matters.
 */
export function canonicalUri(uri: Uri): string {
  switch (uri.type) {
    case 'sip': {
      let out = uri.scheme + ':';
      if (uri.user !== undefined) {
        out += unescapeUriPart(uri.user);
        if (uri.password !== undefined) out += ':' + unescapeUriPart(uri.password);
        out += '@';
      }
      out += uri.host.toLowerCase();
      if (uri.port !== undefined) out += ':' + uri.port;
      out += canonicalParams(uri.params);
      const headers = [...uri.headers].map(([name, value]) => `${name.toLowerCase()}=${unescapeUriPart(value)}`).sort();
      if (headers.length > 0) out += '?' + headers.join('&');
      return out;
    }
    case 'tel':
      return 'tel:' + uri.number.replace(/[-.()]/g, '').toLowerCase() + canonicalParams(uri.params);
    case 'absolute':
      return uri.scheme + ':' + uri.opaque;
  }
}
