import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { writeToneWav as writeAudioTone } from './audio.js';
import { assertPrivateNetns } from './netns.js';
import { LOOPBACK } from './ports.js';
import { HarnessError, suiteDir, uniqueComponent } from './processes.js';

export const CHROMIUM = '/usr/bin/chromium';
const PAGES = fileURLToPath(new URL('../pages/', import.meta.url));
const TONE_PROBE = join(PAGES, 'tone-probe.js');
const SOUND_PROBE = join(PAGES, 'sound-probe.js');
const probed = new WeakSet<BrowserContext>();
const soundProbed = new WeakSet<BrowserContext>();

/**
 * Adds pages/tone-probe.js to every page of the context, before the page's own scripts: it listens to the newest
 * remote audio track with a Goertzel detector (`window.__probe.detectTone`) and turns off voice processing, which
 * learns a steady test tone as noise and turns it down by about 20 dB.
 */
export async function injectToneProbe(context: BrowserContext): Promise<void> {
  if (probed.has(context)) return;
  probed.add(context);
  await context.addInitScript({ path: TONE_PROBE });
}

/**
 * Adds pages/sound-probe.js to every page of the context: what the page itself plays through WebAudio (the widget's
 * ringback and ringtone) is tapped, and `window.__soundProbe.detect(freq)` listens for a frequency in it.
 */
export async function injectSoundProbe(context: BrowserContext): Promise<void> {
  if (soundProbed.has(context)) return;
  soundProbed.add(context);
  await context.addInitScript({ path: SOUND_PROBE });
}

export interface SoundResult {
  detected: boolean;
  ratio: number;
  afterMs: number;
}

/** A tone WAV for Chromium's fake microphone (48 kHz, as WebRTC captures), written with the shared audio helpers. */
export function writeToneWav(path: string, freqHz: number, { seconds = 10, sampleRate = 48_000, amplitude = 0.5 } = {}): string {
  writeAudioTone(path, { frequency: freqHz, sampleRate, durationS: seconds, amplitude });
  return path;
}

// ---- the test page ------------------------------------------------------------------------------------------

