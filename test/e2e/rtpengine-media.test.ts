/**
 * The gateway's media bridge against a real rtpengine (userspace, loopback): Chromium's WebRTC SDP becomes plain
 * RTP/AVP for a SIP phone and back, in both call directions; close() deletes the call at rtpengine; a stopped
 * rtpengine or a wrong port gives `unreachable` naming the address.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { createMediaSession, isMediaError, MediaError, RtpengineClient, type MediaLogger, type MediaSession } from '@switchboard/gateway';
import { getCodecs, isWebRtc, parseSdp, type SdpSession } from '@switchboard/sip';
import { assertPrivateNetns } from './support/netns.js';
import { LOOPBACK } from './support/ports.js';
import { stopAll } from './support/processes.js';
import { startRtpengine, type Rtpengine } from './support/rtpengine.js';

const suite = 'rtpengine-media';
const CODECS = ['PCMU', 'PCMA', 'telephone-event'] as const;
const records: { level: string; fields: unknown }[] = [];
const record = (level: string) => (fields: unknown) => void records.push({ level, fields });
/** Keeps what the media layer logs, to check that SDP never shows above debug level. */
const logger = { debug: record('debug'), info: record('info'), warn: record('warn') } as unknown as MediaLogger;

const crlf = (lines: string[]): string => `${lines.join('\r\n')}\r\n`;

