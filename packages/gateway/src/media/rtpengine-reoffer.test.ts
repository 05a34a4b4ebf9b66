/**
 * The SIP side's re-offer within an answered call (a PBX moving its media): rtpengine takes the offer and is given
 * the browser's side, as it stands, for the answer; the browser is not asked.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { getCodecs, parseSdp } from '@switchboard/sip';
import type { BencodeDict } from './bencode.js';
import { isMediaError, type MediaErrorCode } from './media-error.js';
import { createMediaSession, type MediaSession } from './media-session.js';
import { RtpengineClient, type MediaLogger } from './rtpengine-client.js';
import { REOFFER_TO_BROWSER, TO_SIP } from './rtpengine-media-session.js';
import { FakeNgServer, type ReceivedCommand } from './test-support/fake-ng-server.js';
import { BROWSER_OFFER, crlf, PHONE_SDP } from './test-support/sdp-fixtures.js';

const silent = { debug() {}, info() {}, warn() {} } as unknown as MediaLogger;
const names = (sdp: string): string[] => getCodecs(parseSdp(sdp)).map((codec) => codec.name);

/** What rtpengine writes for the browser in answer to the phone: PCMA and telephone-event, DTLS client. */
const TO_BROWSER = crlf([
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=audio 30000 UDP/TLS/RTP/SAVPF 8 126', 'c=IN IP4 127.0.0.1',
  'a=rtpmap:8 PCMA/8000', 'a=rtpmap:126 telephone-event/8000', 'a=setup:active', 'a=sendrecv',
]);
/** The browser answering rtpengine's offer: DTLS client. */
const BROWSER_ANSWER = BROWSER_OFFER.replace('111 63 0 8 126', '8 126').replace('a=setup:actpass', 'a=setup:active');
const MOVED = PHONE_SDP.replace('m=audio 16000', 'm=audio 16100').replace('o=- 1 2 ', 'o=- 1 3 ');

async function rejectsWith(promise: Promise<unknown>, code: MediaErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => isMediaError(error, code));
}

