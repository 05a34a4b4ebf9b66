// Blind transfer, end to end (RFC 3515, RFC 5589 §6). Operators 101 and 102 each have a line at Kamailio (the PBX
// stand-in); rtpengine bridges their browsers to plain RTP; a baresip desk phone (alice) is registered at Kamailio.
// 101 talks to the phone and transfers it: the gateway sends a REFER through Kamailio, the phone calls the target
// itself, and the gateway lets the old call go once the phone reports how the new one went.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { describeDetection, detectTone, readWav } from './support/audio.js';
import type { Phone } from './support/baresip.js';
import type { DemoPage } from './support/demo-page.js';
import { phoneAnswers, toneLine } from './support/line-calls.js';
import { HZ_BROWSER, HZ_BROWSER_102, HZ_PHONE, startLineOffice, type LineOffice } from './support/line-office.js';

const suite = 'call-transfer';

describe('blind transfer with real peers', { timeout: 240_000 }, () => {
  let office: LineOffice;
  let phone: Phone;
  let page: DemoPage;
  let page102: DemoPage;

  before(async () => {
    office = await startLineOffice(suite, { line101: 'line-101-Xfer-7d2a', line102: 'line-102-Xfer-c41e', phone: 'alice-xfer-secret' });
    ({ phone, page, page102 } = office);
  });

  after(() => office?.close());

  /** 101 calls the phone, which answers; 101 hears it. */
  async function talkToPhone(): Promise<string> {
    const callId = await phoneAnswers(page, phone, 'alice');
    const heard = await page.detectTone(HZ_PHONE, { timeoutMs: 10_000 });
    assert.ok(heard.detected, `101 hears the phone before the transfer: ${toneLine(heard)}`);
    return callId;
  }

  const logged = (msg: string, since: number) => office.gateway.logEntries().slice(since).filter((entry) => entry['msg'] === msg);

  it('101 transfers the phone to 102: the phone calls 102 through the PBX, 102 answers, tones both ways; the old call is released', async () => {
    const callId = await talkToPhone();
    const logFrom = office.gateway.logEntries().length;
    const since = phone.events.length;
    await page.transfer(callId, 'l102');
    await page.waitFor(callId, 'ended', 'transferred');

    // The phone places the new call itself: it rings 102's line, from alice.
    const row = page102.page.locator('#calls li[data-direction="inbound"][data-state="ringing"]');
    await row.first().waitFor({ timeout: 10_000 });
    assert.match((await row.first().textContent()) ?? '', /alice/);
    const newCallId = (await row.first().getAttribute('data-call-id')) ?? '';
    await page102.answer(newCallId);
    await page102.waitFor(newCallId, 'active');
    const heard = await page102.detectTone(HZ_PHONE, { timeoutMs: 10_000 });
    assert.ok(heard.detected, `102 hears the phone after the transfer: ${toneLine(heard)}`);
    const old = await page.detectTone(HZ_PHONE, { timeoutMs: 1500 });
    assert.ok(!old.detected, `101 hears nothing more of the phone: ${toneLine(old)}`);

    // The phone told the gateway how its call to 102 went; the gateway then ended the old call with a BYE.
    await waitForEntry(() => logged('transfer progress', logFrom).find((entry) => entry['sipfrag'] === 200), 'a NOTIFY reporting 200');
    await waitForEntry(() => logged('SIP call ended', logFrom).find((entry) => entry['cause'] === 'transferred'), 'the old call ended as transferred');
    await phone.waitForEvent('CALL_CLOSED', { since, timeoutMs: 10_000 });

    // A second and more of 102's tone in the phone's recording of the new call.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const beforeHangup = phone.events.length;
    await page102.hangup(newCallId);
    await page102.waitFor(newCallId, 'ended', 'normal');
    await phone.waitForEvent('CALL_CLOSED', { since: beforeHangup, timeoutMs: 10_000 });
    const wav = readWav(await phone.lastRecording());
    const from102 = detectTone(wav.samples, wav.sampleRate, HZ_BROWSER_102);
    const from101 = detectTone(wav.samples, wav.sampleRate, HZ_BROWSER);
    assert.ok(from102.present && from102.tonedS >= 1, `the phone hears 102 on the new call: ${describeDetection(from102)}`);
    assert.ok(!from101.present, `and not 101: ${describeDetection(from101)}`);
  });

  it('a transfer to a number the PBX does not know: 101\'s call is handed over all the same, and the gateway lets it go on the phone\'s report', async () => {
    const callId = await talkToPhone();
    const logFrom = office.gateway.logEntries().length;
    await page.transfer(callId, 'nobody');
    await page.waitFor(callId, 'ended', 'transferred');
    const refused = await waitForEntry(() => logged('the transfer target did not take the call', logFrom)[0], 'the phone\'s report of the failure');
    assert.ok(Number(refused['sipfrag']) >= 400, `a failure status: ${JSON.stringify(refused)}`);
    await phone.waitForState('closed', 10_000);
  });
});

/** Polls the gateway's log for an entry; fails naming what was awaited. */
async function waitForEntry(find: () => Record<string, unknown> | undefined, what: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const started = Date.now();
  for (;;) {
    const entry = find();
    if (entry !== undefined) return entry;
    if (Date.now() - started > timeoutMs) throw new Error(`the gateway never logged ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
