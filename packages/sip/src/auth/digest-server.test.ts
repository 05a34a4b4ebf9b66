import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ManualClock } from '../clock.js';
import { SipError } from '../errors.js';
import type { AuthValue } from '../message/header-values.js';
import { parseMessage } from '../message/parse-message.js';
import { SipRequest } from '../message/sip-message.js';
import { nodeDigestHasher as hasher } from '../node/node-digest-hash.js';
import { DigestClient } from './digest-client.js';
import { DIGEST_ALGORITHMS, digestHa1, type DigestAlgorithm, type DigestQop } from './digest-hash.js';
import { DigestServer, type DigestServerOptions, type DigestVerifyResult } from './digest-server.js';
import { challengeResponse, register, retryWith, roundTrip, SECRET, seededRandom } from './test-support/fixtures.js';

const USERS = new Map([['alice', 'secret'], ['bob', 'hunter2']]);

function server(options: Partial<DigestServerOptions> = {}): DigestServer {
  return new DigestServer({
    realm: 'example.com',
    secret: SECRET,
    clock: new ManualClock(1_700_000_000_000),
    random: seededRandom(42),
    hasher,
    lookup: (username) => USERS.get(username),
    ...options,
  });
}

function client(password = 'secret', username = 'alice'): DigestClient {
  return new DigestClient({ credentials: { username, password }, hasher, random: seededRandom(7) });
}

function failed(result: DigestVerifyResult, reason: string, stale = false): void {
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.reason, reason);
    assert.equal(result.stale, stale, `stale for ${reason}`);
  }
}

/** The request with its credentials' parameters changed, as a new message off the wire. */
function tamper(request: SipRequest, change: (params: Map<string, string>) => void): SipRequest {
  const value = request.parsed('authorization')!;
  const params = new Map(value.params);
  change(params);
  const copy = request.clone();
  copy.set('Authorization', { scheme: value.scheme, params } satisfies AuthValue);
  return parseMessage(copy.serialize()) as SipRequest;
}

describe('DigestServer challenges', () => {
  test('one challenge per algorithm, SHA-256 before MD5 by default, sharing a fresh nonce', () => {
    const s = server();
    const request = register();
    const response = challengeResponse(s, request);
    const headers = response.getAll('WWW-Authenticate');
    assert.equal(headers.length, 2);
    assert.match(headers[0]!, /^Digest realm="example.com", nonce="[0-9a-f]{72}", algorithm=SHA-256, qop="auth"$/);
    assert.match(headers[1]!, /^Digest realm="example.com", nonce="[0-9a-f]{72}", algorithm=MD5, qop="auth"$/);
    const [a, b] = response.parsedAll('www-authenticate');
    assert.equal(a!.params.get('nonce'), b!.params.get('nonce'));
    assert.notEqual(s.challenge(request)[0]!.params.get('nonce'), a!.params.get('nonce'));
    const stale = s.challenge(request, { stale: true });
    assert.equal(stale[0]!.params.get('stale'), 'true');
    const proxy = challengeResponse(s, request, { proxy: true });
    assert.equal(proxy.status, 407);
    assert.equal(proxy.getAll('Proxy-Authenticate').length, 2);
  });

  test('configuration is checked', () => {
    assert.throws(() => server({ secret: new Uint8Array(8) }), SipError);
    assert.throws(() => server({ algorithms: [] }), SipError);
    assert.throws(() => server({ algorithms: ['MD5', 'MD5'] }), SipError);
    assert.throws(() => server({ algorithms: ['SHA-1' as DigestAlgorithm] }), SipError);
    assert.throws(() => server({ algorithms: ['MD5-sess'], qop: [] }), SipError);
    assert.throws(() => server({ qop: ['auth-conf' as DigestQop] }), SipError);
    assert.throws(() => server({ realm: '' }), SipError);
    assert.throws(() => server({ nonceTtlMs: 0 }), SipError);
    assert.throws(() => server({ maxNonceEntries: 0 }), SipError);
  });
});

