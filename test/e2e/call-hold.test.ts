// Hold and resume, end to end. Operators 101 and 102 each have a line at Kamailio (the PBX stand-in), and rtpengine
// bridges their browsers' WebRTC to plain RTP: to a baresip desk phone, or through the PBX from one line to the
// other. Every side plays a tone of its own, so a hold shows as silence where the tone was, and a resume as the
// tone coming back. rtpengine has hold music (a tone of its own) for the far end of a hold.
//
// baresip 1.0 stops recording what it decodes at the first re-INVITE of a call (its own or the gateway's), so the
// phone's recording proves the browser's tone up to the hold only; the call from line to line through the PBX
// proves both directions after a resume, and a listening phone of our own (bob) what a phone hears through a hold.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { describeDetection, detectTone, readWav } from './support/audio.js';
import type { Phone } from './support/baresip.js';
import type { DemoPage } from './support/demo-page.js';
import { startRtpPhone, type RtpPhone } from './support/rtp-phone.js';
import { phoneAnswers, toneLine } from './support/line-calls.js';
import { HZ_BROWSER, HZ_BROWSER_102, HZ_MUSIC, HZ_PHONE, startLineOffice, type LineOffice } from './support/line-office.js';

const suite = 'call-hold';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('hold and resume with real peers', { timeout: 240_000 }, () => {
  let office: LineOffice;
  let phone: Phone;
  let page: DemoPage;
  let page102: DemoPage;
  let listeningPhone: RtpPhone;

  before(async () => {
    const bob = 'bob-listens-7d21';
    office = await startLineOffice(suite, { line101: 'line-101-Hold-4e1b', line102: 'line-102-Hold-93c0', phone: 'alice-hold-secret' }, { holdMusic: true, users: { bob } });
    ({ phone, page, page102 } = office);
    listeningPhone = await startRtpPhone({ kamailio: office.kamailio, user: 'bob', password: bob });
  });

  after(async () => {
    await listeningPhone?.close();
    await office?.close();
  });

  async function hears(listener: DemoPage, hz: number, what: string): Promise<void> {
    const heard = await listener.detectTone(hz, { timeoutMs: 10_000 });
    assert.ok(heard.detected, `${what}: ${toneLine(heard)}`);
  }

  async function hearsNothing(listener: DemoPage, hz: number, what: string): Promise<void> {
    const heard = await listener.detectTone(hz, { timeoutMs: 2500 });
    assert.ok(!heard.detected, `${what}: ${toneLine(heard)}`);
  }

  it('101 holds a call with the phone: the phone gets the re-INVITE and stops sending, neither side hears the other; resume brings both back', async () => {
    const callId = await phoneAnswers(page, phone, 'alice');
    await hears(page, HZ_PHONE, 'before the hold the browser hears the phone');
    // A second and more of the browser's tone in the phone's recording, which ends at the hold.
    await sleep(1500);

    const since = phone.events.length;
    await page.toggleHold(callId, 'local');
    const offer = await phone.waitForEvent('CALL_REMOTE_SDP', { since, timeoutMs: 5000, match: (e) => e.param === 'offer' });
    assert.ok(offer, 'the hold reached the phone as a new offer');
    // The phone answered sendonly with recvonly: it stops sending, so the browser's RTP counters stand still.
    await sleep(500);
    const before = (await page.probe()).rtp.packetsReceived ?? 0;
    await sleep(2000);
    const during = (await page.probe()).rtp.packetsReceived ?? 0;
    assert.ok(during - before < 10, `the phone sends nothing while held: ${during - before} packets in 2 s`);
    await hearsNothing(page, HZ_PHONE, 'on hold the browser hears nothing of the phone');

    await page.toggleHold(callId, '');
    await hears(page, HZ_PHONE, 'after the resume the browser hears the phone again');
    const resumed = (await page.probe()).rtp.packetsReceived ?? 0;
    await sleep(1500);
    const later = (await page.probe()).rtp.packetsReceived ?? 0;
    assert.ok(later - resumed > 50, `RTP flows again: ${later - resumed} packets in 1.5 s`);
    await page.hangup(callId);
    await page.waitFor(callId, 'ended', 'normal');
    await phone.waitForState('closed', 10_000);
    const wav = readWav(await phone.lastRecording());
    const heard = detectTone(wav.samples, wav.sampleRate, HZ_BROWSER);
    assert.ok(heard.present && heard.tonedS >= 1, `the phone heard the browser before the hold: ${describeDetection(heard)}`);
  });

  /** Waits up to 10 s for the listening phone to hear `hz` in its last second. */
  async function phoneHears(hz: number, what: string): Promise<void> {
    const started = Date.now();
    while (!listeningPhone.hears(hz).present) {
      if (Date.now() - started > 10_000) assert.fail(`${what}: ${describeDetection(listeningPhone.hears(hz))}`);
      await sleep(200);
    }
  }

  it('101 holds a call with a phone: the phone hears the hold music, alone and looping, until the resume brings the browser back', async () => {
    const callId = await page.dial('bob');
    await page.waitFor(callId, 'active', undefined, 10_000);
    await phoneHears(HZ_BROWSER, 'before the hold the phone hears the browser');
    assert.ok(!listeningPhone.hears(HZ_MUSIC).present, 'and no music');

    await page.toggleHold(callId, 'local');
    assert.equal(listeningPhone.invites.at(-1)?.answered, 'recvonly', 'the hold reached the phone as a sendonly offer');
    await phoneHears(HZ_MUSIC, 'on hold the phone hears the music');
    await sleep(1000);
    assert.ok(!listeningPhone.hears(HZ_BROWSER).present, 'and not the browser');
    assert.equal(listeningPhone.ssrcs().size, 1, 'one stream: what the held browser still sends is blocked, not interleaved with the music');
    await sleep(2500);
    assert.ok(listeningPhone.hears(HZ_MUSIC).present, `past the end of the 2-second file the music goes on: ${describeDetection(listeningPhone.hears(HZ_MUSIC))}`);

    await page.toggleHold(callId, '');
    assert.equal(listeningPhone.invites.at(-1)?.answered, 'sendrecv');
    await phoneHears(HZ_BROWSER, 'after the resume the phone hears the browser again');
    await sleep(1000);
    assert.ok(!listeningPhone.hears(HZ_MUSIC).present, `and the music has stopped: ${describeDetection(listeningPhone.hears(HZ_MUSIC))}`);
    await page.hangup(callId);
    await page.waitFor(callId, 'ended', 'normal');
  });

  it('the phone holds and resumes: the gateway takes its re-INVITEs, the browser is told, and the call goes on', async () => {
    const callId = await phoneAnswers(page, phone, 'alice');
    await hears(page, HZ_PHONE, 'before the hold');
    await phone.hold();
    await page.waitForHold(callId, 'remote');
    await sleep(1000);
    await phone.resume();
    await page.waitForHold(callId, '');
    assert.equal(phone.state(), 'established', 'no re-INVITE was refused into ending the call');
    await hears(page, HZ_PHONE, 'after the phone resumed');
    await page.hangup(callId);
    await page.waitFor(callId, 'ended', 'normal');
    await phone.waitForState('closed', 10_000);
  });

  interface Side {
    page: DemoPage;
    callId: string;
    hz: number;
    name: string;
  }

  /** Tones both ways; `holder` holds: the other is told, neither hears the other; it resumes: tones both ways again. */
  async function holdAndResume(holder: Side, other: Side): Promise<void> {
    await hears(holder.page, other.hz, `${holder.name} hears ${other.name}`);
    await hears(other.page, holder.hz, `${other.name} hears ${holder.name}`);
    await holder.page.toggleHold(holder.callId, 'local');
    await other.page.waitForHold(other.callId, 'remote');
    await hearsNothing(other.page, holder.hz, `${other.name} does not hear ${holder.name} while ${holder.name} holds`);
    await hearsNothing(holder.page, other.hz, `${holder.name} does not hear ${other.name} while holding`);
    await holder.page.toggleHold(holder.callId, '');
    await other.page.waitForHold(other.callId, '');
    await hears(holder.page, other.hz, `${holder.name} hears ${other.name} after the resume`);
    await hears(other.page, holder.hz, `${other.name} hears ${holder.name} after the resume`);
  }

  it('101 holds a call with operator 102: both pages show who holds, neither hears the other; resume brings both back', async () => {
    const callId = await page.dial('102');
    await page102.waitFor(callId, 'ringing');
    await page102.answer(callId);
    await page.waitFor(callId, 'active');
    await holdAndResume({ page, callId, hz: HZ_BROWSER, name: '101' }, { page: page102, callId, hz: HZ_BROWSER_102, name: '102' });
    await page.hangup(callId);
    await page102.waitFor(callId, 'ended', 'normal');
  });

  it('a call from 101 to 102 through the PBX, held by each side in turn: the other is told, neither hears the other; tones both ways after each resume', async () => {
    // l102 is not an extension here: the call goes out on 101's line, through Kamailio, and in on 102's line.
    const outbound = await page.dial('l102');
    const row = page102.page.locator('#calls li[data-direction="inbound"][data-state="ringing"]');
    await row.first().waitFor({ timeout: 10_000 });
    const inbound = (await row.first().getAttribute('data-call-id')) ?? '';
    await page102.answer(inbound);
    await page.waitFor(outbound, 'active', undefined, 10_000);
    const caller: Side = { page, callId: outbound, hz: HZ_BROWSER, name: '101' };
    const callee: Side = { page: page102, callId: inbound, hz: HZ_BROWSER_102, name: '102' };
    await holdAndResume(caller, callee);
    await holdAndResume(callee, caller);
    await page.hangup(outbound);
    await page102.waitFor(inbound, 'ended', 'normal');
  });
});
