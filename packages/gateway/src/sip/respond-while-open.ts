/**
 * How the call layers answer requests, most of all ones that may have been answered already: a caller can give up
 * (CANCEL, answered 487 by the user agent) while the B2BUA still asks the other leg, and a handler that failed may
 * have answered before it threw. A request whose final answer is out gets nothing more; a response that cannot be
 * sent is logged, not thrown, since what the answer was for goes on or ends through its own state either way.
 */
import type { Dialog, IncomingRequest, RespondOptions, SipResponse } from '@switchboard/sip';
import type { Logger } from 'pino';

/** Sends the response while the request still awaits its final one; undefined when it does not or sending failed. */
export function respondWhileOpen(incoming: IncomingRequest, status: number, options: RespondOptions | undefined, log: Logger, what: string): SipResponse | undefined {
  const state = incoming.transaction.state;
  if (state !== 'trying' && state !== 'proceeding') return undefined;
  try {
    return incoming.respond(status, options);
  } catch (error) {
    log.warn({ err: error, status }, `could not answer ${what}`);
    return undefined;
  }
}

/** A message's body as respond or request options: nothing for an empty body, else its bytes and media type. */
export function bodyOptions(message: { readonly bodyLength: number; readonly body: Uint8Array; readonly contentType?: { readonly mediaType: string } | undefined }): { body?: Uint8Array; contentType?: string } {
  return message.bodyLength > 0 ? { body: message.body, contentType: message.contentType?.mediaType ?? 'application/sdp' } : {};
}

/** A message's SDP: its body when it has one of type application/sdp. */
export function sdpOf(message: { readonly bodyLength: number; readonly bodyText: string; readonly contentType?: { readonly mediaType: string } | undefined }): string | undefined {
  return message.bodyLength > 0 && message.contentType?.mediaType === 'application/sdp' ? message.bodyText : undefined;
}

/**
 * Takes a request into the dialog it belongs to (its CSeq in order, RFC 3261 §12.2.2). When the dialog refuses it,
 * the request is answered with the dialog's reason and the answer is false.
 */
export function admitToDialog(dialog: Dialog, incoming: IncomingRequest): boolean {
  const verdict = dialog.receiveRequest(incoming.request);
  if (verdict.accept) return true;
  incoming.respond(verdict.status, { reason: verdict.reason });
  return false;
}
