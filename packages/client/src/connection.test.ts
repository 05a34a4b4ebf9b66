import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, reconnectPlan } from './backoff.js';
import { ClientError, ConnectionError } from './errors.js';
import { CLOSE_REASONS, WEBSOCKET_SUBPROTOCOL } from './generated/server-checks.js';
import { EVENT_EXAMPLES, NOW, welcomeResult } from './test-support/examples.js';
import { harness, settle } from './test-support/fakes.js';

describe('login', () => {
  it('sends the token in hello as the first frame, never in the URL, and resolves with the operator', async () => {
    const h = harness();
    const states: string[] = [];
    h.phone.on('connection', ({ state }) => states.push(state));
    const lines: string[] = [];
    h.phone.on('line', (line) => lines.push(line.state));
    const connected = h.phone.connect();
    await settle();
    const socket = h.socket();
    assert.equal(socket.url, 'wss://gw.example.com/ws');
    assert.ok(!socket.url.includes('token'));
    assert.equal(socket.protocols, WEBSOCKET_SUBPROTOCOL);
    assert.equal(socket.sent.length, 0, 'nothing before the socket opens');
    socket.open();
    assert.deepEqual(socket.sent, [
      { type: 'hello', id: socket.sent[0]?.id, protocol: 1, token: 'token-1', client: { name: '@switchboard/client', version: '0.1.0' }, instance: 'tab-test' },
    ]);
    assert.equal(h.phone.state, 'connecting');
    socket.reply('hello', welcomeResult());
    assert.deepEqual(await connected, { id: 'op-17', name: 'Ada Lovelace', extension: '201' });
    assert.deepEqual(states, ['connecting', 'connected']);
    assert.deepEqual(lines, ['registered']);
    assert.equal(h.phone.state, 'connected');
    assert.equal(h.phone.operator?.extension, '201');
  });

  it('rejects connect() with the close reason when the gateway refuses the token, and does not reconnect', async () => {
    const h = harness();
    const states: { state: string; reason?: string }[] = [];
    h.phone.on('connection', (change) => states.push(change));
    const connected = h.phone.connect();
    await settle();
    h.socket().open();
    h.socket().serverClose(4004, 'token-tampered');
    await assert.rejects(connected, (error: unknown) => error instanceof ConnectionError && error.code === 'token-tampered' && error.closeCode === 4004);
    assert.deepEqual(states.at(-1), { state: 'disconnected', reason: 'token-tampered' });
    await h.timers.advance(120_000);
    assert.equal(h.sockets.length, 1);
  });

  it('keeps connect() waiting through a transient failure and resolves once a later attempt is welcomed', async () => {
    const h = harness();
    const connected = h.phone.connect();
    await settle();
    h.socket().serverClose(1006);
    assert.equal(h.phone.state, 'reconnecting');
    await h.timers.advance(750);
    h.socket().open();
    h.socket().reply('hello', welcomeResult());
    assert.equal((await connected).id, 'op-17');
    assert.equal(h.sockets.length, 2);
    assert.deepEqual(h.tokens, ['token-1', 'token-2'], 'a fresh token for every attempt');
  });

  it('reports a getToken() failure and retries after a delay', async () => {
    let calls = 0;
    const h = harness({
      getToken: async () => {
        if (++calls === 1) throw new Error('CRM unreachable');
        return 'token-ok';
      },
    });
    const errors: ClientError[] = [];
    h.phone.on('error', (error) => errors.push(error));
    void h.phone.connect();
    await settle();
    assert.equal(errors[0]?.code, 'token-unavailable');
    assert.equal(h.sockets.length, 0);
    await h.timers.advance(750);
    assert.equal(h.socket().sent.length, 0);
    h.socket().open();
    assert.equal(h.socket().last('hello').token, 'token-ok');
  });
});

describe('keep-alive', () => {
  it('pings every welcome.pingIntervalMs, and treats an unanswered ping as a lost network', async () => {
    const h = harness({ requestTimeoutMs: 5_000 });
    await h.login({ pingIntervalMs: 20_000 });
    const socket = h.socket();
    await h.timers.advance(19_999);
    assert.equal(socket.requests('ping').length, 0);
    await h.timers.advance(1);
    assert.equal(socket.requests('ping').length, 1);
    socket.reply('ping', { serverTime: NOW });
    await h.timers.advance(20_000);
    assert.equal(socket.requests('ping').length, 2);
    await h.timers.advance(5_000);
    assert.equal(socket.closedWith, 1000, 'the dead socket is closed');
    assert.equal(h.phone.state, 'reconnecting');
  });
});

