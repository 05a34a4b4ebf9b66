/**
 * SDP as the peers of the gateway write it, for tests that need media negotiated but not media itself: Chromium's
 * WebRTC offer and answer (ICE, DTLS-SRTP, rtcp-mux, SAVPF) and a baresip desk phone's plain RTP/AVP ones.
 */
import { getCodecs, type SdpSession } from '@switchboard/sip';

export const crlf = (lines: string[]): string => `${lines.join('\r\n')}\r\n`;

/** Chromium's offer as SIP.js sent it in the browser suite (test-output/browser), candidates on loopback. */
export const CHROMIUM_OFFER = crlf([
  'v=0',
  'o=- 6788038712498803994 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS 95e4b1d7-5122-4cf1-9416-3ca35a9362c5',
  'm=audio 40234 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
  'c=IN IP4 127.0.0.1',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=candidate:1046217486 1 udp 2122260223 127.0.0.1 40234 typ host generation 0 network-id 1 network-cost 50',
  'a=candidate:1083433366 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 network-id 1 network-cost 50',
  'a=ice-ufrag:ujpn',
  'a=ice-pwd:jxKI+D6Ay6MhwTWcaSGEUajw',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 3A:BD:3E:9D:C0:34:EA:0D:BC:EF:5B:C2:9E:90:7C:D7:29:3C:C4:B2:4A:03:4B:54:F7:82:FB:82:3C:9F:1F:C6',
  'a=setup:actpass',
  'a=mid:0',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=sendrecv',
  'a=msid:95e4b1d7-5122-4cf1-9416-3ca35a9362c5 423cb722-3f8a-4b99-a3fe-8e35e1072c4b',
  'a=rtcp-mux',
  'a=rtcp-rsize',
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
  'a=ssrc:1792093331 cname:g2BzSYRzcf2SmCYU',
]);

/** Chromium answering an offer written by rtpengine: DTLS client, its own ICE credentials, rtcp-mux. */
export function chromiumAnswer(offer: SdpSession): string {
  const media = offer.media[0]!;
  const te = getCodecs(offer).find((c) => c.name === 'telephone-event' && c.clockRate === 8000)!;
  return crlf([
    'v=0',
    'o=- 4783372259299182164 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=msid-semantic: WMS d56d2753-41f9-4b48-bb02-288c3d30a8cf',
    `m=audio 51200 UDP/TLS/RTP/SAVPF 0 ${te.payload}`,
    'c=IN IP4 127.0.0.1',
    'a=rtcp:9 IN IP4 0.0.0.0',
    'a=candidate:2999745851 1 udp 2122260223 127.0.0.1 51200 typ host generation 0 network-id 1',
    'a=ice-ufrag:Wq3x',
    'a=ice-pwd:0bX9hT0rJbq4X6qmZk0Lw0c1',
    'a=ice-options:trickle',
    'a=fingerprint:sha-256 9F:21:0C:6A:53:73:41:0D:5C:AF:E0:22:33:5B:9D:1F:DD:4A:A2:09:4C:55:7C:FA:6E:39:5F:91:0B:7C:D2:11',
    'a=setup:active',
    `a=mid:${String(media.mid)}`,
    'a=sendrecv',
    'a=msid:d56d2753-41f9-4b48-bb02-288c3d30a8cf b64ee7f1-7e05-4106-9615-c7001ed3d666',
    'a=rtcp-mux',
    'a=rtpmap:0 PCMU/8000',
    `a=rtpmap:${te.payload} telephone-event/8000`,
    'a=ssrc:705645598 cname:ZoCayHAIdOGGV6e5',
  ]);
}

/** A baresip desk phone's offer: plain RTP/AVP, RTCP on port+1, a codec the PBX does not allow (G729). */
export const PHONE_OFFER = crlf([
  'v=0',
  'o=- 1813207346 2813506423 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 16000 RTP/AVP 18 0 8 101',
  'b=AS:87',
  'a=rtpmap:18 G729/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  'a=label:1',
  'a=ssrc:1403541437 cname:sip:carol@127.0.0.1',
  'a=rtcp-rsize',
  'a=ptime:20',
]);

/** The same phone answering the gateway's RTP/AVP offer with PCMU and the offer's telephone-event. */
export function phoneAnswer(offer: SdpSession): string {
  const te = getCodecs(offer).find((c) => c.name === 'telephone-event' && c.clockRate === 8000)!;
  return crlf([
    'v=0',
    'o=- 3157305410 1264904130 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio 16002 RTP/AVP 0 ${te.payload}`,
    'b=AS:80',
    'a=rtpmap:0 PCMU/8000',
    `a=rtpmap:${te.payload} telephone-event/8000`,
    `a=fmtp:${te.payload} 0-15`,
    'a=sendrecv',
    'a=ssrc:2462358720 cname:sip:carol@127.0.0.1',
    'a=ptime:20',
  ]);
}