/** Chromium's offer as SIP.js sent it in the browser suite (test-output/browser), candidates on loopback. */
const CHROMIUM_OFFER = crlf([
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
function chromiumAnswer(offer: SdpSession): string {
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
const PHONE_OFFER = crlf([
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
function phoneAnswer(offer: SdpSession): string {
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

/** Every attribute of ICE and DTLS, wherever in the description it sits. */
function webRtcAttributes(sdp: SdpSession): string[] {
  const found: string[] = [];
  for (const holder of [sdp, ...sdp.media] as unknown as Record<string, unknown>[]) {
    for (const key of ['iceUfrag', 'icePwd', 'fingerprint', 'setup', 'candidates', 'iceOptions', 'rtcpMux']) {
      if (holder[key] !== undefined) found.push(key);
    }
  }
  return found;
}

function assertPlainRtp(sdp: SdpSession, rtpengine: Rtpengine): void {
  const media = sdp.media[0]!;
  assert.equal(media.protocol, 'RTP/AVP');
  assert.equal(String((media.connection ?? sdp.connection)?.ip), LOOPBACK);
  assert.ok(media.port >= rtpengine.portMin && media.port <= rtpengine.portMax, `port ${media.port} is one of rtpengine's`);
  assert.deepEqual(webRtcAttributes(sdp), [], 'no ICE, DTLS or rtcp-mux left for the phone');
  assert.equal(media.rtcp?.port, media.port + 1, 'RTCP demuxed onto the next port');
}

function assertWebRtc(sdp: SdpSession, rtpengine: Rtpengine): void {
  const media = sdp.media[0]!;
  assert.equal(media.protocol, 'UDP/TLS/RTP/SAVPF');
  assert.ok(isWebRtc(sdp), 'ICE credentials, a fingerprint and SAVPF');
  assert.equal(media.rtcpMux, 'rtcp-mux');
  assert.match(String(media.fingerprint?.type ?? sdp.fingerprint?.type), /^sha-/);
  const candidates = media.candidates ?? [];
  assert.ok(candidates.length > 0, 'rtpengine offers its own candidates');
  for (const candidate of candidates) {
    assert.equal(candidate.ip, LOOPBACK);
    assert.ok(candidate.port >= rtpengine.portMin && candidate.port <= rtpengine.portMax, `candidate port ${candidate.port} is one of rtpengine's`);
  }
  assert.equal(media.crypto, undefined, 'no SDES keys');
}

function codecNames(sdp: SdpSession): string[] {
  return getCodecs(sdp).map((c) => c.name);
}

describe('media through rtpengine', () => {
  let rtpengine: Rtpengine;
  let client: RtpengineClient;

  before(async () => {
    assertPrivateNetns();
    rtpengine = await startRtpengine({ suite });
    client = new RtpengineClient({ host: LOOPBACK, port: rtpengine.ngPort, timeoutMs: 1000, logger });
    await client.ping();
  });

  after(async () => {
    await client?.close();
    await stopAll();
  });

  after(() => {
    assert.ok(records.length > 0, 'the media layer logged');
    const leaked = records.filter((r) => r.level !== 'debug' && /v=0/.test(JSON.stringify(r.fields)));
    assert.deepEqual(leaked, [], 'no SDP above debug level');
  });

  const session = (callId: string): MediaSession => createMediaSession({ mode: 'rtpengine', client, callId, codecs: CODECS, logger });

  it('bridges a browser call to a SIP phone: WebRTC offer to RTP/AVP, plain answer to WebRTC', async () => {
    const media = session('browser-to-phone@e2e');
    try {
      const invite = parseSdp(await media.offerFromBrowser(CHROMIUM_OFFER));
      assertPlainRtp(invite, rtpengine);
      assert.deepEqual(codecNames(invite), ['PCMU', 'PCMA', 'telephone-event', 'telephone-event'], "the PBX's codecs, in its order");

      const answer = phoneAnswer(invite);
      const early = await media.answerFromSip(answer);
      const forBrowser = parseSdp(early);
      assertWebRtc(forBrowser, rtpengine);
      assert.deepEqual(codecNames(forBrowser), ['PCMU', 'telephone-event']);
      // rtpengine already started DTLS as client while handling the offer; passive here would stall the handshake.
      assert.notEqual(forBrowser.media[0]!.setup, 'passive');

      // The 200 OK repeats the 183's SDP: the browser must see the same transport again.
      const final = parseSdp(await media.answerFromSip(answer));
      assert.equal(final.media[0]!.port, forBrowser.media[0]!.port);
      assert.equal(final.media[0]!.iceUfrag, forBrowser.media[0]!.iceUfrag);
      assert.equal(final.media[0]!.icePwd, forBrowser.media[0]!.icePwd);
      assert.deepEqual(final.media[0]!.fingerprint, forBrowser.media[0]!.fingerprint);
    } finally {
      await media.close();
    }
  });

  it('bridges a SIP call to a browser: RTP/AVP offer to WebRTC, browser answer to RTP/AVP', async () => {
    const media = session('phone-to-browser@e2e');
    try {
      const incoming = parseSdp(await media.offerFromSip(PHONE_OFFER));
      assertWebRtc(incoming, rtpengine);
      assert.deepEqual(codecNames(incoming), ['PCMU', 'PCMA', 'telephone-event'], 'G729 is not among the PBX codecs');
      assert.notEqual(incoming.media[0]!.mid, undefined, 'browsers need a=mid');
      assert.notEqual(incoming.media[0]!.setup, 'active', 'the browser must be able to take the DTLS client role');

      const ok = parseSdp(await media.answerFromBrowser(chromiumAnswer(incoming)));
      assertPlainRtp(ok, rtpengine);
      assert.deepEqual(codecNames(ok), ['PCMU', 'telephone-event']);
    } finally {
      await media.close();
    }
  });

  it('keys the call at rtpengine by the call id, and close() deletes it at once', async () => {
    const callId = 'closed-call@e2e';
    const media = session(callId);
    const invite = parseSdp(await media.offerFromBrowser(CHROMIUM_OFFER));
    const query = await client.command('query', { 'call-id': callId });
    assert.equal(query['result'], 'ok');

    await media.close();
    await media.close();
    await assert.rejects(client.command('query', { 'call-id': callId }), (e: unknown) => isMediaError(e, 'refused'));
    // A late 200 for the call finds nothing to attach to, at rtpengine or in the session.
    await assert.rejects(
      client.answer({ callId, fromTag: 'switchboard-browser', toTag: 'switchboard-sip', sdp: phoneAnswer(invite) }),
      (e: unknown) => isMediaError(e, 'refused') && /unknown call-id/i.test(e.message),
    );
    await assert.rejects(media.answerFromSip(phoneAnswer(invite)), (e: unknown) => isMediaError(e, 'closed'));
  });

  it('fails with unreachable within timeoutMs when nothing listens at the configured port', async () => {
    const port = await unusedUdpPort();
    const wrong = new RtpengineClient({ host: LOOPBACK, port, timeoutMs: 400, logger });
    try {
      const media = createMediaSession({ mode: 'rtpengine', client: wrong, callId: 'wrong-port@e2e', codecs: CODECS, logger });
      const started = performance.now();
      const error = await failureOf(media.offerFromBrowser(CHROMIUM_OFFER));
      const elapsed = performance.now() - started;
      assert.equal(error.code, 'unreachable');
      // Not a timing goal: proof that the deadline ends the command instead of leaving it hanging.
      assert.ok(elapsed < 400 + 2000, `gave up after ${Math.round(elapsed)} ms`);
      assert.match(error.message, new RegExp(`rtpengine at ${LOOPBACK.replace(/\./g, '\\.')}:${port} did not answer ng offer within 400 ms`));
      assert.match(error.message, /may be down/);
      await media.close();
    } finally {
      await wrong.close();
    }
  });

  it('fails with unreachable once rtpengine has stopped', async () => {
    const doomed = await startRtpengine({ suite, name: 'rtpengine-stopped', portCount: 20 });
    const doomedClient = new RtpengineClient({ host: LOOPBACK, port: doomed.ngPort, timeoutMs: 400, logger });
    try {
      await doomedClient.ping();
      await doomed.stop();
      const started = performance.now();
      const error = await failureOf(doomedClient.ping());
      const elapsed = performance.now() - started;
      assert.equal(error.code, 'unreachable');
      assert.match(error.message, new RegExp(`${doomed.ngPort}.*may be down`));
      // Not a timing goal: proof that the deadline ends the command instead of leaving it hanging.
      assert.ok(elapsed < 400 + 2000, `gave up after ${Math.round(elapsed)} ms`);
    } finally {
      await doomedClient.close();
    }
  });
});

async function failureOf(promise: Promise<unknown>): Promise<MediaError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MediaError) return error;
    throw error;
  }
  assert.fail('expected a MediaError');
}

async function unusedUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