describe('a re-offer from the SIP side through rtpengine', () => {
  let server: FakeNgServer;
  let client: RtpengineClient;
  let media: MediaSession;
  const toSip = (command: ReceivedCommand): string => `v=0\r\no=- 9 9 IN IP4 127.0.0.1\r\ns=${String(command.dict['command'])}-to-sip\r\n`;

  beforeEach(async () => {
    server = await FakeNgServer.start();
    server.autoReply = (command): BencodeDict => {
      const { command: name, 'from-tag': from } = command.dict;
      if (name === 'delete') return { result: 'ok' };
      // Answers from the SIP side's offers and the browser's offers go to the SIP side; the SIP side's answer to the browser.
      return { result: 'ok', sdp: name === 'answer' && from === 'switchboard-browser' ? TO_BROWSER : toSip(command) };
    };
    client = new RtpengineClient({ host: '127.0.0.1', port: server.port, timeoutMs: 1000 });
    media = createMediaSession({ mode: 'rtpengine', client, callId: 'call-9', codecs: ['PCMU', 'PCMA', 'telephone-event'], logger: silent });
  });

  afterEach(async () => {
    await media.close();
    await client.close();
    await server.close();
  });

  const sent = (index: number): Record<string, unknown> => ({ ...server.received[index]!.dict });
  const flagsOf = (dict: Record<string, unknown>): string => JSON.stringify([dict['ICE'], dict['DTLS'], dict['transport-protocol'], dict['rtcp-mux'], dict['flags']]);

  it('on a call the browser offered: rtpengine gets the new offer, then the browser’s offer narrowed to what it agreed as the answer', async () => {
    await media.offerFromBrowser(BROWSER_OFFER);
    await media.answerFromSip(PHONE_SDP);
    const { answer } = await media.updateFromSip(MOVED);
    const [offer, reanswer] = [sent(2), sent(3)];
    assert.deepEqual([offer['command'], offer['from-tag'], offer['to-tag']], ['offer', 'switchboard-sip', 'switchboard-browser']);
    assert.match(String(offer['sdp']), /m=audio 16100/);
    assert.equal(flagsOf(offer), flagsOf({ ICE: REOFFER_TO_BROWSER.ice, 'transport-protocol': REOFFER_TO_BROWSER.transportProtocol, 'rtcp-mux': REOFFER_TO_BROWSER.rtcpMux, flags: REOFFER_TO_BROWSER.flags }));
    assert.equal(offer['DTLS'], undefined, 'rtpengine keeps the DTLS role it has');
    assert.deepEqual([reanswer['command'], reanswer['from-tag'], reanswer['to-tag']], ['answer', 'switchboard-sip', 'switchboard-browser']);
    assert.equal(reanswer['DTLS'], TO_SIP.dtls);
    const side = String(reanswer['sdp']);
    assert.deepEqual(names(side), ['PCMA', 'telephone-event'], 'what the browser was answered with');
    assert.equal(parseSdp(side).media[0]?.setup, 'passive');
    assert.equal(parseSdp(side).media[0]?.iceUfrag, 'ujpn');
    assert.equal(answer, toSip(server.received[3]!));
  });

  it('on a call the browser answered: the browser’s answer, as it gave it', async () => {
    await media.offerFromSip(PHONE_SDP);
    await media.answerFromBrowser(BROWSER_ANSWER);
    await media.updateFromSip(MOVED);
    assert.equal(sent(3)['sdp'], BROWSER_ANSWER);
    await media.updateFromSip(MOVED.replace('m=audio 16100', 'm=audio 16200'));
    assert.equal(sent(5)['sdp'], BROWSER_ANSWER, 'and again on the next move');
  });

  it('refuses, sending nothing: before the call is answered, when the browser would have to change codec, none of the PBX’s codecs, once closed', async () => {
    await media.offerFromSip(PHONE_SDP);
    await rejectsWith(media.updateFromSip(MOVED), 'invalid-state');
    await media.answerFromBrowser(BROWSER_ANSWER);
    const count = server.received.length;
    await rejectsWith(media.updateFromSip(MOVED.replace('RTP/AVP 8 0 101', 'RTP/AVP 0 101')), 'no-common-codec');
    await rejectsWith(media.updateFromSip(MOVED.replace('RTP/AVP 8 0 101', 'RTP/AVP 18').replace(/a=rtpmap:.*\r\n/g, '').replace(/a=fmtp:.*\r\n/, '')), 'no-common-codec');
    assert.equal(server.received.length, count);
    await media.close();
    await rejectsWith(media.updateFromSip(MOVED), 'closed');
  });

  it('an answer that fails after the offer went through: the SIP side’s session before is offered again, and the move fails', async () => {
    await media.offerFromSip(PHONE_SDP);
    await media.answerFromBrowser(BROWSER_ANSWER);
    const before = String(sent(0)['sdp']);
    server.autoReply = (command): BencodeDict => {
      const refuse = command.dict['command'] === 'answer' && server.received.filter((c) => c.dict['command'] === 'answer').length === 2;
      return refuse ? { result: 'error', 'error-reason': 'no such tag' } : { result: 'ok', sdp: toSip(command) };
    };
    await rejectsWith(media.updateFromSip(MOVED), 'refused');
    const after = server.received.slice(2).map((c) => [c.dict['command'], String(c.dict['sdp']).match(/m=audio (\d+)/)?.[1]]);
    assert.deepEqual(after, [['offer', '16100'], ['answer', '40234'], ['offer', '16000'], ['answer', '40234']]);
    assert.equal(String(sent(4)['sdp']), before, 'the description before the move, as rtpengine had it');
  });

  it('revert() goes back to the session before the move, once; a later move builds on the one before', async () => {
    await media.offerFromSip(PHONE_SDP);
    await media.answerFromBrowser(BROWSER_ANSWER);
    const update = await media.updateFromSip(MOVED);
    await update.revert();
    await update.revert();
    const commands = server.received.slice(2).map((c) => [c.dict['command'], String(c.dict['sdp']).match(/m=audio (\d+)/)?.[1]]);
    assert.deepEqual(commands, [['offer', '16100'], ['answer', '40234'], ['offer', '16000'], ['answer', '40234']]);
    const again = await media.updateFromSip(MOVED.replace('m=audio 16100', 'm=audio 16200'));
    const count = server.received.length;
    await again.revert();
    assert.match(String(server.received[count]!.dict['sdp']), /m=audio 16000/, 'back to the session the far end still has');
  });

  it('a revert rtpengine refuses is logged and stops there: the new session is not offered again', async () => {
    await media.offerFromSip(PHONE_SDP);
    await media.answerFromBrowser(BROWSER_ANSWER);
    const update = await media.updateFromSip(MOVED);
    const count = server.received.length;
    server.autoReply = (command): BencodeDict => (command.dict['command'] === 'answer' ? { result: 'error', 'error-reason': 'gone' } : { result: 'ok', sdp: toSip(command) });
    await update.revert();
    const commands = server.received.slice(count).map((c) => [c.dict['command'], String(c.dict['sdp']).match(/m=audio (\d+)/)?.[1]]);
    assert.deepEqual(commands, [['offer', '16000'], ['answer', '40234']]);
  });

  it('passthrough cannot: the browser would have to renegotiate', async () => {
    const passthrough = createMediaSession({ mode: 'passthrough', callId: 'c', codecs: ['PCMU'], logger: silent });
    await rejectsWith(passthrough.updateFromSip(MOVED), 'unsupported');
  });
});
