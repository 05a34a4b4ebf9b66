/** SDP as the gateway's two kinds of peer write it, for the media layer's unit tests. */
export const crlf = (lines: string[]): string => `${lines.join('\r\n')}\r\n`;

/** Chromium's offer, shortened: ICE, DTLS-SRTP as actpass, opus and G.711. */
export const BROWSER_OFFER = crlf([
  'v=0',
  'o=- 6788038712498803994 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=audio 40234 UDP/TLS/RTP/SAVPF 111 63 0 8 126',
  'c=IN IP4 127.0.0.1',
  'a=candidate:1046217486 1 udp 2122260223 127.0.0.1 40234 typ host generation 0',
  'a=ice-ufrag:ujpn',
  'a=ice-pwd:jxKI+D6Ay6MhwTWcaSGEUajw',
  'a=fingerprint:sha-256 3A:BD:3E:9D:C0:34:EA:0D:BC:EF:5B:C2:9E:90:7C:D7:29:3C:C4:B2:4A:03:4B:54:F7:82:FB:82:3C:9F:1F:C6',
  'a=setup:actpass',
  'a=mid:0',
  'a=sendrecv',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:126 telephone-event/8000',
]);

/** A desk phone's plain RTP/AVP offer (or answer). */
export const PHONE_SDP = crlf([
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 16000 RTP/AVP 8 0 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
]);
