import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipError } from '../errors.js';
import { formatNameAddr } from '../message/header-values.js';
import { parseMessage } from '../message/parse-message.js';
import { SipRequest, type SipResponse } from '../message/sip-message.js';
import { formatUri } from '../message/uri.js';
import { Dialog, type DialogEvents } from './dialog.js';
import { dialogIdEquals, dialogIdOfIncomingRequest, dialogIdOfIncomingResponse, dialogKey } from './dialog-id.js';

const CALL_ID = 'a84b4c76e66710@pc33.atlanta.example.com';
const ALICE_TAG = '1928301774';
const BOB_TAG = 'a6c85cf';

function text(lines: string[]): string {
  return lines.join('\r\n') + '\r\n\r\n';
}

function request(raw: string): SipRequest {
  const message = parseMessage(raw);
  assert.ok(message instanceof SipRequest);
  return message;
}

/** Alice's INVITE as she sent it (no Record-Route yet). */
function aliceInvite(extra: string[] = []): SipRequest {
  return request(text([
    'INVITE sip:bob@biloxi.example.com SIP/2.0',
    'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
    'Max-Forwards: 70',
    'To: Bob <sip:bob@biloxi.example.com>',
    `From: Alice <sip:alice@atlanta.example.com>;tag=${ALICE_TAG}`,
    `Call-ID: ${CALL_ID}`,
    'CSeq: 314159 INVITE',
    'Contact: <sip:alice@pc33.atlanta.example.com>',
    ...extra,
    'Content-Length: 0',
  ]));
}

/**
 * The same INVITE as Bob receives it, after P1 then P2 record-routed: each proxy pushes its Record-Route on top,
 * so the one nearest Bob comes first.
 */
function bobReceivedInvite(recordRoutes = ['<sip:p2.biloxi.example.com;lr>', '<sip:p1.atlanta.example.com;lr>']): SipRequest {
  const invite = aliceInvite();
  invite.prepend('Via', 'SIP/2.0/UDP p2.biloxi.example.com;branch=z9hG4bKp2', 'SIP/2.0/UDP p1.atlanta.example.com;branch=z9hG4bKp1');
  invite.set('Max-Forwards', 68);
  if (recordRoutes.length > 0) invite.append('Record-Route', ...recordRoutes);
  return invite;
}

function bobResponse(invite: SipRequest, status: number, tag = BOB_TAG, contact = '<sip:bob@192.0.2.4>'): SipResponse {
  const response = invite.createResponse(status, undefined, { toTag: tag });
  if (contact !== '') response.append('Contact', contact);
  return response;
}

/** A request Bob sends to Alice inside the dialog, as Alice receives it. */
function fromBob(method: string, seq: number, extra: string[] = []): SipRequest {
  return request(text([
    `${method} sip:alice@pc33.atlanta.example.com SIP/2.0`,
    'Via: SIP/2.0/UDP p1.atlanta.example.com;branch=z9hG4bKbob1',
    'Max-Forwards: 69',
    `From: Bob <sip:bob@biloxi.example.com>;tag=${BOB_TAG}`,
    `To: Alice <sip:alice@atlanta.example.com>;tag=${ALICE_TAG}`,
    `Call-ID: ${CALL_ID}`,
    `CSeq: ${seq} ${method}`,
    ...extra,
    'Content-Length: 0',
  ]));
}

/** A request Alice sends to Bob inside the dialog, as Bob receives it. */
function fromAlice(method: string, seq: number, extra: string[] = []): SipRequest {
  return request(text([
    `${method} sip:bob@192.0.2.4 SIP/2.0`,
    'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKalice2',
    'Max-Forwards: 69',
    `From: Alice <sip:alice@atlanta.example.com>;tag=${ALICE_TAG}`,
    `To: Bob <sip:bob@biloxi.example.com>;tag=${BOB_TAG}`,
    `Call-ID: ${CALL_ID}`,
    `CSeq: ${seq} ${method}`,
    ...extra,
    'Content-Length: 0',
  ]));
}