export interface PageServer {
  /** http://127.0.0.1:port/ : the phone page (a secure context, so getUserMedia works). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Bundles test/e2e/pages/phone.js with SIP.js into the suite folder and serves it with phone.html from 127.0.0.1
 * (loopback-only: the page must load nothing from elsewhere).
 */
export async function startPageServer(suite: string): Promise<PageServer> {
  const dir = suiteDir(suite);
  const bundlePath = join(dir, 'phone.bundle.js');
  await build({
    entryPoints: [join(PAGES, 'phone.js')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    outfile: bundlePath,
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const files: Record<string, { type: string; body: Buffer }> = {
    '/': { type: 'text/html; charset=utf-8', body: readFileSync(join(PAGES, 'phone.html')) },
    '/phone.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(bundlePath) },
  };
  const server: Server = createServer((req, res) => {
    const file = files[(req.url ?? '/').split('?')[0] ?? '/'];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('page server has no TCP address');
  return {
    url: `http://${LOOPBACK}:${address.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- the browser --------------------------------------------------------------------------------------------

export interface BrowserOptions {
  suite: string;
  /** Name for the profile folder and the console log; default "chromium". */
  name?: string;
  /** WAV the fake microphone plays in a loop (every page of this browser gets the same). */
  audioWav: string;
  /** Default 20 s. */
  launchTimeoutMs?: number;
}

export interface TestBrowser {
  readonly name: string;
  readonly context: BrowserContext;
  /** Where page console output and page errors go. */
  readonly consoleLogPath: string;
  /** Opens the phone page; resolves once window.phone is there. */
  openPhone(server: PageServer, label?: string): Promise<Phone>;
  close(): Promise<void>;
}

export interface RegisterOptions {
  wsUrl: string;
  /** sip:user@domain, the address of record. */
  aor: string;
  user: string;
  password: string;
  timeoutMs?: number;
  /** SIP.js log level in the console log: "debug" shows every SIP message; default "warn". */
  sipLogLevel?: 'debug' | 'log' | 'warn' | 'error';
}

export interface CallStats {
  connectionState: string;
  iceConnectionState: string;
  inbound?: { packetsReceived: number; bytesReceived: number; packetsLost: number; jitter: number; codec?: string };
  outbound?: { packetsSent: number; bytesSent: number; codec?: string };
  transport?: { dtlsState: string; srtpCipher?: string; dtlsRole?: string };
  selectedPair?: { state: string; local: string; remote: string };
  remoteSdp?: string;
}

export interface ToneResult {
  detected: boolean;
  afterMs: number;
  ratio?: number;
  rms?: number;
  /** Strongest frame seen (ratio 1 = nothing but the tone). */
  best: { ratio: number; rms: number };
  frames: number;
  /** Strongest ratio of each frequency in `others`: a tone that must not be there. */
  otherBest: Record<string, number>;
  /** State of the page's AudioContext. */
  context: string;
}

export interface ToneOptions {
  timeoutMs?: number;
  /** How long the tone must dominate without a break; default 500 ms. */
  holdMs?: number;
  /** Default 0.5. */
  minRatio?: number;
  /** Default 0.01 (full scale 1). */
  minRms?: number;
  /** Frequencies to measure alongside (reported in otherBest). */
  others?: number[];
}

/** One page of the browser running the SIP.js phone; every call goes through window.phone in the page. */
export class Phone {
  constructor(
    readonly label: string,
    readonly page: Page,
  ) {}

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const recent = (await this.page.evaluate(() => (globalThis as unknown as PagePhone).phone.log()).catch(() => [] as string[])).slice(-15);
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new HarnessError(`browser phone ${this.label}`, `${what} failed: ${message}\n--- page log ---\n${recent.join('\n')}`);
    }
  }

  register(options: RegisterOptions): Promise<string> {
    return this.run('register', () => this.page.evaluate((o) => (globalThis as unknown as PagePhone).phone.register(o), options));
  }

  /** Calls a SIP URI; resolves once the call is established. */
  call(target: string, timeoutMs = 15_000): Promise<string> {
    return this.run(`call ${target}`, () =>
      this.page.evaluate(([t, ms]) => (globalThis as unknown as PagePhone).phone.call(t, { timeoutMs: ms }), [target, timeoutMs] as const),
    );
  }

  /** Answers the next incoming call (waiting up to timeoutMs for it); resolves with the caller's URI. */
  answer(timeoutMs = 15_000): Promise<string> {
    return this.run('answer', () => this.page.evaluate((ms) => (globalThis as unknown as PagePhone).phone.answer({ timeoutMs: ms }), timeoutMs));
  }

  hangup(): Promise<string> {
    return this.run('hang up', () => this.page.evaluate(() => (globalThis as unknown as PagePhone).phone.hangup()));
  }

  /** Resolves once the other side has ended the call. */
  waitForHangup(timeoutMs = 10_000): Promise<string> {
    return this.run('wait for hang-up', () =>
      this.page.evaluate((ms) => (globalThis as unknown as PagePhone).phone.waitForHangup({ timeoutMs: ms }), timeoutMs),
    );
  }

  unregister(): Promise<void> {
    return this.run('unregister', () => this.page.evaluate(() => (globalThis as unknown as PagePhone).phone.unregister()));
  }

  stats(): Promise<CallStats | undefined> {
    return this.run('getStats', () => this.page.evaluate(() => (globalThis as unknown as PagePhone).phone.stats()));
  }

  /** Goertzel on the remote audio (WebAudio AnalyserNode) inside the page; see ToneResult. */
  detectTone(freqHz: number, options: ToneOptions = {}): Promise<ToneResult> {
    return this.run(`tone ${freqHz} Hz`, () =>
      this.page.evaluate(([f, o]) => (globalThis as unknown as PagePhone).phone.detectTone(f, o), [freqHz, options] as const),
    );
  }

  log(): Promise<string[]> {
    return this.page.evaluate(() => (globalThis as unknown as PagePhone).phone.log());
  }
}

/** What phone.js puts on window (the page side of Phone). */
interface PagePhone {
  phone: {
    register(o: RegisterOptions): Promise<string>;
    call(target: string, o: { timeoutMs: number }): Promise<string>;
    answer(o: { timeoutMs: number }): Promise<string>;
    hangup(): Promise<string>;
    waitForHangup(o: { timeoutMs: number }): Promise<string>;
    unregister(): Promise<void>;
    stats(): Promise<CallStats | undefined>;
    detectTone(freq: number, o: ToneOptions): Promise<ToneResult>;
    log(): string[];
  };
  phoneReady?: boolean;
}

export function chromiumArgs(audioWav: string): string[] {
  return [
    '--no-sandbox',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${audioWav}`,
    // Chromium gathers no ICE candidates on loopback otherwise, and loopback is all there is.
    '--allow-loopback-in-peer-connection',
    // Real host addresses in candidates, not mDNS names nobody here can resolve.
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ];
}

/**
 * Launches headless Chromium (the system one, never a downloaded build) with a fresh profile in the suite folder and
 * a fake microphone playing audioWav. Page console output goes to <name>.console.log.
 */
export async function launchBrowser(options: BrowserOptions): Promise<TestBrowser> {
  assertPrivateNetns();
  const name = uniqueComponent(options.suite, options.name ?? 'chromium');
  const dir = suiteDir(options.suite);
  const profile = join(dir, `${name}.profile`);
  rmSync(profile, { recursive: true, force: true });
  const consoleLogPath = join(dir, `${name}.console.log`);
  writeFileSync(consoleLogPath, `# ${new Date().toISOString()} ${CHROMIUM} ${chromiumArgs(options.audioWav).join(' ')}\n`);
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: chromiumArgs(options.audioWav),
      timeout: options.launchTimeoutMs ?? 20_000,
    });
  } catch (err) {
    throw new HarnessError(name, `Chromium did not start: ${err instanceof Error ? err.message : String(err)}`, consoleLogPath);
  }
  const pages: Page[] = [];
  let closing: Promise<void> | undefined;
  return {
    name,
    context,
    consoleLogPath,
    async openPhone(server, label = `${name}-page${pages.length + 1}`) {
      await injectToneProbe(context);
      const page = await context.newPage();
      pages.push(page);
      page.on('console', (msg) => appendFileSync(consoleLogPath, `[${label}] ${msg.type()}: ${msg.text()}\n`));
      page.on('pageerror', (err) => appendFileSync(consoleLogPath, `[${label}] pageerror: ${err.message}\n`));
      await page.goto(server.url, { timeout: 10_000 });
      await page.waitForFunction(() => (globalThis as unknown as PagePhone).phoneReady === true, undefined, { timeout: 10_000 });
      return new Phone(label, page);
    },
    close() {
      closing ??= context.close().catch(() => {});
      return closing;
    },
  };
}
