// SIP phones register to the gateway over every transport it offers: TLS and secure WebSocket with a certificate
// made for the test, and plain WebSocket (RFC 7118) from a SIP.js web phone in Chromium, the way existing web
// phones would. Each registration must show up in the gateway's location service on that transport. A phone on
// TLS then calls an operator and is called by one, through the B2BUA and a real rtpengine, every request and
// response on its one TLS connection (the operator is a protocol client: media is not the point here).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Dialog, DigestClient, cryptoRandom, formatNameAddr, parseSdp, parseUri, UserAgent, type IncomingRequest, type SipResponse, type SipTransport, type TransportProtocol } from '@switchboard/sip';
import { createTransport, nodeDigestHasher } from '@switchboard/sip/node';
import { launchBrowser, startPageServer, writeToneWav, type PageServer, type TestBrowser } from './support/browser.js';
import { startGateway, type StartedGateway } from './support/gateway.js';
import { assertPrivateNetns } from './support/netns.js';
import { freePort } from './support/ports.js';
import { suiteDir } from './support/processes.js';
import { RawClient } from './support/raw-client.js';
import { startRtpengine } from './support/rtpengine.js';
import { chromiumAnswer, CHROMIUM_OFFER, PHONE_OFFER, phoneAnswer } from './support/sdp-fixtures.js';
import { REGISTER_SCENARIO, runSipp, SCENARIOS_DIR } from './support/sipp.js';

const suite = 'gateway-sip-transports';
const PASSWORD = 'phone-300-pass';

