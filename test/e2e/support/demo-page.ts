/**
 * The gateway's demo page (`/` under `--demo`) driven as a person would: pick an operator, sign in, dial, answer,
 * reject, hang up, by clicking. Remote audio is listened to through tone-probe.js, injected before the page's own
 * scripts, so the page and the client SDK run exactly as served.
 */
import { appendFileSync } from 'node:fs';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { injectToneProbe, type ToneOptions, type ToneResult } from './browser.js';

export interface ProbeState {
  connections: number;
  connectionState: string;
  open: number;
  liveRemoteTracks: number;
  audioElements: number;
  playing: boolean;
  visibility: string;
  rtp: { packetsReceived?: number; packetsSent?: number; audioLevel?: number; energy?: number; sourceLevel?: number };
}

interface ProbeWindow {
  __probe: { detectTone(freq: number, o: ToneOptions): Promise<ToneResult>; state(): Promise<ProbeState> };
}

export class DemoPage {
  /** Every request the page made to the demo token endpoint: one per login and one per refresh. */
  readonly tokenRequests: string[] = [];

  private constructor(
    readonly label: string,
    readonly page: Page,
  ) {
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/demo/token') this.tokenRequests.push(request.url());
    });
  }

  static async open(context: BrowserContext, url: string, label: string, consoleLogPath: string): Promise<DemoPage> {
    await injectToneProbe(context);
    const page = await context.newPage();
    page.on('console', (msg) => appendFileSync(consoleLogPath, `[${label}] ${msg.type()}: ${msg.text()}\n`));
    page.on('pageerror', (err) => appendFileSync(consoleLogPath, `[${label}] pageerror: ${err.message}\n`));
    const demo = new DemoPage(label, page);
    await page.goto(url, { timeout: 10_000 });
    return demo;
  }

  /** Loads another URL in this tab: a fresh document, SDK and probe, as a reload would give. */
  async navigate(url: string): Promise<void> {
    this.tokenRequests.length = 0;
    await this.page.goto(url, { timeout: 10_000 });
  }

  async signIn(operator: string): Promise<void> {
    await this.page.selectOption('#operator', operator);
    await this.page.click('#signin');
    await this.page.waitForSelector('#status[data-state="connected"]', { timeout: 10_000 });
  }

  async signOut(): Promise<void> {
    await this.page.click('#signout');
    await this.page.waitForSelector('#status[data-state="disconnected"]', { timeout: 5_000 });
  }

  /** Dials and resolves with the new call's id once the gateway has given it one. */
  async dial(target: string): Promise<string> {
    const before = await this.page.locator('#calls li[data-direction="outbound"]').count();
    await this.page.fill('#target', target);
    await this.page.click('#call');
    const rows = this.page.locator('#calls li[data-direction="outbound"]');
    await this.page.waitForFunction((n) => document.querySelectorAll('#calls li[data-direction="outbound"]').length > n, before, { timeout: 10_000 });
    return (await rows.first().getAttribute('data-call-id')) ?? '';
  }

  call(callId: string): Locator {
    return this.page.locator(`#calls li[data-call-id="${callId}"]`);
  }

  /** Waits for the call's row to show a state (and, for ended calls, a cause). */
  async waitFor(callId: string, state: 'ringing' | 'early' | 'active' | 'ended', cause?: string, timeoutMs = 10_000): Promise<void> {
    const selector = `#calls li[data-call-id="${callId}"][data-state="${state}"]${cause === undefined ? '' : `[data-cause="${cause}"]`}`;
    try {
      await this.page.waitForSelector(selector, { timeout: timeoutMs });
    } catch (error) {
      const row = await this.call(callId).evaluate((li) => `${li.getAttribute('data-state')}/${li.getAttribute('data-cause')}: ${li.textContent}`).catch(() => 'no row');
      throw new Error(`${this.label}: call ${callId} never reached ${state}${cause ? ` (${cause})` : ''}; it shows ${row}`, { cause: error });
    }
  }

  /** Waits for an incoming call to ring here and returns its id. */
  async incoming(callId: string): Promise<void> {
    await this.waitFor(callId, 'ringing');
  }

  async answer(callId: string): Promise<void> {
    await this.call(callId).locator('button.answer').click();
  }

  async reject(callId: string): Promise<void> {
    await this.call(callId).locator('button.reject').click();
  }

  /** Refuses an incoming call as busy (486) rather than declined (603). */
  async busy(callId: string): Promise<void> {
    await this.call(callId).locator('button.busy').click();
  }

  async hangup(callId: string): Promise<void> {
    await this.call(callId).locator('button.hangup').click();
  }

  /** Holds the call, or resumes it when this page holds it (one button), and waits for the gateway's word. */
  async toggleHold(callId: string, expect: 'local' | ''): Promise<void> {
    await this.call(callId).locator('button.hold').click();
    await this.waitForHold(callId, expect);
  }

  /** Waits for the row to show who holds the call: "local", "remote", "local remote" or "" (nobody). */
  async waitForHold(callId: string, hold: string, timeoutMs = 10_000): Promise<void> {
    try {
      await this.page.waitForSelector(`#calls li[data-call-id="${callId}"][data-hold="${hold}"]`, { timeout: timeoutMs });
    } catch (error) {
      const shown = await this.call(callId).getAttribute('data-hold').catch(() => 'no row');
      throw new Error(`${this.label}: call ${callId} never showed hold "${hold}"; it shows "${shown}"\n${(await this.log()).slice(-600)}`, { cause: error });
    }
  }

  /** How the answered call takes digits, as its row shows (`features.dtmf`): gateway, media or none. */
  async dtmfPath(callId: string): Promise<string | null> {
    return this.page.locator(`#calls li[data-call-id="${callId}"]`).getAttribute('data-dtmf');
  }

  /**
   * Sends digits from the call's keypad; resolves once the gateway has taken them all (or, when the call's digits
   * go in the media, once the browser has queued them), throws with the page's reason if not.
   */
  async sendDigits(callId: string, digits: string, timeoutMs = 10_000): Promise<void> {
    await this.fillAndWait(callId, 'input.digits', digits, 'button.dtmf', `call ${callId}: sent digits ${digits}`, `digits ${digits} on ${callId} failed`, timeoutMs);
  }

  /** Transfers the call to `target`; resolves once the far end took it, throws with the page's reason if not. */
  async transfer(callId: string, target: string, timeoutMs = 10_000): Promise<void> {
    await this.fillAndWait(callId, 'input.transfer-target', target, 'button.transfer', `call ${callId}: transferred to ${target}`, `transfer ${callId} to ${target} failed`, timeoutMs);
  }

  /** Fills a field of the call's row, presses its button, and waits for the page to log that it worked or failed. */
  private async fillAndWait(callId: string, field: string, value: string, press: string, done: string, failed: string, timeoutMs: number): Promise<void> {
    const row = this.call(callId);
    await row.locator(field).fill(value);
    await row.locator(press).click();
    await this.page.waitForFunction(([a, b]) => {
      const text = document.querySelector('#log')?.textContent ?? '';
      return text.includes(a!) || text.includes(b!);
    }, [done, failed] as const, { timeout: timeoutMs });
    const log = await this.log();
    if (!log.includes(done)) throw new Error(`${this.label}: ${log.slice(log.indexOf(failed), log.indexOf(failed) + 200)}`);
  }

  async text(callId: string): Promise<string> {
    return (await this.call(callId).locator('.call-state').textContent()) ?? '';
  }

  detectTone(freq: number, options: ToneOptions = {}): Promise<ToneResult> {
    return this.page.evaluate(([f, o]) => (globalThis as unknown as ProbeWindow).__probe.detectTone(f, o), [freq, options] as const);
  }

  probe(): Promise<ProbeState> {
    return this.page.evaluate(() => (globalThis as unknown as ProbeWindow).__probe.state());
  }

  /** The event log the page shows, for failure messages. */
  async log(): Promise<string> {
    return (await this.page.locator('#log').textContent().catch(() => '')) ?? '';
  }
}
