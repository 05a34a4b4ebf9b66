// The real browser against the real peers: headless Chromium running SIP.js registers over WebSocket to Kamailio
// with digest authentication and calls through Kamailio with media relayed by rtpengine (ICE + DTLS-SRTP towards
// every browser, plain RTP towards the baresip desk phone). Every party plays a tone of its own frequency into the
// call and must hear the other's: the browsers through Chromium's fake microphone and a Goertzel filter on the
// remote audio in the page, the phone through its WAV source and its recording.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeDetection, detectTone, readWav } from './support/audio.js';
import { startPhone, type Phone as DeskPhone } from './support/baresip.js';
import {
  launchBrowser, startPageServer, writeToneWav, type CallStats, type PageServer, type Phone, type TestBrowser, type ToneResult,
} from './support/browser.js';
import { startKamailio, type Kamailio } from './support/kamailio.js';
import { assertPrivateNetns } from './support/netns.js';
import { sleep, stopAll, suiteDir, waitFor } from './support/processes.js';
import { startRtpengine, type Rtpengine } from './support/rtpengine.js';

const suite = 'browser';
const users = { alice: 'alice-secret', bob: 'bob-secret', carol: 'carol-secret' };
const ALICE_HZ = 770;
const BOB_HZ = 1209;
const CAROL_HZ = 1633;

