/**
 * Dialog identifiers (RFC 3261 §12): Call-ID plus the two tags, seen from our side. The same dialog has mirrored
 * identifiers at its two ends, so which header holds the local tag depends on the direction of the message.
 */
import type { SipRequest, SipResponse } from '../message/sip-message.js';

export interface DialogId {
  readonly callId: string;
  readonly localTag: string;
  /** `''` when the peer sent no From tag (an RFC 2543 UAC; RFC 3261 §12.1.1 calls this a null tag). */
  readonly remoteTag: string;
}

/**
 * A string form for map keys. Call-IDs and tags are compared byte for byte (RFC 3261 §8.1.1.4), and none of them
 * may contain a newline, which makes it a safe separator.
 */
export function dialogKey(id: DialogId): string {
  return `${id.callId}\n${id.localTag}\n${id.remoteTag}`;
}

export function dialogIdEquals(a: DialogId, b: DialogId): boolean {
  return a.callId === b.callId && a.localTag === b.localTag && a.remoteTag === b.remoteTag;
}

/**
 * The dialog an incoming request belongs to, from the receiver's side: our tag is in To, the peer's in From.
 * `undefined` when the request carries no To tag, i.e. is not inside a dialog (§12.2.2) or lacks a Call-ID.
 */
export function dialogIdOfIncomingRequest(request: SipRequest): DialogId | undefined {
  const callId = request.callId;
  const localTag = request.toTag;
  if (callId === undefined || localTag === undefined) return undefined;
  return { callId, localTag, remoteTag: request.fromTag ?? '' };
}

/** The dialog an incoming response belongs to, from the sender of the request: our tag is in From, the peer's in To. */
export function dialogIdOfIncomingResponse(response: SipResponse): DialogId | undefined {
  const callId = response.callId;
  const localTag = response.fromTag;
  const remoteTag = response.toTag;
  if (callId === undefined || localTag === undefined || remoteTag === undefined) return undefined;
  return { callId, localTag, remoteTag };
}
