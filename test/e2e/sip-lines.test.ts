// Operators reach real phones: operator 101's line is an account at Kamailio (the PBX stand-in), registered by the
// gateway with a password the browser never sees; a baresip desk phone is registered at Kamailio too. The gateway
// bridges the browser's WebRTC to the phone's plain RTP through rtpengine. Each side plays its own tone and must
// hear the other's: the browser through a Goertzel detector on the remote track, the phone in its recording.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeDetection, detectTone, readWav } from './support/audio.js';
import { startPhone, type Phone } from './support/baresip.js';
import { launchBrowser, writeToneWav, type TestBrowser } from './support/browser.js';
import { DemoPage } from './support/demo-page.js';
import { browserCallsPhone, phoneAnswers, phoneCallsBrowser, toneLine, type TonePair } from './support/line-calls.js';
import { startGateway, type StartedGateway } from './support/gateway.js';
import { startKamailio, type Kamailio } from './support/kamailio.js';
import { assertPrivateNetns } from './support/netns.js';
import { stopAll, suiteDir } from './support/processes.js';
import { startRtpengine, type Rtpengine } from './support/rtpengine.js';

const suite = 'sip-lines';
const LINE_PASSWORD = 'line-101-Secret-7f3a9';
const PHONE_PASSWORD = 'alice-secret';
const HZ_BROWSER = 697;
const HZ_PHONE = 1209;
const HZ_DESK = 1477;
const HZ_BROWSER_102 = 770;
const DESK_PASSWORD = 'desk200pass';
const HZ_DESK_201 = 1336;
const RING_TIMEOUT_S = 6;

