/**
 * Calls between an operator's page and a baresip phone at a PBX, each side playing its own tone: the browser must
 * hear the phone's (Goertzel in the page) and the phone the browser's (in its recording), and not its own.
 */
import assert from 'node:assert/strict';
import { describeDetection, detectTone, readWav } from './audio.js';
import type { Phone } from './baresip.js';
import type { ToneResult } from './browser.js';
import type { DemoPage } from './demo-page.js';

export interface TonePair {
  readonly page: DemoPage;
  readonly phone: Phone;
  readonly browserHz: number;
  readonly phoneHz: number;
}

export function toneLine(r: ToneResult): string {
  return `${r.detected ? 'tone' : 'NO tone'} after ${r.afterMs} ms, ratio ${(r.ratio ?? r.best.ratio).toFixed(2)}, ${r.frames} frames`;
}

/** The phone's last recording holds the browser's tone and not its own. */
export async function phoneHeardBrowser({ phone, browserHz, phoneHz }: TonePair): Promise<void> {
  const wav = readWav(await phone.lastRecording());
  const heard = detectTone(wav.samples, wav.sampleRate, browserHz);
  const own = detectTone(wav.samples, wav.sampleRate, phoneHz);
  assert.ok(heard.present && heard.tonedS >= 1, `the phone hears the browser: ${describeDetection(heard)}`);
  assert.ok(!own.present, `the phone does not hear itself: ${describeDetection(own)}`);
}

async function browserHearsPhone({ page, phoneHz }: TonePair): Promise<void> {
  const heard = await page.detectTone(phoneHz, { timeoutMs: 10_000 });
  assert.ok(heard.detected, `the browser hears the phone: ${toneLine(heard)}`);
  // Long enough for the phone's recording to hold a second of the browser's tone.
  await new Promise((resolve) => setTimeout(resolve, 1500));
}

/** The page dials `target` and the phone answers; resolves with the page's call id once the page shows it active. */
export async function phoneAnswers(page: DemoPage, phone: Phone, target: string): Promise<string> {
  const callId = await page.dial(target);
  await phone.waitForState('incoming', 10_000);
  await phone.answer();
  await page.waitFor(callId, 'active', undefined, 10_000);
  return callId;
}

/** The page dials `target`, the phone answers, tones both ways, the browser hangs up. */
export async function browserCallsPhone(pair: TonePair, target: string): Promise<void> {
  const { page, phone } = pair;
  const callId = await phoneAnswers(page, phone, target);
  await browserHearsPhone(pair);
  await page.hangup(callId);
  await page.waitFor(callId, 'ended', 'normal');
  await phone.waitForState('closed', 10_000);
  await phoneHeardBrowser(pair);
}

/** The phone dials `aor` and the page answers; resolves with the page's call id once both have the call up. */
export async function pageAnswers(page: DemoPage, phone: Phone, aor: string): Promise<string> {
  const since = phone.events.length;
  await phone.dial(aor);
  const row = page.page.locator('#calls li[data-direction="inbound"][data-state="ringing"]');
  await row.first().waitFor({ timeout: 10_000 });
  const callId = (await row.first().getAttribute('data-call-id')) ?? '';
  await page.answer(callId);
  await page.waitFor(callId, 'active');
  await phone.waitForEvent('CALL_ESTABLISHED', { since, timeoutMs: 10_000 });
  return callId;
}

/** The phone dials `aor`, the page answers, tones both ways, the phone hangs up. */
export async function phoneCallsBrowser(pair: TonePair, aor: string): Promise<void> {
  const { page, phone } = pair;
  const callId = await pageAnswers(page, phone, aor);
  await browserHearsPhone(pair);
  await phone.hangup();
  await page.waitFor(callId, 'ended', 'normal');
  await phoneHeardBrowser(pair);
}
