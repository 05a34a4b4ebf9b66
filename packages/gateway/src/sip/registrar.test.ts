import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  DigestClient, ManualClock, parseMessage, UserAgent,
  type IncomingRequest, type ServerTransaction, type SipRequest, type SipResponse, type TransportAddress,
} from '@switchboard/sip';
import { createTransport, nodeDigestHasher } from '@switchboard/sip/node';
import { pino } from 'pino';
import { Secret } from '../config/secret.js';
import type { RegistrarConfig } from '../config/types.js';
import { startSipListener } from '../sip-listener.js';
import { Registrar } from './registrar.js';

const PASSWORDS = { alice: 'alice-pass-1', bob: 'bob-pass-2' } as const;
const CONFIG: RegistrarConfig = {
  realm: 'switchboard',
  minExpiresSeconds: 60,
  maxExpiresSeconds: 3600,
  accounts: Object.entries(PASSWORDS).map(([user, password]) => ({ user, password: new Secret(password, `env ${user}`) })),
};
const UDP: TransportAddress = { protocol: 'udp', host: '192.0.2.10', port: 5062 };

function setup() {
  const clock = new ManualClock(1_795_000_000_000);
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const registrar = new Registrar({ config: CONFIG, logger, clock });
  return { clock, registrar, lines, location: registrar.location };
}

interface RequestSpec {
  to?: string;
  contacts?: string[];
  expires?: number;
  callId?: string;
  cseq?: number;
  extra?: string;
}

function register(spec: RequestSpec = {}): SipRequest {
  const to = spec.to ?? 'sip:alice@switchboard.example';
  const text =
    'REGISTER sip:switchboard.example SIP/2.0\r\n' +
    'Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK' + Math.random().toString(36).slice(2) + '\r\n' +
    'Max-Forwards: 70\r\n' +
    `To: <${to}>\r\n` +
    `From: <${to}>;tag=f1\r\n` +
    `Call-ID: ${spec.callId ?? 'reg-1@192.0.2.10'}\r\n` +
    `CSeq: ${spec.cseq ?? 1} REGISTER\r\n` +
    (spec.contacts ?? ['<sip:alice@192.0.2.10:5062>']).map((c) => `Contact: ${c}\r\n`).join('') +
    (spec.expires === undefined ? '' : `Expires: ${spec.expires}\r\n`) +
    (spec.extra ?? '') +
    'Content-Length: 0\r\n\r\n';
  return parseMessage(text) as SipRequest;
}

/** Hands the request to the registrar as the user agent would and resolves with its final answer, off the wire. */
function send(registrar: Registrar, request: SipRequest, source: TransportAddress = UDP, connectionId?: string): Promise<SipResponse> {
  return new Promise((resolve) => {
    const transaction = { state: 'trying' } as unknown as ServerTransaction;
    const incoming: IncomingRequest = {
      request,
      source,
      connectionId,
      transaction,
      toTag: 'totag1',
      respond(status, options = {}) {
        const response = request.createResponse(status, options.reason, { toTag: 'totag1' });
        // As the user agent does: text and structured values alike.
        for (const [name, value] of options.headers ?? []) response.append(name, value as string);
        (transaction as unknown as { state: string }).state = 'completed';
        resolve(parseMessage(response.serialize()) as SipResponse);
        return response;
      },
    };
    registrar.handle(incoming);
  });
}

/** The whole exchange: the request, its 401, the request again with credentials (next CSeq). */
async function registerWith(registrar: Registrar, spec: RequestSpec, user: string, password: string, source = UDP, connectionId?: string) {
  const first = register(spec);
  const challenge = await send(registrar, first, source, connectionId);
  assert.equal(challenge.status, 401, 'challenged first');
  const client = new DigestClient({ credentials: { username: user, password }, hasher: nodeDigestHasher, random: { bytes: (n) => new Uint8Array(n).fill(3) } });
  const retry = register({ ...spec, cseq: (spec.cseq ?? 1) + 1 });
  const authorization = client.authorize(first, challenge);
  retry.set(authorization.header, ...authorization.values);
  return send(registrar, parseMessage(retry.serialize()) as SipRequest, source, connectionId);
}

const contactsOf = (response: SipResponse) => response.getAll('Contact');

