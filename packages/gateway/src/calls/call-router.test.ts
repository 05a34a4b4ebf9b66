/**
 * Local routing through the real WebSocket layer: test clients log in as operators, place, answer, reject, cancel
 * and hang up calls, and the call log (SQLite in memory) is checked after each. The clock is manual, so the ring
 * timeout is tested without waiting.
 */
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { checkServerMessage } from '@switchboard/protocol';
import { ManualClock } from '@switchboard/sip';
import { pino } from 'pino';
import { openStore, type Store } from '../store/store.js';
import { createHttpServer, type GatewayHttpServer } from '../ws/http-server.js';
import { FakeVerifier } from '../ws/test-support/fakes.js';
import { TestClient, type Frame } from '../ws/test-support/client.js';
import type { ContactLookup } from '../lookup/contact-lookup.js';
import { CallRouter, DEFAULT_MAX_OUTGOING_PER_OPERATOR, MAX_CANDIDATES_PER_LEG, type RoutingOptions } from './call-router.js';
import type { SipCallLayer } from './sip-calls.js';

const HOUR = 3_600_000;
const OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
const ANSWER = 'v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
const CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 54400 typ host', sdpMid: '0', sdpMLineIndex: 0 };

interface Bench {
  clock: ManualClock;
  store: Store;
  router: CallRouter;
  server: GatewayHttpServer;
  /** A logged-in session of the operator (ids op-101 ... with extensions 101 ...). */
  tab(extension: string): Promise<TestClient>;
  clients: TestClient[];
}

const benches: Bench[] = [];
after(async () => {
  for (const bench of benches) await shutDown(bench);
});

async function shutDown(bench: Bench): Promise<void> {
  for (const client of bench.clients) client.close();
  await bench.server.close();
  await bench.router.close();
  await bench.store.close();
}

async function bench(routing: Partial<RoutingOptions> = {}, lookup?: ContactLookup, sip?: SipCallLayer): Promise<Bench> {
  const clock = new ManualClock(Date.now());
  const store = await openStore({ kind: 'sqlite', file: ':memory:', now: () => clock.now() });
  const verifier = new FakeVerifier();
  for (const extension of ['101', '102', '103']) {
    await store.operators.upsert({ id: `op-${extension}`, displayName: `Operator ${extension}`, extension });
    verifier.grant(`tok-${extension}`, `op-${extension}`, clock.now() + HOUR);
  }
  const logger = pino({ level: 'silent' });
  let router: CallRouter | undefined;
  const server = createHttpServer({
    host: '127.0.0.1',
    port: 0,
    verifier,
    directory: store.operators,
    logger,
    clock,
    // ICE trickling in tests is faster than any browser; the flood limit is tested elsewhere.
    limits: { messagesPerSecond: 1000, burst: 1000 },
    sessionInfo: { calls: (operator, sessionId) => router!.callsOf(operator, sessionId) },
    onRequest: (session, request, afterReply) => router!.handle(session, request, afterReply),
    onSessionOpened: (session) => router!.sessionOpened(session),
    onSessionClosed: (session) => router!.sessionClosed(session),
  });
  router = new CallRouter({
    registry: server.registry,
    directory: store.operators,
    calls: store.calls,
    routing: { ringTimeoutSeconds: 30, callWaiting: true, ...routing },
    clock,
    logger,
    lookup,
    sip,
  });
  const { port } = await server.listen();
  const clients: TestClient[] = [];
  const b: Bench = {
    clock,
    store,
    router,
    server,
    clients,
    async tab(extension) {
      const client = await TestClient.connect(port);
      clients.push(client);
      const welcome = await client.hello(`tok-${extension}`);
      assert.equal(welcome.ok, true, JSON.stringify(welcome));
      return client;
    },
  };
  benches.push(b);
  return b;
}

function ok(frame: Frame): Record<string, unknown> {
  assert.equal(frame.ok, true, JSON.stringify(frame));
  return frame.result as Record<string, unknown>;
}

function errorCode(frame: Frame): string {
  assert.equal(frame.ok, false, JSON.stringify(frame));
  return (frame.error as { code: string }).code;
}