/** A response Alice receives to a request she built in the dialog. */
function answer(sent: SipRequest, status: number, extra: string[] = []): SipResponse {
  const parsed = request(sent.toString());
  parsed.prepend('Via', 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKx');
  const response = parsed.createResponse(status);
  for (const line of extra) {
    const colon = line.indexOf(':');
    response.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return response;
}

function routes(r: SipRequest): string[] {
  return r.parsedAll('route').map(formatNameAddr);
}

function record(dialog: Dialog): DialogEvents['state'][] {
  const seen: DialogEvents['state'][] = [];
  dialog.on('state', (event) => seen.push(event));
  return seen;
}

function isSipError(code: SipError['code']): (error: unknown) => boolean {
  return (error) => error instanceof SipError && error.code === code;
}

describe('Dialog creation', () => {
  test('UAC: a 180 with a To tag creates an early dialog; the route set is the Record-Route reversed', () => {
    const invite = aliceInvite();
    const dialog = Dialog.fromUac(invite, bobResponse(bobReceivedInvite(), 180));
    assert.equal(dialog.state, 'early');
    assert.equal(dialog.role, 'uac');
    assert.deepEqual(dialog.id, { callId: CALL_ID, localTag: ALICE_TAG, remoteTag: BOB_TAG });
    assert.deepEqual(dialog.routeSet.map(formatNameAddr), ['<sip:p1.atlanta.example.com;lr>', '<sip:p2.biloxi.example.com;lr>']);
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@192.0.2.4');
    assert.equal(formatUri(dialog.localUri), 'sip:alice@atlanta.example.com');
    assert.equal(formatUri(dialog.remoteUri), 'sip:bob@biloxi.example.com');
    assert.equal(dialog.localCseq, 314159);
    assert.equal(dialog.remoteCseq, undefined);
    assert.equal(dialog.secure, false);
    assert.equal(dialog.localContact && formatNameAddr(dialog.localContact), '<sip:alice@pc33.atlanta.example.com>');
  });

  test('UAS: the route set keeps the Record-Route order; remote target and CSeq come from the request', () => {
    const invite = bobReceivedInvite();
    const dialog = Dialog.fromUas(invite, bobResponse(invite, 180));
    assert.equal(dialog.state, 'early');
    assert.equal(dialog.role, 'uas');
    assert.deepEqual(dialog.id, { callId: CALL_ID, localTag: BOB_TAG, remoteTag: ALICE_TAG });
    assert.deepEqual(dialog.routeSet.map(formatNameAddr), ['<sip:p2.biloxi.example.com;lr>', '<sip:p1.atlanta.example.com;lr>']);
    assert.equal(formatUri(dialog.remoteTarget), 'sip:alice@pc33.atlanta.example.com');
    assert.equal(dialog.remoteCseq, 314159);
    assert.equal(dialog.localCseq, undefined);
    assert.equal(formatUri(dialog.localUri), 'sip:bob@biloxi.example.com');
  });

  test('a 2xx creates a confirmed dialog directly', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 200));
    assert.equal(dialog.state, 'confirmed');
  });

  test('a SIPS Request-URI sets the secure flag unless the caller says otherwise', () => {
    const invite = aliceInvite();
    invite.uri = { ...(invite.uri as Extract<typeof invite.uri, { type: 'sip' }>), scheme: 'sips' };
    const response = bobResponse(bobReceivedInvite(), 200);
    assert.equal(Dialog.fromUac(invite, response).secure, true);
    assert.equal(Dialog.fromUac(invite, response, { secure: false }).secure, false);
  });

  test('responses that cannot create a dialog are refused', () => {
    const invite = aliceInvite();
    const received = bobReceivedInvite();
    assert.throws(() => Dialog.fromUac(invite, received.createResponse(100)), isSipError('dialog'));
    assert.throws(() => Dialog.fromUac(invite, received.createResponse(180)), isSipError('dialog'), 'no To tag');
    assert.throws(() => Dialog.fromUac(invite, bobResponse(received, 486)), isSipError('dialog'));
    assert.throws(() => Dialog.fromUac(invite, bobResponse(received, 200, BOB_TAG, '')), isSipError('dialog'), '2xx without Contact');
    const other = aliceInvite();
    other.set('CSeq', '1 INVITE');
    assert.throws(() => Dialog.fromUac(other, bobResponse(received, 200)), isSipError('dialog'), 'CSeq mismatch');
    const noContact = aliceInvite();
    noContact.remove('Contact');
    assert.throws(() => Dialog.fromUas(noContact, bobResponse(noContact, 200)), (e) => isSipError('dialog')(e) && (e as SipError).status === 400);
  });

  test('a 1xx without Contact still creates an early dialog, targeting the Request-URI until the 2xx', () => {
    const invite = aliceInvite();
    const dialog = Dialog.fromUac(invite, bobResponse(bobReceivedInvite(), 183, BOB_TAG, ''));
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@biloxi.example.com');
    dialog.receiveResponse(bobResponse(bobReceivedInvite(), 200));
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@192.0.2.4');
  });
});

