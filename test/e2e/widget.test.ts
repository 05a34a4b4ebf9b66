// The embeddable widget on a CRM page of its own origin: the host server below plays the CRM (pages, a token
// endpoint that can fail on demand, the contact lookup), the real gateway serves /switchboard.js and the
// WebSocket, and two Chromium instances with their own fake-microphone tones are operators 101 and 102. A baresip
// desk phone registered at the gateway (extension 200, media through rtpengine) is the SIP party of in-call features.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startPhone, type Phone } from './support/baresip.js';
import { launchBrowser, writeToneWav, type TestBrowser, type ToneResult } from './support/browser.js';
import { startGateway, type StartedGateway } from './support/gateway.js';
import { assertPrivateNetns } from './support/netns.js';
import { LOOPBACK } from './support/ports.js';
import { stopAll, suiteDir } from './support/processes.js';
import { startRtpengine } from './support/rtpengine.js';
import { WidgetPage, type RecordedEvent } from './support/widget-page.js';

const suite = 'widget';
const HZ_101 = 697;
const HZ_102 = 1209;
const HZ_DESK = 1477;
const DESK_PASSWORD = 'desk-200-Widget-e41c';
const PAGES = fileURLToPath(new URL('./pages/', import.meta.url));
const CONTACT_101 = { id: 'c-101', name: 'Ada Lovelace', company: 'Analytical Engines Ltd', fields: { 'open deals': '2' } };

type TokenMode = 'ok' | '401' | '500' | 'network' | 'malformed';

/** The CRM: host pages, its phone-token endpoint and the contact lookup the gateway asks. */
class Crm {
  tokenMode: TokenMode = 'ok';
  /** When each token request arrived, and what it was answered with. */
  readonly tokenHits: { at: number; mode: TokenMode; operator: string | undefined }[] = [];
  readonly lookups: string[] = [];
  private server: Server | undefined;
  port = 0;

  constructor(
    private readonly gateway: () => StartedGateway,
    private readonly gatewayOrigin: () => string,
  ) {}

  get origin(): string {
    return `http://${LOOPBACK}:${this.port}`;
  }