describe('operators call phones through a PBX line, with rtpengine bridging media', { timeout: 240_000 }, () => {
  let rtpengine: Rtpengine;
  let kamailio: Kamailio;
  let gateway: StartedGateway;
  let phone: Phone;
  let browser: TestBrowser;
  let page: DemoPage;
  /** A desk phone registered to the gateway itself, extension 200, and operator 102 (no PBX line) in a second browser. */
  let desk: Phone;
  let desk201: Phone;
  let browser102: TestBrowser;
  let page102: DemoPage;
  /** Every WebSocket frame and HTTP response body the browser saw, to look for the SIP password in. */
  const seenByBrowser: string[] = [];

  before(async () => {
    assertPrivateNetns();
    const dir = suiteDir(suite);
    rtpengine = await startRtpengine({ suite });
    kamailio = await startKamailio({ suite, users: { '101': LINE_PASSWORD, alice: PHONE_PASSWORD }, authenticateInvites: true });
    gateway = await startGateway({
      suite,
      env: { LINE_101_PASSWORD: LINE_PASSWORD, DESK_200_PASSWORD: DESK_PASSWORD, DESK_201_PASSWORD: 'desk201pass' },
      config: {
        routing: { ringTimeoutSeconds: RING_TIMEOUT_S },
        pbx: { kamailio: { registrar: kamailio.uri('udp'), media: 'rtpengine', registerExpiresSeconds: 120, keepAliveSeconds: 5 } },
        lines: { '101': { mode: 'pbx', pbx: 'kamailio', user: '101', passwordEnv: 'LINE_101_PASSWORD' } },
        rtpengine: { ng: `127.0.0.1:${rtpengine.ngPort}` },
        registrar: { accounts: { '200': { passwordEnv: 'DESK_200_PASSWORD' }, '201': { passwordEnv: 'DESK_201_PASSWORD' } } },
      },
    });
    phone = await startPhone({ suite, name: 'alice', kamailio, user: 'alice', password: PHONE_PASSWORD, toneHz: HZ_PHONE, toneDurationS: 200 });
    browser = await launchBrowser({ suite, name: 'chromium-101', audioWav: writeToneWav(join(dir, `browser-${HZ_BROWSER}hz.wav`), HZ_BROWSER, { seconds: 200 }) });
    page = await DemoPage.open(browser.context, `http://${gateway.http.host}:${gateway.http.port}/`, '101', browser.consoleLogPath);
    page.page.on('websocket', (ws) => {
      ws.on('framereceived', ({ payload }) => void seenByBrowser.push(String(payload)));
      ws.on('framesent', ({ payload }) => void seenByBrowser.push(String(payload)));
    });
    page.page.on('response', (response) => void response.text().then((text) => seenByBrowser.push(text), () => undefined));
    await page.signIn('101');
    desk = await startPhone({ suite, name: 'desk-200', kamailio: gateway.sip.udp, user: '200', password: DESK_PASSWORD, toneHz: HZ_DESK, toneDurationS: 200 });
    desk201 = await startPhone({ suite, name: 'desk-201', kamailio: gateway.sip.udp, user: '201', password: 'desk201pass', toneHz: HZ_DESK_201, toneDurationS: 200 });
    browser102 = await launchBrowser({ suite, name: 'chromium-102', audioWav: writeToneWav(join(dir, `browser102-${HZ_BROWSER_102}hz.wav`), HZ_BROWSER_102) });
    page102 = await DemoPage.open(browser102.context, `http://${gateway.http.host}:${gateway.http.port}/`, '102', browser102.consoleLogPath);
    await page102.signIn('102');
  });

  after(async () => {
    await browser102?.close();
    await browser?.close();
    await gateway?.close();
    await stopAll();
  });

  const pair = (): TonePair => ({ page, phone, browserHz: HZ_BROWSER, phoneHz: HZ_PHONE });

  it('the line registers at the PBX and the browser is told', async () => {
    await page.page.waitForSelector('#line[data-state="registered"]', { timeout: 15_000 });
  });

  it('101 calls the phone: tones both ways through rtpengine; the browser hangs up', async () => {
    await browserCallsPhone(pair(), 'alice');
  });

  it('101 sends digits to the phone through the PBX: each arrives as a SIP INFO, in order', async () => {
    const before = phone.receivedDtmf();
    const callId = await phoneAnswers(page, phone, 'alice');
    await page.sendDigits(callId, '19*#');
    await phone.waitForDtmf(before + '19*#', 5000);
    // baresip logs this line for a DTMF INFO, not for telephone-events in the media.
    assert.equal(readFileSync(phone.logPath, 'utf8').match(/call: received DTMF: '.'/g)?.length, (before + '19*#').length);
    await page.hangup(callId);
    await page.waitFor(callId, 'ended', 'normal');
    await phone.waitForState('closed', 10_000);
  });

  it('101 calls the phone and the phone hangs up', async () => {
    const callId = await phoneAnswers(page, phone, 'alice');
    await phone.hangup();
    await page.waitFor(callId, 'ended', 'normal');
  });

  it('the phone calls 101: the browser rings, answers, tones both ways', async () => {
    await phoneCallsBrowser(pair(), kamailio.aor('101'));
  });

  it('the browser rejects: the phone sees 603', async () => {
    const since = phone.events.length;
    await phone.dial(kamailio.aor('101'));
    const row = page.page.locator('#calls li[data-direction="inbound"][data-state="ringing"]');
    await row.first().waitFor({ timeout: 10_000 });
    await page.reject((await row.first().getAttribute('data-call-id')) ?? '');
    const closed = await phone.waitForEvent('CALL_CLOSED', { since, timeoutMs: 10_000 });
    assert.match(closed.param ?? '', /603/, JSON.stringify(closed.raw));
  });

  it('the browser answers busy: the phone sees 486', async () => {
    const since = phone.events.length;
    await phone.dial(kamailio.aor('101'));
    const row = page.page.locator('#calls li[data-direction="inbound"][data-state="ringing"]');
    await row.first().waitFor({ timeout: 10_000 });
    await page.busy((await row.first().getAttribute('data-call-id')) ?? '');
    const closed = await phone.waitForEvent('CALL_CLOSED', { since, timeoutMs: 10_000 });
    assert.match(closed.param ?? '', /486/, JSON.stringify(closed.raw));
  });

  it('the phone refuses the call: busy (486)', async () => {
    const callId = await page.dial('alice');
    await phone.waitForState('incoming', 10_000);
    await phone.hangup();
    await page.waitFor(callId, 'ended', 'busy');
    assert.equal(await page.text(callId), 'Busy');
  });

  it('an unknown number ends as not-found (404)', async () => {
    const callId = await page.dial('nobody');
    await page.waitFor(callId, 'ended', 'not-found');
  });

  it(`the phone does not answer: no answer after the ${RING_TIMEOUT_S} s ring timeout`, async () => {
    const callId = await page.dial('alice');
    await phone.waitForState('incoming', 10_000);
    await page.waitFor(callId, 'ended', 'no-answer', (RING_TIMEOUT_S + 6) * 1000);
    await phone.waitForState('closed', 10_000);
  });

  it('the SIP password never reached the browser', () => {
    assert.ok(seenByBrowser.length > 10, `frames and responses were captured (${seenByBrowser.length})`);
    for (const text of seenByBrowser) assert.equal(text.includes(LINE_PASSWORD), false, 'a frame or response holds the line password');
  });

  it('the PBX goes away: the line becomes unregistered with a reason, calls fail at once, and it comes back', async () => {
    const stoppedAt = Date.now();
    await kamailio.stop();
    await page.page.waitForSelector('#line[data-state="unregistered"]', { timeout: 30_000 });
    const noticedMs = Date.now() - stoppedAt;
    assert.ok(noticedMs <= 30_000, `noticed after ${noticedMs} ms`);
    assert.match((await page.page.locator('#line').textContent()) ?? '', /unregistered: \S/);
    const callId = await page.dial('alice');
    await page.waitFor(callId, 'ended', 'unavailable', 5000);
    assert.match(await page.text(callId), /Not available/);
    kamailio = await startKamailio({ suite, name: 'kamailio-again', port: kamailio.port, users: { '101': LINE_PASSWORD, alice: PHONE_PASSWORD }, authenticateInvites: true });
    await page.page.waitForSelector('#line[data-state="registered"]', { timeout: 40_000 });
  });

  async function deskHeard(hz: number): Promise<void> {
    const wav = readWav(await desk.lastRecording());
    const heard = detectTone(wav.samples, wav.sampleRate, hz);
    assert.ok(heard.present && heard.tonedS >= 1, `the desk phone hears ${hz} Hz: ${describeDetection(heard)}`);
  }

  it('a desk phone registered to the gateway calls operator 102: tones both ways', async () => {
    const since = desk.events.length;
    await desk.dial(`sip:102@${gateway.sip.udp.host}:${gateway.sip.udp.port}`);
    const row = page102.page.locator('#calls li[data-direction="inbound"][data-state="ringing"]');
    await row.first().waitFor({ timeout: 10_000 });
    const callId = (await row.first().getAttribute('data-call-id')) ?? '';
    assert.match((await row.first().textContent()) ?? '', /From 200/);
    await page102.answer(callId);
    await page102.waitFor(callId, 'active');
    await desk.waitForEvent('CALL_ESTABLISHED', { since, timeoutMs: 10_000 });
    const heard = await page102.detectTone(HZ_DESK, { timeoutMs: 10_000 });
    assert.ok(heard.detected, `102 hears the desk phone: ${toneLine(heard)}`);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await page102.hangup(callId);
    await desk.waitForState('closed', 10_000);
    await deskHeard(HZ_BROWSER_102);
  });

  it('operator 102 calls the desk phone at extension 200: tones both ways, digits by SIP INFO', async () => {
    const callId = await page102.dial('200');
    await desk.waitForState('incoming', 10_000);
    await desk.answer();
    await page102.waitFor(callId, 'active', undefined, 10_000);
    const heard = await page102.detectTone(HZ_DESK, { timeoutMs: 10_000 });
    assert.ok(heard.detected, `102 hears the desk phone: ${toneLine(heard)}`);
    // Digits to a phone registered here go as SIP INFO too.
    const digitsBefore = desk.receivedDtmf();
    await page102.sendDigits(callId, '42');
    await desk.waitForDtmf(digitsBefore + '42', 5000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await desk.hangup();
    await page102.waitFor(callId, 'ended', 'normal');
    await deskHeard(HZ_BROWSER_102);
  });

  it('desk phone 200 calls desk phone 201 through the gateway: tones both ways; hold and resume reach 201', async () => {
    const since = desk.events.length;
    await desk.dial(`sip:201@${gateway.sip.udp.host}:${gateway.sip.udp.port}`);
    await desk201.waitForState('incoming', 10_000);
    await desk201.answer();
    await desk.waitForEvent('CALL_ESTABLISHED', { since, timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    // Hold and resume are re-INVITEs, which the gateway relays between the two phones, answers included.
    for (const step of ['hold', 'resume'] as const) {
      const [at200, at201] = [desk.events.length, desk201.events.length];
      await desk[step]();
      await desk201.waitForEvent('CALL_REMOTE_SDP', { since: at201, timeoutMs: 5000 });
      await desk.waitForEvent('CALL_REMOTE_SDP', { since: at200, timeoutMs: 5000 });
    }
    await desk.hangup();
    await desk201.waitForState('closed', 10_000);
    await deskHeard(HZ_DESK_201);
    const wav = readWav(await desk201.lastRecording());
    const heard = detectTone(wav.samples, wav.sampleRate, HZ_DESK);
    assert.ok(heard.present && heard.tonedS >= 1, `201 hears 200: ${describeDetection(heard)}`);
  });
});