describe('Dialog state', () => {
  test('UAC early → confirmed on the 2xx, which also fixes the route set', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 180));
    const seen = record(dialog);
    const ok = bobResponse(bobReceivedInvite(['<sip:p3.biloxi.example.com;lr>']), 200, BOB_TAG, '<sip:bob@192.0.2.99>');
    dialog.receiveResponse(ok);
    assert.equal(dialog.state, 'confirmed');
    assert.deepEqual(seen, [{ state: 'confirmed', previous: 'early', reason: 'confirmed' }]);
    assert.deepEqual(dialog.routeSet.map(formatNameAddr), ['<sip:p3.biloxi.example.com;lr>']);
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@192.0.2.99');
    // A retransmitted 2xx changes nothing.
    dialog.receiveResponse(bobResponse(bobReceivedInvite(), 200));
    assert.equal(seen.length, 1);
    assert.deepEqual(dialog.routeSet.map(formatNameAddr), ['<sip:p3.biloxi.example.com;lr>']);
  });

  test('UAC early → terminated when the INVITE fails', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 180));
    const seen = record(dialog);
    dialog.receiveResponse(bobResponse(bobReceivedInvite(), 486));
    assert.equal(dialog.state, 'terminated');
    assert.deepEqual(seen, [{ state: 'terminated', previous: 'early', reason: 'rejected' }]);
    assert.throws(() => dialog.createRequest('BYE'), isSipError('invalid-state'));
  });

  test('UAS early → confirmed when we send the 2xx, or → terminated on a final failure', () => {
    const invite = bobReceivedInvite();
    const confirmed = Dialog.fromUas(invite, bobResponse(invite, 180, BOB_TAG, ''));
    assert.equal(confirmed.localContact, undefined);
    confirmed.responseSent(bobResponse(invite, 200));
    assert.equal(confirmed.state, 'confirmed');
    assert.equal(confirmed.localContact && formatNameAddr(confirmed.localContact), '<sip:bob@192.0.2.4>');

    const rejected = Dialog.fromUas(invite, bobResponse(invite, 180));
    rejected.responseSent(bobResponse(invite, 487));
    assert.equal(rejected.state, 'terminated');
    assert.throws(() => rejected.responseSent(bobResponse(invite, 180, 'other-tag')), isSipError('dialog'));
  });

  test('forked 1xx responses with different To tags are different dialogs', () => {
    const invite = aliceInvite();
    const first = Dialog.fromUac(invite, bobResponse(bobReceivedInvite(), 180, 'fork1'));
    const second = Dialog.fromUac(invite, bobResponse(bobReceivedInvite(), 180, 'fork2'));
    const ok = bobResponse(bobReceivedInvite(), 200, 'fork2');
    assert.equal(first.matchesResponse(ok), false);
    assert.equal(second.matchesResponse(ok), true);
    assert.throws(() => first.receiveResponse(ok), isSipError('dialog'));
    second.receiveResponse(ok);
    first.terminate();
    assert.equal(second.state, 'confirmed');
    assert.equal(first.state, 'terminated');
    assert.notEqual(dialogKey(first.id), dialogKey(second.id));
  });

  test('BYE received terminates; later requests get 481', () => {
    const invite = bobReceivedInvite();
    const dialog = Dialog.fromUas(invite, bobResponse(invite, 200));
    const seen = record(dialog);
    assert.deepEqual(dialog.receiveRequest(fromAlice('BYE', 314160)), { accept: true });
    assert.equal(dialog.state, 'terminated');
    assert.deepEqual(seen, [{ state: 'terminated', previous: 'confirmed', reason: 'bye-received' }]);
    const verdict = dialog.receiveRequest(fromAlice('INFO', 314161));
    assert.equal(verdict.accept, false);
    assert.equal(!verdict.accept && verdict.status, 481);
  });

  test('our BYE ends the dialog on its final response, but not on an auth challenge', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 200));
    const bye = dialog.createRequest('BYE');
    dialog.receiveResponse(answer(bye, 407));
    assert.equal(dialog.state, 'confirmed');
    const retry = dialog.createRequest('BYE', { headers: { 'Proxy-Authorization': 'Digest username="alice"' } });
    dialog.receiveResponse(answer(retry, 200));
    assert.equal(dialog.state, 'terminated');
  });

  test('481 or 408 to an in-dialog request terminates it (§12.2.1.2)', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 200));
    const seen = record(dialog);
    dialog.receiveResponse(answer(dialog.createRequest('INFO'), 481));
    assert.deepEqual(seen, [{ state: 'terminated', previous: 'confirmed', reason: 'gone' }]);
  });

  test('a UAS may not BYE an early dialog (§15), a UAC may', () => {
    const invite = bobReceivedInvite();
    const uas = Dialog.fromUas(invite, bobResponse(invite, 180));
    assert.throws(() => uas.createRequest('BYE'), isSipError('invalid-state'));
    assert.equal(uas.createRequest('UPDATE').cseq?.seq, 1);
    const uac = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 180));
    assert.equal(uac.createRequest('BYE').method, 'BYE');
  });

  test('terminate() is idempotent', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 200));
    const seen = record(dialog);
    dialog.terminate();
    dialog.terminate();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.reason, 'local');
  });
});