describe('DigestClient ↔ DigestServer', () => {
  for (const algorithm of DIGEST_ALGORITHMS) {
    test(`round trip with ${algorithm}, qop=auth`, async () => {
      const s = server({ algorithms: [algorithm] });
      const { result, retry } = await roundTrip(s, client(), register());
      assert.deepEqual(result, { ok: true, username: 'alice', algorithm, qop: 'auth' });
      assert.equal(retry.parsed('authorization')!.params.get('algorithm'), algorithm);
    });
  }

  for (const algorithm of ['MD5', 'SHA-256', 'SHA-512-256'] as const) {
    test(`round trip with ${algorithm} and no qop (RFC 2069)`, async () => {
      const s = server({ algorithms: [algorithm], qop: [] });
      const { result, retry } = await roundTrip(s, client(), register());
      assert.deepEqual(result, { ok: true, username: 'alice', algorithm, qop: undefined });
      assert.equal(retry.parsed('authorization')!.params.has('qop'), false);
      // Without qop there is no nc: the nonce is good for one request only.
      failed(await s.verify(retry), 'replay', true);
    });
  }

  test('round trip with qop=auth-int over a body, which the digest then protects', async () => {
    const s = server({ qop: ['auth-int'] });
    const request = register({ method: 'MESSAGE', uri: 'sip:bob@example.com', body: 'Hello Bob' });
    const { result, retry } = await roundTrip(s, client(), request);
    assert.deepEqual(result, { ok: true, username: 'alice', algorithm: 'SHA-256', qop: 'auth-int' });
    const altered = retry.clone().setBody('Hello Eve');
    failed(await s.verify(altered), 'wrong-credentials');
  });

  test('the client picks SHA-256 from the default challenge; a proxy challenge is verified from Proxy-Authorization', async () => {
    const s = server();
    const { result, authorization } = await roundTrip(s, client(), register(), { proxy: true });
    assert.equal(authorization.header, 'Proxy-Authorization');
    assert.equal(result.ok && result.algorithm, 'SHA-256');
  });

  test('a stored HA1 works on the server side, and lookup may be async', async () => {
    const s = server({
      algorithms: ['SHA-512-256', 'MD5'],
      lookup: async (username, realm, hash) => (username === 'alice' ? { ha1: digestHa1(hasher, hash, username, realm, 'secret').toUpperCase() } : undefined),
    });
    const { result } = await roundTrip(s, client(), register());
    assert.equal(result.ok && result.algorithm, 'SHA-512-256');
    const bad = server({ lookup: () => ({ ha1: 'abcd' }) });
    const { retry } = await roundTrip(server(), client(), register());
    await assert.rejects(bad.verify(retry), SipError);
  });

  test('wrong password: wrong-credentials, and the client stops on the next challenge', async () => {
    const s = server();
    const c = client('not-the-password');
    const { result, retry } = await roundTrip(s, c, register());
    failed(result, 'wrong-credentials');
    assert.equal(!result.ok && result.username, 'alice');
    const again = challengeResponse(s, retry, { stale: !result.ok && result.stale });
    assert.throws(() => c.authorize(retry, again), (e: unknown) => e instanceof SipError && e.code === 'auth');
  });

  test('unknown user', async () => {
    const { result } = await roundTrip(server(), client('x', 'mallory'), register());
    failed(result, 'unknown-user');
  });

  test('a replayed nc is refused; a higher nc on the same nonce is accepted', async () => {
    const s = server();
    const c = client();
    const request = register();
    const challenge = challengeResponse(s, request);
    const first = retryWith(request, c.authorize(request, challenge));
    assert.equal((await s.verify(first)).ok, true);
    failed(await s.verify(first), 'replay', true);
    const second = retryWith(request, c.authorize(request, challenge));
    assert.equal(second.parsed('authorization')!.params.get('nc'), '00000002');
    assert.equal((await s.verify(second)).ok, true);
    failed(await s.verify(first), 'replay', true);
    failed(await s.verify(second), 'replay', true);
  });

  test('repeatable: an identical retransmission is accepted again, any change to it is still a replay', async () => {
    const s = server();
    const c = client();
    const request = register();
    const challenge = challengeResponse(s, request);
    const first = retryWith(request, c.authorize(request, challenge));
    assert.equal((await s.verify(first, { repeatable: true })).ok, true);
    assert.equal((await s.verify(first.clone(), { repeatable: true })).ok, true, 'the same request again');
    const changed = first.clone();
    changed.set('Contact', '<sip:mallory@203.0.113.9>');
    failed(await s.verify(changed, { repeatable: true }), 'replay', true);
    failed(await s.verify(first), 'replay', true);
    const second = retryWith(request, c.authorize(request, challenge));
    assert.equal((await s.verify(second, { repeatable: true })).ok, true);
    failed(await s.verify(first, { repeatable: true }), 'replay', true);
  });

  test('an expired nonce is stale; the client answers the stale challenge and succeeds', async () => {
    const clock = new ManualClock(5_000_000);
    const s = server({ clock, nonceTtlMs: 30_000 });
    const c = client();
    const request = register();
    const retry = retryWith(request, c.authorize(request, challengeResponse(s, request)));
    clock.advance(30_001);
    const result = await s.verify(retry);
    failed(result, 'stale', true);
    const staleChallenge = challengeResponse(s, retry, { stale: !result.ok && result.stale });
    const answer = c.authorize(retry, staleChallenge);
    assert.equal(answer.stale, true);
    const final = await s.verify(retryWith(retry, answer));
    assert.equal(final.ok, true);
  });

  test('an expired nonce with a wrong password is wrong-credentials, not stale', async () => {
    const clock = new ManualClock(0);
    const s = server({ clock, nonceTtlMs: 1000 });
    const request = register();
    const retry = retryWith(request, client('nope').authorize(request, challengeResponse(s, request)));
    clock.advance(2000);
    failed(await s.verify(retry), 'wrong-credentials');
  });

  test('a forged nonce is bad-nonce without any stored state', async () => {
    const s = server();
    const c = client();
    const request = register();
    const genuine = challengeResponse(s, request);
    const forgedNonce = (nonce: string): string => nonce.slice(0, -1) + (nonce.endsWith('0') ? '1' : '0');
    const forged = genuine.clone();
    forged.set('WWW-Authenticate', ...genuine.parsedAll('www-authenticate').map((value) => {
      const params = new Map(value.params);
      params.set('nonce', forgedNonce(params.get('nonce')!));
      return { scheme: value.scheme, params };
    }));
    const result = await s.verify(retryWith(request, c.authorize(request, forged)));
    // The digest itself is right, so RFC 7616 says stale=true: the client knows the password.
    failed(result, 'bad-nonce', true);
    assert.equal(s.trackedNonces, 0);
    // A nonce from another server (another secret) is just as foreign.
    const other = server({ secret: new Uint8Array(32).fill(9) });
    failed(await s.verify(retryWith(request, c.authorize(request, challengeResponse(other, request)))), 'bad-nonce', true);
    // Not even the right shape.
    const odd = request.createResponse(401);
    odd.append('WWW-Authenticate', 'Digest realm="example.com", nonce="abc", algorithm=SHA-256, qop="auth"');
    failed(await s.verify(retryWith(request, c.authorize(request, odd))), 'bad-nonce', true);
    // A digest that is wrong for the nonce it names outranks the nonce: it says nothing about the password.
    const { retry } = await roundTrip(server(), client(), register());
    failed(await s.verify(tamper(retry, (p) => p.set('nonce', 'abc'))), 'wrong-credentials');
  });

  test('RFC 4475 TC_REGAUT01_V: an unknown Authorization scheme is unknown-scheme, answered with a 401 challenge', async () => {
    const bytes = readFileSync('/work/shared/conformance/rfc4475/TC_REGAUT01_V.dat');
    const request = parseMessage(new Uint8Array(bytes));
    assert.ok(request instanceof SipRequest);
    const s = server();
    const result = await s.verify(request);
    failed(result, 'unknown-scheme');
    const response = request.createResponse(401);
    response.append('WWW-Authenticate', ...s.challenge(request, { stale: !result.ok && result.stale }));
    assert.equal(response.status, 401);
    assert.equal(response.getAll('WWW-Authenticate').length, 2);
    // The UA can answer that challenge; its unknown-scheme header is left as it was and ours is added.
    const answer = client().authorize(request, parseMessage(response.serialize()) as typeof response);
    assert.deepEqual(answer.values.map((v) => v.scheme), ['Digest', 'NoOneKnowsThisScheme']);
    const verified = await s.verify(retryWith(request, answer));
    assert.equal(verified.ok, true);
  });

  test('missing, realm-mismatch, uri-mismatch', async () => {
    const s = server();
    failed(await s.verify(register()), 'missing');
    const { retry } = await roundTrip(s, client(), register({ uri: 'sip:example.com;transport=tcp' }));
    failed(await s.verify(retry, { header: 'proxy-authorization' }), 'missing');
    failed(await s.verify(tamper(retry, (p) => p.set('realm', 'elsewhere.example'))), 'realm-mismatch');
    failed(await s.verify(tamper(retry, (p) => p.set('uri', 'sip:attacker.example'))), 'uri-mismatch');
    // The same URI written differently (escaped user, case of host) passes the URI check and fails only on the digest.
    const escaped = await roundTrip(s, client(), register({ uri: 'sip:%61lice@EXAMPLE.com' }));
    assert.equal(escaped.result.ok, true);
    failed(await s.verify(tamper(escaped.retry, (p) => p.set('uri', 'sip:alice@example.com'))), 'wrong-credentials');
    const loose = server({ checkUri: false });
    const unchecked = await roundTrip(loose, client(), register());
    assert.equal(unchecked.result.ok, true);
  });

  test('malformed credentials', async () => {
    const s = server();
    const request = register();
    const retry = retryWith(request, client().authorize(request, challengeResponse(s, request)));
    const cases: [string, (p: Map<string, string>) => void][] = [
      ['no username', (p) => p.delete('username')],
      ['oversized username', (p) => p.set('username', 'a'.repeat(300))],
      ['no nonce', (p) => p.delete('nonce')],
      ['no uri', (p) => p.delete('uri')],
      ['no response', (p) => p.delete('response')],
      ['short response', (p) => p.set('response', 'abcd')],
      ['non-hex response', (p) => p.set('response', 'z'.repeat(64))],
      ['algorithm not offered', (p) => p.set('algorithm', 'SHA-512-256')],
      ['unknown algorithm', (p) => p.set('algorithm', 'AKAv1-MD5')],
      ['qop not offered', (p) => p.set('qop', 'auth-int')],
      ['qop missing', (p) => p.delete('qop')],
      ['nc not 8 hex', (p) => p.set('nc', '1')],
      ['nc zero', (p) => p.set('nc', '00000000')],
      ['no cnonce', (p) => p.delete('cnonce')],
      ['userhash', (p) => p.set('userhash', 'true')],
    ];
    for (const [what, change] of cases) {
      const result = await s.verify(tamper(retry, change));
      assert.equal(!result.ok && result.reason, 'malformed', what);
    }
    // None of them used up the nonce.
    assert.equal((await s.verify(retry)).ok, true);
  });

  test('the replay map is bounded, and a forgotten nonce comes back stale rather than replayable', async () => {
    const s = server({ maxNonceEntries: 2 });
    const c = client();
    const used: SipRequest[] = [];
    for (let i = 0; i < 3; i++) {
      const { result, retry } = await roundTrip(s, c, register());
      assert.equal(result.ok, true);
      used.push(retry);
    }
    assert.equal(s.trackedNonces, 2);
    // The first nonce was forgotten: replaying its request must not succeed.
    failed(await s.verify(used[0]!), 'stale', true);
    failed(await s.verify(used[2]!), 'replay', true);
  });

  test('expired entries leave the replay map', async () => {
    const clock = new ManualClock(0);
    const s = server({ clock, nonceTtlMs: 1000 });
    await roundTrip(s, client(), register());
    assert.equal(s.trackedNonces, 1);
    clock.advance(5000);
    await roundTrip(s, client(), register());
    assert.equal(s.trackedNonces, 1);
  });
});
