// A PBX given to the gateway by name, as companies usually give theirs: `sip:pbx.test`, found through a dnsmasq name
// server on loopback whose SRV records put a hung server (it takes datagrams and never answers) ahead of Kamailio.
// The gateway's line for operator 101 must get past the hung server to Kamailio (RFC 3263 §4.3), the browser's calls
// must go to the server that holds the line's binding (not the first one DNS names), and calls from Kamailio must be
// taken as the PBX's because DNS named its address, while an INVITE for the line from any other address is refused.
// Audio is checked both ways through rtpengine, against a baresip phone registered at Kamailio.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UserAgent, type SipResponse, type SipTransport } from '@switchboard/sip';
import { createTransport } from '@switchboard/sip/node';
import { startPhone, type Phone } from './support/baresip.js';
import { launchBrowser, writeToneWav, type TestBrowser } from './support/browser.js';
import { DemoPage } from './support/demo-page.js';
import { startDnsmasq, type DnsServer } from './support/dnsmasq.js';
import { startGateway, type StartedGateway } from './support/gateway.js';
import { startKamailio, type Kamailio } from './support/kamailio.js';
import { browserCallsPhone, phoneCallsBrowser } from './support/line-calls.js';
import { assertPrivateNetns } from './support/netns.js';
import { stopAll, suiteDir } from './support/processes.js';
import { startRtpengine, type Rtpengine } from './support/rtpengine.js';

const suite = 'gateway-dns';
const LINE_PASSWORD = 'line-101-Dns-4k8q2';
const PHONE_PASSWORD = 'alice-secret';
const HZ_BROWSER = 697;
const HZ_PHONE = 1209;
/** The hung server's own loopback address: a request that went there instead of to Kamailio is told apart by it. */
const HUNG = '127.0.0.3';
/** Neither a PBX server nor anything DNS names. */
const STRANGER = '127.0.0.7';