describe('Requests inside a dialog', () => {
  test('loose routing: Request-URI is the remote target, Route is the route set; headers per §12.2.1.1', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 200));
    const bye = dialog.createRequest('BYE');
    assert.equal(bye.method, 'BYE');
    assert.equal(formatUri(bye.uri), 'sip:bob@192.0.2.4');
    assert.deepEqual(routes(bye), ['<sip:p1.atlanta.example.com;lr>', '<sip:p2.biloxi.example.com;lr>']);
    assert.equal(bye.get('From'), `Alice <sip:alice@atlanta.example.com>;tag=${ALICE_TAG}`);
    assert.equal(bye.get('To'), `Bob <sip:bob@biloxi.example.com>;tag=${BOB_TAG}`);
    assert.equal(bye.callId, CALL_ID);
    assert.deepEqual(bye.cseq, { seq: 314160, method: 'BYE' });
    assert.equal(bye.maxForwards, 70);
    assert.equal(bye.get('Contact'), '<sip:alice@pc33.atlanta.example.com>');
    assert.equal(bye.has('Via'), false);
    // What we build parses back to the same thing.
    const reparsed = request(bye.toString());
    assert.equal(reparsed.toString(), bye.toString());
  });

  test('UAS side: route set in Record-Route order, first local CSeq is 1 unless chosen', () => {
    const invite = bobReceivedInvite();
    const dialog = Dialog.fromUas(invite, bobResponse(invite, 200));
    const bye = dialog.createRequest('BYE');
    assert.equal(formatUri(bye.uri), 'sip:alice@pc33.atlanta.example.com');
    assert.deepEqual(routes(bye), ['<sip:p2.biloxi.example.com;lr>', '<sip:p1.atlanta.example.com;lr>']);
    assert.equal(bye.get('From'), `Bob <sip:bob@biloxi.example.com>;tag=${BOB_TAG}`);
    assert.equal(bye.get('To'), `Alice <sip:alice@atlanta.example.com>;tag=${ALICE_TAG}`);
    assert.deepEqual(bye.cseq, { seq: 1, method: 'BYE' });
    const chosen = Dialog.fromUas(invite, bobResponse(invite, 200), { initialLocalCseq: 5000 });
    assert.equal(chosen.createRequest('INFO').cseq?.seq, 5000);
    assert.equal(chosen.createRequest('INFO').cseq?.seq, 5001);
    assert.throws(() => Dialog.fromUas(invite, bobResponse(invite, 200), { initialLocalCseq: 2 ** 31 }), isSipError('invalid-argument'));
  });

  test('no route set: Request-URI is the remote target and there is no Route', () => {
    const invite = bobReceivedInvite([]);
    const dialog = Dialog.fromUas(invite, bobResponse(invite, 200));
    const info = dialog.createRequest('INFO');
    assert.equal(formatUri(info.uri), 'sip:alice@pc33.atlanta.example.com');
    assert.equal(info.has('Route'), false);
  });

  test('strict routing: first route in the Request-URI (disallowed parameters stripped), remote target last', () => {
    // Reversed on the UAC side, the strict router p1 (no lr) comes first.
    const received = bobReceivedInvite(['<sip:p2.biloxi.example.com;lr>', '<sip:p1.atlanta.example.com;transport=tcp;method=INVITE>']);
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(received, 200));
    const bye = dialog.createRequest('BYE');
    assert.equal(formatUri(bye.uri), 'sip:p1.atlanta.example.com;transport=tcp');
    assert.deepEqual(routes(bye), ['<sip:p2.biloxi.example.com;lr>', '<sip:bob@192.0.2.4>']);
  });

  test('local CSeq increases by one per new request', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 200));
    const seqs = ['INFO', 'INVITE', 'UPDATE', 'BYE'].map((method) => dialog.createRequest(method).cseq?.seq);
    assert.deepEqual(seqs, [314160, 314161, 314162, 314163]);
    assert.equal(dialog.localCseq, 314163);
  });

  test('ACK for the 2xx: the INVITE CSeq number, method ACK, its credentials, no new CSeq', () => {
    const invite = aliceInvite(['Proxy-Authorization: Digest username="alice", realm="atlanta.example.com", nonce="abc", uri="sip:bob@biloxi.example.com", response="0123"']);
    const dialog = Dialog.fromUac(invite, bobResponse(bobReceivedInvite(), 200));
    const ack = dialog.createAck(invite, { body: 'v=0\r\n', contentType: 'application/sdp' });
    assert.equal(ack.method, 'ACK');
    assert.deepEqual(ack.cseq, { seq: 314159, method: 'ACK' });
    assert.equal(formatUri(ack.uri), 'sip:bob@192.0.2.4');
    assert.deepEqual(routes(ack), ['<sip:p1.atlanta.example.com;lr>', '<sip:p2.biloxi.example.com;lr>']);
    assert.equal(ack.toTag, BOB_TAG);
    assert.equal(ack.parsed('proxy-authorization')?.params.get('response'), '0123');
    assert.equal(ack.bodyText, 'v=0\r\n');
    assert.equal(ack.contentType?.mediaType, 'application/sdp');
    assert.equal(ack.has('Via'), false);
    assert.equal(dialog.localCseq, 314159);
    assert.equal(dialog.createRequest('BYE').cseq?.seq, 314160);
  });

  test('ACK is refused before the dialog is confirmed, and for a request that is not its INVITE', () => {
    const invite = aliceInvite();
    const early = Dialog.fromUac(invite, bobResponse(bobReceivedInvite(), 180));
    assert.throws(() => early.createAck(invite), isSipError('invalid-state'));
    const confirmed = Dialog.fromUac(invite, bobResponse(bobReceivedInvite(), 200));
    assert.throws(() => confirmed.createAck(confirmed.createRequest('INFO')), isSipError('invalid-argument'));
    const stranger = aliceInvite();
    stranger.set('Call-ID', 'other@example.com');
    assert.throws(() => confirmed.createAck(stranger), isSipError('dialog'));
  });

  test('body, content type and extra headers', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 200));
    const info = dialog.createRequest('INFO', {
      body: 'Signal=5\r\nDuration=160\r\n',
      contentType: 'application/dtmf-relay',
      headers: { 'Max-Forwards': 10, Supported: ['timer', '100rel'] },
    });
    assert.equal(info.maxForwards, 10);
    assert.deepEqual(info.getAll('Supported'), ['timer', '100rel']);
    assert.equal(info.contentType?.mediaType, 'application/dtmf-relay');
    assert.match(info.toString(), /Content-Length: 24\r\n/);
    assert.throws(() => dialog.createRequest('INFO', { headers: { 'call-id': 'x@y' } }), isSipError('invalid-argument'));
    assert.throws(() => dialog.createRequest('INFO', { body: 'x' }), isSipError('invalid-argument'));
    assert.throws(() => dialog.createRequest('ACK'), isSipError('invalid-argument'));
    assert.throws(() => dialog.createRequest('CANCEL'), isSipError('invalid-argument'));
    assert.throws(() => dialog.createRequest('BAD METHOD'), isSipError('invalid-argument'));
  });
});

