/**
 * What the load client and both servers of gateway-sessions.bench.ts agree on: how operators are numbered, and the
 * SDP the browsers exchange. The SDP is what Chrome produces for an audio-only call (Opus, RED, G.722, PCMU/PCMA,
 * DTMF; one host and one server-reflexive candidate), so the frames that carry it are the size real ones are.
 */

export const OPERATOR_PREFIX = 'op-';
/** Extensions are the operator's number: op-10000 is 10000, and all have the same length. */
export const FIRST_EXTENSION = 10_000;

export function operatorId(index: number): string {
  return `${OPERATOR_PREFIX}${FIRST_EXTENSION + index}`;
}

export function extensionOf(id: string): string {
  return id.slice(OPERATOR_PREFIX.length);
}

function sdp(role: 'offer' | 'answer', sessionId: string, port: number, ufrag: string, fingerprint: string): string {
  const lines = [
    'v=0',
    `o=- ${sessionId} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS 3f2a0c1e-5d6b-4f7a-9e8c-1b2d3c4e5f60',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=candidate:1467250027 1 udp 2122260223 192.168.1.23 ${port} typ host generation 0 network-id 1`,
    `a=candidate:842163049 1 udp 1686052607 203.0.113.7 ${port} typ srflx raddr 192.168.1.23 rport ${port} generation 0 network-id 1`,
    `a=ice-ufrag:${ufrag}`,
    'a=ice-pwd:asd88fgpdd777uzjYhagZg4xkW2pVD5b',
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${fingerprint}`,
    `a=setup:${role === 'offer' ? 'actpass' : 'active'}`,
    'a=mid:0',
    'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=sendrecv',
    'a=msid:3f2a0c1e-5d6b-4f7a-9e8c-1b2d3c4e5f60 7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=rtcp-fb:111 transport-cc',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:63 red/48000/2',
    'a=fmtp:63 111/111',
    'a=rtpmap:9 G722/8000',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:13 CN/8000',
    'a=rtpmap:110 telephone-event/48000',
    'a=rtpmap:126 telephone-event/8000',
    `a=ssrc:${role === 'offer' ? '2861532745' : '1304891226'} cname:Xq0F3nZ7c1bQ4Lk9`,
  ];
  return lines.join('\r\n') + '\r\n';
}

export const SDP_OFFER = sdp(
  'offer',
  '4611731400430051336',
  54400,
  'Jd0f',
  '6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08',
);

export const SDP_ANSWER = sdp(
  'answer',
  '7086219387512269312',
  61022,
  'p3kQ',
  'A1:02:7E:9C:44:B3:19:2D:C6:58:0F:E7:31:9A:BB:46:D2:0C:73:E5:18:6F:A4:9D:27:B0:55:E3:C8:1A:6D:F2',
);
