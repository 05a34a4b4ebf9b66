import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MediaDirection } from '@switchboard/sip';
import { holds, meet, ownWish, reversed, sameTransport, wishOf, withDirection } from './media-direction.js';

const SDP = [
  'v=0', 'o=- 42 7 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
  'm=audio 4000 RTP/AVP 0 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', '',
].join('\r\n');

const ALL: MediaDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

describe('media direction on hold (RFC 3264 §6.1, §8.4)', () => {
  it('reads a direction from the other end, and meets two wishes', () => {
    assert.deepEqual(ALL.map(reversed), ['sendrecv', 'recvonly', 'sendonly', 'inactive']);
    // Our answer to each offer while not holding, then while holding.
    assert.deepEqual(ALL.map((offer) => meet(ownWish(false), reversed(offer))), ['sendrecv', 'recvonly', 'sendonly', 'inactive']);
    assert.deepEqual(ALL.map((offer) => meet(ownWish(true), reversed(offer))), ['sendonly', 'inactive', 'sendonly', 'inactive']);
    assert.deepEqual(ALL.map(holds), [false, true, false, true]);
  });

  it('changes every active section and the o= version, and leaves a description that says so already alone', () => {
    const held = withDirection(SDP, 'sendonly');
    assert.match(held, /^o=- 42 8 IN IP4 127\.0\.0\.1$/m);
    assert.match(held, /^a=sendonly$/m);
    assert.doesNotMatch(held, /^a=sendrecv$/m);
    assert.equal(wishOf(held), 'sendonly');
    assert.equal(withDirection(held, 'sendonly'), held, 'unchanged, version and all');
    assert.equal(withDirection(SDP, 'sendrecv'), SDP);
    const withoutAttribute = SDP.replace('a=sendrecv\r\n', '');
    assert.equal(withDirection(withoutAttribute, 'sendrecv'), withoutAttribute, 'no attribute means sendrecv');
    assert.match(withDirection(SDP.replace('t=0 0\r\n', 't=0 0\r\na=inactive\r\n').replace('a=sendrecv\r\n', ''), 'inactive'), /^o=- 42 8 /m, 'a session-level attribute is moved into the sections');
    const twoStreams = `${SDP}m=video 0 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n`;
    assert.doesNotMatch(withDirection(twoStreams, 'inactive').split('m=video')[1]!, /a=inactive/, 'a rejected stream (port 0) is left as it is');
  });

  it('takes a new description as the same transport only when sections, ports, profiles, payloads and addresses stay', () => {
    const next = (from: string, to: string) => SDP.replace('o=- 42 7 ', 'o=- 42 8 ').replace(from, to);
    assert.equal(sameTransport(SDP, next('a=sendrecv', 'a=sendonly')), true);
    assert.equal(sameTransport(SDP, next('a=sendrecv', 'a=ptime:20\r\na=inactive')), true, 'other attributes do not matter');
    assert.equal(sameTransport(SDP, next('m=audio 4000 ', 'm=audio 4002 ')), false);
    assert.equal(sameTransport(SDP, next('RTP/AVP 0 101', 'RTP/AVP 8 101')), false);
    assert.equal(sameTransport(SDP, next('RTP/AVP 0 101', 'RTP/SAVP 0 101')), false);
    assert.equal(sameTransport(SDP, next('c=IN IP4 127.0.0.1', 'c=IN IP4 0.0.0.0')), false, 'the RFC 2543 hold moves the address');
    assert.equal(sameTransport(SDP, `${SDP}m=video 5000 RTP/AVP 96\r\n`), false);
    assert.equal(sameTransport(SDP, 'v=0\r\nnot sdp'), false);
  });
});