describe('Registrar', () => {
  test('challenges a REGISTER without credentials, with MD5 only by default, and binds nothing', async () => {
    const { registrar, location } = setup();
    const response = await send(registrar, register());
    assert.equal(response.status, 401);
    assert.deepEqual(response.getAll('WWW-Authenticate').map((value) => value.replace(/nonce="[0-9a-f]+"/, 'nonce="N"')), [
      'Digest realm="switchboard", nonce="N", algorithm=MD5, qop="auth"',
    ]);
    assert.deepEqual(location.lookup('alice'), []);
  });

  test('SHA-256 when configured: one challenge per algorithm, preferred first, and the phone registers', async () => {
    const registrar = new Registrar({ config: CONFIG, logger: pino({ level: 'silent' }), clock: new ManualClock(0), algorithms: ['SHA-256', 'MD5'] });
    const challenge = await send(registrar, register());
    assert.deepEqual(challenge.getAll('WWW-Authenticate').map((value) => /algorithm=([\w-]+)/.exec(value)?.[1]), ['SHA-256', 'MD5']);
    const response = await registerWith(registrar, {}, 'alice', PASSWORDS.alice);
    assert.equal(response.status, 200);
    registrar.close();
  });

  test('the right password registers the Contact; the 200 lists it with its expires and a Date', async () => {
    const { registrar, location, lines } = setup();
    const response = await registerWith(registrar, { expires: 600 }, 'alice', PASSWORDS.alice);
    assert.equal(response.status, 200);
    assert.deepEqual(contactsOf(response), ['<sip:alice@192.0.2.10:5062>;expires=600']);
    assert.equal(response.get('Date'), new Date(1_795_000_000_000).toUTCString());
    const [binding] = location.lookup('alice');
    assert.deepEqual(binding!.source, UDP);
    assert.equal(binding!.callId, 'reg-1@192.0.2.10');
    assert.equal(binding!.cseq, 2);
    const registered = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry['msg'] === 'SIP phone registered');
    assert.equal(registered?.['level'], 30, 'logged at info');
    assert.equal(registered?.['user'], 'alice');
    assert.equal(registered?.['source'], 'udp:192.0.2.10:5062');
  });

  test('a wrong password and an unknown user get the same fresh challenge; nothing secret is logged', async () => {
    const { registrar, location, lines } = setup();
    const wrong = await registerWith(registrar, {}, 'alice', 'not-the-password');
    const unknown = await registerWith(registrar, { to: 'sip:mallory@switchboard.example' }, 'mallory', 'whatever');
    for (const response of [wrong, unknown]) {
      assert.equal(response.status, 401);
      assert.equal(response.getAll('WWW-Authenticate').length, 1);
      assert.equal(response.reason, 'Unauthorized');
    }
    assert.deepEqual(location.lookup('alice'), []);
    const log = lines.join('\n');
    for (const secret of [PASSWORDS.alice, 'not-the-password', 'whatever', 'response=', 'cnonce']) assert.ok(!log.includes(secret), `log holds ${secret}`);
    const refused = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry['msg'] === 'SIP registration credentials refused');
    assert.deepEqual(refused.map((entry) => [entry['user'], entry['account']]), [['alice', 'known'], ['mallory', 'unknown']]);
  });

  test('an authenticated phone may register only its own AOR: 403 for another account, 404 for no account', async () => {
    const { registrar, location } = setup();
    const other = await registerWith(registrar, { to: 'sip:bob@switchboard.example' }, 'alice', PASSWORDS.alice);
    assert.equal(other.status, 403);
    const none = await registerWith(registrar, { to: 'sip:nobody@switchboard.example' }, 'alice', PASSWORDS.alice);
    assert.equal(none.status, 404);
    assert.equal(location.size, 0);
    // Any host: the user part names the account, and %-escapes compare equal.
    const escaped = await registerWith(registrar, { to: 'sip:%61lice@192.0.2.99' }, 'alice', PASSWORDS.alice);
    assert.equal(escaped.status, 200);
  });

  test('what needs no account is refused before the challenge: 400 for a To that is no SIP AOR, a bad `*`, too many Contacts', async () => {
    const { registrar } = setup();
    const cases: [RequestSpec, string][] = [
      [{ to: 'tel:+15551234' }, 'To Is Not A SIP AOR With A User'],
      [{ to: 'sip:switchboard.example' }, 'To Is Not A SIP AOR With A User'],
      [{ contacts: ['*'], expires: 600 }, 'Invalid Wildcard Contact'],
      [{ contacts: ['*'] }, 'Invalid Wildcard Contact'],
      [{ contacts: ['*', '<sip:alice@192.0.2.10>'], expires: 0 }, 'Invalid Wildcard Contact'],
      [{ contacts: Array.from({ length: 11 }, (_, i) => `<sip:alice@192.0.2.${i + 1}>`) }, 'Too Many Contacts'],
      [{ contacts: ['<mailto:alice@example.com>'] }, 'Contact Is Not A SIP URI'],
    ];
    for (const [spec, reason] of cases) {
      const response = await send(registrar, register(spec));
      assert.equal(response.status, 400, JSON.stringify(spec));
      assert.equal(response.reason, reason);
    }
  });

  test('lifetimes: 423 with Min-Expires below the minimum, cut to the maximum, a Contact\'s expires before the header', async () => {
    const { registrar, location } = setup();
    const brief = await registerWith(registrar, { expires: 30 }, 'alice', PASSWORDS.alice);
    assert.equal(brief.status, 423);
    assert.equal(brief.reason, 'Interval Too Brief');
    assert.equal(brief.get('Min-Expires'), '60');
    assert.equal(location.size, 0);
    const response = await registerWith(
      registrar,
      { callId: 'c2', expires: 7200, contacts: ['<sip:alice@192.0.2.1>', '<sip:alice@192.0.2.2>;expires=120', '<sip:alice@192.0.2.3>;expires=junk'] },
      'alice',
      PASSWORDS.alice,
    );
    assert.equal(response.status, 200);
    assert.deepEqual(contactsOf(response).sort(), [
      '<sip:alice@192.0.2.1>;expires=3600',
      '<sip:alice@192.0.2.2>;expires=120',
      '<sip:alice@192.0.2.3>;expires=3600',
    ]);
    // Neither: the default hour.
    const fallback = await registerWith(registrar, { callId: 'c3', contacts: ['<sip:alice@192.0.2.4>;q=0.5'] }, 'alice', PASSWORDS.alice);
    assert.ok(contactsOf(fallback).includes('<sip:alice@192.0.2.4>;q=0.5;expires=3600'));
  });

  test('a query lists the bindings with what is left of their lifetime; they expire on the clock', async () => {
    const { clock, registrar, location } = setup();
    await registerWith(registrar, { expires: 120 }, 'alice', PASSWORDS.alice);
    clock.advance(50_000);
    const query = await registerWith(registrar, { callId: 'q1', contacts: [] }, 'alice', PASSWORDS.alice);
    assert.equal(query.status, 200);
    assert.deepEqual(contactsOf(query), ['<sip:alice@192.0.2.10:5062>;expires=70']);
    clock.advance(70_000);
    assert.deepEqual(location.lookup('alice'), []);
    const empty = await registerWith(registrar, { callId: 'q2', contacts: [] }, 'alice', PASSWORDS.alice);
    assert.deepEqual(contactsOf(empty), []);
  });

  test('`*` with Expires 0 removes every binding; Expires 0 on one Contact removes that one', async () => {
    const { registrar, location } = setup();
    await registerWith(registrar, { callId: 'a', contacts: ['<sip:alice@192.0.2.1>'] }, 'alice', PASSWORDS.alice);
    await registerWith(registrar, { callId: 'b', contacts: ['<sip:alice@192.0.2.2>', '<sip:alice@192.0.2.3>'] }, 'alice', PASSWORDS.alice);
    assert.equal(location.lookup('alice').length, 3);
    const one = await registerWith(registrar, { callId: 'b', cseq: 5, contacts: ['<sip:alice@192.0.2.2>'], expires: 0 }, 'alice', PASSWORDS.alice);
    assert.equal(one.status, 200);
    assert.equal(contactsOf(one).length, 2);
    const all = await registerWith(registrar, { callId: 'c', contacts: ['*'], expires: 0 }, 'alice', PASSWORDS.alice);
    assert.equal(all.status, 200);
    assert.deepEqual(contactsOf(all), []);
    assert.equal(location.size, 0);
  });

  test('a REGISTER older than one applied (same Call-ID, CSeq not higher) is refused with 500 and changes nothing', async () => {
    const { registrar, location } = setup();
    await registerWith(registrar, { callId: 'x', cseq: 10 }, 'alice', PASSWORDS.alice);
    const stale = await registerWith(registrar, { callId: 'x', cseq: 8, contacts: ['<sip:alice@192.0.2.10:5062>'], expires: 0 }, 'alice', PASSWORDS.alice);
    assert.equal(stale.status, 500);
    assert.equal(location.lookup('alice').length, 1);
    assert.equal(location.lookup('alice')[0]!.cseq, 11);
  });

  test('an expired nonce is answered with stale=true; a replayed one is refused', async () => {
    const { clock, registrar } = setup();
    const first = register();
    const challenge = await send(registrar, first);
    clock.advance(301_000);
    const client = new DigestClient({ credentials: { username: 'alice', password: PASSWORDS.alice }, hasher: nodeDigestHasher, random: { bytes: (n) => new Uint8Array(n).fill(5) } });
    const retry = register({ cseq: 2 });
    const authorization = client.authorize(first, challenge);
    retry.set(authorization.header, ...authorization.values);
    const wire = retry.serialize();
    const stale = await send(registrar, parseMessage(wire) as SipRequest);
    assert.equal(stale.status, 401);
    assert.match(stale.get('WWW-Authenticate')!, /stale=true/);

    const fresh = await registerWith(registrar, { callId: 'r' }, 'alice', PASSWORDS.alice);
    assert.equal(fresh.status, 200);
  });

  test('over TCP the binding keeps the connection; when it closes the binding stays, reachable at its Contact', async () => {
    const { registrar, location } = setup();
    const tcp: TransportAddress = { protocol: 'tcp', host: '192.0.2.50', port: 50123 };
    const ok = await registerWith(registrar, { contacts: ['<sip:alice@192.0.2.50:5070;transport=tcp>'] }, 'alice', PASSWORDS.alice, tcp, 'tcp-9-1');
    assert.equal(ok.status, 200);
    assert.equal(location.lookup('alice')[0]!.connectionId, 'tcp-9-1');
    assert.deepEqual(location.lookup('alice')[0]!.source, tcp);
  });
});

