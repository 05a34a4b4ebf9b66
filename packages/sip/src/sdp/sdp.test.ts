import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipError } from '../errors.js';
import {
  bumpOriginVersion, cloneSdp, filterCodecs, getBandwidth, getCodecs, getConnection, getDirection, getDirections, hold,
  holdDirection, isHoldOffer, isWebRtc, keepPayloadTypes, parseSdp, payloadTypes, resume, resumeDirection, serializeSdp, setBandwidth,
  setDirection, type SdpSession,
} from './sdp.js';
import { CHROME_WEBRTC_OFFER, DESK_PHONE_OFFER, STATIC_PAYLOAD_OFFER } from './test-support/sdp-fixtures.js';

const WANTED = ['opus', 'PCMU', 'PCMA', 'telephone-event'];

function sdpError(status?: number): (error: unknown) => boolean {
  return (error) => error instanceof SipError && error.code === 'sdp' && (status === undefined || error.status === status);
}

/** Runs `operation` and checks that it left its input as it was. */
function pure<T>(input: SdpSession, operation: (sdp: SdpSession) => T): T {
  const before = cloneSdp(input);
  const result = operation(input);
  assert.deepEqual(input, before, 'the input was modified');
  return result;
}

function names(sdp: SdpSession, mediaIndex = 0): string[] {
  return getCodecs(sdp, mediaIndex).map((codec) => `${codec.payload} ${codec.name}`);
}

