import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipError } from '../errors.js';
import { parseMessage } from '../message/parse-message.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import { nodeDigestHasher as hasher } from '../node/node-digest-hash.js';
import { DigestClient, DigestClientError, type DigestClientFailure } from './digest-client.js';
import { digestHa1, digestResponse } from './digest-hash.js';
import { register, retryWith, seededRandom } from './test-support/fixtures.js';

function responseTo(request: SipRequest, status: number, headers: string[]): SipResponse {
  const response = request.createResponse(status);
  const text = response.toString().replace('\r\n\r\n', '\r\n' + headers.map((h) => h + '\r\n').join('') + '\r\n');
  return parseMessage(text) as SipResponse;
}

function client(options: Partial<ConstructorParameters<typeof DigestClient>[0]> = {}): DigestClient {
  return new DigestClient({ credentials: { username: 'alice', password: 'secret' }, hasher, random: seededRandom(), ...options });
}

function failsWith(reason: DigestClientFailure) {
  return (error: unknown): boolean => error instanceof DigestClientError && error.code === 'auth' && error.reason === reason;
}

describe('DigestClient', () => {
  test('answers a challenge with the Request-URI text, a cnonce, nc=1, the opaque and the algorithm echoed', () => {
    const request = register({ uri: 'sip:Example.COM;transport=tcp' });
    const response = responseTo(request, 401, ['WWW-Authenticate: Digest realm="example.com", nonce="abc", opaque="xyz", algorithm=SHA-256, qop="auth,auth-int"']);
    const auth = client().authorize(request, response);
    assert.equal(auth.header, 'Authorization');
    assert.equal(auth.stale, false);
    assert.equal(auth.values.length, 1);
    const p = auth.values[0]!.params;
    assert.equal(p.get('username'), 'alice');
    assert.equal(p.get('realm'), 'example.com');
    assert.equal(p.get('nonce'), 'abc');
    assert.equal(p.get('uri'), 'sip:Example.COM;transport=tcp');
    assert.equal(p.get('algorithm'), 'SHA-256');
    assert.equal(p.get('qop'), 'auth');
    assert.equal(p.get('nc'), '00000001');
    assert.equal(p.get('opaque'), 'xyz');
    assert.match(p.get('cnonce')!, /^[A-Za-z0-9]{24}$/);
    const ha1 = digestHa1(hasher, 'SHA-256', 'alice', 'example.com', 'secret');
    const expected = digestResponse(hasher, {
      algorithm: 'SHA-256', ha1, nonce: 'abc', method: 'REGISTER', uri: 'sip:Example.COM;transport=tcp', qop: 'auth', nc: '00000001', cnonce: p.get('cnonce'),
    });
    assert.equal(p.get('response'), expected);
    const wire = retryWith(request, auth).get('Authorization')!;
    assert.match(wire, /^Digest username="alice", realm="example.com", nonce="abc", uri="sip:Example.COM;transport=tcp", response="[0-9a-f]{64}", algorithm=SHA-256, cnonce="[A-Za-z0-9]+", opaque="xyz", qop=auth, nc=00000001$/);
  });

  test('picks the strongest algorithm offered, whatever the order', () => {
    const request = register();
    const response = responseTo(request, 401, [
      'WWW-Authenticate: Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"',
      'WWW-Authenticate: Digest realm="r", nonce="n2", algorithm=SHA-512-256, qop="auth"',
      'WWW-Authenticate: Digest realm="r", nonce="n3", algorithm=SHA-256, qop="auth"',
    ]);
    const auth = client().authorize(request, response);
    assert.equal(auth.values.length, 1);
    assert.equal(auth.values[0]!.params.get('algorithm'), 'SHA-512-256');
    assert.equal(auth.values[0]!.params.get('nonce'), 'n2');
    const noSha512 = client({ algorithms: ['SHA-256', 'MD5'] }).authorize(request, response);
    assert.equal(noSha512.values[0]!.params.get('algorithm'), 'SHA-256');
  });

  test('prefers qop=auth, falls back to auth-int, and answers a challenge without qop the RFC 2069 way', () => {
    const request = register({ body: 'hello' });
    const authInt = client().authorize(request, responseTo(request, 401, ['WWW-Authenticate: Digest realm="r", nonce="n", qop="auth-int"']));
    assert.equal(authInt.values[0]!.params.get('qop'), 'auth-int');
    const both = client().authorize(request, responseTo(request, 401, ['WWW-Authenticate: Digest realm="r", nonce="n", qop="auth-int, auth"']));
    assert.equal(both.values[0]!.params.get('qop'), 'auth');
    const none = client().authorize(request, responseTo(request, 401, ['WWW-Authenticate: Digest realm="r", nonce="n"']));
    const p = none.values[0]!.params;
    assert.equal(p.has('qop') || p.has('nc') || p.has('cnonce') || p.has('algorithm'), false);
    const ha1 = digestHa1(hasher, 'MD5', 'alice', 'r', 'secret');
    assert.equal(p.get('response'), digestResponse(hasher, { algorithm: 'MD5', ha1, nonce: 'n', method: 'REGISTER', uri: 'sip:example.com' }));
  });

  test('counts nc per nonce', () => {
    const c = client();
    const request = register();
    const first = responseTo(request, 401, ['WWW-Authenticate: Digest realm="r", nonce="n1", qop="auth"']);
    const second = responseTo(request, 401, ['WWW-Authenticate: Digest realm="r", nonce="n2", qop="auth"']);
    assert.equal(c.authorize(request, first).values[0]!.params.get('nc'), '00000001');
    assert.equal(c.authorize(request, first).values[0]!.params.get('nc'), '00000002');
    assert.equal(c.authorize(request, second).values[0]!.params.get('nc'), '00000001');
    assert.equal(c.authorize(request, first).values[0]!.params.get('nc'), '00000003');
  });

  test('a 407 is answered in Proxy-Authorization, per realm, keeping credentials for realms not challenged', () => {
    const request = register({ extra: 'Proxy-Authorization: Digest username="alice", realm="other", nonce="x", uri="sip:example.com", response="00"\r\n' });
    const response = responseTo(request, 407, [
      'Proxy-Authenticate: Digest realm="edge", nonce="e", algorithm=MD5, qop="auth"',
      'Proxy-Authenticate: Digest realm="core", nonce="c", algorithm=SHA-256, qop="auth"',
    ]);
    const auth = client().authorize(request, response);
    assert.equal(auth.header, 'Proxy-Authorization');
    assert.deepEqual(auth.values.map((v) => v.params.get('realm')), ['edge', 'core', 'other']);
    assert.equal(auth.values[2]!.params.get('nonce'), 'x');
    const retry = retryWith(request, auth);
    assert.equal(retry.getAll('Proxy-Authorization').length, 3);
    assert.equal(retry.has('Authorization'), false);
  });

  test('credentials per realm: a realm without any is skipped, none at all is an error', () => {
    const request = register();
    const response = responseTo(request, 401, [
      'WWW-Authenticate: Digest realm="known", nonce="a"',
      'WWW-Authenticate: Digest realm="unknown", nonce="b"',
    ]);
    const c = client({ credentials: (realm) => (realm === 'known' ? { username: 'bob', password: 'pw' } : undefined) });
    const auth = c.authorize(request, response);
    assert.deepEqual(auth.values.map((v) => [v.params.get('realm'), v.params.get('username')]), [['known', 'bob']]);
    assert.throws(() => client({ credentials: () => undefined }).authorize(request, response), failsWith('no-credentials'));
  });

  test('a precomputed HA1 answers only the hashes it exists for', () => {
    const request = register();
    const response = responseTo(request, 401, [
      'WWW-Authenticate: Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"',
      'WWW-Authenticate: Digest realm="r", nonce="n", algorithm=MD5, qop="auth"',
    ]);
    const stored = digestHa1(hasher, 'MD5', 'alice', 'r', 'secret');
    const c = client({ credentials: { username: 'alice', ha1: (realm, hash) => (realm === 'r' && hash === 'MD5' ? stored : undefined) } });
    const auth = c.authorize(request, response);
    const p = auth.values[0]!.params;
    assert.equal(p.get('algorithm'), 'MD5');
    assert.equal(p.get('response'), digestResponse(hasher, {
      algorithm: 'MD5', ha1: stored, nonce: 'n', method: 'REGISTER', uri: 'sip:example.com', qop: 'auth', nc: '00000001', cnonce: p.get('cnonce'),
    }));
    const wrongLength = client({ credentials: { username: 'alice', ha1: () => 'abcd' } });
    assert.throws(() => wrongLength.authorize(request, response), (e: unknown) => e instanceof SipError && e.code === 'invalid-argument');
  });

  test('unknown schemes, algorithms and qops are refused with a SipError of code auth', () => {
    const request = register();
    const cases = [
      'WWW-Authenticate: NoOneKnowsThisScheme opaque-data=here',
      'WWW-Authenticate: Digest realm="r", nonce="n", algorithm=AKAv1-MD5, qop="auth"',
      'WWW-Authenticate: Digest realm="r", nonce="n", qop="auth-conf"',
      'WWW-Authenticate: Digest realm="r", nonce="n", algorithm=MD5-sess',
      'WWW-Authenticate: Digest realm="r"',
    ];
    for (const header of cases) {
      assert.throws(() => client().authorize(request, responseTo(request, 401, [header])), failsWith('unsupported'), header);
    }
    const error = (() => {
      try {
        client().authorize(request, responseTo(request, 401, [cases[0]!]));
      } catch (e) {
        return e as DigestClientError;
      }
      return undefined;
    })();
    assert.ok(error instanceof SipError);
    assert.match(error.message, /NoOneKnowsThisScheme/);
    assert.equal(error.status, 401);
    // A Digest challenge next to an unknown one is still answered.
    const mixed = responseTo(request, 401, [cases[0]!, 'WWW-Authenticate: Digest realm="r", nonce="n"']);
    assert.equal(client().authorize(request, mixed).values.length, 1);
  });

  test('no challenge, or not a 401/407, is an error', () => {
    const request = register();
    assert.throws(() => client().authorize(request, responseTo(request, 401, [])), failsWith('no-challenge'));
    assert.throws(() => client().authorize(request, responseTo(request, 403, [])), (e: unknown) => e instanceof SipError && e.code === 'invalid-argument');
  });

  test('a second challenge after our credentials is a rejection unless it says stale=true', () => {
    const request = register();
    const c = client();
    const first = c.authorize(request, responseTo(request, 401, ['WWW-Authenticate: Digest realm="r", nonce="n1", qop="auth"']));
    const retry = retryWith(request, first);
    assert.throws(() => c.authorize(retry, responseTo(retry, 401, ['WWW-Authenticate: Digest realm="r", nonce="n2", qop="auth"'])), failsWith('rejected'));
    assert.throws(() => c.authorize(retry, responseTo(retry, 401, ['WWW-Authenticate: Digest realm="r", nonce="n2", qop="auth", stale=FALSE'])), failsWith('rejected'));
    const stale = c.authorize(retry, responseTo(retry, 401, ['WWW-Authenticate: Digest realm="r", nonce="n2", qop="auth", stale=TRUE']));
    assert.equal(stale.stale, true);
    assert.equal(stale.values.length, 1);
    assert.equal(stale.values[0]!.params.get('nonce'), 'n2');
    assert.equal(stale.values[0]!.params.get('nc'), '00000001');
    // A different realm than the one we answered is a new challenge, not a rejection.
    const other = c.authorize(retry, responseTo(retry, 401, ['WWW-Authenticate: Digest realm="s", nonce="n3"']));
    assert.deepEqual(other.values.map((v) => v.params.get('realm')), ['s', 'r']);
  });

  test('options are checked', () => {
    assert.throws(() => client({ algorithms: [] }), SipError);
    assert.throws(() => client({ algorithms: ['SHA-1' as never] }), SipError);
    assert.throws(() => client({ maxNonces: 0 }), SipError);
  });
});
