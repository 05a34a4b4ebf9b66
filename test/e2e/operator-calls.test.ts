// Operators calling each other through the gateway, as `npm start` shows it: the demo page in real Chromium, the
// client SDK served by the gateway, no PBX. Each browser's fake microphone plays its own tone and each side must
// hear the other's. Operator 101 uses one browser; 102 has two tabs in another. Around them, plain WebSocket
// clients check what a browser cannot show: who may act on which call, token refusals, and bad input.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLOSE_REASONS, PROTOCOL_VERSION, type CloseReason } from '@switchboard/protocol';
import { launchBrowser, writeToneWav, type TestBrowser, type ToneResult } from './support/browser.js';
import { DemoPage } from './support/demo-page.js';
import { RawClient } from './support/raw-client.js';
import { startGateway, type StartedGateway } from './support/gateway.js';
import { assertPrivateNetns } from './support/netns.js';
import { suiteDir } from './support/processes.js';

const suite = 'operator-calls';
const HZ_101 = 697;
const HZ_102 = 1209;
const RING_TIMEOUT_S = 5;

function errorCode(reply: Record<string, unknown>): string {
  assert.equal(reply.ok, false, JSON.stringify(reply));
  return (reply.error as { code: string }).code;
}

function toneLine(r: ToneResult): string {
  return `${r.detected ? 'tone' : 'NO tone'} after ${r.afterMs} ms, ratio ${(r.ratio ?? r.best.ratio).toFixed(2)}, ${r.frames} frames, context ${r.context}, others ${JSON.stringify(r.otherBest)}`;
}