describe('Registrar on the gateway SIP listener over loopback', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  test('a phone registers over TCP with digest; its binding follows the connection', async () => {
    const logger = pino({ level: 'silent' });
    const listener = await startSipListener({ host: '127.0.0.1', port: 0 }, logger);
    closers.push(() => listener.close());
    const registrar = new Registrar({ config: CONFIG, logger });
    registrar.attach(listener);
    closers.push(async () => registrar.close());

    const phoneTransport = await createTransport({ protocol: 'tcp', host: '127.0.0.1', port: 0 });
    const phone = new UserAgent({ transports: [phoneTransport] });
    let phoneClosed = false;
    closers.push(async () => {
      if (phoneClosed) return;
      await phone.close();
      await phoneTransport.close();
    });
    const destination: TransportAddress = { protocol: 'tcp', host: '127.0.0.1', port: listener.tcp.port };
    const request = phone.createRequest('REGISTER', `sip:127.0.0.1:${listener.tcp.port};transport=tcp`, {
      from: 'sip:bob@127.0.0.1',
      contact: phone.contact('bob', 'tcp'),
    });
    request.append('Expires', '300');
    const digest = new DigestClient({ credentials: { username: 'bob', password: PASSWORDS.bob }, hasher: nodeDigestHasher, random: { bytes: (n) => crypto.getRandomValues(new Uint8Array(n)) } });
    const response = await phone.request(request, destination, { digest });
    assert.equal(response.status, 200);
    assert.match(response.get('Contact') ?? '', new RegExp(`^<sip:bob@127\\.0\\.0\\.1:${phoneTransport.local.port};transport=tcp>;expires=300$`));
    const [binding] = registrar.location.lookup('bob');
    assert.equal(binding!.source.protocol, 'tcp');
    assert.ok(binding!.connectionId?.startsWith('tcp-'), `connection kept: ${binding!.connectionId}`);

    await phone.close();
    await phoneTransport.close();
    phoneClosed = true;
    for (let i = 0; i < 100 && registrar.location.lookup('bob')[0]?.connectionId !== undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(registrar.location.lookup('bob').length, 1, 'a TCP binding outlives its connection');
    assert.equal(registrar.location.lookup('bob')[0]!.connectionId, undefined, 'but forgets it');
  });
});