describe('token refresh', () => {
  it('answers auth.expiring with a fresh token in auth.refresh; calls continue untouched', async () => {
    const h = harness();
    await h.login();
    const socket = h.socket();
    socket.receive(EVENT_EXAMPLES['call.incoming']);
    const call = h.phone.calls[0]!;
    socket.receive({ type: 'auth.expiring', expiresAt: NOW + 60_000, serverTime: NOW });
    await settle();
    assert.equal(socket.last('auth.refresh').token, 'token-2');
    const fresh = [{ urls: ['turn:turn2.example.com:3478'], username: 'u', credential: 'c' }];
    socket.reply('auth.refresh', { tokenExpiresAt: NOW + 1_200_000, iceServers: fresh });
    await settle();
    assert.equal(call.state, 'ringing');
    assert.deepEqual(h.phone.calls, [call]);
    assert.equal(h.sockets.length, 1);
    // A call answered after the refresh uses the renewed TURN credentials.
    const answering = call.answer();
    await settle();
    socket.reply('call.answer', {});
    socket.receive({ type: 'call.answered', callId: 'c-9d30', answeredAt: NOW, features: { dtmf: 'gateway', transfer: true } });
    await answering;
    assert.deepEqual(h.peer().config.iceServers, [{ urls: ['turn:turn2.example.com:3478'], username: 'u', credential: 'c' }]);
    assert.equal(socket.last('call.answer').callId, 'c-9d30');
  });

  it('reports a refused refresh without closing anything', async () => {
    const h = harness();
    await h.login();
    const errors: string[] = [];
    h.phone.on('error', (error) => errors.push(error.code));
    h.socket().receive({ type: 'auth.expiring', expiresAt: NOW + 60_000, serverTime: NOW });
    await settle();
    h.socket().replyError('auth.refresh', 'token-rejected');
    await settle();
    assert.deepEqual(errors, ['token-rejected']);
    assert.equal(h.phone.state, 'connected');
  });
});

describe('reconnecting', () => {
  const transient = [1000, 1001, 1006, 4000, 4101, 4102, 4103, 4201, 4202];
  const final = [4001, 4003, 4004, 4005, 4100, 4200];

  for (const code of transient) {
    it(`reconnects with backoff after close ${code}`, async () => {
      const h = harness();
      await h.login();
      const changes: { state: string; reason?: string }[] = [];
      h.phone.on('connection', (change) => changes.push(change));
      h.socket().serverClose(code);
      const reason = CLOSE_REASONS[code]?.[0];
      assert.deepEqual(changes, [reason ? { state: 'reconnecting', reason } : { state: 'reconnecting' }]);
      // Equal jitter around the first 1 s ceiling; the harness's random() is 0.5.
      await h.timers.advance(749);
      assert.equal(h.sockets.length, 1);
      await h.timers.advance(1);
      assert.equal(h.sockets.length, 2);
      h.socket().open();
      h.socket().reply('hello', welcomeResult());
      await settle();
      assert.deepEqual(changes.at(-1), { state: 'connected' });
    });
  }

  for (const code of final) {
    it(`stops after close ${code} (${CLOSE_REASONS[code]?.[0]})`, async () => {
      const h = harness();
      await h.login();
      const changes: { state: string; reason?: string }[] = [];
      h.phone.on('connection', (change) => changes.push(change));
      h.socket().serverClose(code);
      assert.deepEqual(changes, [{ state: 'disconnected', reason: CLOSE_REASONS[code]?.[0] }]);
      await h.timers.advance(600_000);
      assert.equal(h.sockets.length, 1);
      assert.equal(h.phone.operator, undefined);
    });
  }

  it('after token-expired, reconnects at once with a fresh token, but only once in a row', async () => {
    const h = harness();
    await h.login();
    h.socket().serverClose(4002);
    await h.timers.advance(0);
    assert.equal(h.sockets.length, 2);
    h.socket().open();
    assert.equal(h.socket().last('hello').token, 'token-2');
    h.socket().serverClose(4002);
    await h.timers.advance(600_000);
    assert.equal(h.sockets.length, 2);
    assert.equal(h.phone.state, 'disconnected');
  });

  it('grows the delay exponentially with jitter, up to the maximum, and starts over once welcomed', async () => {
    const h = harness({ reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 } });
    await h.login();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      h.socket().serverClose(1006);
      delays.push(h.timers.pendingDelays()[0]!);
      await h.timers.advance(delays.at(-1)!);
    }
    // random() = 0.5 in the harness: three quarters of each ceiling (100, 200, 400, 800, 1000, 1000).
    assert.deepEqual(delays, [75, 150, 300, 600, 750, 750]);
    h.socket().open();
    h.socket().reply('hello', welcomeResult());
    await settle();
    h.socket().serverClose(1006);
    assert.equal(h.timers.pendingDelays()[0], 75);
  });

  it('spreads delays between half and all of the ceiling', () => {
    assert.equal(backoffDelay(3, () => 0), 4_000);
    assert.equal(backoffDelay(3, () => 0.999_999), 8_000);
    assert.equal(backoffDelay(50, () => 1), 30_000);
    assert.deepEqual(reconnectPlan('token-invalid', 4001, false), { action: 'stop' });
    assert.deepEqual(reconnectPlan(undefined, 4999, false), { action: 'backoff' });
  });

  it('does not reconnect after disconnect(), and rejects requests in flight', async () => {
    const h = harness();
    await h.login();
    const socket = h.socket();
    socket.receive(EVENT_EXAMPLES['call.incoming']);
    const rejecting = h.phone.calls[0]!.reject('busy');
    h.phone.disconnect();
    await assert.rejects(rejecting, (error: unknown) => error instanceof ClientError && error.code === 'disconnected');
    assert.equal(socket.closedWith, 1000);
    assert.equal(h.phone.state, 'disconnected');
    socket.serverClose(1000);
    await h.timers.advance(600_000);
    assert.equal(h.sockets.length, 1);
  });

  it('can be told never to reconnect', async () => {
    const h = harness({ reconnect: false });
    await h.login();
    h.socket().serverClose(4201);
    assert.equal(h.phone.state, 'disconnected');
  });
});

