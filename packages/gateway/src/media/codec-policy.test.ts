import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCodecs, parseSdp } from '@switchboard/sip';
import { carriesTelephoneEvents, checkSdp, restrictOffer } from './codec-policy.js';
import { isMediaError } from './media-error.js';

const crlf = (lines: string[]): string => `${lines.join('\r\n')}\r\n`;
const offer = (payloads: string, extra: string[] = []): string =>
  crlf(['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio 4000 RTP/AVP ${payloads}`, ...extra]);
const names = (sdp: string): string[] => getCodecs(parseSdp(sdp)).map((codec) => codec.name);

describe('restrictOffer', () => {
  it('keeps telephone-event when listed, at every rate offered', () => {
    const sdp = offer('111 0 110 126', ['a=rtpmap:111 opus/48000/2', 'a=rtpmap:110 telephone-event/48000', 'a=rtpmap:126 telephone-event/8000']);
    assert.deepEqual(names(restrictOffer(sdp, ['PCMU', 'telephone-event'])), ['PCMU', 'telephone-event', 'telephone-event']);
    assert.deepEqual(names(restrictOffer(sdp, ['opus'])), ['opus'], 'and drops it when not listed');
  });

  it('orders by the PBX preference when asked, naming static payload types without a=rtpmap', () => {
    const sdp = offer('0 8 9');
    assert.deepEqual(names(restrictOffer(sdp, ['G722', 'PCMA', 'PCMU'], { reorder: true })), ['G722', 'PCMA', 'PCMU']);
    assert.deepEqual(names(restrictOffer(sdp, ['G722', 'PCMA', 'PCMU'])), ['PCMU', 'PCMA', 'G722']);
  });

  it('returns the text as given when nothing changes', () => {
    const sdp = offer('0 8').replace('s=-', 's=x ').replace(/\r\n/g, '\n');
    assert.equal(restrictOffer(sdp, ['PCMU', 'PCMA'], { reorder: true }), sdp);
  });

  it('names the codecs when none is offered, and refuses what is not SDP', () => {
    assert.throws(() => restrictOffer(offer('18', ['a=rtpmap:18 G729/8000']), ['PCMU']), (e: unknown) => isMediaError(e, 'no-common-codec') && /PCMU/.test(e.message));
    assert.throws(() => restrictOffer('m=audio', ['PCMU']), (e: unknown) => isMediaError(e, 'invalid-sdp'));
    assert.throws(() => checkSdp('v=0\r\n', 'SIP answer'), (e: unknown) => isMediaError(e, 'invalid-sdp') && /SIP answer/.test(e.message));
  });
});

describe('carriesTelephoneEvents', () => {
  it('finds telephone-event on an active audio stream, at any rate and in any case', () => {
    assert.equal(carriesTelephoneEvents(offer('0 101', ['a=rtpmap:101 telephone-event/8000'])), true);
    assert.equal(carriesTelephoneEvents(offer('111 110', ['a=rtpmap:111 opus/48000/2', 'a=rtpmap:110 Telephone-Event/48000'])), true);
  });

  it('finds none where the audio lacks it, is rejected (port 0), or the text is not SDP', () => {
    assert.equal(carriesTelephoneEvents(offer('0 8')), false);
    assert.equal(carriesTelephoneEvents(offer('0 101', ['a=rtpmap:101 telephone-event/8000']).replace('m=audio 4000', 'm=audio 0')), false);
    assert.equal(carriesTelephoneEvents(offer('0 101', ['a=rtpmap:101 telephone-event/8000']).replace('m=audio', 'm=video')), false);
    assert.equal(carriesTelephoneEvents('m=audio'), false);
  });
});
