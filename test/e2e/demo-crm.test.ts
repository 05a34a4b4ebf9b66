// What a newcomer sees after `npm start`: the demo CRM on its own origin, the widget embedded with one script tag from
// the gateway, tokens minted by the CRM's backend, and the gateway asking the CRM who is calling. Two Chromiums, each
// with a fake microphone playing its own tone: operator 101 clicks a tel: link, 102's widget shows 101's name from
// the CRM's lookup (and 101's shows 102's), 102 answers with the keyboard alone, each hears the other, 102 hangs up,
// both widgets go back to idle and list the call among recent calls.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDemoCrm } from '@switchboard/demo-crm';
import { DEMO_OPERATORS } from '@switchboard/gateway';
import type { FastifyInstance } from 'fastify';
import type { ConsoleMessage, Page } from 'playwright-core';
import { injectToneProbe, launchBrowser, writeToneWav, type TestBrowser, type ToneOptions, type ToneResult } from './support/browser.js';
import { startGateway, type StartedGateway } from './support/gateway.js';
import { assertPrivateNetns } from './support/netns.js';
import { freePort } from './support/ports.js';
import { suiteDir } from './support/processes.js';

const suite = 'demo-crm';
const HZ_101 = 697;
const HZ_102 = 1209;
const LOOKUP_TOKEN = 'e2e-lookup-token-0123456789abcdef';

interface CrmPage {
  label: string;
  page: Page;
  /** Console errors and warnings, and page errors: the happy path must have none. */
  problems: string[];
  /** `switchboard:*` DOM events the page received, in order. */
  events(): Promise<{ type: string; detail: Record<string, unknown> }[]>;
}

/** The focused element, looking through open shadow roots. */
function deepActiveSelector(page: Page): Promise<string> {
  return page.evaluate(() => {
    let active: Element | null = document.activeElement;
    while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
    if (active === null) return '';
    const action = active.getAttribute('data-action');
    const part = active.getAttribute('data-part');
    return action !== null ? `action=${action}` : part !== null ? `part=${part}` : active.tagName.toLowerCase();
  });
}

/** Moves the focus with Tab alone until the widget control with `data-action=<action>` has it. */
async function tabTo(page: Page, action: string, maxPresses = 60): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i <= maxPresses; i++) {
    const focused = await deepActiveSelector(page);
    if (focused === `action=${action}`) return;
    seen.push(focused);
    await page.keyboard.press('Tab');
  }
  assert.fail(`Tab never reached the ${action} control; focus went through ${seen.join(', ')}`);
}

function detectTone(page: Page, freq: number, options: ToneOptions): Promise<ToneResult> {
  return page.evaluate(
    ([f, o]) => (globalThis as unknown as { __probe: { detectTone(f: number, o: ToneOptions): Promise<ToneResult> } }).__probe.detectTone(f, o),
    [freq, options] as const,
  );
}

function toneLine(r: ToneResult): string {
  return `${r.detected ? 'tone' : 'NO tone'} after ${r.afterMs} ms, ratio ${(r.ratio ?? r.best.ratio).toFixed(2)}, others ${JSON.stringify(r.otherBest)}`;
}

