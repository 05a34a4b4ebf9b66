/**
 * An office on a PBX: operators 101 and 102 each have a line at Kamailio (as users 101 and l102), rtpengine bridges
 * their browsers' WebRTC to plain RTP, and a baresip desk phone (alice) is registered at Kamailio too. Each side
 * plays a tone of its own. What the e2e tests of in-call features (hold, transfer) start from.
 */
import { join } from 'node:path';
import { startPhone, type Phone } from './baresip.js';
import { launchBrowser, writeToneWav, type TestBrowser } from './browser.js';
import { DemoPage } from './demo-page.js';
import { startGateway, type StartedGateway } from './gateway.js';
import { startKamailio, type Kamailio } from './kamailio.js';
import { assertPrivateNetns } from './netns.js';
import { stopAll, suiteDir } from './processes.js';
import { startRtpengine } from './rtpengine.js';

export const HZ_BROWSER = 697;
export const HZ_PHONE = 1209;
export const HZ_BROWSER_102 = 770;
/** The hold music's tone, when the office has hold music. */
export const HZ_MUSIC = 1100;

export interface LineOffice {
  kamailio: Kamailio;
  gateway: StartedGateway;
  phone: Phone;
  /** Operator 101's page, and 102's. */
  page: DemoPage;
  page102: DemoPage;
  close(): Promise<void>;
}

/**
 * `dtmf`: how the PBX takes digits (default "info", SIP INFO). `holdMusic`: rtpengine plays a 2-second file of
 * HZ_MUSIC (so that a hold of a few seconds hears it loop) to the far end of calls an operator holds. `users`: more
 * accounts at Kamailio (user → password), for phones a test brings itself.
 */
export async function startLineOffice(
  suite: string,
  passwords: { line101: string; line102: string; phone: string },
  options: { dtmf?: 'info' | 'rfc4733'; holdMusic?: boolean; users?: Record<string, string> } = {},
): Promise<LineOffice> {
  assertPrivateNetns();
  const dir = suiteDir(suite);
  const browsers: TestBrowser[] = [];
  let gateway: StartedGateway | undefined;
  const close = async () => {
    for (const browser of browsers.reverse()) await browser.close();
    await gateway?.close();
    await stopAll();
  };
  try {
    const rtpengine = await startRtpengine({ suite });
    const kamailio = await startKamailio({ suite, users: { ...options.users, '101': passwords.line101, l102: passwords.line102, alice: passwords.phone }, authenticateInvites: true });
    gateway = await startGateway({
      suite,
      env: { LINE_101_PASSWORD: passwords.line101, LINE_102_PASSWORD: passwords.line102 },
      config: {
        pbx: { kamailio: { registrar: kamailio.uri('udp'), media: 'rtpengine', dtmf: options.dtmf ?? 'info', registerExpiresSeconds: 120, keepAliveSeconds: 5 } },
        lines: {
          '101': { mode: 'pbx', pbx: 'kamailio', user: '101', passwordEnv: 'LINE_101_PASSWORD' },
          '102': { mode: 'pbx', pbx: 'kamailio', user: 'l102', passwordEnv: 'LINE_102_PASSWORD' },
        },
        rtpengine: {
          ng: `127.0.0.1:${rtpengine.ngPort}`,
          ...(options.holdMusic ? { holdMusic: writeToneWav(join(dir, `hold-music-${HZ_MUSIC}hz.wav`), HZ_MUSIC, { seconds: 2, sampleRate: 8000 }) } : {}),
        },
      },
    });
    const phone = await startPhone({ suite, name: 'alice', kamailio, user: 'alice', password: passwords.phone, toneHz: HZ_PHONE, toneDurationS: 200 });
    const open = async (operator: string, hz: number): Promise<DemoPage> => {
      const browser = await launchBrowser({ suite, name: `chromium-${operator}`, audioWav: writeToneWav(join(dir, `browser${operator}-${hz}hz.wav`), hz, { seconds: 200 }) });
      browsers.push(browser);
      const page = await DemoPage.open(browser.context, `http://${gateway!.http.host}:${gateway!.http.port}/`, operator, browser.consoleLogPath);
      await page.signIn(operator);
      await page.page.waitForSelector('#line[data-state="registered"]', { timeout: 15_000 });
      return page;
    };
    const page = await open('101', HZ_BROWSER);
    const page102 = await open('102', HZ_BROWSER_102);
    return { kamailio, gateway, phone, page, page102, close };
  } catch (error) {
    await close();
    throw error;
  }
}
