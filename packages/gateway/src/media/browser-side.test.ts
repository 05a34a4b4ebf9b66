import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCodecs, parseSdp } from '@switchboard/sip';
import { browserSideOfOffer, requireCommonAudioCodec } from './browser-side.js';
import { isMediaError } from './media-error.js';
import { BROWSER_OFFER, PHONE_SDP } from './test-support/sdp-fixtures.js';

const names = (sdp: string): string[] => getCodecs(parseSdp(sdp)).map((codec) => codec.name);
const setupOf = (sdp: string): string | undefined => parseSdp(sdp).media[0]?.setup;

/** What rtpengine answered the browser, as far as the browser's side depends on it. */
const answered = (payloads: string, rtpmaps: string[], setup: string | undefined): string =>
  [
    'v=0', 'o=- 5 5 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio 30000 UDP/TLS/RTP/SAVPF ${payloads}`,
    ...rtpmaps, ...(setup === undefined ? [] : [`a=setup:${setup}`]), 'a=sendrecv', '',
  ].join('\r\n');

describe("the browser's side of a call, as an answer states it", () => {
  it('narrows the browser’s offer to the codecs it was answered with, and takes the DTLS role opposite to the answer’s', () => {
    const side = browserSideOfOffer(BROWSER_OFFER, answered('8 126', ['a=rtpmap:8 PCMA/8000', 'a=rtpmap:126 telephone-event/8000'], 'active'));
    assert.deepEqual(names(side), ['PCMA', 'telephone-event']);
    assert.equal(setupOf(side), 'passive', 'rtpengine is the DTLS client, so the browser is the server');
    const parsed = parseSdp(side).media[0]!;
    assert.equal(parsed.iceUfrag, 'ujpn', 'ICE stays as the browser offered it');
    assert.equal(parsed.fingerprint?.hash.slice(0, 5), '3A:BD');
    assert.equal(setupOf(browserSideOfOffer(BROWSER_OFFER, answered('0', ['a=rtpmap:0 PCMU/8000'], 'passive'))), 'active');
    assert.equal(setupOf(browserSideOfOffer(BROWSER_OFFER, answered('0', ['a=rtpmap:0 PCMU/8000'], undefined))), 'actpass', 'no role answered: left as offered');
  });

  it('refuses an answer that shares no codec with the offer', () => {
    assert.throws(() => browserSideOfOffer(BROWSER_OFFER, answered('18', ['a=rtpmap:18 G729/8000'], 'active')), (error: unknown) => isMediaError(error, 'no-common-codec'));
    assert.throws(() => browserSideOfOffer('not sdp', answered('0', [], 'active')), (error: unknown) => isMediaError(error, 'invalid-sdp'));
  });

  it('needs an audio codec in common for a re-offer: telephone-event alone is not one', () => {
    const side = browserSideOfOffer(BROWSER_OFFER, answered('8 126', ['a=rtpmap:8 PCMA/8000', 'a=rtpmap:126 telephone-event/8000'], 'active'));
    requireCommonAudioCodec(PHONE_SDP, side);
    const pcmuOnly = PHONE_SDP.replace('m=audio 16000 RTP/AVP 8 0 101', 'm=audio 16000 RTP/AVP 0 101').replace('a=rtpmap:8 PCMA/8000\r\n', '');
    assert.throws(() => requireCommonAudioCodec(pcmuOnly, side), (error: unknown) => isMediaError(error, 'no-common-codec') && /PCMA/i.test(error.message));
  });
});
