// A phone that moves its media in the middle of a call, end to end: what a PBX does when it takes itself out of the
// media path or a transfer at the PBX reconnects the call. Operator 101's browser speaks WebRTC to rtpengine; the
// phone (one of our own, carol, at Kamailio) re-INVITEs the call with its RTP on a new port and closes the old one.
// rtpengine is given the new offer and the browser's side as it stands, so the browser is not asked, and its
// DTLS-SRTP session must survive: a tone each way proves the audio after each move.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { describeDetection } from './support/audio.js';
import type { DemoPage } from './support/demo-page.js';
import { toneLine } from './support/line-calls.js';
import { HZ_BROWSER, startLineOffice, type LineOffice } from './support/line-office.js';
import { startRtpPhone, type RtpPhone } from './support/rtp-phone.js';

const suite = 'call-media-move';
/** The phone's tone. */
const HZ_CAROL = 852;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a phone moving its media during a call, with real peers', { timeout: 180_000 }, () => {
  let office: LineOffice;
  let page: DemoPage;
  let carol: RtpPhone;

  before(async () => {
    const password = 'carol-moves-5c3e';
    office = await startLineOffice(suite, { line101: 'line-101-Move-8d2f', line102: 'line-102-Move-1a7b', phone: 'alice-move-secret' }, { users: { carol: password } });
    ({ page } = office);
    carol = await startRtpPhone({ kamailio: office.kamailio, user: 'carol', password });
    carol.talk(HZ_CAROL);
  });

  after(async () => {
    await carol?.close();
    await office?.close();
  });

  /** Waits up to 10 s for the phone to hear `hz` in its last second. */
  async function carolHears(hz: number, what: string): Promise<void> {
    const started = Date.now();
    while (!carol.hears(hz).present) {
      if (Date.now() - started > 10_000) assert.fail(`${what}: ${describeDetection(carol.hears(hz))}`);
      await sleep(200);
    }
  }

  async function browserHears(hz: number, what: string): Promise<void> {
    const heard = await page.detectTone(hz, { timeoutMs: 10_000 });
    assert.ok(heard.detected, `${what}: ${toneLine(heard)}`);
  }

  /**
   * Both ways: the browser's tone at the phone, then the phone's in the browser. The phone is silent until it has
   * heard the browser, since rtpengine would otherwise follow its packets to the new port without being told.
   */
  async function bothHear(when: string): Promise<void> {
    await carolHears(HZ_BROWSER, `${when}, the phone hears the browser`);
    carol.mute(false);
    await browserHears(HZ_CAROL, `${when}, the browser hears the phone`);
  }

  /** The phone re-INVITEs the call to a new port, and keeps quiet there until bothHear() lets it speak. */
  async function move(options?: Parameters<RtpPhone['move']>[0]): Promise<{ status: number; answer: string }> {
    carol.mute(true);
    const result = await carol.move(options);
    // The old port is closed, and carolHears() looks at the last second only: what it finds came to the new one.
    await sleep(1100);
    return result;
  }

  const payloadsOf = (sdp: string): string => /^m=audio \d+ \S+ ([\d ]+)/m.exec(sdp)?.[1] ?? '';

  it('101 calls the phone, which moves its media twice, the second time preferring PCMA: answered 200 with the codec in use, and the audio follows both ways', async () => {
    const callId = await page.dial('carol');
    await page.waitFor(callId, 'active', undefined, 10_000);
    await bothHear('before any move');
    const first = await move();
    assert.equal(first.status, 200, 'the first move is taken');
    await bothHear('after the first move');
    // The browser offered PCMA too, but agreed to PCMU: the answer keeps PCMU, which the browser still sends.
    const second = await move({ codecs: ['PCMA', 'PCMU'] });
    assert.equal(second.status, 200, 'the second move is taken');
    assert.equal(payloadsOf(second.answer), '0', `PCMU alone: ${second.answer}`);
    await bothHear('after the second move');
    assert.equal(carol.ssrcs().size, 1, 'one stream reaches the phone');
    await page.hangup(callId);
    await page.waitFor(callId, 'ended', 'normal');
  });

  it('the phone calls 101 and moves its media; its RFC 2543 hold (c=0.0.0.0) holds the call, and its address back resumes it', async () => {
    const rows = page.page.locator('#calls li[data-direction="inbound"][data-state="ringing"]');
    const dialing = carol.dial('101');
    await rows.first().waitFor({ timeout: 10_000 });
    const callId = (await rows.first().getAttribute('data-call-id')) ?? '';
    await page.answer(callId);
    await dialing;
    await page.waitFor(callId, 'active', undefined, 10_000);
    await bothHear('before the move');

    assert.equal((await move()).status, 200);
    await bothHear('after the move');

    assert.equal((await move({ address: '0.0.0.0' })).status, 200, 'the old hold is taken');
    await page.waitForHold(callId, 'remote');
    assert.equal((await move()).status, 200, 'and so is the address back');
    await page.waitForHold(callId, '');
    await bothHear('after the resume');
    await carol.hangup();
    await page.waitFor(callId, 'ended', 'normal');
  });
});
