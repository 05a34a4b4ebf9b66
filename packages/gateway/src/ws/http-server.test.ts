import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CLOSE_REASONS, PROTOCOL_VERSION, WEBSOCKET_SUBPROTOCOL, checkServerMessage, closeCode, type CloseReason } from '@switchboard/protocol';
import { ManualClock } from '@switchboard/sip';
import { ProtocolError } from './errors.js';
import { createHttpServer, type GatewayHttpServer, type HttpServerOptions } from './http-server.js';
import { createGatewayLogger } from './logging.js';
import { FakeDirectory, FakeVerifier } from './test-support/fakes.js';
import { TestClient, type Frame } from './test-support/client.js';

const HOUR = 3_600_000;
const servers: GatewayHttpServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

interface Started {
  server: GatewayHttpServer;
  port: number;
  verifier: FakeVerifier;
  directory: FakeDirectory;
  logs: string[];
  connect(path?: string): Promise<TestClient>;
  login(token?: string, extra?: Record<string, unknown>): Promise<{ client: TestClient; welcome: Frame }>;
}

async function start(options: Partial<HttpServerOptions> = {}, now = () => Date.now()): Promise<Started> {
  const verifier = new FakeVerifier()
    .grant('tok-op1', 'op-1', now() + HOUR)
    .grant('tok-op1-b', 'op-1', now() + 2 * HOUR)
    .grant('tok-op2', 'op-2', now() + HOUR);
  const directory = new FakeDirectory().add('op-1', 'Ada Lovelace', '201').add('op-2', 'Grace Hopper', '202');
  const logs: string[] = [];
  const logger = createGatewayLogger({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const server = createHttpServer({ host: '127.0.0.1', port: 0, verifier, directory, logger, ...options });
  servers.push(server);
  const { port } = await server.listen();
  const connect = (path?: string) => TestClient.connect(port, path);
  const login = async (token = 'tok-op1', extra: Record<string, unknown> = {}) => {
    const client = await connect();
    const welcome = await client.hello(token, extra);
    assert.equal(welcome.ok, true, JSON.stringify(welcome));
    return { client, welcome };
  };
  return { server, port, verifier, directory, logs, connect, login };
}

function errorOf(frame: Frame): { code: string; message: string; details?: Record<string, unknown> } {
  assert.equal(frame.ok, false, JSON.stringify(frame));
  return frame.error as { code: string; message: string; details?: Record<string, unknown> };
}

async function assertAlive(client: TestClient): Promise<void> {
  const pong = await client.ping();
  assert.equal(pong.ok, true, JSON.stringify(pong));
}

async function assertClosedWith(client: TestClient, reason: CloseReason): Promise<void> {
  const closed = await client.closed;
  assert.equal(closed.code, CLOSE_REASONS[reason].code, `expected ${reason}, got ${closed.code} ${closed.reason}`);
  assert.equal(closed.reason, reason);
}

describe('login', () => {
  it('answers hello with a welcome that checks against the protocol, over the protocol subprotocol', async () => {
    const { login, server } = await start({ sessionInfo: { lineState: () => ({ state: 'registered' }) } });
    const { client, welcome } = await login('tok-op1', { instance: 'tab-1' });
    assert.equal(client.ws.protocol, WEBSOCKET_SUBPROTOCOL);
    const checked = checkServerMessage(welcome, { requestTypeOf: () => 'hello' });
    assert.ok(checked.ok, JSON.stringify(checked));
    const result = welcome.result as Record<string, unknown>;
    assert.equal(result.protocol, PROTOCOL_VERSION);
    assert.deepEqual(result.operator, { id: 'op-1', name: 'Ada Lovelace', extension: '201' });
    assert.deepEqual(result.iceServers, []);
    assert.deepEqual(result.line, { state: 'registered' });
    assert.deepEqual(result.calls, []);
    assert.equal(result.maxFrameBytes, server.limits.maxFrameBytes);
    assert.equal(typeof result.sessionId, 'string');
    assert.equal(server.registry.sessionsOf('op-1')[0]?.id, result.sessionId);
    client.close();
  });

  it('answers ping with the server time', async () => {
    const { login } = await start();
    const { client } = await login();
    const before = Date.now();
    const pong = await client.ping();
    assert.equal(pong.ok, true);
    assert.ok(((pong.result as { serverTime: number }).serverTime) >= before);
    client.close();
  });

  it('closes with hello-required when the first message is something else', async () => {
    const { connect } = await start();
    const client = await connect();
    const reply = await client.ping();
    assert.equal(errorOf(reply).code, 'not-authenticated');
    await assertClosedWith(client, 'hello-required');
  });

  it('closes with hello-required when no hello arrives in time', async () => {
    const { connect } = await start({ limits: { helloTimeoutMs: 100 } });
    const client = await connect();
    await assertClosedWith(client, 'hello-required');
  });

  it('closes with hello-required after one error reply when the first frame is malformed', async () => {
    const { connect } = await start();
    const client = await connect();
    const reply = await client.request({ type: 'hello', protocol: 1, client: { name: 'x', version: '1' } });
    assert.deepEqual(errorOf(reply).details, { path: '/token', problem: 'missing' });
    await assertClosedWith(client, 'hello-required');
  });

  it('closes with protocol-unsupported (4100) for another protocol version', async () => {
    const { connect } = await start();
    const client = await connect();
    client.sendHello('tok-op1', { protocol: PROTOCOL_VERSION + 1 });
    await assertClosedWith(client, 'protocol-unsupported');
    assert.equal((await client.closed).code, 4100);
  });

  const refusals: [string, CloseReason, number][] = [
    ['token-invalid', 'token-invalid', 4001],
    ['token-expired', 'token-expired', 4002],
    ['token-audience', 'token-audience', 4003],
    ['token-tampered', 'token-tampered', 4004],
  ];
  for (const [name, reason, code] of refusals) {
    it(`closes with ${code} when the verifier refuses the token with ${name}`, async () => {
      const { connect, verifier } = await start();
      verifier.refuse(`bad-${name}`, reason);
      const client = await connect();
      client.sendHello(`bad-${name}`);
      const closed = await client.closed;
      assert.equal(closed.code, closeCode(reason));
      assert.equal(closed.code, code);
      assert.equal(closed.reason, reason);
    });
  }

  it('closes with token-invalid for an unknown token, token-expired for a past expiry', async () => {
    const { connect, verifier } = await start();
    verifier.grant('tok-old', 'op-1', Date.now() - 1);
    const unknown = await connect();
    unknown.sendHello('never-issued');
    await assertClosedWith(unknown, 'token-invalid');
    const old = await connect();
    old.sendHello('tok-old');
    await assertClosedWith(old, 'token-expired');
  });

  it('closes with forbidden (4005) for an unknown or disabled operator', async () => {
    const { connect, verifier, directory } = await start();
    verifier.grant('tok-ghost', 'op-ghost', Date.now() + HOUR).grant('tok-off', 'op-off', Date.now() + HOUR);
    directory.add('op-off', 'Off', '209', false);
    for (const token of ['tok-ghost', 'tok-off']) {
      const client = await connect();
      client.sendHello(token);
      await assertClosedWith(client, 'forbidden');
      assert.equal((await client.closed).code, 4005);
    }
  });

  it('closes with internal (4202) when the verifier itself fails', async () => {
    const { connect, verifier } = await start();
    verifier.fail('tok-broken', new Error('jwks endpoint unreachable'));
    const client = await connect();
    client.sendHello('tok-broken');
    await assertClosedWith(client, 'internal');
  });

  it('answers requests sent while the token is being verified with not-authenticated', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { connect, verifier } = await start();
    const verify = verifier.verify.bind(verifier);
    verifier.verify = async (token) => {
      await gate;
      return verify(token);
    };
    const client = await connect();
    const welcome = client.hello('tok-op1');
    assert.equal(errorOf(await client.ping()).code, 'not-authenticated');
    release();
    assert.equal((await welcome).ok, true);
    await assertAlive(client);
    client.close();
  });

  it('refuses a token in the URL with protocol-violation and never logs it', async () => {
    const { port, logs } = await start();
    const client = await TestClient.connect(port, '/ws?token=secret-in-url');
    await assertClosedWith(client, 'protocol-violation');
    assert.ok(logs.some((l) => l.includes('credentials in the WebSocket URL')));
    assert.ok(!logs.some((l) => l.includes('secret-in-url')));
  });

  it('refuses upgrades on other paths', async () => {
    const { port } = await start();
    await assert.rejects(TestClient.connect(port, '/elsewhere'), /404/);
  });

  it('never writes a token to the log', async () => {
    const { login, connect, verifier, logs } = await start();
    verifier.refuse('tok-tampered-secret', 'token-tampered').fail('tok-failing-secret', new Error('boom tok-failing-secret'));
    const { client } = await login();
    await client.request({ type: 'auth.refresh', token: 'tok-op1-b' });
    await client.request({ type: 'auth.refresh', token: 'tok-tampered-secret' });
    await client.request({ type: 'auth.refresh', token: 'tok-failing-secret' });
    const refused = await connect();
    refused.sendHello('tok-tampered-secret');
    await refused.closed;
    client.close();
    await client.closed;
    assert.ok(logs.length > 0);
    for (const token of verifier.seen) assert.ok(!logs.some((l) => l.includes(token)), `token ${token} in the log`);
  });
});

describe('token refresh and expiry', () => {
  it('auth.refresh with a token for the same operator keeps the session', async () => {
    const { login, server } = await start();
    const { client, welcome } = await login();
    const sessionId = (welcome.result as { sessionId: string }).sessionId;
    const reply = await client.request({ type: 'auth.refresh', token: 'tok-op1-b' });
    assert.equal(reply.ok, true, JSON.stringify(reply));
    const result = reply.result as { tokenExpiresAt: number; iceServers: unknown[] };
    const session = server.registry.get(sessionId);
    assert.ok(session);
    assert.equal(session.tokenExpiresAt, result.tokenExpiresAt);
    assert.ok(result.tokenExpiresAt > (welcome.result as { tokenExpiresAt: number }).tokenExpiresAt);
    await assertAlive(client);
    client.close();
  });

  it('refuses a token for another operator with forbidden and keeps the identity', async () => {
    const { login, server } = await start();
    const { client } = await login();
    const reply = await client.request({ type: 'auth.refresh', token: 'tok-op2' });
    assert.equal(errorOf(reply).code, 'forbidden');
    assert.equal(server.registry.sessionsOf('op-1').length, 1);
    assert.equal(server.registry.sessionsOf('op-2').length, 0);
    await assertAlive(client);
    client.close();
  });

  it('answers a refused token with token-rejected and keeps the session', async () => {
    const { login, verifier } = await start();
    verifier.refuse('tok-expired', 'token-expired');
    const { client } = await login();
    const reply = await client.request({ type: 'auth.refresh', token: 'tok-expired' });
    assert.equal(errorOf(reply).code, 'token-rejected');
    assert.deepEqual(errorOf(reply).details, { reason: 'token-expired' });
    await assertAlive(client);
    client.close();
  });

  it('sends auth.expiring before expiry and closes with token-expired (4002) at expiry', async () => {
    const clock = new ManualClock(Date.now());
    const { login } = await start({ clock, limits: { expiringNoticeMs: 60_000 } }, () => clock.now());
    const { client } = await login();
    clock.advance(HOUR - 60_001);
    await assertAlive(client);
    assert.ok(!client.frames.some((f) => f.type === 'auth.expiring'));
    clock.advance(1);
    const notice = await client.waitFor((f) => f.type === 'auth.expiring');
    assert.equal(notice.expiresAt, clock.now() + 60_000);
    assert.equal(notice.serverTime, clock.now());
    clock.advance(60_000);
    await assertClosedWith(client, 'token-expired');
  });

  it('a refresh after auth.expiring moves the expiry and the session outlives the old token', async () => {
    const clock = new ManualClock(Date.now());
    const { login } = await start({ clock, limits: { expiringNoticeMs: 60_000 } }, () => clock.now());
    const { client } = await login();
    clock.advance(HOUR - 60_000);
    await client.waitFor((f) => f.type === 'auth.expiring');
    const reply = await client.request({ type: 'auth.refresh', token: 'tok-op1-b' });
    assert.equal(reply.ok, true);
    clock.advance(120_000);
    await assertAlive(client);
    assert.equal(client.frames.filter((f) => f.type === 'auth.expiring').length, 1);
    client.close();
  });
});

describe('bad input', () => {
  it('answers malformed JSON, unknown types, missing fields and oversized frames, then still answers ping', async () => {
    const { login } = await start({ limits: { maxFrameBytes: 4096 } });
    const { client } = await login();

    client.sendRaw('{"type":"ping",');
    const json = await client.waitFor((f) => f.id === null && (f.error as { details?: { problem?: string } }).details?.problem === 'json');
    assert.equal(errorOf(json).code, 'bad-request');

    assert.equal(errorOf(await client.request({ type: 'call.teleport' })).code, 'unknown-type');

    const missing = errorOf(await client.request({ type: 'call.hangup' }));
    assert.equal(missing.code, 'bad-request');
    assert.deepEqual(missing.details, { path: '/callId', problem: 'missing' });

    const extra = errorOf(await client.request({ type: 'ping', debug: true }));
    assert.deepEqual(extra.details, { path: '/debug', problem: 'unexpected' });

    client.sendRaw(JSON.stringify({ type: 'ping', id: 'big', pad: 'x'.repeat(5000) }));
    const big = await client.waitFor((f) => (f.error as { code?: string } | undefined)?.code === 'too-large');
    assert.equal(big.id, null);

    const target = errorOf(await client.request({ type: 'call.start', target: 'bob@evil.example', sdp: 'v=0\r\n' }));
    assert.equal(target.code, 'invalid-target');

    await assertAlive(client);
    client.close();
  });

  it('frames over the protocol maximum are closed by ws with 1009 (Message Too Big)', async () => {
    const { login } = await start();
    const { client } = await login();
    client.sendRaw('x'.repeat(70 * 1024));
    assert.equal((await client.closed).code, 1009);
  });

  it('a binary frame ends the session with protocol-violation', async () => {
    const { login } = await start();
    const { client } = await login();
    client.sendRaw(Buffer.from('{"type":"ping","id":"1"}'), true);
    await assertClosedWith(client, 'protocol-violation');
  });

  it('closes with protocol-violation after too many malformed frames in a row', async () => {
    const { login } = await start({ limits: { maxInvalidInARow: 3 } });
    const { client } = await login();
    for (let i = 0; i < 5; i++) client.sendRaw('not json');
    await assertClosedWith(client, 'protocol-violation');
  });

  it('a flood is rate-limited, then closed with too-many-messages; other connections are unaffected', async () => {
    const clock = new ManualClock(Date.now());
    const { login } = await start(
      { clock, limits: { messagesPerSecond: 5, burst: 5, maxRateLimitedInARow: 10 } },
      () => clock.now(),
    );
    const { client: flooder } = await login();
    const { client: bystander } = await login('tok-op2');
    for (let i = 0; i < 40; i++) flooder.sendRaw(JSON.stringify({ type: 'ping', id: `f${i}` }));
    await assertClosedWith(flooder, 'too-many-messages');
    assert.equal((await flooder.closed).code, 4103);
    const limited = flooder.frames.filter((f) => (f.error as { code?: string } | undefined)?.code === 'rate-limited');
    assert.equal(limited.length, 10);
    assert.equal(flooder.frames.filter((f) => f.ok === true).length, 5);
    assert.equal(limited[0]!.id, 'f4');
    assert.ok(((limited[0]!.error as { details: { retryAfterMs: number } }).details.retryAfterMs) > 0);
    await assertAlive(bystander);
    bystander.close();
  });
});

describe('tabs', () => {
  it('keeps several sessions of one operator live at once', async () => {
    const { login, server } = await start();
    const { client: a } = await login('tok-op1', { instance: 'tab-a' });
    const { client: b } = await login('tok-op1', { instance: 'tab-b' });
    assert.equal(server.registry.sessionsOf('op-1').length, 2);
    await assertAlive(a);
    await assertAlive(b);
    assert.equal(server.registry.broadcast('op-1', { type: 'line.state', state: 'registered' }), 2);
    await a.waitFor((f) => f.type === 'line.state');
    await b.waitFor((f) => f.type === 'line.state');
    a.close();
    b.close();
  });

  it('a new connection with the same instance supersedes the old one (4200)', async () => {
    const { login, server } = await start();
    const { client: old } = await login('tok-op1', { instance: 'tab-a' });
    const { client: fresh, welcome } = await login('tok-op1', { instance: 'tab-a' });
    await assertClosedWith(old, 'superseded');
    assert.equal((await old.closed).code, 4200);
    await assertAlive(fresh);
    assert.deepEqual(server.registry.sessionsOf('op-1').map((s) => s.id), [(welcome.result as { sessionId: string }).sessionId]);
    fresh.close();
  });

  it('beyond the per-operator limit the oldest session is superseded', async () => {
    const { login, server } = await start({ limits: { maxSessionsPerOperator: 2 } });
    const { client: first } = await login();
    const { client: second } = await login();
    const { client: third } = await login();
    await assertClosedWith(first, 'superseded');
    assert.equal(server.registry.sessionsOf('op-1').length, 2);
    await assertAlive(second);
    await assertAlive(third);
    second.close();
    third.close();
  });
});

describe('call requests', () => {
  it('without a hook they are answered not-supported', async () => {
    const { login } = await start();
    const { client } = await login();
    assert.equal(errorOf(await client.request({ type: 'call.hangup', callId: 'c-1' })).code, 'not-supported');
    client.close();
  });

  it('go to the hook with the session; its results and protocol errors become replies', async () => {
    const seen: string[] = [];
    const { login } = await start({
      onRequest: (session, request) => {
        seen.push(`${session.operator.id}:${request.type}`);
        if (request.type === 'call.start') return { callId: 'c-1' };
        if (request.type === 'call.hangup' && request.callId === 'c-missing') throw new ProtocolError('not-found', 'no such call');
        if (request.type === 'call.hold') throw new Error('bug');
        return {};
      },
    });
    const { client } = await login();
    const started = await client.request({ type: 'call.start', target: '+493012345678', sdp: 'v=0\r\n' });
    assert.deepEqual(started.result, { callId: 'c-1' });
    assert.deepEqual((await client.request({ type: 'call.hangup', callId: 'c-1' })).result, {});
    assert.equal(errorOf(await client.request({ type: 'call.hangup', callId: 'c-missing' })).code, 'not-found');
    assert.equal(errorOf(await client.request({ type: 'call.hold', callId: 'c-1' })).code, 'internal');
    assert.deepEqual(seen, ['op-1:call.start', 'op-1:call.hangup', 'op-1:call.hangup', 'op-1:call.hold']);
    client.close();
  });
});

describe('http', () => {
  it('GET /healthz reports status and counts only', async () => {
    const { port, login } = await start();
    const { client } = await login();
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.status, 'ok');
    assert.equal(body.sessions, 1);
    assert.equal(body.operators, 1);
    assert.deepEqual(Object.keys(body).sort(), ['connections', 'operators', 'sessions', 'status', 'uptimeMs']);
    client.close();
  });

  it('shutdown closes every connection with server-shutdown (4201) and stops listening', async () => {
    const closedSessions: string[] = [];
    const { server, port, login, connect } = await start({ onSessionClosed: (s, reason) => closedSessions.push(`${s.operator.id}:${reason}`) });
    const { client: a } = await login();
    const { client: b } = await login('tok-op2');
    const pending = await connect();
    await server.close();
    for (const client of [a, b, pending]) {
      await assertClosedWith(client, 'server-shutdown');
      assert.equal((await client.closed).code, 4201);
    }
    assert.deepEqual(closedSessions.sort(), ['op-1:server-shutdown', 'op-2:server-shutdown']);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  });
});