describe('Requests received inside a dialog', () => {
  test('a lower CSeq is out of order (500) and leaves the remote CSeq alone', () => {
    const invite = bobReceivedInvite();
    const dialog = Dialog.fromUas(invite, bobResponse(invite, 200));
    assert.deepEqual(dialog.receiveRequest(fromAlice('INFO', 314161)), { accept: true });
    assert.equal(dialog.remoteCseq, 314161);
    const verdict = dialog.receiveRequest(fromAlice('INFO', 314160));
    assert.deepEqual(verdict, { accept: false, status: 500, reason: 'Server Internal Error', cause: 'out-of-order' });
    assert.equal(dialog.remoteCseq, 314161);
    assert.equal(dialog.state, 'confirmed');
  });

  test('ACK carries the INVITE CSeq and is not subject to ordering', () => {
    const invite = bobReceivedInvite();
    const dialog = Dialog.fromUas(invite, bobResponse(invite, 200));
    dialog.receiveRequest(fromAlice('INFO', 314160));
    assert.deepEqual(dialog.receiveRequest(fromAlice('ACK', 314159)), { accept: true });
    assert.equal(dialog.remoteCseq, 314160);
  });

  test('UAC side: the remote CSeq starts empty, so the first request from the peer is in order whatever its number', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 200));
    assert.deepEqual(dialog.receiveRequest(fromBob('INFO', 7)), { accept: true });
    assert.equal(dialog.remoteCseq, 7);
    assert.equal(dialog.receiveRequest(fromBob('INFO', 6)).accept, false);
  });

  test('target refresh: a re-INVITE or UPDATE Contact replaces the remote target', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 200));
    const refreshes: string[] = [];
    dialog.on('target-refresh', ({ target, previous }) => refreshes.push(`${formatUri(previous)} -> ${formatUri(target)}`));
    dialog.receiveRequest(fromBob('INVITE', 10, ['Contact: <sip:bob@198.51.100.7:5070;transport=tcp>']));
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@198.51.100.7:5070;transport=tcp');
    dialog.receiveRequest(fromBob('INFO', 11, ['Contact: <sip:bob@203.0.113.1>']));
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@198.51.100.7:5070;transport=tcp', 'INFO is not a target refresh');
    dialog.receiveRequest(fromBob('UPDATE', 12, ['Contact: <sip:bob@203.0.113.2>']));
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@203.0.113.2');
    assert.deepEqual(refreshes, [
      'sip:bob@192.0.2.4 -> sip:bob@198.51.100.7:5070;transport=tcp',
      'sip:bob@198.51.100.7:5070;transport=tcp -> sip:bob@203.0.113.2',
    ]);
    assert.equal(formatUri(dialog.createRequest('BYE').uri), 'sip:bob@203.0.113.2');
  });

  test('target refresh by the 2xx to our re-INVITE', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 200));
    const reinvite = dialog.createRequest('INVITE');
    dialog.receiveResponse(answer(reinvite, 200, ['Contact: <sip:bob@203.0.113.9>']));
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@203.0.113.9');
    assert.equal(dialog.state, 'confirmed');
  });

  test('a request of another dialog is a routing error', () => {
    const invite = bobReceivedInvite();
    const dialog = Dialog.fromUas(invite, bobResponse(invite, 200));
    const stray = fromAlice('INFO', 314160);
    stray.set('To', `Bob <sip:bob@biloxi.example.com>;tag=nottheone`);
    assert.throws(() => dialog.receiveRequest(stray), isSipError('dialog'));
  });
});

