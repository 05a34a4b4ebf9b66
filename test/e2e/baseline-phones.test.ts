// Baseline with no code of ours in the path: two baresip desk phones registered to Kamailio with digest auth call
// each other. It proves the bench itself (registration, call set-up and tear-down from either side, audio both ways,
// DTMF) so that a later failure with our gateway in the path is ours, not the bench's.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { describeDetection, detectTone, readWav } from './support/audio.js';
import { startPhone, type Phone } from './support/baresip.js';
import { startKamailio, type Kamailio } from './support/kamailio.js';
import { assertPrivateNetns } from './support/netns.js';
import { HarnessError, sleep, stopAll } from './support/processes.js';

const suite = 'baseline-phones';
const users = { alice: 'alice-secret', bob: 'bob-secret' };
// DTMF row and column frequencies: far apart, and neither a harmonic of the other.
const TONE_A = 697;
const TONE_B = 1209;
/** Long enough for several full analysis windows after the jitter buffer has filled. */
const TALK_MS = 2500;

/** Asserts that the phone's recording of its latest call holds `heard` clearly and not `notHeard`. */
async function assertHears(t: TestContext, phone: Phone, heard: number, notHeard: number): Promise<void> {
  const path = await phone.lastRecording();
  const wav = readWav(path);
  assert.ok(wav.durationS >= 1.5, `${phone.name} recorded only ${wav.durationS.toFixed(2)} s (${path})`);
  const yes = detectTone(wav.samples, wav.sampleRate, heard);
  const no = detectTone(wav.samples, wav.sampleRate, notHeard);
  t.diagnostic(`${phone.name}: ${describeDetection(yes)}; ${describeDetection(no)}`);
  assert.ok(yes.present, `${phone.name} should hear ${heard} Hz: ${describeDetection(yes)} (${path})`);
  assert.ok(yes.tonedS >= 1, `${phone.name} heard ${heard} Hz for only ${yes.tonedS.toFixed(1)} s (${path})`);
  assert.ok(!no.present, `${phone.name} should not hear ${notHeard} Hz: ${describeDetection(no)} (${path})`);
}

describe('baseline: baresip calls baresip through Kamailio', { timeout: 60_000 }, () => {
  let kamailio: Kamailio;
  let a: Phone;
  let b: Phone;
  const phones: Phone[] = [];

  before(async () => {
    assertPrivateNetns();
    kamailio = await startKamailio({ suite, users });
    [a, b] = await Promise.all([
      startPhone({ suite, name: 'phone-a', kamailio, user: 'alice', password: users.alice, toneHz: TONE_A }),
      startPhone({ suite, name: 'phone-b', kamailio, user: 'bob', password: users.bob, toneHz: TONE_B }),
    ]);
    phones.push(a, b);
  });

  after(async () => {
    // Phones first, while Kamailio can still answer their de-REGISTER.
    await Promise.all(phones.map((p) => p.stop()));
    await stopAll();
  });

  it('A calls B, B answers, each hears the other, B sees A\'s DTMF, A hangs up and both end', async (t) => {
    const recordingsA = a.recordings().length;
    const recordingsB = b.recordings().length;
    await a.dial(b.aor);
    await b.waitForState('incoming', 5000);
    assert.equal(a.state() === 'established', false, 'A must not be connected before B answers');
    await b.answer();
    await Promise.all([a.waitForState('established', 5000), b.waitForState('established', 5000)]);

    await sleep(TALK_MS / 2);
    await a.sendDtmf('5');
    await b.waitForDtmf('5', 3000);
    await sleep(TALK_MS / 2);

    await a.hangup();
    await Promise.all([a.waitForState('closed', 5000), b.waitForState('closed', 5000)]);
    const closedAtB = await b.waitForEvent('CALL_CLOSED');
    assert.equal(closedAtB.direction, 'incoming');

    await assertHears(t, a, TONE_B, TONE_A);
    await assertHears(t, b, TONE_A, TONE_B);
    assert.equal(a.recordings().length, recordingsA + 1);
    assert.equal(b.recordings().length, recordingsB + 1);
  });

  it('a second call: B hangs up and both end', async (t) => {
    const sinceA = a.events.length;
    await a.dial(b.aor);
    await b.waitForState('incoming', 5000);
    await b.answer();
    await Promise.all([a.waitForState('established', 5000), b.waitForState('established', 5000)]);
    await sleep(TALK_MS);

    await b.hangup();
    await Promise.all([a.waitForState('closed', 5000), b.waitForState('closed', 5000)]);
    const closedAtA = await a.waitForEvent('CALL_CLOSED', { since: sinceA });
    assert.equal(closedAtA.direction, 'outgoing');

    await assertHears(t, a, TONE_B, TONE_A);
    await assertHears(t, b, TONE_A, TONE_B);
  });

  it('refuses to start a phone whose password the registrar rejects, naming the phone and the reason', async () => {
    await assert.rejects(
      startPhone({ suite, name: 'phone-bad-password', kamailio, user: 'alice', password: 'wrong', toneHz: 941, readyTimeoutMs: 5000 }),
      (err: unknown) => {
        assert.ok(err instanceof HarnessError);
        assert.match(err.message, /^phone-bad-password: registration as alice at 127\.0\.0\.1:\d+ refused: 401 Unauthorized/);
        return true;
      },
    );
  });
});
