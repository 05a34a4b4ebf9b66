import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMessage, type SipRequest } from '@switchboard/sip';
import { LineRegistration, type LineRegistrationOptions, type LineStateChange } from './line-registration.js';
import { backoffDelay, DEFAULT_BACKOFF, grantedExpires, refreshDelay } from './line-registration-timing.js';
import { GATEWAY, harness, PASSWORD, PBX, PROXY, type Harness } from './test-support/line-pbx.js';

function registration(h: Harness, options: Partial<LineRegistrationOptions> = {}): { line: LineRegistration; changes: LineStateChange[] } {
  const config = options.line ?? h.line();
  const line = new LineRegistration({ ua: h.ua, line: config, logger: h.logger, clock: h.clock, random: () => 0, idRandom: undefined, servers: h.servers(config.pbx), ...options });
  const changes: LineStateChange[] = [];
  line.on('state', (change) => changes.push(change));
  return { line, changes };
}

function request(text: string): SipRequest {
  return parseMessage(text) as SipRequest;
}

describe('LineRegistration', () => {
  test('registers with digest credentials: AOR in To and From, our Contact with the line user, the configured Expires', async () => {
    const h = harness();
    const { line, changes } = registration(h);
    line.start();
    await h.flush();
    assert.equal(line.state, 'registered');
    assert.deepEqual(line.lineState, { state: 'registered' });
    assert.deepEqual(changes.map((c) => c.to), ['registering', 'registered']);
    const sent = h.network.requests('REGISTER', PBX).map((d) => request(d.text));
    assert.equal(sent.length, 2, 'one challenge, one answer');
    const [first, second] = sent as [SipRequest, SipRequest];
    assert.equal(first.uriText, 'sip:127.0.0.2:5060;transport=udp');
    assert.equal(first.get('to'), '<sip:1001@pbx.example>');
    assert.match(first.get('from') ?? '', /^<sip:1001@pbx\.example>;tag=/);
    assert.equal(first.get('contact'), '<sip:1001@127.0.0.1:5060>');
    assert.equal(first.parsed('expires'), 600);
    assert.equal(first.has('authorization'), false);
    assert.match(second.get('authorization') ?? '', /^Digest username="1001", realm="pbx\.example"/);
    assert.equal(second.callId, first.callId);
    assert.deepEqual([first.cseq?.seq, second.cseq?.seq], [1, 2]);
    assert.equal(line.contact.uri.type === 'sip' && line.contact.uri.user, '1001');
  });

  test('refreshes at 80-90 % of the lifetime the Contact was granted, in the same Call-ID with a higher CSeq', async () => {
    for (const [draw, at] of [[0, 80_000], [1, 90_000]] as const) {
      const h = harness();
      h.grant = 100;
      const { line, changes } = registration(h, { random: () => draw });
      line.start();
      await h.flush();
      const before = h.network.requests('REGISTER').length;
      await h.advance(at - 250);
      assert.equal(h.network.requests('REGISTER').length, before, `no refresh before ${at} ms`);
      await h.advance(250);
      const all = h.network.requests('REGISTER').map((d) => request(d.text));
      assert.ok(all.length > before, `refreshed by ${at} ms`);
      const refresh = all[before]!;
      assert.equal(refresh.callId, all[0]!.callId);
      assert.ok(refresh.cseq!.seq > all[before - 1]!.cseq!.seq);
      assert.equal(line.state, 'registered');
      assert.deepEqual(changes.map((c) => c.to), ['registering', 'registered', 'refreshing', 'registered']);
      assert.ok(changes.every((c) => c.to === 'registering' || c.line.state === 'registered'), 'a refresh is no news for the tabs');
      await line.stop();
    }
  });

  test('backoff: full jitter between the floor and a ceiling doubling from 2 s to 5 min; refused credentials wait longer', () => {
    for (let failures = 1; failures <= 14; failures++) {
      const ceiling = Math.min(300_000, 2_000 * 2 ** (failures - 1));
      assert.equal(backoffDelay(failures, 0, DEFAULT_BACKOFF), 1_000);
      assert.equal(backoffDelay(failures, 1, DEFAULT_BACKOFF), ceiling);
      const middle = backoffDelay(failures, 0.5, DEFAULT_BACKOFF);
      assert.ok(middle > 1_000 && middle < ceiling, `${middle} within (1000, ${ceiling})`);
      const auth = Math.min(300_000, 60_000 * 2 ** (failures - 1));
      assert.equal(backoffDelay(failures, 0, DEFAULT_BACKOFF, true), Math.min(30_000, auth));
      assert.equal(backoffDelay(failures, 1, DEFAULT_BACKOFF, true), auth);
    }
    assert.equal(refreshDelay(600, 0), 480_000);
    assert.equal(refreshDelay(600, 1), 540_000);
  });

  test('a 503 leaves the line unregistered with the status, retried after the jittered backoff, then registered', async () => {
    const h = harness();
    let refuse = true;
    h.answer = () => (refuse ? { status: 503, headers: [] } : 'digest');
    const { line } = registration(h, { random: () => 0.5 });
    line.start();
    await h.flush();
    assert.deepEqual(line.lineState, { state: 'unregistered', reason: 'PBX answered 503 Service Unavailable', sipStatus: 503 });
    // First failure: 1000 + 0.5 * (2000 - 1000) = 1500 ms.
    await h.advance(1_250);
    assert.equal(h.network.requests('REGISTER').length, 1);
    await h.advance(250);
    assert.equal(h.network.requests('REGISTER').length, 2);
    // Second failure: 1000 + 0.5 * (4000 - 1000) = 2500 ms.
    refuse = false;
    await h.advance(2_250);
    assert.equal(h.network.requests('REGISTER').length, 2);
    await h.advance(250);
    assert.equal(line.state, 'registered');
  });

  test('a wrong password fails the line with 401, without a tight retry loop', async () => {
    const h = harness();
    h.password = 'what-the-pbx-has';
    const { line, changes } = registration(h);
    line.start();
    await h.flush();
    assert.equal(line.state, 'failed');
    assert.equal(line.lineState.state, 'failed');
    assert.equal(line.lineState.sipStatus, 401);
    assert.match(line.lineState.reason ?? '', /refused the line's credentials/);
    assert.equal(h.network.requests('REGISTER').length, 2, 'one challenge and one refusal, no loop');
    await h.advance(29_750, 1_000);
    assert.equal(h.network.requests('REGISTER').length, 2, 'no retry within 30 s of refused credentials');
    await h.advance(500);
    assert.equal(h.network.requests('REGISTER').length, 4, 'one retry at the backoff (random 0: half the first 60 s ceiling)');
    assert.deepEqual(changes.filter((c) => c.to === 'failed').length, 2);
  });

  test('a 403 or 404 fails the line with that status', async () => {
    for (const status of [403, 404]) {
      const h = harness();
      h.answer = () => ({ status });
      const { line } = registration(h);
      line.start();
      await h.flush();
      assert.equal(line.lineState.state, 'failed');
      assert.equal(line.lineState.sipStatus, status);
    }
  });

  test('a challenge of another realm than the configured one is not answered', async () => {
    const h = harness();
    const { line } = registration(h, { line: h.line({ realm: 'corp.example' }) });
    line.start();
    await h.flush();
    assert.equal(line.lineState.state, 'failed');
    assert.match(line.lineState.reason ?? '', /another realm than "corp\.example"/);
    assert.equal(h.network.requests('REGISTER').length, 1, 'no credentials sent to a realm they are not for');
  });

  test('a silent registrar: unregistered "PBX not responding" within keep-alive + probe timeout, back by itself when it answers', async () => {
    const h = harness();
    // Long backoffs, so that only the probe can explain a quick recovery.
    const { line, changes } = registration(h, { random: () => 0.999 });
    line.start();
    await h.flush();
    assert.equal(line.state, 'registered');
    const silentAt = h.clock.now();
    h.silence(true);
    while (line.lineState.state === 'registered' && h.clock.now() - silentAt < 60_000) await h.advance(250);
    const detected = h.clock.now() - silentAt;
    assert.deepEqual(line.lineState, { state: 'unregistered', reason: 'PBX not responding' });
    assert.ok(detected <= 15_000 + 5_000, `detected after ${detected} ms`);
    assert.ok(detected >= 15_000, 'not before a probe went unanswered');

    await h.advance(120_000);
    assert.equal(line.lineState.state, 'unregistered');
    h.silence(false);
    const backAt = h.clock.now();
    while (line.state !== 'registered' && h.clock.now() - backAt < 60_000) await h.advance(250);
    assert.equal(line.state, 'registered');
    assert.ok(h.clock.now() - backAt <= 15_000 + 250, `registered ${h.clock.now() - backAt} ms after the PBX came back`);
    assert.deepEqual(changes.at(-1)?.line, { state: 'registered' });
    assert.ok(h.logs.some((l) => l.includes('PBX answers again')), 'the probe answer triggered the REGISTER');
  });

  test('a refused connection: unregistered "PBX unreachable" at the next probe, the socket error kept to the log', async () => {
    const h = harness();
    const { line } = registration(h, { random: () => 0.999 });
    line.start();
    await h.flush();
    h.network.refusing.add(PBX.host);
    await h.advance(15_000);
    assert.deepEqual(line.lineState, { state: 'unregistered', reason: 'PBX unreachable' });
    assert.ok(h.logs.some((l) => l.includes('ECONNREFUSED')), 'the cause is in the log');
    // Whatever the transaction does after reporting the failure must not clash with the line ending it.
    await h.advance(60_000);
    h.network.refusing.clear();
    await h.advance(15_000);
    assert.equal(line.state, 'registered');
    await line.stop();
  });

  test('a registrar silent from the start: unregistered within the same bound', async () => {
    const h = harness();
    h.silence(true);
    const { line } = registration(h);
    line.start();
    await h.advance(20_000);
    assert.deepEqual(line.lineState, { state: 'unregistered', reason: 'PBX not responding' });
  });

  test('an outbound proxy gets every REGISTER (with a loose Route) and the probes', async () => {
    const h = harness();
    const proxyUa = h.network.transport(PROXY);
    // The proxy forwards nothing: enough to see where the requests go.
    proxyUa.on('message', () => undefined);
    const { line } = registration(h, { line: h.line({ outboundProxy: `sip:${PROXY.host}:${PROXY.port}` }) });
    line.start();
    await h.advance(15_000);
    const register = h.network.requests('REGISTER', PROXY).map((d) => request(d.text))[0];
    assert.ok(register, 'REGISTER sent to the proxy');
    assert.equal(register.uriText, 'sip:127.0.0.2:5060;transport=udp');
    assert.equal(register.get('route'), '<sip:127.0.0.3:5060;lr>');
    assert.equal(h.network.requests('OPTIONS', PROXY).length, 1);
    assert.equal(h.network.requests('REGISTER', PBX).length, 0);
    await line.stop();
  });

  test('423 Interval Too Brief: registers again at once with the Min-Expires asked for', async () => {
    const h = harness();
    h.answer = (req) => ((req.parsed('expires') ?? 0) < 1200 ? { status: 423, headers: [['Min-Expires', '1200']] } : 'digest');
    h.grant = 1200;
    const { line } = registration(h);
    line.start();
    await h.flush();
    assert.equal(line.state, 'registered');
    assert.deepEqual(h.network.requests('REGISTER').map((d) => request(d.text).parsed('expires')), [600, 1200, 1200]);
  });

  test('stop() unregisters with Expires 0 and leaves no timer behind', async () => {
    const h = harness();
    const { line } = registration(h);
    line.start();
    await h.flush();
    const stopping = line.stop();
    await h.flush();
    await stopping;
    assert.equal(line.state, 'stopped');
    assert.deepEqual(line.lineState, { state: 'unregistered', reason: 'Line stopped' });
    const last = request(h.network.requests('REGISTER', PBX).at(-1)!.text);
    assert.equal(last.parsed('expires'), 0);
    assert.equal(last.get('contact'), '<sip:1001@127.0.0.1:5060>');
    assert.ok(last.has('authorization'), 'the unregistration is authenticated too');
    const sent = h.network.log.length;
    await h.advance(3_600_000, 60_000);
    assert.equal(h.network.log.length, sent, 'nothing sent after stop');
    assert.equal(h.network.log.filter((d) => d.from === GATEWAY).length > 0, true);
  });

  test('stop() before any registration sends nothing', async () => {
    const h = harness();
    h.silence(true);
    const { line } = registration(h);
    line.start();
    await h.advance(20_000);
    const sent = h.network.requests('REGISTER').length;
    await line.stop();
    await h.advance(600_000, 10_000);
    assert.equal(h.network.requests('REGISTER').length, sent);
    assert.equal(h.network.requests('REGISTER').every((d) => request(d.text).parsed('expires') !== 0), true);
  });

  test('the password appears in no log line, event or message', async () => {
    const h = harness();
    const events: string[] = [];
    const { line } = registration(h);
    line.on('state', (change) => events.push(JSON.stringify(change)));
    line.start();
    await h.flush();
    h.password = 'changed-at-the-pbx';
    await h.advance(600_000, 5_000);
    h.silence(true);
    await h.advance(60_000);
    h.silence(false);
    await h.advance(60_000);
    await line.stop();
    assert.ok(h.logs.length > 5, 'the run logged');
    assert.ok(events.length > 3, 'the run emitted');
    assert.ok(h.logs.some((l) => l.includes('line registration failed')), 'failures are logged');
    for (const text of [...h.logs, ...events, ...h.network.log.map((d) => d.text)]) assert.equal(text.includes(PASSWORD), false, text);
  });

  test('grantedExpires: our Contact among several bindings, else Expires, else what was asked', () => {
    const ours = { type: 'sip', scheme: 'sip', user: '1001', password: undefined, host: '127.0.0.1', port: 5060, params: new Map(), headers: new Map() } as const;
    const response = (headers: string): ReturnType<typeof parseMessage> =>
      parseMessage(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n${headers}Content-Length: 0\r\n\r\n`);
    const granted = (headers: string) => grantedExpires(response(headers) as never, ours, 600);
    assert.equal(granted('Contact: <sip:x@192.0.2.1>;expires=30, <sip:1001@127.0.0.1:5060;transport=udp>;expires=120\r\nExpires: 3600\r\n'), 120);
    assert.equal(granted('Contact: <sip:1001@127.0.0.1>\r\nExpires: 90\r\n'), 90);
    assert.equal(granted(''), 600);
    assert.equal(granted('Contact: <sip:x@192.0.2.1>;expires=30\r\n'), undefined);
  });
});