describe('Dialog matching', () => {
  test('requests match on Call-ID, To tag (ours) and From tag (theirs)', () => {
    const invite = bobReceivedInvite();
    const dialog = Dialog.fromUas(invite, bobResponse(invite, 200));
    assert.equal(dialog.matchesRequest(fromAlice('BYE', 314160)), true);
    const otherCall = fromAlice('BYE', 314160);
    otherCall.set('Call-ID', 'different@example.com');
    assert.equal(dialog.matchesRequest(otherCall), false);
    // Bob's own requests (tags the other way round) do not belong to his side of the dialog.
    assert.equal(dialog.matchesRequest(fromBob('BYE', 1)), false);
    // The dialog-creating request has no To tag: not inside the dialog.
    assert.equal(dialog.matchesRequest(invite), false);
  });

  test('responses match on Call-ID, From tag (ours) and To tag (theirs)', () => {
    const dialog = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 180));
    assert.equal(dialog.matchesResponse(bobResponse(bobReceivedInvite(), 200)), true);
    assert.equal(dialog.matchesResponse(bobResponse(bobReceivedInvite(), 200, 'someone-else')), false);
  });

  test('dialog ids from incoming messages line up with the dialog id', () => {
    const invite = bobReceivedInvite();
    const uas = Dialog.fromUas(invite, bobResponse(invite, 200));
    const fromRequest = dialogIdOfIncomingRequest(fromAlice('BYE', 314160));
    assert.ok(fromRequest);
    assert.ok(dialogIdEquals(fromRequest, uas.id));
    assert.equal(dialogKey(fromRequest), dialogKey(uas.id));
    assert.equal(dialogIdOfIncomingRequest(invite), undefined);

    const uac = Dialog.fromUac(aliceInvite(), bobResponse(bobReceivedInvite(), 200));
    const fromResponse = dialogIdOfIncomingResponse(bobResponse(bobReceivedInvite(), 200));
    assert.ok(fromResponse);
    assert.ok(dialogIdEquals(fromResponse, uac.id));
    assert.equal(dialogIdOfIncomingResponse(bobReceivedInvite().createResponse(100)), undefined);
  });

  test('an RFC 2543 peer without a From tag gets a dialog with an empty remote tag', () => {
    const invite = bobReceivedInvite();
    invite.set('From', 'Alice <sip:alice@atlanta.example.com>');
    const dialog = Dialog.fromUas(invite, bobResponse(invite, 200));
    assert.equal(dialog.id.remoteTag, '');
    const bye = dialog.createRequest('BYE');
    assert.equal(bye.get('To'), 'Alice <sip:alice@atlanta.example.com>');
    const incoming = fromAlice('BYE', 314160);
    incoming.set('From', 'Alice <sip:alice@atlanta.example.com>');
    assert.equal(dialog.matchesRequest(incoming), true);
  });
});