describe('browser phones through Kamailio and rtpengine', { timeout: 85_000 }, () => {
  let rtpengine: Rtpengine;
  let kamailio: Kamailio;
  let server: PageServer;
  const browsers: TestBrowser[] = [];
  let alice: Phone;
  let bob: Phone;
  let carol: DeskPhone;

  before(async () => {
    assertPrivateNetns();
    const dir = suiteDir(suite);
    // rtpengine first: Kamailio's rtpengine module probes it once at start-up and would mark it down for a minute.
    rtpengine = await startRtpengine({ suite });
    kamailio = await startKamailio({ suite, users, websocket: true, rtpengine });
    server = await startPageServer(suite);
    // One browser per user: the fake microphone's WAV is a browser-wide flag.
    const launch = (user: string, hz: number): Promise<TestBrowser> =>
      launchBrowser({ suite, name: `chromium-${user}`, audioWav: writeToneWav(join(dir, `${user}-${hz}hz.wav`), hz) }).then((b) => {
        // Listed as soon as it runs, so that after() closes it even when the other one fails to start.
        browsers.push(b);
        return b;
      });
    const [a, b] = await Promise.all([launch('alice', ALICE_HZ), launch('bob', BOB_HZ)]);
    [alice, bob] = await Promise.all([a.openPhone(server, 'alice'), b.openPhone(server, 'bob')]);
  });

  after(async () => {
    await Promise.all(browsers.map((b) => b.close()));
    await server?.close();
    await stopAll();
  });

  /** What a failing run would want to compare with: how clearly and how fast the tone came through. */
  function toneLine(r: ToneResult): string {
    return `${r.detected ? 'tone' : 'NO tone'} after ${r.afterMs} ms, ratio ${(r.ratio ?? r.best.ratio).toFixed(2)}, rms ${(r.rms ?? r.best.rms).toFixed(3)}`;
  }

  /** Media of the browser's call reaches it from rtpengine's ports, over DTLS-SRTP. */
  function assertRelayed(stats: CallStats | undefined, who: string): void {
    const why = `${who}: ${JSON.stringify({ ...stats, remoteSdp: undefined })}`;
    assert.ok(stats?.selectedPair, why);
    const [host, port] = stats.selectedPair.remote.split(':');
    assert.equal(host, '127.0.0.1', why);
    assert.ok(Number(port) >= rtpengine.portMin && Number(port) <= rtpengine.portMax, `media not from rtpengine: ${why}`);
    assert.equal(stats.transport?.dtlsState, 'connected', why);
    assert.ok((stats.inbound?.packetsReceived ?? 0) > 0, why);
    assert.match(stats.remoteSdp ?? '', /RTP\/SAVPF/, why);
  }

  it('rtpengine answers an ng ping', async () => {
    assert.equal(await rtpengine.ping(), true);
  });

  it('registers over WebSocket with digest authentication, and not with a wrong password', async () => {
    const wsUrl = kamailio.wsUrl!;
    assert.equal(await alice.register({ wsUrl, aor: kamailio.aor('alice'), user: 'alice', password: users.alice }), 'Registered');
    assert.equal(await bob.register({ wsUrl, aor: kamailio.aor('bob'), user: 'bob', password: users.bob }), 'Registered');

    const intruder = await browsers.find((b) => b.name === 'chromium-alice')!.openPhone(server, 'intruder');
    try {
      await assert.rejects(
        intruder.register({ wsUrl, aor: kamailio.aor('bob'), user: 'bob', password: 'wrong', timeoutMs: 5000 }),
        /REGISTER rejected: 401/,
      );
    } finally {
      await intruder.page.close();
    }
  });

  it("two browsers call each other and each hears the other's tone", async (t) => {
    const answered = bob.answer();
    await alice.call(kamailio.aor('bob'));
    assert.match(await answered, /^sip:alice@/);
    const [atAlice, atBob] = await Promise.all([
      alice.detectTone(BOB_HZ, { others: [ALICE_HZ] }),
      bob.detectTone(ALICE_HZ, { others: [BOB_HZ] }),
    ]);
    t.diagnostic(`alice: ${toneLine(atAlice)}; bob: ${toneLine(atBob)}`);
    assert.ok(atAlice.detected, `alice hears bob: ${JSON.stringify(atAlice)}`);
    assert.ok(atBob.detected, `bob hears alice: ${JSON.stringify(atBob)}`);
    // Nobody hears their own tone back.
    assert.ok((atAlice.otherBest[ALICE_HZ] ?? 1) < 0.2, JSON.stringify(atAlice));
    assert.ok((atBob.otherBest[BOB_HZ] ?? 1) < 0.2, JSON.stringify(atBob));
    assertRelayed(await alice.stats(), 'alice');
    assertRelayed(await bob.stats(), 'bob');
    await alice.hangup();
    await bob.waitForHangup();
  });

  it('a browser calls a baresip phone (DTLS-SRTP on one side, plain RTP on the other) and both hear the other', async (t) => {
    carol = await startPhone({ suite, name: 'phone-carol', kamailio, user: 'carol', password: users.carol, toneHz: CAROL_HZ, autoAnswer: true });
    await alice.call(carol.aor);
    await carol.waitForState('established', 5000);
    const atAlice = await alice.detectTone(CAROL_HZ, { others: [ALICE_HZ] });
    assert.ok(atAlice.detected, `alice hears carol: ${JSON.stringify(atAlice)}`);
    const stats = await alice.stats();
    assertRelayed(stats, 'alice');
    assert.match(stats?.inbound?.codec ?? '', /PCMU/i, 'the phone speaks G.711 only: no transcoding needed');
    // A little more call, so the phone's recording holds well over the half second of tone its detector wants.
    await sleep(1000);
    await alice.hangup();
    await carol.waitForState('closed', 5000);
    const heard = readWav(await carol.lastRecording());
    const atCarol = detectTone(heard.samples, heard.sampleRate, ALICE_HZ);
    t.diagnostic(`alice: ${toneLine(atAlice)}; carol: ${describeDetection(atCarol)}`);
    assert.ok(atCarol.present, `carol hears alice: ${describeDetection(atCarol)}`);
  });

  it('the baresip phone calls the browser, which answers, and both hear the other', async (t) => {
    const recordingsBefore = carol.recordings().length;
    const answered = alice.answer();
    await carol.dial(kamailio.aor('alice'));
    assert.match(await answered, /^sip:carol@/);
    await carol.waitForState('established', 5000);
    const atAlice = await alice.detectTone(CAROL_HZ, { others: [ALICE_HZ] });
    assert.ok(atAlice.detected, `alice hears carol: ${JSON.stringify(atAlice)}`);
    assertRelayed(await alice.stats(), 'alice');
    await sleep(1000);
    await carol.hangup();
    await alice.waitForHangup();
    await carol.waitForState('closed', 5000);
    assert.ok(await waitFor(() => carol.recordings().length > recordingsBefore, 3000), 'a recording of the second call');
    const heard = readWav(await carol.lastRecording());
    const atCarol = detectTone(heard.samples, heard.sampleRate, ALICE_HZ);
    t.diagnostic(`alice: ${toneLine(atAlice)}; carol: ${describeDetection(atCarol)}`);
    assert.ok(atCarol.present, `carol hears alice: ${describeDetection(atCarol)}`);
  });
});
