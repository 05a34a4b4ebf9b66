// A small answering machine built on @switchboard/sip: it answers every INVITE with 180 and a 200 carrying SDP, keeps
// the dialog, and answers BYE inside it (481 outside). It is the "UAS built on the stack" that sipp's uac calls.
import { Dialog, dialogIdOfIncomingRequest, dialogKey, formatNameAddr, UserAgent, type IncomingRequest, type SipTransport } from '@switchboard/sip';

export const ANSWER_SDP = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 6000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', '',
].join('\r\n');

export interface AnsweringUas {
  readonly ua: UserAgent;
  /** Calls answered, and calls ended by a BYE. */
  readonly counts: { answered: number; ended: number; acked: number };
  close(): Promise<void>;
}

/**
 * The dialog of a request inside one, when the dialog exists and takes it (CSeq order); otherwise the request has
 * been answered (481, or the dialog's refusal) and the result is undefined.
 */
export function admitToDialog(dialogs: ReadonlyMap<string, Dialog>, incoming: IncomingRequest): Dialog | undefined {
  const id = dialogIdOfIncomingRequest(incoming.request);
  const dialog = id === undefined ? undefined : dialogs.get(dialogKey(id));
  if (dialog === undefined) {
    incoming.respond(481);
    return undefined;
  }
  const verdict = dialog.receiveRequest(incoming.request);
  if (!verdict.accept) {
    incoming.respond(verdict.status, { reason: verdict.reason });
    return undefined;
  }
  return dialog;
}

export function startAnsweringUas(transports: readonly SipTransport[]): AnsweringUas {
  const ua = new UserAgent({ transports, product: 'Switchboard-test-uas' });
  const dialogs = new Map<string, Dialog>();
  const counts = { answered: 0, ended: 0, acked: 0 };
  ua.on('ack', () => counts.acked++);
  ua.on('request', (incoming) => {
    const { request } = incoming;
    if (request.method === 'INVITE') {
      incoming.respond(180);
      const response = incoming.respond(200, {
        body: ANSWER_SDP,
        contentType: 'application/sdp',
        headers: [['Contact', formatNameAddr(ua.contact('uas', incoming.source.protocol))]],
      });
      const dialog = Dialog.fromUas(request, response);
      dialogs.set(dialogKey(dialog.id), dialog);
      counts.answered++;
      return;
    }
    const dialog = admitToDialog(dialogs, incoming);
    if (dialog === undefined) return;
    incoming.respond(200);
    if (request.method === 'BYE') {
      dialogs.delete(dialogKey(dialog.id));
      counts.ended++;
    }
  });
  return { ua, counts, close: () => ua.close() };
}