function event(client: TestClient, type: string, callId?: string): Promise<Frame> {
  return client.waitFor((f) => f.type === type && (callId === undefined || f.callId === callId));
}

/** Every frame the gateway sent must pass the protocol's own check, as the client SDK applies it. */
function assertFramesValid(...clients: TestClient[]): void {
  for (const client of clients) {
    for (const frame of client.frames) {
      const checked = checkServerMessage(frame);
      assert.equal(checked.ok, true, `invalid frame ${JSON.stringify(frame)}: ${checked.ok ? '' : checked.error.message}`);
    }
  }
}

async function place(caller: TestClient, target: string): Promise<string> {
  const callId = ok(await caller.request({ type: 'call.start', target, sdp: OFFER })).callId;
  assert.equal(typeof callId, 'string');
  return callId as string;
}

/** Lets the event loop deliver frames already sent, so absence can be asserted. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 30));
}

describe('calls between operators', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench();
  });

  it('rings every tab of the callee; the first answer wins, the others hear answered-elsewhere; hangup ends both', async () => {
    const caller = await b.tab('101');
    const tabA = await b.tab('102');
    const tabB = await b.tab('102');
    const callId = await place(caller, '102');

    // The reply comes before any event about the call.
    const replyIndex = caller.frames.findIndex((f) => f.ok === true && (f.result as { callId?: string })?.callId === callId);
    await event(caller, 'call.ringing', callId);
    assert.ok(replyIndex < caller.frames.findIndex((f) => f.type === 'call.ringing'));

    for (const tab of [tabA, tabB]) {
      const incoming = await event(tab, 'call.incoming', callId);
      assert.deepEqual(incoming.from, { number: '101', name: 'Operator 101' });
      assert.deepEqual(incoming.to, { number: '102', name: 'Operator 102' });
      assert.equal(incoming.sdp, OFFER);
    }

    ok(await tabA.request({ type: 'call.answer', callId, sdp: ANSWER }));
    const answered = await event(caller, 'call.answered', callId);
    assert.equal(answered.sdp, ANSWER);
    const mine = await event(tabA, 'call.answered', callId);
    assert.equal(mine.sdp, undefined);
    for (const side of [answered, mine]) assert.deepEqual(side.features, { dtmf: 'none', transfer: false }, 'neither digits nor transfer between browsers');
    assert.equal((await event(tabB, 'call.ended', callId)).cause, 'answered-elsewhere');
    assert.equal(errorCode(await tabB.request({ type: 'call.answer', callId, sdp: ANSWER })), 'already-answered');
    assert.equal(errorCode(await tabA.request({ type: 'call.answer', callId, sdp: ANSWER })), 'already-answered');

    // Candidates go to the other carrying session only.
    ok(await caller.request({ type: 'call.ice', callId, candidate: CANDIDATE }));
    assert.deepEqual((await event(tabA, 'call.ice', callId)).candidate, CANDIDATE);
    ok(await tabA.request({ type: 'call.ice', callId, candidate: null }));
    assert.equal((await event(caller, 'call.ice', callId)).candidate, null);
    assert.equal(errorCode(await tabB.request({ type: 'call.ice', callId, candidate: CANDIDATE })), 'call-state');
    assert.equal(errorCode(await tabB.request({ type: 'call.hangup', callId })), 'call-state');

    const record = await b.store.calls.get(callId);
    assert.equal(record?.state, 'active');

    b.clock.advance(5000);
    ok(await tabA.request({ type: 'call.hangup', callId }));
    for (const client of [caller, tabA]) assert.equal((await event(client, 'call.ended', callId)).cause, 'normal');
    await b.router.close();
    const ended = await b.store.calls.get(callId);
    assert.equal(ended?.state, 'ended');
    assert.equal(ended?.cause, 'normal');
    assert.equal(ended?.direction, 'internal');
    assert.equal(ended?.fromOperator, 'op-101');
    assert.equal(ended?.toOperator, 'op-102');
    assert.equal(ended?.durationMs, 5000);
    assert.equal(errorCode(await caller.request({ type: 'call.hangup', callId })), 'call-state');
    await settle();
    assert.equal(tabB.frames.filter((f) => f.type === 'call.ice').length, 0, 'the tab that did not answer gets no candidates');
    assertFramesValid(caller, tabA, tabB);
  });

  it('a callee with no tab open is unavailable (480)', async () => {
    const caller = await b.tab('101');
    const callId = await place(caller, '103');
    const ended = await event(caller, 'call.ended', callId);
    assert.equal(ended.cause, 'unavailable');
    assert.equal(ended.sipStatus, 480);
    await b.router.close();
    assert.equal((await b.store.calls.get(callId))?.cause, 'unavailable');
    assertFramesValid(caller);
  });

  it('an unknown number is not-found (404) and logged as an outgoing call to that number', async () => {
    const caller = await b.tab('101');
    const callId = await place(caller, '+4930123456');
    const ended = await event(caller, 'call.ended', callId);
    assert.equal(ended.cause, 'not-found');
    assert.equal(ended.sipStatus, 404);
    const record = await b.store.calls.get(callId);
    assert.equal(record?.direction, 'outbound');
    assert.equal(record?.externalNumber, '+4930123456');
    assert.equal(record?.cause, 'not-found');
  });

  for (const [reason, cause, status] of [['decline', 'declined', 603], ['busy', 'busy', 486]] as const) {
    it(`reject with ${reason} ends the call as ${cause} (${status}) for the caller and every tab`, async () => {
      const caller = await b.tab('101');
      const tabA = await b.tab('102');
      const tabB = await b.tab('102');
      const callId = await place(caller, '102');
      await event(tabB, 'call.incoming', callId);
      ok(await tabA.request({ type: 'call.reject', callId, reason }));
      for (const client of [caller, tabA, tabB]) {
        const ended = await event(client, 'call.ended', callId);
        assert.equal(ended.cause, cause);
        assert.equal(ended.sipStatus, status);
      }
      await b.router.close();
      assert.equal((await b.store.calls.get(callId))?.sipStatus, status);
    });
  }

  it('rings until the ring timeout, then ends as no-answer for both sides', async () => {
    const caller = await b.tab('101');
    const callee = await b.tab('102');
    const callId = await place(caller, '102');
    await event(callee, 'call.incoming', callId);
    b.clock.advance(29_000);
    await settle();
    assert.equal(caller.frames.some((f) => f.type === 'call.ended'), false);
    b.clock.advance(1_000);
    for (const client of [caller, callee]) assert.equal((await event(client, 'call.ended', callId)).cause, 'no-answer');
  });

  it('the caller cancels while ringing; cancel and hangup are refused in the wrong state', async () => {
    const caller = await b.tab('101');
    const callee = await b.tab('102');
    const callId = await place(caller, '102');
    await event(callee, 'call.incoming', callId);
    assert.equal(errorCode(await caller.request({ type: 'call.hangup', callId })), 'call-state');
    assert.equal(errorCode(await callee.request({ type: 'call.cancel', callId })), 'call-state');
    ok(await caller.request({ type: 'call.cancel', callId }));
    for (const client of [caller, callee]) {
      const ended = await event(client, 'call.ended', callId);
      assert.equal(ended.cause, 'cancelled');
      assert.equal(ended.sipStatus, 487);
    }
    assert.equal(errorCode(await callee.request({ type: 'call.answer', callId, sdp: ANSWER })), 'call-state');
  });

  it('one operator cannot act on another operator’s call, nor answer its own, nor call itself', async () => {
    const caller = await b.tab('101');
    const callee = await b.tab('102');
    const stranger = await b.tab('103');
    const callId = await place(caller, '102');
    await event(callee, 'call.incoming', callId);
    for (const request of [
      { type: 'call.answer', callId, sdp: ANSWER },
      { type: 'call.reject', callId, reason: 'decline' },
      { type: 'call.cancel', callId },
      { type: 'call.hangup', callId },
      { type: 'call.ice', callId, candidate: CANDIDATE },
      { type: 'call.hold', callId },
    ]) {
      assert.equal(errorCode(await stranger.request(request)), 'not-found', request.type);
    }
    assert.equal(errorCode(await caller.request({ type: 'call.answer', callId, sdp: ANSWER })), 'call-state');
    assert.equal(errorCode(await caller.request({ type: 'call.start', target: '101', sdp: OFFER })), 'forbidden');
    assert.equal(errorCode(await caller.request({ type: 'call.hangup', callId: 'c-unknown' })), 'not-found');
    ok(await callee.request({ type: 'call.answer', callId, sdp: ANSWER }));
    assert.equal(errorCode(await caller.request({ type: 'call.dtmf', callId, digits: '1' })), 'not-supported');
    assert.equal(stranger.frames.some((f) => f.callId === callId), false, 'the stranger heard nothing of the call');
  });

  it('hold between two browsers: both sides are told who holds, after the reply; only carrying tabs may hold', async () => {
    const caller = await b.tab('101');
    const callee = await b.tab('102');
    const otherTab = await b.tab('102');
    const callId = await place(caller, '102');
    await event(callee, 'call.incoming', callId);
    assert.equal(errorCode(await caller.request({ type: 'call.hold', callId })), 'call-state', 'not before the answer');
    ok(await callee.request({ type: 'call.answer', callId, sdp: ANSWER }));
    await event(caller, 'call.answered', callId);
    const holds = (client: TestClient) => client.frames.filter((f) => f.type === 'call.hold-state' && f.callId === callId).map((f) => [f.local, f.remote]);
    const replyThenEvent = (client: TestClient) => {
      const lastIndex = (match: (f: Frame) => boolean) => client.frames.map(match).lastIndexOf(true);
      const reply = lastIndex((f) => f.ok === true);
      const held = lastIndex((f) => f.type === 'call.hold-state');
      assert.ok(reply >= 0 && held > reply, 'the reply comes before the event');
    };

    ok(await caller.request({ type: 'call.hold', callId }));
    await settle();
    replyThenEvent(caller);
    assert.deepEqual(holds(caller), [[true, false]]);
    assert.deepEqual(holds(callee), [[false, true]]);
    ok(await caller.request({ type: 'call.hold', callId }));
    await settle();
    assert.equal(holds(caller).length, 1, 'holding a held call changes nothing and says nothing');

    assert.equal(errorCode(await otherTab.request({ type: 'call.hold', callId })), 'call-state', 'a tab that does not carry the call');
    ok(await callee.request({ type: 'call.hold', callId }));
    await settle();
    assert.deepEqual(holds(callee), [[false, true], [true, true]]);
    assert.deepEqual(holds(caller), [[true, false], [true, true]]);
    ok(await caller.request({ type: 'call.resume', callId }));
    ok(await callee.request({ type: 'call.resume', callId }));
    await settle();
    assert.deepEqual(holds(caller).slice(2), [[false, true], [false, false]]);
    assert.deepEqual(holds(callee).slice(2), [[true, false], [false, false]]);
    assert.deepEqual(holds(otherTab), [], 'tabs that do not carry the call hear nothing of it');
    assertFramesValid(caller, callee, otherTab);
    ok(await caller.request({ type: 'call.hangup', callId }));
    assert.equal(errorCode(await caller.request({ type: 'call.resume', callId })), 'call-state', 'not after the end');
  });

  it('a tab opened while the call rings rings too, and welcome lists the call', async () => {
    const caller = await b.tab('101');
    const first = await b.tab('102');
    const callId = await place(caller, '102');
    await event(first, 'call.incoming', callId);
    const late = await b.tab('102');
    const incoming = await event(late, 'call.incoming', callId);
    assert.equal(incoming.sdp, OFFER);
    const welcome = late.frames.find((f) => f.ok === true && (f.result as { calls?: unknown }).calls !== undefined);
    const calls = (welcome?.result as { calls: { callId: string; direction: string; state: string; here: boolean }[] }).calls;
    assert.deepEqual(calls.map((c) => [c.callId, c.direction, c.state, c.here]), [[callId, 'inbound', 'ringing', false]]);
    ok(await late.request({ type: 'call.answer', callId, sdp: ANSWER }));
    assert.equal((await event(first, 'call.ended', callId)).cause, 'answered-elsewhere');
  });

  it('a closed caller tab cancels its ringing call; a closed callee tab ends its answered call', async () => {
    const caller = await b.tab('101');
    const callee = await b.tab('102');
    const first = await place(caller, '102');
    await event(callee, 'call.incoming', first);
    caller.close();
    assert.equal((await event(callee, 'call.ended', first)).cause, 'cancelled');

    const caller2 = await b.tab('101');
    const second = await place(caller2, '102');
    await event(callee, 'call.incoming', second);
    ok(await callee.request({ type: 'call.answer', callId: second, sdp: ANSWER }));
    callee.close();
    const ended = await event(caller2, 'call.ended', second);
    assert.equal(ended.cause, 'normal');
    assert.equal(ended.reason, 'the callee disconnected');
  });

  it('the last ringing tab closing makes the callee unavailable', async () => {
    const caller = await b.tab('101');
    const callee = await b.tab('102');
    const callId = await place(caller, '102');
    await event(callee, 'call.incoming', callId);
    callee.close();
    assert.equal((await event(caller, 'call.ended', callId)).cause, 'unavailable');
  });

  it(`relays at most ${MAX_CANDIDATES_PER_LEG} candidates per direction`, async () => {
    const caller = await b.tab('101');
    const callee = await b.tab('102');
    const callId = await place(caller, '102');
    await event(callee, 'call.incoming', callId);
    for (let i = 0; i < MAX_CANDIDATES_PER_LEG; i++) ok(await caller.request({ type: 'call.ice', callId, candidate: CANDIDATE }));
    assert.equal(errorCode(await caller.request({ type: 'call.ice', callId, candidate: CANDIDATE })), 'too-large');
    await settle();
    assert.equal(callee.frames.filter((f) => f.type === 'call.ice').length, MAX_CANDIDATES_PER_LEG);
  });

  it('shutting down ends live calls as failed and logs them', async () => {
    const caller = await b.tab('101');
    const callee = await b.tab('102');
    const callId = await place(caller, '102');
    await event(callee, 'call.incoming', callId);
    await b.router.close();
    assert.equal((await event(caller, 'call.ended', callId)).cause, 'failed');
    assert.equal((await b.store.calls.get(callId))?.cause, 'failed');
    assert.equal(errorCode(await caller.request({ type: 'call.start', target: '102', sdp: OFFER })), 'not-supported');
  });
});

describe('the cap on calls one operator has placed', () => {
  it('counts calls placed through SIP (PBX line, phones) as well as calls to operators', async () => {
    let throughSip = DEFAULT_MAX_OUTGOING_PER_OPERATOR - 1;
    // Only what placing a call to an operator asks of the SIP side; no SIP call of its own is placed here.
    const sip = {
      outgoingFor: (operatorId: string) => (operatorId === 'op-101' ? throughSip : 0),
      liveFor: () => 0,
      owns: () => false,
      isLive: () => false,
      callsOf: () => [],
      sessionClosed: () => undefined,
      close: async () => undefined,
    } as unknown as SipCallLayer;
    const b = await bench({}, undefined, sip);
    const op101 = await b.tab('101');
    await b.tab('102');
    const first = await place(op101, '102');
    ok(await op101.request({ type: 'call.cancel', callId: first }));
    throughSip = DEFAULT_MAX_OUTGOING_PER_OPERATOR;
    const refused = await op101.request({ type: 'call.start', target: '102', sdp: OFFER });
    assert.equal(errorCode(refused), 'forbidden');
    assert.match((refused.error as { message: string }).message, new RegExp(`at most ${DEFAULT_MAX_OUTGOING_PER_OPERATOR} outgoing calls`));
  });
});

describe('call waiting off', () => {
  it('an operator already on a call is busy (486); one who is free still rings', async () => {
    const b = await bench({ callWaiting: false });
    const op101 = await b.tab('101');
    const op102 = await b.tab('102');
    const op103 = await b.tab('103');
    const first = await place(op101, '102');
    await event(op102, 'call.incoming', first);
    ok(await op102.request({ type: 'call.answer', callId: first, sdp: ANSWER }));
    const second = await place(op103, '102');
    const ended = await event(op103, 'call.ended', second);
    assert.equal(ended.cause, 'busy');
    assert.equal(ended.sipStatus, 486);
    await settle();
    assert.equal(op102.frames.some((f) => f.callId === second), false, 'the busy operator was not disturbed');
    const third = await place(op103, '101');
    assert.equal(third === second, false);
    assert.equal((await event(op103, 'call.ended', third)).cause, 'busy', '101 is on the first call too');
  });

  it('with call waiting on, a second call rings an operator who is on a call', async () => {
    const b = await bench({ callWaiting: true });
    const op101 = await b.tab('101');
    const op102 = await b.tab('102');
    const op103 = await b.tab('103');
    const first = await place(op101, '102');
    ok(await op102.request({ type: 'call.answer', callId: first, sdp: ANSWER }));
    const second = await place(op103, '102');
    assert.equal((await event(op102, 'call.incoming', second)).callId, second);
  });
});

describe('the screen pop', () => {
  const ANNA = { id: '7', name: 'Anna Petrova', company: 'Acme', url: 'https://crm.example.com/contacts/7' };

  it('rings the callee with what the CRM knows about the caller, in tabs opened later too', async () => {
    const asked: string[] = [];
    const b = await bench({}, { find: async (number) => (asked.push(number), number === '101' ? ANNA : undefined) });
    const caller = await b.tab('101');
    const tab = await b.tab('102');
    const callId = await place(caller, '102');
    assert.deepEqual((await event(tab, 'call.incoming', callId)).contact, ANNA);
    const later = await b.tab('102');
    assert.deepEqual((await event(later, 'call.incoming', callId)).contact, ANNA);
    assert.deepEqual([...asked].sort(), ['101', '102'], 'the caller for the callee, the dialled number for the caller');

    const back = await place(tab, '101');
    const incoming = await event(caller, 'call.incoming', back);
    assert.equal('contact' in incoming, false, 'no contact key when the CRM knows nobody');
    assertFramesValid(caller, tab, later);
  });

  it('tells the caller who the dialled number is, after the reply with the call id, and only when the CRM knows', async () => {
    const BOB = { name: 'Bob at the desk', company: 'Acme' };
    const b = await bench({}, { find: async (number) => (number === '102' ? BOB : undefined) });
    const caller = await b.tab('101');
    const callee = await b.tab('102');
    const callId = await place(caller, '102');
    const contact = await event(caller, 'call.contact', callId);
    assert.deepEqual(contact.contact, BOB);
    const replyIndex = caller.frames.findIndex((f) => f.ok === true && (f.result as { callId?: string })?.callId === callId);
    assert.ok(replyIndex < caller.frames.indexOf(contact), 'the reply comes first');
    await event(callee, 'call.incoming', callId);
    const back = await place(callee, '101');
    await event(callee, 'call.ringing', back);
    await settle();
    assert.equal(callee.frames.filter((f) => f.type === 'call.contact').length, 0, 'nobody known, nothing sent');
    assertFramesValid(caller, callee);
  });

  it('a CRM answering after the reply went out still reaches the caller', async () => {
    const BOB = { name: 'Bob at the desk' };
    const b = await bench({}, { find: (number) => new Promise((resolve) => setTimeout(() => resolve(number === '102' ? BOB : undefined), 100)) });
    const caller = await b.tab('101');
    await b.tab('102');
    const callId = await place(caller, '102');
    assert.deepEqual((await event(caller, 'call.contact', callId)).contact, BOB);
  });

  it('a caller who leaves while the CRM is asked rings nobody', async () => {
    let release: (() => void) | undefined;
    const b = await bench({}, { find: () => new Promise((resolve) => (release = () => resolve(ANNA))) });
    const caller = await b.tab('101');
    const tab = await b.tab('102');
    const reply = caller.request({ type: 'call.start', target: '102', sdp: OFFER });
    while (release === undefined) await settle();
    caller.close();
    await settle();
    release();
    await reply.catch(() => undefined);
    await settle();
    assert.equal(tab.frames.filter((f) => f.type === 'call.incoming').length, 0);
    await b.router.close();
    const { calls } = await b.store.calls.listByOperator('op-101');
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.cause, 'cancelled');
  });
});