describe('requests', () => {
  it('give hold, which waits for the far end, longer than the usual timeout', async () => {
    const h = harness({ requestTimeoutMs: 3_000 });
    await h.login();
    h.socket().receive(EVENT_EXAMPLES['call.incoming']);
    let settled = false;
    const held = h.phone.calls[0]!.hold().finally(() => (settled = true));
    await h.timers.advance(3_001);
    assert.equal(settled, false, 'still waiting after the usual timeout');
    h.socket().reply('call.hold', {});
    await held;
  });

  it('reject with timeout when no reply comes', async () => {
    const h = harness({ requestTimeoutMs: 3_000 });
    await h.login();
    h.socket().receive(EVENT_EXAMPLES['call.incoming']);
    const rejected = assert.rejects(h.phone.calls[0]!.reject(), (error: unknown) => error instanceof ClientError && error.code === 'timeout');
    await h.timers.advance(2_999);
    assert.equal(h.socket().requests('call.reject').length, 1);
    await h.timers.advance(1);
    await rejected;
    // The late reply is dropped and reported, not mistaken for another request's.
    const errors: string[] = [];
    h.phone.on('error', (error) => errors.push(error.code));
    h.socket().reply('call.reject', {});
    assert.deepEqual(errors, ['protocol-error']);
  });

  it('reject with the gateway error code and details', async () => {
    const h = harness();
    await h.login();
    h.socket().receive(EVENT_EXAMPLES['call.incoming']);
    const rejecting = h.phone.calls[0]!.reject();
    const id = h.socket().last('call.reject').id;
    h.socket().receive({ id, ok: false, error: { code: 'rate-limited', message: 'slow down', details: { retryAfterMs: 500 } } });
    await assert.rejects(rejecting, (error: unknown) => error instanceof ClientError && error.code === 'rate-limited' && error.details?.retryAfterMs === 500);
  });

  it('refuse to start while not connected', async () => {
    const h = harness();
    await assert.rejects(h.phone.call('102'), (error: unknown) => error instanceof ClientError && error.code === 'not-connected');
  });
});

describe('invalid frames', () => {
  const invalid: [string, unknown][] = [
    ['not JSON', '{"type":'],
    ['an array', '[]'],
    ['an unknown event', { type: 'call.recording', callId: 'c-1' }],
    ['an unexpected property', { ...EVENT_EXAMPLES['call.ringing'], debug: true }],
    ['a missing field', { type: 'call.ended', callId: 'c-81f2', endedAt: NOW }],
    ['a bidi override in a name', { ...EVENT_EXAMPLES['call.incoming'], from: { number: '\u202e1234' } }],
    ['a javascript: contact link', { ...EVENT_EXAMPLES['call.incoming'], contact: { url: 'javascript:alert(1)' } }],
    ['a welcome of the wrong shape', { id: '1', ok: true, result: { protocol: 1 } }],
  ];

  for (const [what, frame] of invalid) {
    it(`drops and reports ${what}`, async () => {
      const h = harness();
      const errors: ClientError[] = [];
      h.phone.on('error', (error) => errors.push(error));
      const incoming: unknown[] = [];
      h.phone.on('incoming', (call) => incoming.push(call));
      if (what.startsWith('a welcome')) {
        void h.phone.connect();
        await settle();
        h.socket().open();
        h.socket().receive({ ...(frame as object), id: h.socket().last('hello').id });
        assert.equal(h.phone.state, 'connecting');
      } else {
        await h.login();
        h.socket().receive(frame);
      }
      assert.equal(errors.length, 1);
      assert.equal(errors[0]?.code, 'protocol-error');
      assert.deepEqual(incoming, []);
      assert.equal(h.sockets.length, 1);
    });
  }
});
