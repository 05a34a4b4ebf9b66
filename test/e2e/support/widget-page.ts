/**
 * A host page with the widget, driven as a person would: through the `data-state`, `data-action` and `data-part`
 * hooks inside its open shadow root (Playwright's CSS selectors pierce it). Remote audio is listened to through
 * tone-probe.js, injected before the page's own scripts, as for the demo page.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { injectSoundProbe, injectToneProbe, type SoundResult, type ToneOptions, type ToneResult } from './browser.js';

/** What the host page's inline script records: every `switchboard:*` event that reached `document`. */
export interface RecordedEvent {
  type: string;
  detail: Record<string, unknown>;
  target: string;
}

export interface ConsoleEntry {
  type: string;
  text: string;
}

interface HostWindow {
  __events: RecordedEvent[];
  __probe: { detectTone(freq: number, o: ToneOptions): Promise<ToneResult> };
}

export class WidgetPage {
  /** Console errors and warnings, and page errors, since the last `clearConsole()`. */
  readonly problems: ConsoleEntry[] = [];

  private constructor(
    readonly label: string,
    readonly page: Page,
    private readonly screenshots: string,
  ) {}

  static async open(context: BrowserContext, url: string, label: string, consoleLogPath: string, screenshots: string): Promise<WidgetPage> {
    await injectToneProbe(context);
    await injectSoundProbe(context);
    const page = await context.newPage();
    // Every wait here is for something a person would see within seconds.
    page.setDefaultTimeout(10_000);
    const widget = new WidgetPage(label, page, screenshots);
    page.on('console', (msg) => {
      appendFileSync(consoleLogPath, `[${label}] ${msg.type()}: ${msg.text()}\n`);
      if (msg.type() === 'error' || msg.type() === 'warning') widget.problems.push({ type: msg.type(), text: msg.text() });
    });
    page.on('pageerror', (err) => {
      appendFileSync(consoleLogPath, `[${label}] pageerror: ${err.message}\n`);
      widget.problems.push({ type: 'pageerror', text: err.message });
    });
    await page.goto(url, { timeout: 10_000 });
    return widget;
  }

  async navigate(url: string): Promise<void> {
    await this.page.goto(url, { timeout: 10_000 });
  }

  clearConsole(): void {
    this.problems.length = 0;
  }

  get root(): Locator {
    return this.page.locator('switchboard-phone .root');
  }

  action(name: string): Locator {
    return this.page.locator(`switchboard-phone [data-action="${name}"]`);
  }

  part(name: string): Locator {
    return this.page.locator(`switchboard-phone [data-part="${name}"]`);
  }

  async state(): Promise<string | null> {
    return this.root.getAttribute('data-state', { timeout: 2_000 }).catch(() => null);
  }

  async waitForState(state: string, timeoutMs = 10_000): Promise<void> {
    try {
      // Attached, not visible: the root is an inline box around fixed-position children, so it has no size of its own.
      await this.page.locator(`switchboard-phone .root[data-state="${state}"]`).waitFor({ state: 'attached', timeout: timeoutMs });
    } catch (error) {
      throw new Error(`${this.label}: widget never reached ${state}; it is ${await this.state()}: ${await this.statusText()}`, { cause: error });
    }
  }

  /** Waits until the status region's text matches. */
  async waitForStatus(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await this.statusText();
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`${this.label}: status never matched ${pattern}; it reads "${text}"`);
      await this.page.waitForTimeout(50);
    }
  }

  async statusText(): Promise<string> {
    return ((await this.part('status').textContent({ timeout: 2_000 }).catch(() => '')) ?? '').replace(/\s+/g, ' ').trim();
  }

  async openPanel(): Promise<void> {
    if (await this.part('panel').isHidden()) await this.action('toggle').click();
    await this.part('panel').waitFor({ state: 'visible', timeout: 5_000 });
  }

  /** The actions present in the panel and whether each is enabled, e.g. `{ call: false, 'dial-1': true }`. */
  async controls(): Promise<Record<string, boolean>> {
    return this.page.evaluate(() => {
      const root = document.querySelector('switchboard-phone')?.shadowRoot;
      const out: Record<string, boolean> = {};
      for (const el of Array.from(root?.querySelectorAll<HTMLButtonElement>('.panel [data-action]') ?? [])) {
        const name = el.dataset.action ?? '';
        if (el.closest('[hidden]')) continue;
        // Answer reads as disabled through aria-disabled while an answer settles, so that it keeps the focus.
        out[name] = (out[name] ?? false) || (!el.disabled && el.getAttribute('aria-disabled') !== 'true');
      }
      return out;
    });
  }

  async dial(number: string): Promise<void> {
    await this.openPanel();
    await this.part('number').fill(number);
    await this.action('call').click();
  }

  async screenshot(name: string): Promise<void> {
    await this.page.screenshot({ path: join(this.screenshots, `${name}.png`) });
  }

  events(): Promise<RecordedEvent[]> {
    return this.page.evaluate(() => (globalThis as unknown as HostWindow).__events);
  }

  async clearEvents(): Promise<void> {
    await this.page.evaluate(() => {
      (globalThis as unknown as HostWindow).__events.length = 0;
    });
  }

  /** The data-action (or data-part) of what has keyboard focus inside the widget, or the tag outside it. */
  focused(): Promise<string> {
    return this.page.evaluate(() => {
      const host = document.querySelector('switchboard-phone');
      const inner = host?.shadowRoot?.activeElement as HTMLElement | null | undefined;
      if (document.activeElement === host && inner) return inner.dataset.action ?? `part:${inner.dataset.part ?? inner.tagName}`;
      return `page:${document.activeElement?.tagName ?? 'none'}`;
    });
  }

  /** Presses Tab until the control `action` has focus; fails after `maxPresses`. */
  async tabTo(action: string, maxPresses = 25): Promise<number> {
    for (let presses = 1; presses <= maxPresses; presses++) {
      await this.page.keyboard.press('Tab');
      if ((await this.focused()) === action) return presses;
    }
    throw new Error(`${this.label}: ${action} never got focus in ${maxPresses} Tab presses (focus on ${await this.focused()})`);
  }

  /** Listens to what the page itself plays (ringback, ringtone) for `freq`. */
  detectSound(freq: number, timeoutMs = 7000): Promise<SoundResult> {
    return this.page.evaluate(
      ([f, t]) => (globalThis as unknown as { __soundProbe: { detect(f: number, o: { timeoutMs: number }): Promise<SoundResult> } }).__soundProbe.detect(f, { timeoutMs: t }),
      [freq, timeoutMs] as const,
    );
  }

  detectTone(freq: number, options: ToneOptions = {}): Promise<ToneResult> {
    return this.page.evaluate(([f, o]) => (globalThis as unknown as HostWindow).__probe.detectTone(f, o), [freq, options] as const);
  }

  /** The recent-calls list: one line per call with its data attributes. */
  recent(): Promise<{ callId: string; direction: string; cause: string; text: string }[]> {
    return this.page.evaluate(() =>
      Array.from(document.querySelector('switchboard-phone')?.shadowRoot?.querySelectorAll<HTMLElement>('[data-part="recent"] li') ?? [], (li) => ({
        callId: li.dataset.callId ?? '',
        direction: li.dataset.direction ?? '',
        cause: li.dataset.cause ?? '',
        text: (li.textContent ?? '').replace(/\s+/g, ' ').trim(),
      })),
    );
  }
}