describe('operators call each other from the demo page', { timeout: 150_000 }, () => {
  let gateway: StartedGateway;
  const browsers: TestBrowser[] = [];
  let a1: DemoPage;
  let b1: DemoPage;
  let b2: DemoPage;
  const raw: RawClient[] = [];

  before(async () => {
    assertPrivateNetns();
    const dir = suiteDir(suite);
    gateway = await startGateway({ suite, config: { routing: { ringTimeoutSeconds: RING_TIMEOUT_S } } });
    const url = `http://${gateway.http.host}:${gateway.http.port}/`;
    const launch = async (name: string, hz: number) => {
      const browser = await launchBrowser({ suite, name, audioWav: writeToneWav(join(dir, `${name}-${hz}hz.wav`), hz) });
      browsers.push(browser);
      return browser;
    };
    const [browserA, browserB] = await Promise.all([launch('chromium-101', HZ_101), launch('chromium-102', HZ_102)]);
    a1 = await DemoPage.open(browserA.context, url, '101', browserA.consoleLogPath);
    b1 = await DemoPage.open(browserB.context, url, '102-tab1', browserB.consoleLogPath);
    b2 = await DemoPage.open(browserB.context, url, '102-tab2', browserB.consoleLogPath);
    await Promise.all([a1.signIn('101'), b1.signIn('102'), b2.signIn('102')]);
  });

  after(async () => {
    for (const client of raw) client.ws.terminate();
    await Promise.all(browsers.map((b) => b.close()));
    await gateway?.close();
  });

  async function rawClient(operator?: string): Promise<RawClient> {
    const client = await RawClient.open(gateway);
    raw.push(client);
    if (operator !== undefined) assert.equal((await client.hello(gateway.tokenFor(operator))).ok, true);
    return client;
  }

  it('101 calls 102: both tabs ring, one answers, the other stops; tones are heard both ways; 101 hangs up', async () => {
    const callId = await a1.dial('102');
    await Promise.all([b1.incoming(callId), b2.incoming(callId)]);
    assert.match(await b1.text(callId), /Incoming/);
    await b1.answer(callId);
    await Promise.all([a1.waitFor(callId, 'active'), b1.waitFor(callId, 'active'), b2.waitFor(callId, 'ended', 'answered-elsewhere')]);
    assert.equal(await b2.call(callId).locator('button.answer').isVisible(), false, 'the other tab can no longer answer');

    const [heardBy101, heardBy102] = await Promise.all([
      a1.detectTone(HZ_102, { others: [HZ_101] }),
      b1.detectTone(HZ_101, { others: [HZ_102] }),
    ]);
    assert.ok(heardBy101.detected, `101 hears 102: ${toneLine(heardBy101)}\n${await a1.log()}`);
    assert.ok(heardBy102.detected, `102 hears 101: ${toneLine(heardBy102)}\n${await b1.log()}`);
    assert.ok((heardBy101.otherBest[HZ_101] ?? 1) < 0.1, `101 does not hear itself: ${toneLine(heardBy101)}`);
    assert.ok((heardBy102.otherBest[HZ_102] ?? 1) < 0.1, `102 does not hear itself: ${toneLine(heardBy102)}`);
    assert.equal((await b2.probe()).open, 0, 'the tab that did not answer holds no peer connection');

    await a1.hangup(callId);
    await Promise.all([a1.waitFor(callId, 'ended', 'normal'), b1.waitFor(callId, 'ended', 'normal')]);
    for (const page of [a1, b1]) assert.equal((await page.probe()).open, 0, `${page.label} closed its peer connection`);
  });

  it('the callee hangs up; a call cannot be answered twice', async () => {
    const callId = await a1.dial('102');
    await Promise.all([b1.incoming(callId), b2.incoming(callId)]);
    await b2.answer(callId);
    await Promise.all([a1.waitFor(callId, 'active'), b2.waitFor(callId, 'active'), b1.waitFor(callId, 'ended', 'answered-elsewhere')]);
    // Another session of 102 trying to answer the same call, as a tab that had not heard yet would.
    const late = await rawClient('102');
    assert.equal(errorCode(await late.request({ type: 'call.answer', callId, sdp: 'v=0\r\n' })), 'already-answered');
    const [heard, heardInTab2] = await Promise.all([a1.detectTone(HZ_102), b2.detectTone(HZ_101)]);
    assert.ok(heard.detected, `101 hears 102 in the second call: ${toneLine(heard)}`);
    assert.ok(heardInTab2.detected, `102's second tab hears 101: ${toneLine(heardInTab2)} ${JSON.stringify(await b2.probe())}`);
    await b2.hangup(callId);
    await Promise.all([a1.waitFor(callId, 'ended', 'normal'), b2.waitFor(callId, 'ended', 'normal')]);
  });

  it('103 has no tab open: unavailable', async () => {
    const callId = await a1.dial('103');
    await a1.waitFor(callId, 'ended', 'unavailable');
    assert.equal(await a1.text(callId), 'Not available');
  });

  it('102 rejects: declined, on every tab', async () => {
    const callId = await a1.dial('102');
    await Promise.all([b1.incoming(callId), b2.incoming(callId)]);
    await b1.reject(callId);
    await Promise.all([a1.waitFor(callId, 'ended', 'declined'), b1.waitFor(callId, 'ended', 'declined'), b2.waitFor(callId, 'ended', 'declined')]);
    assert.equal(await a1.text(callId), 'Declined');
  });

  it(`nobody answers: no answer after the ${RING_TIMEOUT_S} s ring timeout`, async () => {
    const callId = await a1.dial('102');
    await b1.incoming(callId);
    const rangAt = Date.now();
    await Promise.all([
      a1.waitFor(callId, 'ended', 'no-answer', (RING_TIMEOUT_S + 5) * 1000),
      b1.waitFor(callId, 'ended', 'no-answer', (RING_TIMEOUT_S + 5) * 1000),
      b2.waitFor(callId, 'ended', 'no-answer', (RING_TIMEOUT_S + 5) * 1000),
    ]);
    assert.ok(Date.now() - rangAt >= (RING_TIMEOUT_S - 1) * 1000, 'not before the ring timeout');
    assert.equal(await a1.text(callId), 'No answer');
  });

  it('101 cancels while it rings', async () => {
    const callId = await a1.dial('102');
    await Promise.all([b1.incoming(callId), b2.incoming(callId)]);
    await a1.hangup(callId);
    await Promise.all([a1.waitFor(callId, 'ended', 'cancelled'), b1.waitFor(callId, 'ended', 'cancelled'), b2.waitFor(callId, 'ended', 'cancelled')]);
  });

  it('a session with 101’s token cannot act for 102, and hears nothing of 102’s calls', async () => {
    const intruder = await rawClient('101');
    const callId = await a1.dial('102');
    await b1.incoming(callId);
    // 101's own call: answering it from 101's side is refused; so is anything on a call 101 is not part of.
    assert.equal(errorCode(await intruder.request({ type: 'call.answer', callId, sdp: 'v=0\r\n' })), 'call-state');
    const third = await rawClient('103');
    for (const request of [
      { type: 'call.answer', callId, sdp: 'v=0\r\n' },
      { type: 'call.reject', callId, reason: 'decline' },
      { type: 'call.hangup', callId },
    ]) {
      assert.equal(errorCode(await third.request(request)), 'not-found', request.type);
    }
    assert.equal(intruder.frames.some((f) => f.type === 'call.incoming'), false);
    await b1.answer(callId);
    await a1.waitFor(callId, 'active');
    await a1.hangup(callId);
    await b1.waitFor(callId, 'ended', 'normal');
  });

  it('expired, tampered and wrong-audience tokens are refused with distinct close reasons', async () => {
    const valid = gateway.tokenFor('101');
    const [header, payload] = valid.split('.');
    const cases: [string, string, CloseReason][] = [
      ['expired', gateway.tokenFor('101', { ttlSeconds: -120 }), 'token-expired'],
      ['tampered', `${header}.${payload}.${'A'.repeat(43)}`, 'token-tampered'],
      ['wrong audience', gateway.tokenFor('101', { audience: 'someone-else' }), 'token-audience'],
      ['signed with another secret', gateway.tokenFor('101', { secret: 'x'.repeat(40) }), 'token-tampered'],
      ['not a token', 'not-a-token', 'token-invalid'],
    ];
    const codes = new Set<number>();
    for (const [what, token, reason] of cases) {
      const client = await rawClient();
      client.ws.send(JSON.stringify({ type: 'hello', id: '1', protocol: PROTOCOL_VERSION, token, client: { name: 'e2e', version: '0' } }));
      const closed = await client.closed;
      assert.equal(closed.reason, reason, what);
      assert.equal(closed.code, CLOSE_REASONS[reason].code, what);
      codes.add(closed.code);
    }
    assert.equal(codes.size, 4, 'expired, tampered, wrong audience and invalid each have their own code');
  });

  it('bad input gets clear errors; the connection and the gateway stay up', async () => {
    const client = await rawClient('101');
    const bystander = await rawClient('103');
    client.sendRaw('{"type":"call.start","id":"j1",');
    assert.equal(errorCode(await client.waitFor((f) => f.id === null)), 'bad-request');
    assert.equal(errorCode(await client.request({ type: 'call.teleport' })), 'unknown-type');
    assert.equal(errorCode(await client.request({ type: 'call.start', sdp: 'v=0\r\n' })), 'bad-request');
    for (const target of ['1 02', '<sip:102@evil>', '10\u00012', '102;transport=tcp', '102@example.com', '', 'x'.repeat(65)]) {
      const reply = await client.request({ type: 'call.start', target, sdp: 'v=0\r\n' });
      assert.ok(['invalid-target', 'bad-request'].includes(errorCode(reply)), `${JSON.stringify(target)}: ${JSON.stringify(reply)}`);
    }
    assert.equal(errorCode(await client.request({ type: 'call.start', target: '1 02', sdp: 'v=0\r\n' })), 'invalid-target');
    const big = await client.request({ type: 'call.start', target: '102', sdp: `v=0\r\n${'a=x\r\n'.repeat(8_000)}` });
    assert.equal(errorCode(big), 'too-large');
    assert.equal((await client.request({ type: 'ping' })).ok, true, 'still answering after bad input');

    // A flood: rate-limited replies, then the gateway closes that connection and only that one.
    for (let i = 0; i < 200; i++) client.sendRaw(JSON.stringify({ type: 'ping', id: `f${i}` }));
    await client.waitFor((f) => f.ok === false && (f.error as { code: string }).code === 'rate-limited');
    const closed = await client.closed;
    assert.equal(closed.reason, 'too-many-messages');
    assert.equal((await bystander.request({ type: 'ping' })).ok, true, 'other sessions are unaffected');
    const health = await fetch(`http://${gateway.http.host}:${gateway.http.port}/healthz`);
    assert.equal(health.status, 200);
  });

  it('a token refresh during a call keeps the call and its audio', async () => {
    await b2.signOut();
    // 65 s tokens: the gateway warns a minute ahead, so the pages refresh every 5 s.
    const url = `http://${gateway.http.host}:${gateway.http.port}/?tokenTtl=65`;
    const [a3, b3] = [a1, b1];
    await Promise.all([a3.navigate(url), b3.navigate(url)]);
    await Promise.all([a3.signIn('101'), b3.signIn('102')]);
    const callId = await a3.dial('102');
    await b3.incoming(callId);
    await b3.answer(callId);
    await a3.waitFor(callId, 'active');
    const before = await Promise.all([a3.detectTone(HZ_102), b3.detectTone(HZ_101)]);
    assert.ok(before.every((r) => r.detected), `before refresh: ${before.map(toneLine).join(' / ')} ${JSON.stringify([await a3.probe(), await b3.probe()])}`);
    const tokensAtAnswer = a3.tokenRequests.length;
    const deadline = Date.now() + 15_000;
    while (a3.tokenRequests.length === tokensAtAnswer && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(a3.tokenRequests.length > tokensAtAnswer, `101 fetched a fresh token during the call (${a3.tokenRequests.length} fetches)`);
    // Give the refresh time to reach the gateway, then the call must still be up with audio both ways.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const refreshed = gateway.logEntries().filter((e) => e.msg === 'token refreshed' && e.operatorId === '101');
    assert.ok(refreshed.length >= 1, 'the gateway accepted the refresh');
    assert.equal(await a3.call(callId).getAttribute('data-state'), 'active');
    const [heardBy101, heardBy102] = await Promise.all([a3.detectTone(HZ_102), b3.detectTone(HZ_101)]);
    assert.ok(heardBy101.detected && heardBy102.detected, `after refresh: ${toneLine(heardBy101)} / ${toneLine(heardBy102)} ${JSON.stringify([await a3.probe(), await b3.probe()])}`);
    await a3.hangup(callId);
    await b3.waitFor(callId, 'ended', 'normal');
  });
});
