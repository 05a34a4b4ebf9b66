/**
 * The gateway started from a demo configuration, as `switchboard start --demo` starts it: the store is seeded, a
 * browser logs in over the WebSocket with a token from the demo secret, /healthz answers, and the SIP listener answers
 * OPTIONS and refuses an unknown user with 404, over UDP and TCP. Only 127.0.0.1, on free ports.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSocket } from 'node:dgram';
import { parseMessage, type SipResponse, type TransportAddress, UserAgent } from '@switchboard/sip';
import { createTransport } from '@switchboard/sip/node';
import { pino } from 'pino';
import { TokenIssuer } from './auth/token-issuer.js';
import { demoConfig } from './config/demo.js';
import { start, type RunningGateway } from './server.js';
import { TestClient } from './ws/test-support/client.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('gateway started in demo mode', () => {
  let dir: string;
  let gateway: RunningGateway;
  let issuer: TokenIssuer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-gateway-'));
    const config = demoConfig({
      cwd: dir,
      overrides: { http: { host: '127.0.0.1', port: await freePort() }, sip: { host: '127.0.0.1', port: await freePort() } },
    });
    assert.equal(config.auth.kind, 'hs256');
    issuer = new TokenIssuer({ secret: config.auth.kind === 'hs256' ? config.auth.secret : '' });
    gateway = await start(config, { logger: pino({ level: 'silent' }) });
  });

  after(async () => {
    await gateway.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/healthz answers', async () => {
    const response = await fetch(`http://127.0.0.1:${gateway.http.port}/healthz`);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { status: string }).status, 'ok');
  });

  test('a demo operator logs in with a token from the demo secret; an unknown one is refused', async () => {
    const client = await TestClient.connect(gateway.http.port);
    const { token } = await issuer.issue({ operatorId: '101' });
    const welcome = await client.hello(token);
    assert.equal(welcome.ok, true, JSON.stringify(welcome));
    const result = welcome['result'] as { operator: { id: string; extension: string } };
    assert.equal(result.operator.id, '101');
    assert.equal(result.operator.extension, '101');
    client.ws.close();

    const stranger = await TestClient.connect(gateway.http.port);
    const { token: strangerToken } = await issuer.issue({ operatorId: '999' });
    void stranger.request({ type: 'hello', protocol: 1, token: strangerToken, client: { name: 'test', version: '0' } }).catch(() => undefined);
    const closed = await stranger.closed;
    assert.ok(closed.code >= 4000 && closed.code < 5000, `closed with ${closed.code} ${closed.reason}`);
  });

  test('/ serves the demo page under a strict CSP; /demo/token mints a token that logs in as that operator', async () => {
    const page = await fetch(`http://127.0.0.1:${gateway.http.port}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.doesNotMatch(page.headers.get('content-security-policy') ?? '', /unsafe-eval/);
    assert.match(await page.text(), /<script type="module" src="\/demo\/demo.js">/);
    const script = await fetch(`http://127.0.0.1:${gateway.http.port}/demo/demo.js`);
    assert.equal(script.status, 200);
    assert.match(await script.text(), /from '\/client\/switchboard-client.js'/);

    const minted = await fetch(`http://127.0.0.1:${gateway.http.port}/demo/token?operator=102`);
    assert.equal(minted.status, 200);
    assert.equal(minted.headers.get('cache-control'), 'no-store');
    const { token } = (await minted.json()) as { token: string };
    const client = await TestClient.connect(gateway.http.port);
    const welcome = await client.hello(token);
    assert.equal((welcome['result'] as { operator: { id: string } }).operator.id, '102');
    client.ws.close();

    const short = await fetch(`http://127.0.0.1:${gateway.http.port}/demo/token?operator=101&ttl=65`);
    const { expiresAt } = (await short.json()) as { expiresAt: number };
    assert.ok(Math.abs(expiresAt - (Date.now() + 65_000)) < 5_000, `expires at ${expiresAt}`);
    for (const ttl of ['5', '99999', 'abc', '1.5']) {
      const refused = await fetch(`http://127.0.0.1:${gateway.http.port}/demo/token?operator=101&ttl=${ttl}`);
      assert.equal(refused.status, 400, ttl);
    }
    for (const operator of ['999', '../101', '']) {
      const refused = await fetch(`http://127.0.0.1:${gateway.http.port}/demo/token?operator=${encodeURIComponent(operator)}`);
      assert.equal(refused.status, 404, operator);
    }
  });

  for (const protocol of ['udp', 'tcp'] as const) {
    test(`SIP over ${protocol.toUpperCase()}: OPTIONS is answered 200, an INVITE for an unknown user 404`, async () => {
      const transport = await createTransport({ protocol, host: '127.0.0.1', port: 0 });
      const ua = new UserAgent({ transports: [transport] });
      try {
        const target: TransportAddress = protocol === 'udp' ? { ...gateway.sip.udp, protocol } : { ...gateway.sip.tcp, protocol };
        const options = ua.createRequest('OPTIONS', `sip:127.0.0.1:${target.port}`, { from: 'sip:probe@127.0.0.1' });
        const ok = await ua.request(options, target);
        assert.equal(ok.status, 200);
        assert.match(ok.get('Allow') ?? '', /INVITE/);

        const invite = ua.createRequest('INVITE', `sip:nobody@127.0.0.1:${target.port}`, { from: 'sip:probe@127.0.0.1', contact: ua.contact('probe', protocol) });
        const transaction = ua.sendInvite(invite, target);
        const final = await new Promise<SipResponse>((resolve, reject) => {
          transaction.on('response', ({ response }) => { if (response.status >= 200) resolve(response); });
          transaction.on('timeout', ({ error }) => reject(error));
        });
        assert.equal(final.status, 404);
      } finally {
        await ua.close();
        await transport.close();
      }
    });
  }

  test('a malformed SIP request over UDP gets 400, and the listener keeps answering', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    try {
      const { port } = socket.address();
      const answers: string[] = [];
      socket.on('message', (data) => answers.push(data.toString('utf8')));
      const request = (extra: string) => [
        'OPTIONS sip:127.0.0.1 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${extra.length}x`, 'From: <sip:a@127.0.0.1>;tag=1',
        'To: <sip:b@127.0.0.1>', `Call-ID: malformed-${extra.length}`, 'CSeq: 1 OPTIONS', extra, 'Content-Length: 0', '', '',
      ].filter((line, index, all) => line !== '' || index >= all.length - 2).join('\r\n');
      socket.send(request('Max-Forwards: many'), gateway.sip.udp.port, '127.0.0.1');
      socket.send(request('Max-Forwards: 70'), gateway.sip.udp.port, '127.0.0.1');
      for (let i = 0; i < 100 && answers.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      const statuses = answers.map((text) => parseMessage(text)).map((message) => ('status' in message ? message.status : 0)).sort();
      assert.deepEqual(statuses, [200, 400]);
    } finally {
      socket.close();
    }
  });
});

describe('gateway in demo mode beside a CRM (testPage off)', () => {
  test('serves neither the test page nor /demo/token, only the widget and the SDK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-gateway-'));
    const config = demoConfig({
      cwd: dir,
      testPage: false,
      overrides: { http: { host: '127.0.0.1', port: await freePort() }, sip: { host: '127.0.0.1', port: await freePort() } },
    });
    const gateway = await start(config, { logger: pino({ level: 'silent' }) });
    try {
      const base = `http://127.0.0.1:${gateway.http.port}`;
      for (const path of ['/', '/demo/token?operator=101', '/demo/demo.js']) assert.equal((await fetch(`${base}${path}`)).status, 404, path);
      assert.equal((await fetch(`${base}/switchboard.js`)).status !== 404, true, 'the widget is still served');
    } finally {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