describe('the demo CRM with the widget embedded', { timeout: 120_000 }, () => {
  let gateway: StartedGateway;
  let crm: FastifyInstance;
  let crmUrl: string;
  const browsers: TestBrowser[] = [];
  let op101: CrmPage;
  let op102: CrmPage;

  async function signIn(browser: TestBrowser, operator: string): Promise<CrmPage> {
    await injectToneProbe(browser.context);
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    // Recorded from the first script on, as a CRM page's own code would listen.
    await page.addInitScript(() => {
      const seen: { type: string; detail: unknown }[] = [];
      (globalThis as unknown as { __switchboardEvents: unknown }).__switchboardEvents = seen;
      for (const type of ['ready', 'outgoing', 'incoming', 'answered', 'ended']) {
        document.addEventListener(`switchboard:${type}`, (event) => seen.push({ type, detail: JSON.parse(JSON.stringify((event as CustomEvent).detail)) }));
      }
    });
    await page.goto(`${crmUrl}/`, { timeout: 10_000 });
    await page.selectOption('#operator', operator);
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/contacts$/, { timeout: 10_000 });
    await page.locator('[data-state="idle"]').waitFor({ state: 'attached', timeout: 15_000 });
    return {
      label: operator,
      page,
      problems,
      events: () => page.evaluate(() => (globalThis as unknown as { __switchboardEvents: { type: string; detail: Record<string, unknown> }[] }).__switchboardEvents),
    };
  }

  before(async () => {
    assertPrivateNetns();
    const dir = suiteDir(suite);
    const crmPort = await freePort();
    crmUrl = `http://127.0.0.1:${crmPort}`;
    gateway = await startGateway({
      suite,
      config: { lookup: { url: `${crmUrl}/crm/lookup?number={number}`, tokenEnv: 'CRM_LOOKUP_TOKEN' } },
      env: { CRM_LOOKUP_TOKEN: LOOKUP_TOKEN },
    });
    assert.equal(gateway.config.auth.kind, 'hs256');
    if (gateway.config.auth.kind !== 'hs256') return;
    crm = createDemoCrm({
      secret: gateway.config.auth.secret.reveal(),
      gatewayHttpUrl: `http://${gateway.http.host}:${gateway.http.port}`,
      lookupToken: LOOKUP_TOKEN,
      operators: DEMO_OPERATORS,
      publicUrl: crmUrl,
    });
    await crm.listen({ host: '127.0.0.1', port: crmPort });
    const launch = async (name: string, hz: number) => {
      const browser = await launchBrowser({ suite, name, audioWav: writeToneWav(join(dir, `${name}-${hz}hz.wav`), hz) });
      browsers.push(browser);
      return browser;
    };
    const [browserA, browserB] = await Promise.all([launch('chromium-101', HZ_101), launch('chromium-102', HZ_102)]);
    [op101, op102] = await Promise.all([signIn(browserA, '101'), signIn(browserB, '102')]);
  });

  after(async () => {
    await Promise.all(browsers.map((b) => b.close()));
    await gateway?.close();
    await crm?.close();
  });

  it('101 clicks a tel: link, 102 sees who calls from the CRM, answers by keyboard, both hear each other, 102 hangs up', async () => {
    const caller = DEMO_OPERATORS.find((o) => o.id === '101')!;
    await op101.page.click('a[href="tel:102"]');
    await op101.page.locator('[data-state="dialling"]').waitFor({ state: 'attached', timeout: 10_000 });
    // The caller's side of the screen pop: the CRM knows the dialled number too.
    const callee = DEMO_OPERATORS.find((o) => o.id === '102')!;
    await assert.doesNotReject(
      op101.page.locator('[data-part="contact"]').filter({ hasText: callee.name }).waitFor({ timeout: 5_000 }),
      `101's widget names ${callee.name} while it rings`,
    );

    const ringing = op102.page.locator('[data-state="ringing-in"]');
    await ringing.waitFor({ state: 'attached', timeout: 10_000 });
    const contact = op102.page.locator('[data-part="contact"]');
    await assert.doesNotReject(contact.filter({ hasText: caller.name }).waitFor({ timeout: 5_000 }), `the screen pop names ${caller.name}`);

    await tabTo(op102.page, 'answer');
    await op102.page.keyboard.press('Enter');
    await Promise.all([
      op101.page.locator('[data-state="in-call"]').waitFor({ state: 'attached', timeout: 10_000 }),
      op102.page.locator('[data-state="in-call"]').waitFor({ state: 'attached', timeout: 10_000 }),
    ]);

    const [heardBy101, heardBy102] = await Promise.all([
      detectTone(op101.page, HZ_102, { others: [HZ_101] }),
      detectTone(op102.page, HZ_101, { others: [HZ_102] }),
    ]);
    assert.ok(heardBy101.detected, `101 hears 102: ${toneLine(heardBy101)}`);
    assert.ok(heardBy102.detected, `102 hears 101: ${toneLine(heardBy102)}`);
    assert.ok((heardBy101.otherBest[HZ_101] ?? 1) < 0.1, `101 does not hear itself: ${toneLine(heardBy101)}`);
    assert.ok((heardBy102.otherBest[HZ_102] ?? 1) < 0.1, `102 does not hear itself: ${toneLine(heardBy102)}`);

    await tabTo(op102.page, 'hangup');
    await op102.page.keyboard.press('Enter');
    await Promise.all([
      op101.page.locator('[data-state="idle"]').waitFor({ state: 'attached', timeout: 20_000 }),
      op102.page.locator('[data-state="idle"]').waitFor({ state: 'attached', timeout: 20_000 }),
    ]);

    // Recent calls, on both sides, with the other party.
    await assert.doesNotReject(op101.page.locator('[data-part="recent"]').filter({ hasText: '102' }).waitFor({ timeout: 5_000 }), '101 lists the call to 102');
    await assert.doesNotReject(op102.page.locator('[data-part="recent"]').filter({ hasText: caller.name }).waitFor({ timeout: 5_000 }), '102 lists the call from 101');

    // The CRM page's own code saw the call: 102 an incoming call with the contact, answered, then ended.
    const seen = (await op102.events()).filter((e) => e.type !== 'ready');
    assert.deepEqual(seen.map((e) => e.type), ['incoming', 'answered', 'ended']);
    assert.equal((seen[0]!.detail.contact as { name?: string } | undefined)?.name, caller.name);
    assert.equal(seen[0]!.detail.number, '101');
    assert.equal(new Set(seen.map((e) => e.detail.callId)).size, 1, 'one call id throughout');
    const byCaller = (await op101.events()).filter((e) => e.type !== 'ready').map((e) => e.type);
    assert.deepEqual(byCaller, ['outgoing', 'answered', 'ended']);

    assert.deepEqual(op101.problems, [], 'no console errors or warnings at 101');
    assert.deepEqual(op102.problems, [], 'no console errors or warnings at 102');
  });
});