describe('parseSdp', () => {
  test('a Chrome WebRTC offer', () => {
    const sdp = parseSdp(CHROME_WEBRTC_OFFER);
    assert.equal(sdp.version, 0);
    assert.equal(String(sdp.origin.sessionId), '4611731400430051336');
    assert.equal(sdp.origin.sessionVersion, 2);
    assert.deepEqual(sdp.groups, [{ type: 'BUNDLE', mids: '0 1' }]);
    assert.equal(sdp.media.length, 2);
    const audio = sdp.media[0]!;
    assert.equal(audio.protocol, 'UDP/TLS/RTP/SAVPF');
    assert.equal(audio.iceUfrag, 'EsAw');
    assert.equal(audio.setup, 'actpass');
    assert.equal(audio.rtcpMux, 'rtcp-mux');
    assert.equal(audio.fingerprint?.type, 'sha-256');
    assert.equal(audio.candidates?.length, 3);
    assert.equal(audio.ext?.length, 4);
    assert.deepEqual(names(sdp), ['111 opus', '63 red', '9 G722', '0 PCMU', '8 PCMA', '13 CN', '110 telephone-event', '126 telephone-event']);
    const opus = getCodecs(sdp)[0]!;
    assert.deepEqual(opus, { payload: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' });
  });

  test('a desk phone offer', () => {
    const sdp = parseSdp(DESK_PHONE_OFFER);
    assert.deepEqual(names(sdp), ['0 PCMU', '8 PCMA', '18 G729', '101 telephone-event']);
    assert.equal(getCodecs(sdp)[3]?.fmtp, '0-15');
    assert.deepEqual(getConnection(sdp), { address: '192.168.10.51', ipVersion: 4, port: 11780 });
    assert.equal(getDirection(sdp), 'sendrecv');
    assert.equal(sdp.media[0]!.ptime, 20);
  });

  test('static payload types without rtpmap, and a lone payload type', () => {
    const sdp = parseSdp(STATIC_PAYLOAD_OFFER);
    assert.equal(sdp.media[0]!.payloads, '18');
    assert.deepEqual(payloadTypes(sdp.media[0]!), [18]);
    assert.deepEqual(getCodecs(sdp), [{ payload: 18, name: 'G729', clockRate: 8000, channels: undefined, fmtp: undefined }]);
    assert.equal(getDirection(sdp), 'sendrecv', 'RFC 4566 default');
  });

  test('LF-only line ends are tolerated', () => {
    const sdp = parseSdp(DESK_PHONE_OFFER.replace(/\r\n/g, '\n'));
    assert.equal(sdp.media.length, 1);
  });

  test('minimal structure is enforced', () => {
    const without = (prefix: string): string => DESK_PHONE_OFFER.split('\r\n').filter((line) => !line.startsWith(prefix)).join('\r\n');
    assert.throws(() => parseSdp(''), sdpError(400));
    assert.throws(() => parseSdp('hello'), sdpError(400));
    assert.throws(() => parseSdp(DESK_PHONE_OFFER.replace('v=0', 'v=1')), sdpError(400));
    assert.throws(() => parseSdp(without('o=')), sdpError(400));
    assert.throws(() => parseSdp(DESK_PHONE_OFFER.replace(/o=.*\r\n/, 'o=garbage\r\n')), sdpError(400));
    assert.throws(() => parseSdp(without('s=')), sdpError(400));
    assert.throws(() => parseSdp(without('m=').split('\r\n').filter((line) => !line.startsWith('a=')).join('\r\n')), sdpError(400));
    assert.throws(() => parseSdp(DESK_PHONE_OFFER.replace('m=audio 11780', 'm=audio port')), sdpError(400));
  });
});

describe('serializeSdp', () => {
  for (const [name, text] of [['Chrome', CHROME_WEBRTC_OFFER], ['desk phone', DESK_PHONE_OFFER], ['static', STATIC_PAYLOAD_OFFER]] as const) {
    test(`${name} offer: serialize → parse round trip`, () => {
      const sdp = parseSdp(text);
      const written = pure(sdp, serializeSdp);
      assert.deepEqual(parseSdp(written), sdp);
      assert.ok(written.endsWith('\r\n'));
      assert.ok(!/[^\r]\n/.test(written), 'CRLF line ends only');
    });
  }

  for (const [name, text] of [['Chrome', CHROME_WEBRTC_OFFER], ['desk phone', DESK_PHONE_OFFER]] as const) {
    test(`${name} offer: every line survives (attributes may be regrouped)`, () => {
      const written = serializeSdp(parseSdp(text)).split('\r\n');
      assert.deepEqual([...written].sort(), text.split('\r\n').sort());
    });
  }
});

describe('filterCodecs', () => {
  test('Chrome offer: keeps the allowed codecs in offer order with their attributes', () => {
    const offer = parseSdp(CHROME_WEBRTC_OFFER);
    const filtered = pure(offer, (sdp) => filterCodecs(sdp, WANTED));
    const audio = filtered.media[0]!;
    assert.equal(audio.payloads, '111 0 8 110 126');
    assert.deepEqual(audio.rtp.map((entry) => entry.payload), [111, 0, 8, 110, 126]);
    assert.deepEqual(audio.fmtp.map((entry) => entry.payload), [111]);
    assert.deepEqual(audio.rtcpFb, [{ payload: 111, type: 'transport-cc' }]);
    // Everything else in the section is untouched.
    assert.equal(audio.iceUfrag, 'EsAw');
    assert.equal(audio.candidates?.length, 3);
    assert.equal(audio.ext?.length, 4);
  });

  test('a section left without codecs is rejected with port 0 and leaves the BUNDLE group', () => {
    const filtered = filterCodecs(parseSdp(CHROME_WEBRTC_OFFER), WANTED);
    const video = filtered.media[1]!;
    assert.equal(video.port, 0);
    assert.equal(video.payloads, '96', 'an m= line keeps one format');
    assert.deepEqual(video.fmtp, []);
    assert.equal(video.rtcpFb, undefined);
    assert.deepEqual(filtered.groups, [{ type: 'BUNDLE', mids: '0' }]);
    const text = serializeSdp(filtered);
    assert.match(text, /\r\nm=video 0 UDP\/TLS\/RTP\/SAVPF 96\r\n/);
    assert.match(text, /\r\na=group:BUNDLE 0\r\n/);
    // Filtering again leaves a rejected section alone.
    assert.deepEqual(filterCodecs(filtered, WANTED), filtered);
  });

  test("onEmpty 'throw' refuses instead of rejecting the stream", () => {
    assert.throws(() => filterCodecs(parseSdp(CHROME_WEBRTC_OFFER), WANTED, { onEmpty: 'throw' }), sdpError(488));
    // Restricted to the audio section, nothing is left empty.
    const audioOnly = filterCodecs(parseSdp(CHROME_WEBRTC_OFFER), WANTED, { mediaIndex: 0, onEmpty: 'throw' });
    assert.equal(audioOnly.media[1]!.payloads, '96 97 102 103');
  });

  test('nothing acceptable at all is a 488', () => {
    assert.throws(() => filterCodecs(parseSdp(DESK_PHONE_OFFER), ['opus']), sdpError(488));
  });

  test('names match case-insensitively', () => {
    const filtered = filterCodecs(parseSdp(CHROME_WEBRTC_OFFER), ['OPUS', 'pcma']);
    assert.equal(filtered.media[0]!.payloads, '111 8');
  });

  test('red is kept only with the payloads it makes redundant; rtx only with its apt', () => {
    assert.equal(filterCodecs(parseSdp(CHROME_WEBRTC_OFFER), ['red', 'opus']).media[0]!.payloads, '111 63');
    assert.equal(filterCodecs(parseSdp(CHROME_WEBRTC_OFFER), ['red', 'PCMU']).media[0]!.payloads, '0');
    const video = filterCodecs(parseSdp(CHROME_WEBRTC_OFFER), ['VP8', 'rtx', 'opus']).media[1]!;
    assert.equal(video.payloads, '96 97');
    assert.deepEqual(video.fmtp, [{ payload: 97, config: 'apt=96' }]);
    assert.ok(video.rtcpFb?.every((entry) => entry.payload === 96));
  });

  test('desk phone offer: G.729 and its fmtp go, telephone-event keeps its fmtp', () => {
    const filtered = filterCodecs(parseSdp(DESK_PHONE_OFFER), WANTED);
    assert.deepEqual(names(filtered), ['0 PCMU', '8 PCMA', '101 telephone-event']);
    assert.deepEqual(filtered.media[0]!.fmtp, [{ payload: 101, config: '0-15' }]);
    assert.match(serializeSdp(filtered), /\r\nm=audio 11780 RTP\/AVP 0 8 101\r\n/);
  });

  test('static payload types without rtpmap are recognised by their RFC 3551 names', () => {
    assert.equal(filterCodecs(parseSdp(STATIC_PAYLOAD_OFFER), ['g729']).media[0]!.payloads, '18');
  });
});

describe('keepPayloadTypes', () => {
  test('keeps exactly the payload types given, by number, with their attributes, in one section', () => {
    const offer = parseSdp(CHROME_WEBRTC_OFFER);
    const te48 = getCodecs(offer).find((codec) => codec.name === 'telephone-event' && codec.clockRate === 48000);
    const pcmu = getCodecs(offer).find((codec) => codec.name === 'PCMU')!;
    const kept = pure(offer, (sdp) => keepPayloadTypes(sdp, 0, [pcmu.payload, 999]));
    assert.deepEqual(payloadTypes(kept.media[0]!), [pcmu.payload]);
    assert.deepEqual(kept.media[0]!.rtp.map((entry) => entry.payload), [pcmu.payload]);
    assert.ok(te48 === undefined || !names(kept).some((name) => name.startsWith(`${te48.payload} `)));
    assert.equal(kept.media[0]!.fmtp.length, 0);
    assert.throws(() => keepPayloadTypes(offer, 5, [0]), (error: unknown) => error instanceof SipError && /no media section 5/.test(error.message));
  });
});

describe('direction and hold', () => {
  test('hold offer per RFC 3264 §8.4 and resume, round trip', () => {
    const offer = parseSdp(CHROME_WEBRTC_OFFER);
    const held = pure(offer, (sdp) => hold(sdp));
    assert.deepEqual(getDirections(held), ['sendonly', 'sendonly']);
    const resumed = pure(held, (sdp) => resume(sdp));
    assert.deepEqual(resumed, offer);
  });

  test('recvonly → inactive → recvonly', () => {
    const recvonly = setDirection(parseSdp(DESK_PHONE_OFFER), 'recvonly');
    const held = hold(recvonly);
    assert.equal(getDirection(held), 'inactive');
    assert.match(serializeSdp(held), /\r\na=inactive\r\n/);
    assert.equal(getDirection(resume(held)), 'recvonly');
  });

  test('the direction mappings', () => {
    assert.deepEqual(['sendrecv', 'sendonly', 'recvonly', 'inactive'].map((d) => holdDirection(d as never)), ['sendonly', 'sendonly', 'inactive', 'inactive']);
    assert.deepEqual(['sendrecv', 'sendonly', 'recvonly', 'inactive'].map((d) => resumeDirection(d as never)), ['sendrecv', 'sendrecv', 'recvonly', 'recvonly']);
  });

  test('one section at a time; rejected and data sections are skipped when all are set', () => {
    const offer = parseSdp(CHROME_WEBRTC_OFFER);
    assert.deepEqual(getDirections(setDirection(offer, 'inactive', 1)), ['sendrecv', 'inactive']);
    const filtered = filterCodecs(offer, WANTED);
    assert.deepEqual(getDirections(hold(filtered)), ['sendonly', 'sendrecv']);
    assert.throws(() => setDirection(offer, 'sideways' as never), (e) => e instanceof SipError && e.code === 'invalid-argument');
    assert.throws(() => setDirection(offer, 'inactive', 5), (e) => e instanceof SipError && e.code === 'invalid-argument');
  });

  test('a session-level direction applies until a section says otherwise, and setting all replaces it', () => {
    const sdp = parseSdp(DESK_PHONE_OFFER.replace('a=sendrecv\r\n', '').replace('t=0 0\r\n', 't=0 0\r\na=sendonly\r\n'));
    assert.equal(sdp.direction, 'sendonly');
    assert.equal(getDirection(sdp), 'sendonly');
    const resumed = resume(sdp);
    assert.equal(resumed.direction, undefined);
    assert.equal(getDirection(resumed), 'sendrecv');
  });

  test('recognising a hold from the peer, including the RFC 2543 c=0.0.0.0 form', () => {
    const offer = parseSdp(DESK_PHONE_OFFER);
    assert.equal(isHoldOffer(offer), false);
    assert.equal(isHoldOffer(hold(offer)), true);
    assert.equal(isHoldOffer(parseSdp(DESK_PHONE_OFFER.replace('c=IN IP4 192.168.10.51', 'c=IN IP4 0.0.0.0'))), true);
  });
});

describe('bandwidth', () => {
  test('AS and TIAS at media and session level', () => {
    const offer = parseSdp(DESK_PHONE_OFFER);
    let sdp = pure(offer, (s) => setBandwidth(s, 'AS', 64, 0));
    sdp = setBandwidth(sdp, 'TIAS', 64000, 0);
    sdp = setBandwidth(sdp, 'AS', 80);
    assert.equal(getBandwidth(sdp, 'AS', 0), 64);
    assert.equal(getBandwidth(sdp, 'TIAS', 0), 64000);
    assert.equal(getBandwidth(sdp, 'AS'), 80);
    const text = serializeSdp(sdp);
    assert.match(text, /\r\nc=IN IP4 192\.168\.10\.51\r\nb=AS:80\r\nt=0 0\r\n/);
    assert.match(text, /\r\nm=audio 11780 RTP\/AVP 0 8 18 101\r\nb=AS:64\r\nb=TIAS:64000\r\na=/);
    assert.deepEqual(parseSdp(text), sdp);
  });

  test('setting again replaces the line; undefined removes it', () => {
    let sdp = setBandwidth(parseSdp(DESK_PHONE_OFFER), 'AS', 64, 0);
    sdp = setBandwidth(sdp, 'AS', 32, 0);
    assert.deepEqual(sdp.media[0]!.bandwidth, [{ type: 'AS', limit: 32 }]);
    sdp = setBandwidth(sdp, 'AS', undefined, 0);
    assert.equal(sdp.media[0]!.bandwidth, undefined);
    assert.doesNotMatch(serializeSdp(sdp), /\r\nb=/);
  });

  test('invalid values are refused', () => {
    const sdp = parseSdp(DESK_PHONE_OFFER);
    for (const value of [-1, 1.5, Number.NaN]) {
      assert.throws(() => setBandwidth(sdp, 'AS', value), (e) => e instanceof SipError && e.code === 'invalid-argument');
    }
    assert.throws(() => setBandwidth(sdp, 'CT' as never, 1), (e) => e instanceof SipError && e.code === 'invalid-argument');
  });
});

describe('bumpOriginVersion', () => {
  test('increments sess-version and leaves the rest of o= alone', () => {
    const offer = parseSdp(DESK_PHONE_OFFER);
    const next = pure(offer, bumpOriginVersion);
    assert.equal(next.origin.sessionVersion, 1);
    assert.match(serializeSdp(next), /\r\no=- 20518 1 IN IP4 192\.168\.10\.51\r\n/);
    assert.equal(bumpOriginVersion(bumpOriginVersion(next)).origin.sessionVersion, 3);
    assert.equal(bumpOriginVersion(parseSdp(CHROME_WEBRTC_OFFER)).origin.sessionVersion, 3);
    assert.equal(bumpOriginVersion(parseSdp(STATIC_PAYLOAD_OFFER)).origin.sessionVersion, 3876543211);
  });

  test('versions beyond 2^53 are counted exactly', () => {
    const big = parseSdp(DESK_PHONE_OFFER.replace('o=- 20518 0', 'o=- 20518 18446744073709551615'));
    const next = bumpOriginVersion(big);
    assert.equal(String(next.origin.sessionVersion), '18446744073709551616');
    assert.match(serializeSdp(next), /o=- 20518 18446744073709551616 IN/);
  });
});

describe('queries', () => {
  test('WebRTC or plain RTP', () => {
    assert.equal(isWebRtc(parseSdp(CHROME_WEBRTC_OFFER)), true);
    assert.equal(isWebRtc(parseSdp(DESK_PHONE_OFFER)), false);
    const noDtls = CHROME_WEBRTC_OFFER.split('\r\n').filter((line) => !line.startsWith('a=fingerprint')).join('\r\n');
    assert.equal(isWebRtc(parseSdp(noDtls)), false);
  });

  test('connection address and port: media c= wins over session c=', () => {
    const chrome = parseSdp(CHROME_WEBRTC_OFFER);
    assert.deepEqual(getConnection(chrome, 1), { address: '203.0.113.10', ipVersion: 4, port: 54400 });
    const mixed = parseSdp(DESK_PHONE_OFFER.replace('a=ptime:20', 'c=IN IP6 2001:db8::5\r\na=ptime:20'));
    assert.deepEqual(getConnection(mixed), { address: '2001:db8::5', ipVersion: 6, port: 11780 });
    assert.throws(() => getConnection(chrome, 2), (e) => e instanceof SipError && e.code === 'invalid-argument');
  });
});