describe('SIP phones register to the gateway over TLS, WSS and WS', { timeout: 90_000 }, () => {
  let gateway: StartedGateway;
  let cert: string;
  let key: string;
  let pageServer: PageServer;
  let browser: TestBrowser;
  const opened: { close(): Promise<void> }[] = [];

  before(async () => {
    assertPrivateNetns();
    const dir = suiteDir(suite);
    const keyFile = join(dir, 'gateway.key');
    const certFile = join(dir, 'gateway.crt');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', keyFile, '-out', certFile, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    cert = readFileSync(certFile, 'utf8');
    key = readFileSync(keyFile, 'utf8');
    const rtpengine = await startRtpengine({ suite });
    gateway = await startGateway({
      suite,
      env: { PHONE_300_PASSWORD: PASSWORD, PHONE_301_PASSWORD: PASSWORD, PHONE_302_PASSWORD: PASSWORD, PHONE_303_PASSWORD: PASSWORD },
      config: {
        sip: { tls: { port: await freePort(), certFile, keyFile }, ws: { port: await freePort() }, wss: { port: await freePort(), certFile, keyFile } },
        registrar: {
          accounts: { '300': { passwordEnv: 'PHONE_300_PASSWORD' }, '301': { passwordEnv: 'PHONE_301_PASSWORD' }, '302': { passwordEnv: 'PHONE_302_PASSWORD' },
            '303': { passwordEnv: 'PHONE_303_PASSWORD' },
          },
        },
        rtpengine: { ng: `127.0.0.1:${rtpengine.ngPort}` },
      },
    });
  });

  after(async () => {
    for (const item of opened.reverse()) await item.close().catch(() => undefined);
    await browser?.close();
    await pageServer?.close();
    await gateway?.close();
  });

  function listening(protocol: TransportProtocol) {
    const address = gateway.sip.listening.find((a) => a.protocol === protocol);
    assert.ok(address, `the gateway listens for ${protocol}`);
    return address;
  }

  async function registerOver(protocol: 'tls' | 'wss', password: string): Promise<number> {
    // Our side listens too (every transport does), so it presents the same certificate; it trusts only that one.
    const transport: SipTransport = await createTransport({ protocol, host: '127.0.0.1', port: 0, tls: { key, cert, ca: cert } });
    const ua = new UserAgent({ transports: [transport] });
    opened.push({ close: async () => { await ua.close(); await transport.close(); } });
    const target = listening(protocol);
    const register = ua.createRequest('REGISTER', parseUri(`sip:127.0.0.1:${target.port};transport=${protocol}`), {
      from: parseUri('sip:300@127.0.0.1'),
      contact: ua.contact('300', protocol),
    });
    register.append('Expires', 300);
    const digest = new DigestClient({ credentials: { username: '300', password }, hasher: nodeDigestHasher, random: cryptoRandom });
    return (await ua.request(register, target, { digest })).status;
  }

  for (const protocol of ['tls', 'wss'] as const) {
    it(`REGISTER with digest over ${protocol.toUpperCase()}: 200 and a binding on ${protocol}; a wrong password 401`, async () => {
      assert.equal(await registerOver(protocol, PASSWORD), 200);
      assert.ok(gateway.location.lookup('300').some((b) => b.source.protocol === protocol), `a ${protocol} binding for 300`);
      assert.equal(await registerOver(protocol, 'wrong-password'), 401);
    });
  }

  it('a SIP.js web phone in Chromium registers over WebSocket (RFC 7118); a wrong password is refused', async () => {
    pageServer = await startPageServer(suite);
    browser = await launchBrowser({ suite, name: 'chromium-sipjs', audioWav: writeToneWav(join(suiteDir(suite), 'tone-941hz.wav'), 941) });
    const ws = listening('ws');
    const wsUrl = `ws://127.0.0.1:${ws.port}/`;
    const phone = await browser.openPhone(pageServer, 'sipjs-301');
    const intruder = await browser.openPhone(pageServer, 'sipjs-intruder');
    await assert.rejects(intruder.register({ wsUrl, aor: 'sip:301@127.0.0.1', user: '301', password: 'wrong-password', timeoutMs: 5000 }), /REGISTER rejected: 401/);
    assert.equal(await phone.register({ wsUrl, aor: 'sip:301@127.0.0.1', user: '301', password: PASSWORD }), 'Registered');
    const binding = gateway.location.lookup('301')[0];
    assert.ok(binding, 'the web phone is registered');
    assert.equal(binding.source.protocol, 'ws');
    assert.notEqual(binding.connectionId, undefined, 'reached back over its WebSocket connection');
  });
  // A desk phone on TLS, and a phone on a secure WebSocket (RFC 7118) as SIP.js and JsSIP phones connect: each
  // calls an operator and is called by one, with the whole dialog on the phone's own connection.
  for (const [protocol, user] of [['tls', '300'], ['wss', '302']] as const) describe(`calls with a phone on ${protocol.toUpperCase()}`, () => {
    let ua: UserAgent;
    let operator: RawClient;
    const inbox: IncomingRequest[] = [];

    before(async () => {
      const transport = await createTransport({ protocol, host: '127.0.0.1', port: 0, tls: { key, cert, ca: cert } });
      ua = new UserAgent({ transports: [transport] });
      opened.push({ close: async () => { await ua.close(); await transport.close(); } });
      ua.on('request', (incoming) => inbox.push(incoming));
      const register = ua.createRequest('REGISTER', parseUri(`sip:127.0.0.1:${listening(protocol).port};transport=${protocol}`), {
        from: parseUri(`sip:${user}@127.0.0.1`),
        contact: ua.contact(user, protocol),
      });
      register.append('Expires', 300);
      const digest = new DigestClient({ credentials: { username: user, password: PASSWORD }, hasher: nodeDigestHasher, random: cryptoRandom });
      assert.equal((await ua.request(register, listening(protocol), { digest })).status, 200);
      operator = await RawClient.open(gateway);
      opened.push({ close: async () => void operator.ws.terminate() });
      assert.equal((await operator.hello(gateway.tokenFor('102'))).ok, true);
    });

    async function waitForRequest(method: string, timeoutMs = 8000): Promise<IncomingRequest> {
      const started = Date.now();
      for (;;) {
        const found = inbox.find((i) => i.request.method === method);
        if (found) return found;
        if (Date.now() - started > timeoutMs) throw new Error(`no ${method} reached the phone`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    it('the phone calls operator 102: ringing, answer, ACK, and its BYE ends the call in the browser', async () => {
      const gatewayAddress = listening(protocol);
      const invite = ua.createRequest('INVITE', parseUri(`sip:102@127.0.0.1:${gatewayAddress.port};transport=${protocol}`), { from: parseUri(`sip:${user}@127.0.0.1`), contact: ua.contact(user, protocol) });
      invite.setBody(PHONE_OFFER, 'application/sdp');
      const provisional: SipResponse[] = [];
      const transaction = ua.sendInvite(invite, gatewayAddress);
      const final = new Promise<SipResponse>((resolve) => {
        transaction.on('response', ({ response }) => (response.status < 200 ? provisional.push(response) : resolve(response)));
      });
      const incoming = await operator.waitFor((f) => f.type === 'call.incoming', 8000);
      assert.deepEqual(incoming.from, { number: user });
      assert.match(String(incoming.sdp), /UDP\/TLS\/RTP\/SAVPF/, 'rtpengine made the phone\'s offer a WebRTC one');
      const callId = String(incoming.callId);
      assert.equal((await operator.request({ type: 'call.answer', callId, sdp: chromiumAnswer(parseSdp(String(incoming.sdp))) })).ok, true);
      const ok = await final;
      assert.equal(ok.status, 200);
      assert.ok(provisional.some((r) => r.status === 180), 'the phone heard ringing first');
      assert.match(ok.bodyText, /RTP\/AVP/, 'and the browser\'s answer plain RTP');
      const dialog = Dialog.fromUac(invite, ok);
      await ua.sendAck(dialog.createAck(invite), gatewayAddress);
      assert.equal((await ua.request(dialog.createRequest('BYE'), gatewayAddress)).status, 200);
      assert.equal((await operator.waitFor((f) => f.type === 'call.ended' && f.callId === callId)).cause, 'normal');
    });

    it(`operator 102 calls the phone at ${user} over its ${protocol.toUpperCase()} connection; the browser hangs up with a BYE to the phone`, async () => {
      inbox.length = 0;
      const reply = await operator.request({ type: 'call.start', target: user, sdp: CHROMIUM_OFFER });
      assert.equal(reply.ok, true, JSON.stringify(reply));
      const callId = String((reply.result as { callId: string }).callId);
      const invite = await waitForRequest('INVITE');
      assert.equal(invite.source.protocol, protocol, 'on the phone\'s own connection');
      assert.match(invite.request.bodyText, /RTP\/AVP/, 'the browser\'s offer made plain RTP for the phone');
      invite.respond(180);
      await operator.waitFor((f) => f.type === 'call.ringing' && f.callId === callId);
      invite.respond(200, { body: phoneAnswer(parseSdp(invite.request.bodyText)), contentType: 'application/sdp', headers: [['Contact', formatNameAddr(ua.contact(user, protocol))]] });
      const answered = await operator.waitFor((f) => f.type === 'call.answered' && f.callId === callId);
      assert.match(String(answered.sdp), /UDP\/TLS\/RTP\/SAVPF/);
      assert.equal((await operator.request({ type: 'call.hangup', callId })).ok, true);
      const bye = await waitForRequest('BYE');
      assert.equal(bye.source.protocol, protocol);
      bye.respond(200);
      assert.equal((await operator.waitFor((f) => f.type === 'call.ended' && f.callId === callId)).cause, 'normal');
    });
  });

  describe('a phone that refreshes its session (RFC 4028) with a re-INVITE: sipp on UDP', () => {
    it('gets 200 with the session description unchanged, and the call goes on until its BYE', async () => {
      const operator = await RawClient.open(gateway);
      opened.push({ close: async () => void operator.ws.terminate() });
      assert.equal((await operator.hello(gateway.tokenFor('102'))).ok, true);
      const udp = listening('udp');
      const target = `127.0.0.1:${udp.port}`;
      // Registered from the port it then calls from: the gateway takes calls only from where a phone registered.
      const port = await freePort();
      const registered = await runSipp({
        suite, name: 'sipp-register-303', scenario: { file: REGISTER_SCENARIO }, target, localPort: port,
        service: '303', authUser: '303', authPassword: PASSWORD, calls: 1, timeoutS: 10,
        keys: { aor_domain: '127.0.0.1', reg_contact: `sip:303@127.0.0.1:${port}`, reg_expires: '600' },
      });
      assert.equal(registered.stats.successful, 1, registered.errors());
      const call = runSipp({
        suite, name: 'sipp-session-refresh', scenario: { file: join(SCENARIOS_DIR, 'reinvite-refresh.xml') }, target, localPort: port,
        service: '102', calls: 1, timeoutS: 20, keys: { caller: '303' }, traceMessages: true,
      });
      const incoming = await operator.waitFor((f) => f.type === 'call.incoming', 8000);
      const callId = String(incoming.callId);
      assert.equal((await operator.request({ type: 'call.answer', callId, sdp: chromiumAnswer(parseSdp(String(incoming.sdp))) })).ok, true);
      const result = await call;
      assert.equal(result.stats.successful, 1, `sipp: ${result.errors()}`);
      assert.equal((await operator.waitFor((f) => f.type === 'call.ended' && f.callId === callId)).cause, 'normal', 'ended by the BYE after the refresh');
      const answers = okBodiesOf(readFileSync(result.messagesPath!, 'latin1'));
      assert.equal(answers.length, 2, 'a 200 to the INVITE and one to the re-INVITE');
      assert.match(answers[0]!, /^o=/m);
      assert.equal(answers[1], answers[0], 'the same session description, o= version included');
    });
  });
});

/** The SDP bodies of the 200s to INVITEs in a sipp message trace, in order (retransmissions counted once). */
function okBodiesOf(trace: string): string[] {
  const bodies = new Map<string, string>();
  for (const message of trace.split(/^-{5,}.*$/m)) {
    const start = message.indexOf('SIP/2.0 200');
    if (start === -1) continue;
    const text = message.slice(start);
    const cseq = /^CSeq:\s*(\d+) INVITE\s*$/im.exec(text)?.[1];
    const blank = text.search(/\r?\n\r?\n/);
    if (cseq === undefined || blank === -1) continue;
    if (!bodies.has(cseq)) bodies.set(cseq, text.slice(blank).trim().replace(/\r\n/g, '\n'));
  }
  return [...bodies.values()];
}
