/**
 * The gateway's media bridge against a real rtpengine (userspace, loopback): Chromium's WebRTC SDP becomes plain
 * RTP/AVP for a SIP phone and back, in both call directions; the hold music's commands (play, stop, block, unblock;
 * a missing file refused); close() deletes the call at rtpengine; a stopped rtpengine or a wrong port gives
 * `unreachable` naming the address.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMediaSession, isMediaError, MediaError, RtpengineClient, type MediaLogger, type MediaSession } from '@switchboard/gateway';
import { getCodecs, isWebRtc, parseSdp, type SdpSession } from '@switchboard/sip';
import { writeToneWav } from './support/audio.js';
import { assertPrivateNetns } from './support/netns.js';
import { LOOPBACK } from './support/ports.js';
import { stopAll, suiteDir } from './support/processes.js';
import { startRtpengine, type Rtpengine } from './support/rtpengine.js';
import { CHROMIUM_OFFER, chromiumAnswer, PHONE_OFFER, phoneAnswer } from './support/sdp-fixtures.js';

const suite = 'rtpengine-media';
const CODECS = ['PCMU', 'PCMA', 'telephone-event'] as const;
const records: { level: string; fields: unknown }[] = [];
const record = (level: string) => (fields: unknown) => void records.push({ level, fields });
/** Keeps what the media layer logs, to check that SDP never shows above debug level. */
const logger = { debug: record('debug'), info: record('info'), warn: record('warn') } as unknown as MediaLogger;


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

  it('plays a file to the SIP side and stops it, blocks and unblocks the browser; a file it cannot read is refused', async () => {
    const callId = 'hold-music@e2e';
    const media = session(callId);
    try {
      await media.answerFromSip(phoneAnswer(parseSdp(await media.offerFromBrowser(CHROMIUM_OFFER))));
      const sip = { callId, fromTag: 'switchboard-sip' };
      const file = join(suiteDir(suite), 'hold-music.wav');
      writeToneWav(file, { frequency: 1100, durationS: 1.5, sampleRate: 8000 });
      assert.deepEqual(await client.playMedia({ ...sip, file, repeatTimes: 2 }), { durationMs: 1500 });
      await client.blockMedia({ callId, fromTag: 'switchboard-browser' });
      await client.stopMedia(sip);
      await client.unblockMedia({ callId, fromTag: 'switchboard-browser' });
      await assert.rejects(client.playMedia({ ...sip, file: join(suiteDir(suite), 'no-such-music.wav') }), (e: unknown) => isMediaError(e, 'refused'));
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