describe('a PBX given by name: the gateway finds its servers through DNS and fails over to the one that answers', { timeout: 180_000 }, () => {
  let rtpengine: Rtpengine;
  let kamailio: Kamailio;
  let dns: DnsServer;
  let hung: Socket;
  const swallowed: string[] = [];
  let gateway: StartedGateway;
  let phone: Phone;
  let browser: TestBrowser;
  let page: DemoPage;
  let startedAt: number;

  before(async () => {
    assertPrivateNetns();
    const dir = suiteDir(suite);
    rtpengine = await startRtpengine({ suite });
    kamailio = await startKamailio({ suite, users: { '101': LINE_PASSWORD, alice: PHONE_PASSWORD }, authenticateInvites: true });
    hung = createSocket('udp4');
    hung.on('message', (bytes) => swallowed.push(bytes.toString('latin1')));
    await new Promise<void>((done) => hung.bind(5060, HUNG, done));
    dns = await startDnsmasq(suite, {
      domain: 'test',
      hosts: { 'hung.pbx.test': [HUNG], 'live.pbx.test': [kamailio.host] },
      srv: [
        { name: '_sip._udp.pbx.test', target: 'hung.pbx.test', port: 5060, priority: 10, weight: 0 },
        { name: '_sip._udp.pbx.test', target: 'live.pbx.test', port: kamailio.port, priority: 20, weight: 0 },
      ],
    });
    startedAt = Date.now();
    gateway = await startGateway({
      suite,
      env: { LINE_101_PASSWORD: LINE_PASSWORD },
      config: {
        dns: { servers: [dns.address], timeoutMs: 1000, tries: 1 },
        // Kamailio takes a Request-URI as its own only with its port: the operators' domain says it.
        pbx: { main: { registrar: 'sip:pbx.test', domain: `${kamailio.host}:${kamailio.port}`, media: 'rtpengine', registerExpiresSeconds: 120, keepAliveSeconds: 5 } },
        lines: { '101': { mode: 'pbx', pbx: 'main', user: '101', passwordEnv: 'LINE_101_PASSWORD' } },
        rtpengine: { ng: `127.0.0.1:${rtpengine.ngPort}` },
      },
    });
    phone = await startPhone({ suite, name: 'alice', kamailio, user: 'alice', password: PHONE_PASSWORD, toneHz: HZ_PHONE, toneDurationS: 200 });
    browser = await launchBrowser({ suite, name: 'chromium-101', audioWav: writeToneWav(join(dir, `browser-${HZ_BROWSER}hz.wav`), HZ_BROWSER, { seconds: 200 }) });
    page = await DemoPage.open(browser.context, `http://${gateway.http.host}:${gateway.http.port}/`, '101', browser.consoleLogPath);
    await page.signIn('101');
  });

  after(async () => {
    await browser?.close();
    await gateway?.close();
    hung?.close();
    await stopAll();
  });

  const pair = () => ({ page, phone, browserHz: HZ_BROWSER, phoneHz: HZ_PHONE });

  it('the line gets past the hung server to Kamailio and the browser shows it registered', async () => {
    await page.page.waitForSelector('#line[data-state="registered"]', { timeout: 30_000 });
    console.log(`line registered ${Date.now() - startedAt} ms after the gateway started`);
    const registers = swallowed.filter((text) => text.startsWith('REGISTER sip:pbx.test SIP/2.0'));
    assert.ok(registers.length >= 2, `the hung server got the REGISTER and its retransmissions (${registers.length})`);
    const moved = gateway.logEntries().find((entry) => entry['msg'] === 'PBX server did not take the registration; trying the next');
    assert.ok(moved, 'the gateway logged the failover');
    assert.equal(moved['server'], `udp:${HUNG}:5060`);
    assert.equal(moved['next'], `udp:${kamailio.host}:${kamailio.port}`);
    assert.match(kamailio.process.readLog(), /REQ REGISTER sip:pbx\.test from udp:127\.0\.0\.1/);
  });

  it('101 calls the phone: the INVITE goes to the server holding the binding; tones both ways', async () => {
    const hungBefore = swallowed.length;
    await browserCallsPhone(pair(), 'alice');
    const toHung = swallowed.slice(hungBefore).filter((text) => !text.startsWith('OPTIONS ') && !text.startsWith('REGISTER '));
    assert.deepEqual(toHung.map((text) => text.split('\r\n')[0]), [], 'nothing of the call went to the hung server');
  });

  it('the phone calls 101 through Kamailio, whose address DNS named: the browser rings, answers, tones both ways', async () => {
    await phoneCallsBrowser(pair(), kamailio.aor('101'));
  });

  it('an INVITE for the line from an address DNS did not name is refused 403', async () => {
    const transport: SipTransport = await createTransport({ protocol: 'udp', host: STRANGER, port: 0 });
    const ua = new UserAgent({ transports: [transport] });
    try {
      const invite = ua.createRequest('INVITE', `sip:101@${gateway.sip.udp.host}:${gateway.sip.udp.port}`, { from: `sip:mallory@${STRANGER}`, contact: ua.contact('mallory') });
      invite.setBody(`v=0\r\no=- 1 1 IN IP4 ${STRANGER}\r\ns=-\r\nc=IN IP4 ${STRANGER}\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n`, 'application/sdp');
      const transaction = ua.sendInvite(invite, { protocol: 'udp', host: gateway.sip.udp.host, port: gateway.sip.udp.port });
      const final = await new Promise<SipResponse>((resolve, reject) => {
        transaction.on('response', ({ response }) => void (response.status >= 200 && resolve(response)));
        transaction.on('timeout', ({ error }) => reject(error));
      });
      assert.equal(`${final.status} ${final.reason}`, '403 Not From The PBX');
    } finally {
      await ua.close();
      await transport.close();
    }
    assert.equal(await page.page.locator('#calls li[data-direction="inbound"][data-state="ringing"]').count(), 0, 'nothing rang');
  });
});
