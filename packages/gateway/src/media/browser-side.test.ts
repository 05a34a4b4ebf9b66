import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCodecs, parseSdp } from '@switchboard/sip';
import { browserSideOfOffer, requireBrowserSide } from './browser-side.js';
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
  it('narrows the browser’s offer to the payload types it was answered with, and takes the DTLS role opposite to the answer’s', () => {
    const offer = BROWSER_OFFER.replace('111 63 0 8 126', '111 63 0 8 110 126').replace('a=rtpmap:126', 'a=rtpmap:110 telephone-event/48000\r\na=rtpmap:126');
    const side = browserSideOfOffer(offer, answered('8 126', ['a=rtpmap:8 PCMA/8000', 'a=rtpmap:126 telephone-event/8000'], 'active'));
    assert.deepEqual(names(side), ['PCMA', 'telephone-event']);
    assert.match(side, /m=audio \d+ \S+ 8 126\r\n/, 'telephone-event/48000 (110) was not agreed');
    assert.equal(setupOf(side), 'passive', 'rtpengine is the DTLS client, so the browser is the server');
    const parsed = parseSdp(side).media[0]!;
    assert.equal(parsed.iceUfrag, 'ujpn', 'ICE stays as the browser offered it');
    assert.equal(parsed.fingerprint?.hash.slice(0, 5), '3A:BD');
    assert.equal(setupOf(browserSideOfOffer(BROWSER_OFFER, answered('0', ['a=rtpmap:0 PCMU/8000'], 'passive'))), 'active');
    assert.equal(setupOf(browserSideOfOffer(BROWSER_OFFER, answered('0', ['a=rtpmap:0 PCMU/8000'], undefined))), 'active', 'an answer without a=setup is passive (RFC 4145)');
  });

  it('refuses an answer that shares no codec with the offer', () => {
    assert.throws(() => browserSideOfOffer(BROWSER_OFFER, answered('18', ['a=rtpmap:18 G729/8000'], 'active')), (error: unknown) => isMediaError(error, 'no-common-codec'));
    const twoSections = `${answered('0', ['a=rtpmap:0 PCMU/8000'], 'active')}m=video 0 RTP/AVP 96\r\n`;
    assert.throws(() => browserSideOfOffer(BROWSER_OFFER, twoSections), (error: unknown) => isMediaError(error, 'invalid-sdp'));
    assert.throws(() => browserSideOfOffer('not sdp', answered('0', [], 'active')), (error: unknown) => isMediaError(error, 'invalid-sdp'));
  });

  it('takes a re-offer only with the codec the browser sends and the same media sections', () => {
    // The browser answered PCMU first: it sends PCMU, even though it also takes PCMA.
    const browserAnswer = answered('0 8 126', ['a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:126 telephone-event/8000'], 'active');
    requireBrowserSide(PHONE_SDP, browserAnswer, browserAnswer);
    const pcmaOnly = PHONE_SDP.replace('RTP/AVP 8 0 101', 'RTP/AVP 8 101').replace('a=rtpmap:0 PCMU/8000\r\n', '');
    assert.throws(() => requireBrowserSide(pcmaOnly, browserAnswer, browserAnswer), (error: unknown) => isMediaError(error, 'no-common-codec') && /PCMU/.test(error.message));
    const eventsOnly = PHONE_SDP.replace('RTP/AVP 8 0 101', 'RTP/AVP 101').replace(/a=rtpmap:[08] .*\r\n/g, '');
    assert.throws(() => requireBrowserSide(eventsOnly, browserAnswer, browserAnswer), (error: unknown) => isMediaError(error, 'no-common-codec'));
    const withVideo = `${PHONE_SDP}m=video 0 RTP/AVP 96\r\n`;
    assert.throws(() => requireBrowserSide(withVideo, browserAnswer, browserAnswer), (error: unknown) => isMediaError(error, 'unsupported'));
  });
});