  /** A page that signs the browser in as `operator` (a session cookie), then shows the CRM with the widget. */
  pageUrl(operator: string, variant: 'host' | 'hostile' = 'host', extra = ''): string {
    return `${this.origin}/${variant}?operator=${operator}${extra}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(0, LOOPBACK, () => resolve());
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('CRM server has no TCP address');
    this.port = address.port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.origin);
    const operator = /(?:^|;\s*)crm_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    switch (url.pathname) {
      case '/host':
      case '/hostile': {
        const who = url.searchParams.get('operator') ?? '';
        let html = readFileSync(join(PAGES, 'widget-host.html'), 'utf8')
          .replaceAll('{{GATEWAY}}', this.gatewayOrigin())
          .replaceAll('{{TEL}}', url.searchParams.get('tel') ?? '+1-555-0100')
          .replaceAll('{{CALL}}', url.searchParams.get('call') ?? '103')
          .replaceAll('{{LANG}}', url.searchParams.get('lang') ?? 'en');
        if (url.pathname === '/hostile') {
          // The hostile page also includes the script twice, as a CMS template and a plugin might.
          const twice = `<script src="${this.gatewayOrigin()}/switchboard.js" data-token-url="/crm/phone-token" async></script>`;
          html = html.replace('<!--HOSTILE-->', readFileSync(join(PAGES, 'widget-hostile.html'), 'utf8') + twice);
        }
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'set-cookie': `crm_session=${encodeURIComponent(who)}; Path=/; HttpOnly; SameSite=Lax`,
        });
        res.end(html);
        return;
      }
      case '/crm/phone-token': {
        const mode = this.tokenMode;
        this.tokenHits.push({ at: Date.now(), mode, operator });
        if (mode === 'network') {
          req.socket.destroy();
          return;
        }
        if (mode === '401' || operator === undefined || operator === '') {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"not signed in"}');
          return;
        }
        if (mode === '500') {
          res.writeHead(500, { 'content-type': 'text/plain' }).end('boom');
          return;
        }
        const body = mode === 'malformed' ? '<html>login</html>' : JSON.stringify({ token: this.gateway().tokenFor(decodeURIComponent(operator)) });
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
        return;
      }
      case '/crm/lookup': {
        const number = url.searchParams.get('number') ?? '';
        this.lookups.push(number);
        if (number === '101') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...CONTACT_101, url: `${this.origin}/contacts/c-101` }));
        } else {
          res.writeHead(404).end();
        }
        return;
      }
      case '/favicon.ico':
        res.writeHead(204).end();
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  }
}

function toneLine(r: ToneResult): string {
  return `${r.detected ? 'tone' : 'NO tone'} after ${r.afterMs} ms, ratio ${(r.ratio ?? r.best.ratio).toFixed(2)}, ${r.frames} frames, context ${r.context}`;
}

/** The enabled/disabled state of the given controls, for one assertion per state. */
async function buttons(page: WidgetPage, names: string[]): Promise<Record<string, boolean | 'absent'>> {
  const present = await page.controls();
  return Object.fromEntries(names.map((n) => [n, n in present ? (present[n] ?? false) : 'absent']));
}

const MAIN = ['call', 'hangup', 'answer', 'reject', 'mute', 'dial-1'];

describe('the widget on a CRM page', { timeout: 210_000 }, () => {
  let gateway: StartedGateway;
  let crm: Crm;
  const browsers: TestBrowser[] = [];
  let browserA: TestBrowser;
  let browserB: TestBrowser;
  let a1: WidgetPage;
  let b1: WidgetPage;
  let desk: Phone;
  let shots: string;

  before(async () => {
    assertPrivateNetns();
    const dir = suiteDir(suite);
    shots = dir;
    crm = new Crm(
      () => gateway,
      () => `http://${gateway.http.host}:${gateway.http.port}`,
    );
    await crm.start();
    const rtpengine = await startRtpengine({ suite });
    gateway = await startGateway({
      suite,
      env: { DESK_200_PASSWORD: DESK_PASSWORD },
      config: {
        routing: { callWaiting: false },
        lookup: { url: `${crm.origin}/crm/lookup?number={number}`, timeoutMs: 2000, cacheSeconds: 0 },
        rtpengine: { ng: `127.0.0.1:${rtpengine.ngPort}` },
        registrar: { accounts: { '200': { passwordEnv: 'DESK_200_PASSWORD' } } },
      },
    });
    desk = await startPhone({ suite, name: 'desk-200', kamailio: gateway.sip.udp, user: '200', password: DESK_PASSWORD, toneHz: HZ_DESK, toneDurationS: 200 });
    const launch = async (name: string, hz: number) => {
      const browser = await launchBrowser({ suite, name, audioWav: writeToneWav(join(dir, `${name}-${hz}hz.wav`), hz) });
      browsers.push(browser);
      return browser;
    };
    [browserA, browserB] = await Promise.all([launch('chromium-101', HZ_101), launch('chromium-102', HZ_102)]);
    // 101's tab first meets a CRM that refuses tokens (the first test); 102's is signed in from the start.
    crm.tokenMode = '401';
    a1 = await WidgetPage.open(browserA.context, crm.pageUrl('101'), '101', browserA.consoleLogPath, shots);
    b1 = await WidgetPage.open(browserB.context, crm.pageUrl('102'), '102', browserB.consoleLogPath, shots);
  });

  after(async () => {
    await Promise.all(browsers.map((b) => b.close()));
    await gateway?.close();
    await stopAll();
    await crm?.close();
  });

  it('a failing token URL is explained and retried with growing delays until it works', async () => {
    // b1 asked while the endpoint refused too; it recovers with a1, and its console is checked as a happy path later.
    const startedAt = Date.now();
    await a1.openPanel();
    await a1.waitForStatus(/Not signed in to the CRM \(401\)\. Retrying in \d+ s/);
    await a1.waitForState('connecting');
    await a1.screenshot('connecting');
    assert.deepEqual(await buttons(a1, MAIN), { call: false, hangup: 'absent', answer: 'absent', reject: 'absent', mute: 'absent', 'dial-1': true });
    const hitsOf101 = () => crm.tokenHits.filter((h) => h.operator === '101');
    const waitForHits = async (n: number, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (hitsOf101().length < n) {
        if (Date.now() > deadline) throw new Error(`only ${hitsOf101().length} token requests from 101, wanted ${n}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    await waitForHits(2, 5_000);
    crm.tokenMode = '500';
    await a1.waitForStatus(/server error \(500\)\. Retrying in \d+ s/, 8_000);
    const at500 = hitsOf101().length;
    crm.tokenMode = 'network';
    await waitForHits(at500 + 1, 10_000);
    await a1.waitForStatus(/Cannot reach the CRM/, 5_000);
    crm.tokenMode = 'ok';
    await a1.waitForState('idle', 20_000);
    await b1.waitForState('idle', 20_000);
    // Chromium retries a request at once when a reused connection is reset, so one attempt can hit the
    // endpoint up to three times within a few milliseconds: those count as one.
    const hits = hitsOf101().filter((h, i, all) => i === 0 || h.at - (all[i - 1]?.at ?? 0) > 200);
    const gaps = hits.slice(1).map((h, i) => h.at - (hits[i]?.at ?? 0));
    assert.ok(hits.length >= 4, `at least four attempts: ${JSON.stringify(hits.map((h) => h.mode))}`);
    // 1 s doubling with equal jitter: attempt n waits between 2^(n-2) and 2^(n-1) seconds.
    gaps.forEach((gap, i) => {
      const ceiling = 1000 * 2 ** i;
      assert.ok(gap >= ceiling / 2 - 100 && gap <= ceiling + 1000, `gap ${i + 1} is ${gap} ms, expected ${ceiling / 2}-${ceiling} ms (gaps ${gaps.join(', ')})`);
    });
    assert.ok((gaps.at(-1) ?? 0) > (gaps[0] ?? 0), `the gaps grow: ${gaps.join(', ')}`);
    assert.deepEqual(hits.map((h) => h.mode).slice(0, 2), ['401', '401']);
    assert.equal(hits.at(-1)?.mode, 'ok');
    assert.match(await a1.statusText(), /Online: .*\(101\)/);
    assert.ok(Date.now() - startedAt < 30_000);
    await a1.screenshot('registered');
    // From here on both pages are on the happy path.
    a1.clearConsole();
    b1.clearConsole();
  });

  it('every state shows the right controls; the host page gets the call events in order', async () => {
    await Promise.all([a1.clearEvents(), b1.clearEvents()]);
    await b1.openPanel();

    // Disconnected: an operator the gateway does not know is refused for good.
    // It also speaks Russian when the page asks for it.
    const stranger = await WidgetPage.open(browserA.context, crm.pageUrl('999', 'host', '&lang=ru'), 'stranger', browserA.consoleLogPath, shots);
    await stranger.waitForState('disconnected');
    // The state is in the button's name, not only in its dot's colour, and is announced with the panel closed.
    assert.equal(await stranger.action('toggle').getAttribute('aria-label'), 'Телефон – не в сети');
    assert.equal(await stranger.action('toggle').getAttribute('title'), 'Открыть телефон', 'the tooltip does not repeat the name');
    await stranger.page.locator('switchboard-phone [data-part="announce"]:text-matches("Шлюз телефонии отклонил сеанс")').waitFor({ state: 'attached' });
    await stranger.openPanel();
    await stranger.waitForStatus(/Шлюз телефонии отклонил сеанс \(forbidden\)/);
    assert.equal(await stranger.action('call').textContent().then((t) => t?.trim()), 'Позвонить');
    assert.deepEqual(await buttons(stranger, MAIN), { call: false, hangup: 'absent', answer: 'absent', reject: 'absent', mute: 'absent', 'dial-1': true });
    await stranger.part('number').fill('102');
    assert.equal((await stranger.controls()).call, false, 'no call while disconnected, even with a number');
    await stranger.screenshot('disconnected');
    await stranger.page.close();

    // Idle: Call needs a number. Pasted numbers are cleaned up; what cannot be dialled is refused with a message.
    assert.deepEqual(await buttons(a1, MAIN), { call: false, hangup: 'absent', answer: 'absent', reject: 'absent', mute: 'absent', 'dial-1': true });
    const paste = (text: string) =>
      a1.part('number').evaluate((input, t) => {
        const data = new DataTransfer();
        data.setData('text/plain', t);
        input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      }, text);
    await paste('tel:+7 (495) 123-45-67');
    assert.equal(await a1.part('number').inputValue(), '+74951234567');
    await a1.part('number').fill('');
    await paste('call me: 0800-FLOWERS');
    assert.equal(await a1.part('number').inputValue(), '');
    await a1.waitForStatus(/“c” cannot be dialled/);
    await a1.part('number').fill('1 0 2');
    assert.equal((await a1.controls()).call, true);
    await a1.screenshot('idle');

    // Dialling, with ringback; 102 rings with the CRM's contact.
    await a1.action('call').click();
    await a1.waitForState('dialling');
    await a1.waitForStatus(/Calling 102…/);
    assert.equal(await a1.root.getAttribute('data-sound'), 'ringback');
    assert.deepEqual(await buttons(a1, MAIN), { call: 'absent', hangup: true, answer: 'absent', reject: 'absent', mute: 'absent', 'dial-1': 'absent' });
    await a1.screenshot('dialling');
    await b1.waitForState('ringing-in');
    assert.equal(await b1.root.getAttribute('data-sound'), 'ringtone');
    const contact = b1.part('contact');
    assert.match((await contact.textContent()) ?? '', /Ada Lovelace.*Analytical Engines Ltd.*101/s);
    const card = contact.locator('a[data-action="open-card"]');
    assert.equal(await card.getAttribute('href'), `${crm.origin}/contacts/c-101`);
    assert.equal(await card.getAttribute('target'), '_blank');
    assert.equal(await card.getAttribute('rel'), 'noopener noreferrer');
    assert.deepEqual(await buttons(b1, MAIN), { call: 'absent', hangup: 'absent', answer: true, reject: true, mute: 'absent', 'dial-1': 'absent' });
    assert.equal(await b1.action('toggle').getAttribute('aria-label'), 'Phone – incoming call from Ada Lovelace');
    assert.equal(await b1.part('announce-urgent').textContent(), 'Incoming call from Ada Lovelace');
    await b1.screenshot('incoming');

    // In call, with a running timer. A double click answers once, and says nothing about the second click.
    await b1.action('answer').dblclick();
    await Promise.all([a1.waitForState('in-call'), b1.waitForState('in-call')]);
    assert.equal(await b1.part('notice').count(), 0, await b1.statusText());
    assert.equal(await a1.root.getAttribute('data-sound'), null, 'ringback stopped');
    assert.equal(await b1.root.getAttribute('data-sound'), null, 'ringtone stopped');
    await b1.page.locator('switchboard-phone [data-part="timer"]:text-matches("00:0[1-9]")').waitFor({ timeout: 5_000 });
    // A page that moves the element keeps the call, and the timer keeps running.
    await b1.page.evaluate(() => document.body.prepend(document.querySelector('switchboard-phone') as Element));
    const timerBefore = await b1.part('timer').textContent();
    await b1.page.waitForFunction(
      (before) => document.querySelector('switchboard-phone')?.shadowRoot?.querySelector('[data-part="timer"]')?.textContent !== before,
      timerBefore,
      { timeout: 3_000 },
    );
    assert.equal(await b1.state(), 'in-call');
    assert.deepEqual(await buttons(b1, MAIN), { call: 'absent', hangup: true, answer: 'absent', reject: 'absent', mute: true, 'dial-1': 'absent' });
    assert.match((await b1.part('contact').textContent()) ?? '', /Ada Lovelace/, 'the contact stays during the call');
    await b1.action('mute').click();
    assert.equal(await b1.action('mute').getAttribute('aria-pressed'), 'true');
    await b1.waitForStatus(/Microphone muted/);
    await b1.action('mute').click();
    assert.equal(await b1.action('mute').getAttribute('aria-pressed'), 'false');
    // Hold: the button turns into Resume once the gateway has agreed, and the other side is told who holds.
    await b1.action('hold').click();
    await b1.waitForStatus(/On hold/);
    assert.equal(await b1.action('hold').getAttribute('aria-pressed'), 'true');
    assert.match((await b1.action('hold').textContent()) ?? '', /Resume/);
    await a1.waitForStatus(/Put on hold by/);
    await b1.action('hold').click();
    await a1.waitForStatus(/^(?!.*Put on hold).*In call with/);
    assert.equal(await b1.action('hold').getAttribute('aria-pressed'), 'false');
    // Between two operators the gateway offers neither digits nor transfer: no Keypad, no Transfer.
    for (const page of [a1, b1]) assert.deepEqual(await buttons(page, ['keypad', 'transfer']), { keypad: 'absent', transfer: 'absent' }, page.label);
    await b1.screenshot('in-call');
    await a1.action('hangup').click();
    await Promise.all([a1.waitForState('ended'), b1.waitForState('ended')]);
    assert.match(await a1.statusText(), /Call ended/);
    assert.equal(await a1.part('announce').textContent(), 'Call with 102 ended: Call ended');
    assert.deepEqual(await buttons(a1, MAIN), { call: true, hangup: 'absent', answer: 'absent', reject: 'absent', mute: 'absent', 'dial-1': true });
    await a1.screenshot('ended');

    // The host pages saw every event, in order, with the call's data.
    const outgoing = await a1.events();
    const incoming = await b1.events();
    assert.deepEqual(outgoing.map((e) => e.type), ['switchboard:outgoing', 'switchboard:answered', 'switchboard:ended']);
    assert.deepEqual(incoming.map((e) => e.type), ['switchboard:incoming', 'switchboard:answered', 'switchboard:ended']);
    const callId = outgoing[0]?.detail.callId;
    assert.equal(typeof callId, 'string');
    for (const e of [...outgoing, ...incoming]) {
      assert.equal(e.detail.callId, callId, e.type);
      assert.equal(e.target, 'switchboard-phone');
    }
    assert.deepEqual(outgoing[0]?.detail, { callId, direction: 'outbound', number: '102', state: 'ringing' });
    assert.deepEqual(incoming[0]?.detail, {
      callId,
      direction: 'inbound',
      number: '101',
      name: (incoming[0]?.detail as { name?: string }).name,
      contact: { ...CONTACT_101, url: `${crm.origin}/contacts/c-101` },
      state: 'ringing',
    });
    assert.equal(incoming[1]?.detail.state, 'active');
    const ended = outgoing[2] as RecordedEvent;
    assert.equal(ended.detail.cause, 'normal');
    assert.ok((ended.detail.durationMs as number) >= 1000, `durationMs ${ended.detail.durationMs}`);
    assert.equal((incoming[2] as RecordedEvent).detail.cause, 'normal');

    // Not available: nobody is signed in as 103. Dialled by a data-switchboard-call button on the CRM page.
    await a1.page.click('#call-button');
    await a1.waitForState('ended');
    await a1.waitForStatus(/Not available/);
    await a1.screenshot('not-available');

    // Busy: 102 is on a call with 101, and call waiting is off.
    const c103 = await WidgetPage.open(browserA.context, crm.pageUrl('103'), '103', browserA.consoleLogPath, shots);
    await c103.waitForState('idle');
    await a1.dial('102');
    await b1.waitForState('ringing-in');
    await b1.action('answer').click();
    await a1.waitForState('in-call');
    await c103.openPanel();
    assert.equal(await c103.page.evaluate(() => (window as unknown as { Switchboard: { call(n: string): boolean } }).Switchboard.call('1-0-2')), true);
    await c103.waitForState('ended');
    await c103.waitForStatus(/Busy/);
    assert.equal(await c103.part('status').getAttribute('data-cause'), 'busy');
    await c103.screenshot('busy');
    // A click-to-call during a call only fills the number in and says why it did not call.
    await a1.page.click('#call-button');
    await a1.waitForStatus(/Finish the current call first/);
    assert.equal(await a1.state(), 'in-call');
    assert.deepEqual(c103.problems, [], 'no console errors or warnings on 103’s page');
    await c103.page.close();
    await a1.action('hangup').click();
    await Promise.all([a1.waitForState('ended'), b1.waitForState('ended')]);
  });

  it('a hostile stylesheet breaks nothing, and the widget adds no global CSS and one global', async () => {
    const page = await WidgetPage.open(browserA.context, crm.pageUrl('103', 'hostile'), 'hostile', browserA.consoleLogPath, shots);
    await page.waitForState('idle');
    const fab = page.action('toggle');
    const box = await fab.boundingBox();
    assert.ok(box && box.width >= 40 && box.height >= 40, `the button is visible: ${JSON.stringify(box)}`);
    assert.equal(await fab.isVisible(), true);
    assert.equal(await fab.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(139, 0, 139)', 'themed through --switchboard-accent');
    assert.equal(await page.root.evaluate((el) => getComputedStyle(el).fontSize), '14px', 'the page’s huge fonts stay out');
    await fab.click();
    await page.part('panel').waitFor({ state: 'visible' });
    const panelBox = await page.part('panel').boundingBox();
    assert.ok(panelBox && panelBox.width > 200 && panelBox.height > 200, `the panel is visible: ${JSON.stringify(panelBox)}`);
    await page.part('number').fill('999');
    await page.action('call').click();
    await page.waitForState('ended');
    await page.waitForStatus(/Not found/);
    await page.screenshot('hostile');
    const added = await page.page.evaluate(() => {
      const before = new Set((window as unknown as { __before: string[] }).__before);
      return {
        globals: Object.keys(window).filter((k) => !before.has(k) && k !== '__before' && k !== '__events'),
        styles: Array.from(document.querySelectorAll('style, link[rel~="stylesheet"]'), (el) => el.id || el.tagName),
        adopted: document.adoptedStyleSheets.length,
        audio: document.querySelectorAll('audio').length,
        api: Object.keys((window as unknown as { Switchboard: object }).Switchboard).sort(),
      };
    });
    assert.deepEqual(added, { globals: ['Switchboard'], styles: ['hostile'], adopted: 0, audio: 0, api: ['call', 'close', 'mount', 'open', 'unmount', 'version'] });
    assert.equal(await page.page.locator('switchboard-phone').count(), 1, 'the second copy of the script mounted nothing');
    assert.deepEqual(page.problems, [], 'no console errors or warnings on the hostile page');
    await page.page.close();
  });

  it('102 answers with the keyboard alone; tones both ways; recent calls on both sides', async () => {
    await Promise.all([a1.waitForState('idle', 8_000), b1.waitForState('idle', 8_000)]);
    // 101 clicks a tel: link on the CRM page: the widget takes it and dials.
    await a1.navigate(crm.pageUrl('101', 'host', '&tel=1-0-2'));
    await a1.waitForState('idle');
    assert.equal(await a1.part('announce').textContent(), '', 'a routine connection is not announced on load');
    await a1.page.click('#tel-link');
    await a1.waitForState('dialling');
    await b1.waitForState('ringing-in');
    // 102: focus starts on the page; Tab reaches Answer, Enter answers.
    await b1.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await b1.tabTo('answer');
    await b1.page.keyboard.press('Enter');
    await Promise.all([a1.waitForState('in-call'), b1.waitForState('in-call')]);
    assert.equal(await b1.focused(), 'hangup', 'the keyboard lands on Hang up');
    const [heardBy101, heardBy102] = await Promise.all([a1.detectTone(HZ_102), b1.detectTone(HZ_101)]);
    assert.ok(heardBy101.detected, `101 hears 102: ${toneLine(heardBy101)}`);
    assert.ok(heardBy102.detected, `102 hears 101: ${toneLine(heardBy102)}`);
    await b1.page.keyboard.press('Space');
    await Promise.all([a1.waitForState('ended'), b1.waitForState('ended')]);
    assert.equal(await b1.focused(), 'part:number', 'then on the number field, ready for the next call');
    // Esc closes the panel and gives focus back to the floating button.
    await b1.page.keyboard.press('Escape');
    await b1.part('panel').waitFor({ state: 'hidden' });
    assert.equal(await b1.focused(), 'toggle');

    // Enter in the number field calls; 102 declines. Then 101 calls back from the list and gives up.
    await a1.waitForState('idle', 8_000);
    await a1.part('number').fill('102');
    await a1.part('number').press('Enter');
    await b1.waitForState('ringing-in');
    await b1.action('reject').click();
    await Promise.all([a1.waitForStatus(/Declined/), b1.waitForState('ended')]);
    await a1.page.locator('switchboard-phone [data-part="recent"] li').first().locator('[data-action="callback"]').click();
    await Promise.all([a1.waitForState('dialling'), b1.waitForState('ringing-in')]);
    await a1.action('hangup').click();
    await Promise.all([a1.waitForStatus(/Cancelled/), b1.waitForState('ended')]);

    const [recentA, recentB] = await Promise.all([a1.recent(), b1.recent()]);
    assert.deepEqual(recentA.slice(0, 3).map((r) => r.cause), ['cancelled', 'declined', 'normal'], JSON.stringify(recentA));
    assert.deepEqual(recentB.slice(0, 3).map((r) => r.cause), ['cancelled', 'declined', 'normal'], JSON.stringify(recentB));
    assert.match(recentB[0]?.text ?? '', /Ada Lovelace 101 · Incoming · Missed/);
    recentA.splice(0, 2);
    recentB.splice(0, 2);
    assert.equal(recentA[0]?.direction, 'outbound', JSON.stringify(recentA));
    assert.match(recentA[0]?.text ?? '', /^102 Outgoing · Answered \d\d:\d\d/);
    assert.equal(recentB[0]?.direction, 'inbound', JSON.stringify(recentB));
    assert.match(recentB[0]?.text ?? '', /^Ada Lovelace 101 · Incoming · Answered/);
    assert.equal(recentA[0]?.callId, recentB[0]?.callId);
    assert.ok(recentA.length >= 3 && recentA.length <= 20, `101's list: ${recentA.length}`);
    assert.equal(new Set(recentA.map((r) => r.callId)).size, recentA.length, 'one entry per call');
  });

  it('the caller hears ringback (425 Hz) and the callee a ringtone (660 + 880 Hz), played by the widget; both stop', async () => {
    await Promise.all([a1.waitForState('idle', 8_000), b1.waitForState('idle', 8_000)]);
    // Both pages have had user gestures already, so their AudioContexts run.
    await a1.dial('102');
    await Promise.all([a1.waitForState('dialling'), b1.waitForState('ringing-in')]);
    const [ringback, low, high] = await Promise.all([a1.detectSound(425), b1.detectSound(660), b1.detectSound(880)]);
    assert.ok(ringback.detected, `ringback at 101: ${JSON.stringify(ringback)}`);
    assert.ok(low.detected && high.detected, `ringtone at 102: ${JSON.stringify({ low, high })}`);
    const [otherAtCaller, otherAtCallee] = await Promise.all([a1.detectSound(660, 1500), b1.detectSound(425, 1500)]);
    assert.equal(otherAtCaller.detected, false, 'the caller hears no ringtone');
    assert.equal(otherAtCallee.detected, false, 'the callee hears no ringback');
    await b1.action('answer').click();
    await Promise.all([a1.waitForState('in-call'), b1.waitForState('in-call')]);
    const [afterBack, afterTone] = await Promise.all([a1.detectSound(425, 5500), b1.detectSound(660, 2500)]);
    assert.equal(afterBack.detected, false, `ringback stops once answered: ${JSON.stringify(afterBack)}`);
    assert.equal(afterTone.detected, false, `the ringtone stops once answered: ${JSON.stringify(afterTone)}`);
    await a1.action('hangup').click();
    await Promise.all([a1.waitForState('idle', 15_000), b1.waitForState('idle', 15_000)]);
  });

  it('the button and the panel drag inside the viewport, a click is still a click, positions are remembered', async () => {
    const page = a1.page;
    const fab = a1.action('toggle');
    const panel = a1.part('panel');
    await a1.openPanel();
    const dragTo = async (from: { x: number; y: number }, to: { x: number; y: number }) => {
      await page.mouse.move(from.x, from.y);
      await page.mouse.down();
      await page.mouse.move(to.x, to.y, { steps: 8 });
      await page.mouse.up();
    };
    const centre = async (locator: typeof fab) => {
      const box = await locator.boundingBox();
      assert.ok(box);
      return { x: box.x + box.width / 2, y: box.y + box.height / 2, box };
    };
    await dragTo(await centre(fab), { x: 300, y: 200 });
    let now = await centre(fab);
    assert.ok(Math.abs(now.x - 300) <= 2 && Math.abs(now.y - 200) <= 2, `the button followed the pointer: ${JSON.stringify(now)}`);
    assert.equal(await panel.isVisible(), true, 'a drag does not toggle the panel');
    await dragTo(now, { x: -50, y: -80 });
    now = await centre(fab);
    assert.deepEqual([now.box.x, now.box.y], [4, 4], 'kept inside the viewport');
    const head = page.locator('switchboard-phone .panel .head');
    const headBox = (await head.boundingBox()) ?? assert.fail('no panel header');
    await dragTo({ x: headBox.x + 40, y: headBox.y + 15 }, { x: 500, y: 60 });
    const panelBox = (await panel.boundingBox()) ?? assert.fail('no panel');
    const near = (box: { x: number; y: number } | null, x: number, y: number) => box !== null && Math.abs(box.x - x) <= 2 && Math.abs(box.y - y) <= 2;
    assert.ok(near(panelBox, 500 - (headBox.x + 40 - headBox.x), 60 - 15), `the panel followed its header: ${JSON.stringify(panelBox)}`);
    await a1.navigate(page.url());
    await a1.waitForState('idle');
    assert.deepEqual([(await centre(fab)).box.x, (await centre(fab)).box.y], [4, 4], 'the button is where it was left');
    await fab.click();
    await panel.waitFor({ state: 'visible' });
    assert.ok(near(await panel.boundingBox(), panelBox.x, panelBox.y), 'so is the panel');

    // Positions saved on a larger screen come back inside this one; so does a closed panel after a resize.
    const inside = async (locator: typeof fab, what: string) => {
      const box = (await locator.boundingBox()) ?? assert.fail(`no ${what}`);
      const view = await page.evaluate(() => ({ width: document.documentElement.clientWidth, height: document.documentElement.clientHeight }));
      assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= view.width && box.y + box.height <= view.height, `${what} ${JSON.stringify(box)} in ${JSON.stringify(view)}`);
    };
    await page.evaluate(() => localStorage.setItem('switchboard.position', JSON.stringify({ fab: { x: 5000, y: 3000 }, panel: { x: 4000, y: 2500 } })));
    await a1.navigate(page.url());
    await a1.waitForState('idle');
    await inside(fab, 'the button');
    await a1.openPanel();
    await inside(panel, 'the opened panel');
    await dragTo(await centre(fab), { x: 1100, y: 600 });
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('switchboard.position') ?? '{}') as { panel?: unknown });
    assert.deepEqual(stored.panel, { x: 4000, y: 2500 }, 'dragging the button keeps the panel stored as dragged, not as shown');
    const head2 = (await head.boundingBox()) ?? assert.fail('no panel header');
    await dragTo({ x: head2.x + 40, y: head2.y + 15 }, { x: 900, y: 300 });
    await a1.action('close').click();
    await panel.waitFor({ state: 'hidden' });
    const viewport = page.viewportSize();
    await page.setViewportSize({ width: 640, height: 480 });
    try {
      await page.waitForFunction(() => document.documentElement.clientWidth <= 640);
      await inside(fab, 'the button after a resize');
      await fab.click();
      await panel.waitFor({ state: 'visible' });
      await inside(panel, 'the panel hidden during the resize');
    } finally {
      if (viewport) await page.setViewportSize(viewport);
    }
    await page.evaluate(() => localStorage.removeItem('switchboard.position'));
  });

  it('a number asked for while connecting is called once connected; pages can keep clicks from the widget', async () => {
    await Promise.all([a1.waitForState('idle', 8_000), b1.waitForState('idle', 8_000)]);
    crm.tokenMode = '500';
    const late = await WidgetPage.open(browserA.context, crm.pageUrl('103', 'host', '&call=102'), '103-late', browserA.consoleLogPath, shots);
    try {
      await late.waitForState('connecting');
      // With the panel closed, the problem is still announced and in the button's name.
      await late.page.locator('switchboard-phone [data-part="announce"]:text-matches("server error .500.")').waitFor({ state: 'attached' });
      // The countdown changes at every attempt; announced, it would be read out again each time.
      assert.doesNotMatch((await late.part('announce').textContent()) ?? '', /Retrying/);
      assert.equal(await late.action('toggle').getAttribute('aria-label'), 'Phone – offline');
      // Enter says what happens instead of nothing; editing the number takes the promise back.
      await late.openPanel();
      await late.part('number').fill('10');
      assert.equal((await late.controls()).call, true, 'Call, like Enter, queues the number while connecting');
      await late.part('number').press('Enter');
      await late.waitForStatus(/Not connected yet; will call when online/);
      await late.part('number').fill('103');
      assert.doesNotMatch(await late.statusText(), /will call/);
      await late.action('close').click();
      // Click-to-call while connecting: the number waits for the connection, then is dialled.
      await late.page.click('#call-button');
      await late.waitForStatus(/Not connected yet; will call when online/);
      assert.equal(await late.part('number').inputValue(), '102');
      assert.equal(await late.state(), 'connecting');
      crm.tokenMode = 'ok';
      await late.waitForState('dialling', 15_000);
      await b1.waitForState('ringing-in');
      await b1.action('reject').click();
      await late.waitForStatus(/Declined/);
      // The browser itself logs each refused token request; nothing else may appear.
      assert.deepEqual(late.problems.filter((p) => !/^Failed to load resource: .* 500 /.test(p.text)), [], 'no console errors or warnings');
    } finally {
      crm.tokenMode = 'ok';
      await late.page.close();
    }

    // Opt-outs: data-switchboard-call="off", a data-switchboard-ignore region, and a page handler of its own.
    await a1.waitForState('idle', 8_000);
    await a1.part('number').fill('');
    await a1.page.evaluate(() => {
      document.body.insertAdjacentHTML(
        'beforeend',
        `<a id="tel-off" href="tel:102" data-switchboard-call="off">off</a>
         <div data-switchboard-ignore><button id="ignored" type="button" data-switchboard-call="102">ignored</button></div>
         <a id="tel-own" href="tel:102">own</a>`,
      );
      document.getElementById('tel-own')?.addEventListener('click', (event) => event.preventDefault());
      // Keeps the browser from following the tel: links left to it, after the widget has had its say.
      window.addEventListener('click', (event) => {
        if (event.target instanceof Element && event.target.closest('a[href^="tel:"]')) event.preventDefault();
      });
    });
    for (const id of ['tel-off', 'ignored', 'tel-own']) await a1.page.click(`#${id}`);
    await a1.page.waitForTimeout(300);
    assert.equal(await a1.state(), 'idle');
    assert.equal(await a1.part('number').inputValue(), '', 'the widget took none of them');
    await b1.waitForState('idle', 8_000);
  });

  it('a tel: link added after load dials; an incoming call on a hidden tab shows a desktop notification', async () => {
    await Promise.all([a1.waitForState('idle', 8_000), b1.waitForState('idle', 8_000)]);
    await browserB.context.grantPermissions(['notifications'], { origin: crm.origin });
    const hidden = await browserB.context.newPage();
    try {
      // The operator is in another tab: the page is hidden. Notifications are the browser's own, watched on the way out.
      // Plain text, not a function: tsx would name the getters with a helper the page does not have.
      await hidden.addInitScript({
        content: `
          Object.defineProperty(Document.prototype, 'hidden', { get() { return true; }, configurable: true });
          Object.defineProperty(Document.prototype, 'visibilityState', { get() { return 'hidden'; }, configurable: true });
          window.__notifications = [];
          // A proxy, not a subclass: the permission stays the browser's own.
          window.Notification = new Proxy(window.Notification, {
            construct(target, args) {
              window.__notifications.push({ title: args[0], body: args[1] && args[1].body });
              return Reflect.construct(target, args);
            },
          });`,
      });
      await hidden.goto(crm.pageUrl('103'), { timeout: 10_000 });
      await hidden.locator('switchboard-phone [data-state="idle"]').waitFor({ state: 'attached', timeout: 15_000 });

      // Added long after the widget started: the widget still takes the click.
      await a1.page.evaluate(() => document.body.insertAdjacentHTML('beforeend', '<p><a id="tel-late" href="tel:103">Call 103</a></p>'));
      await a1.page.click('#tel-late');
      await a1.waitForState('dialling');
      await hidden.locator('switchboard-phone [data-state="ringing-in"]').waitFor({ state: 'attached', timeout: 10_000 });
      const shown = await hidden.waitForFunction(() => {
        const list = (window as unknown as { __notifications: { title: string; body?: string }[] }).__notifications;
        return list.length > 0 ? list : undefined;
      }, undefined, { timeout: 5_000 });
      const notifications = (await shown.jsonValue()) as { title: string; body?: string }[];
      assert.equal(notifications.length, 1, JSON.stringify(notifications));
      assert.match(`${notifications[0]!.title} ${notifications[0]!.body ?? ''}`, /Ada Lovelace/, 'the notification names the caller from the CRM');

      await a1.action('hangup').click();
      await a1.waitForStatus(/Cancelled/);
      await hidden.locator('switchboard-phone [data-state="ringing-in"]').waitFor({ state: 'detached', timeout: 10_000 });
    } finally {
      await hidden.close();
    }
  });

  it('in a call with a desk phone: the keypad’s digits reach it, and Transfer hands it to 102, who hears it', async () => {
    await Promise.all([a1.waitForState('idle', 8_000), b1.waitForState('idle', 8_000)]);
    await a1.dial('200');
    await desk.waitForState('incoming', 10_000);
    await desk.answer();
    await a1.waitForState('in-call');
    const heard = await a1.detectTone(HZ_DESK);
    assert.ok(heard.detected, `101 hears the desk phone: ${toneLine(heard)}`);
    assert.deepEqual(await buttons(a1, ['keypad', 'transfer']), { keypad: true, transfer: true });

    await a1.action('keypad').click();
    assert.equal(await a1.action('keypad').getAttribute('aria-expanded'), 'true');
    assert.equal(await a1.part('keypad').locator('button').count(), 12);
    const digitsBefore = desk.receivedDtmf();
    for (const key of ['5', '#']) await a1.part('keypad').locator(`[data-action="dial-${key}"]`).click();
    await desk.waitForDtmf(digitsBefore + '5#', 5000);

    await a1.action('transfer').click();
    assert.equal(await a1.part('keypad').count(), 0, 'the transfer form takes the keypad\'s place');
    const transferTo = a1.part('transfer').locator('input');
    assert.equal(await transferTo.evaluate((input) => input === (input.getRootNode() as ShadowRoot).activeElement), true, 'the field has the focus');
    await transferTo.fill('sales');
    await transferTo.press('Enter');
    await a1.waitForStatus(/“s” cannot be dialled/);
    assert.equal(await a1.state(), 'in-call', 'a number that cannot be dialled leaves the call as it was');
    // A refusal is said in the operator's words: nobody has extension 555 here.
    await transferTo.fill('555');
    await a1.part('transfer').locator('[data-action="transfer-go"]').click();
    await a1.waitForStatus(/The call could not be transferred: no such number/);
    assert.equal(await a1.state(), 'in-call', 'a refused transfer leaves the call as it was');
    await a1.screenshot('transfer');
    await transferTo.fill('102');
    await a1.part('transfer').locator('[data-action="transfer-go"]').click();
    // The phone takes the REFER and calls 102 at the gateway itself; 101's call ends as transferred.
    await Promise.all([a1.waitForStatus(/Transferred/), b1.waitForState('ringing-in', 15_000)]);
    const ringing = (await b1.part('announce-urgent').textContent()) ?? '';
    assert.match(ringing, /Incoming call from .*200/, `from the desk phone: ${ringing}`);
    await b1.action('answer').click();
    await b1.waitForState('in-call');
    const heardBy102 = await b1.detectTone(HZ_DESK);
    assert.ok(heardBy102.detected, `102 hears the desk phone after the transfer: ${toneLine(heardBy102)}`);
    await desk.hangup();
    await b1.waitForState('ended');
  });

  it('nothing in the happy path wrote to the console, and the gateway logged no errors', () => {
    assert.deepEqual(a1.problems, [], '101 after signing in');
    assert.deepEqual(b1.problems, [], '102');
    const errors = gateway.logEntries().filter((e) => typeof e.level === 'number' && e.level >= 50);
    assert.deepEqual(errors, []);
  });
});
