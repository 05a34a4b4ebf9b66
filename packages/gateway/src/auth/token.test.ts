import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT, UnsecuredJWT, base64url } from 'jose';
import { CLOSE_REASONS, MAX_TOKEN_LENGTH } from '@switchboard/protocol';
import { Secret } from '../config/secret.js';
import type { Hs256AuthConfig } from '../config/types.js';
import { TOKEN_ERROR_CODES, TokenError, type TokenErrorCode } from './token-error.js';
import { TokenIssuer } from './token-issuer.js';
import { Hs256TokenVerifier, type TokenVerifier } from './token-verifier.js';
import { TtlError, formatSeconds, parseTtl } from './ttl.js';

const SECRET = 'hs256-shared-secret-0123456789-abcdef';
const NOW = 1_750_000_000_000;
const now = () => NOW;

const auth: Hs256AuthConfig = {
  kind: 'hs256',
  secret: new Secret(SECRET, 'test'),
  audience: 'switchboard',
  maxTokenLifetimeSeconds: 86400,
  clockToleranceSeconds: 30,
};
const verifier = new Hs256TokenVerifier(auth, { now });
const issuer = new TokenIssuer({ secret: SECRET, now });
const key = new TextEncoder().encode(SECRET);

async function refused(v: TokenVerifier, token: string, code: TokenErrorCode): Promise<TokenError> {
  try {
    await v.verify(token);
  } catch (error) {
    assert.ok(error instanceof TokenError, `expected a TokenError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

/** Signs arbitrary claims with the shared secret, as a CRM (or an attacker holding it) could. */
function sign(claims: Record<string, unknown>, secret: Uint8Array = key): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(secret);
}

const t = Math.floor(NOW / 1000);

describe('round trip', () => {
  test('an issued token verifies to its operator and expiry', async () => {
    const issued = await issuer.issue({ operatorId: '101', ttl: '15m' });
    assert.equal(issued.expiresAt, (t + 900) * 1000);
    assert.deepEqual(await verifier.verify(issued.token), { operatorId: '101', expiresAt: (t + 900) * 1000 });
  });

  test('claims: sub, aud, iat, exp, jti; default lifetime 1 h', async () => {
    const issued = await issuer.issue({ operatorId: 'ada.lovelace@example.com' });
    const [header, payload] = issued.token.split('.').slice(0, 2).map((part) => JSON.parse(new TextDecoder().decode(base64url.decode(part))) as Record<string, unknown>);
    assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' });
    assert.deepEqual(payload, { sub: 'ada.lovelace@example.com', aud: 'switchboard', iat: t, exp: t + 3600, jti: issued.jti });
    assert.equal((await verifier.verify(issued.token)).operatorId, 'ada.lovelace@example.com');
  });

  test('every jti is new', async () => {
    const a = await issuer.issue({ operatorId: '101' });
    const b = await issuer.issue({ operatorId: '101' });
    assert.notEqual(a.jti, b.jti);
  });

  test('within the clock tolerance an expired token still passes', async () => {
    const token = await sign({ sub: '101', aud: 'switchboard', exp: t - 10 });
    assert.equal((await verifier.verify(token)).expiresAt, (t - 10) * 1000);
  });

  test('the issuer refuses ids the verifier would refuse, and lifetimes out of bounds', async () => {
    await assert.rejects(issuer.issue({ operatorId: 'a:b' }), RangeError);
    await assert.rejects(issuer.issue({ operatorId: '101', ttl: '25h' }), TtlError);
    const short = new TokenIssuer({ secret: SECRET, maxLifetimeSeconds: 600, now });
    await assert.rejects(short.issue({ operatorId: '101', ttl: '11m' }), TtlError);
    assert.equal((await short.issue({ operatorId: '101' })).expiresAt, (t + 600) * 1000);
    assert.throws(() => new TokenIssuer({ secret: 'too-short' }), RangeError);
  });
});

describe('refusals', () => {
  test('expired', async () => {
    const old = new TokenIssuer({ secret: SECRET, now: () => NOW - 2 * 3600_000 });
    const { token } = await old.issue({ operatorId: '101', ttl: '1h' });
    const error = await refused(verifier, token, 'token-expired');
    assert.equal(error.closeCode, 4002);
  });

  test('wrong audience', async () => {
    const other = new TokenIssuer({ secret: SECRET, audience: 'billing', now });
    const error = await refused(verifier, (await other.issue({ operatorId: '101' })).token, 'token-audience');
    assert.equal(error.closeCode, 4003);
    await refused(verifier, await sign({ sub: '101', aud: ['billing', 'reports'], exp: t + 60 }), 'token-audience');
  });

  test('an audience list containing switchboard is accepted', async () => {
    const token = await sign({ sub: '101', aud: ['crm', 'switchboard'], exp: t + 60 });
    assert.equal((await verifier.verify(token)).operatorId, '101');
  });

  test('tampered payload, wrong key', async () => {
    const { token } = await issuer.issue({ operatorId: '101' });
    const [header, , signature] = token.split('.');
    const forged = base64url.encode(JSON.stringify({ sub: '102', aud: 'switchboard', exp: t + 3600 }));
    const error = await refused(verifier, `${header}.${forged}.${signature}`, 'token-tampered');
    assert.equal(error.closeCode, 4004);
    await refused(verifier, await sign({ sub: '101', aud: 'switchboard', exp: t + 60 }, new TextEncoder().encode(`${SECRET}-other`)), 'token-tampered');
  });

  test('alg none, and algorithms other than HS256', async () => {
    const unsecured = new UnsecuredJWT({ sub: '101', aud: 'switchboard', exp: t + 60 }).encode();
    await refused(verifier, unsecured, 'token-tampered');
    const { token } = await issuer.issue({ operatorId: '101' });
    const [, payload, signature] = token.split('.');
    for (const alg of ['none', 'HS512', 'RS256', 'hs256']) {
      const header = base64url.encode(JSON.stringify({ alg, typ: 'JWT' }));
      await refused(verifier, `${header}.${payload}.${signature}`, 'token-tampered');
    }
    await refused(verifier, `${base64url.encode('{"typ":"JWT"}')}.${payload}.${signature}`, 'token-tampered');
  });

  test('malformed', async () => {
    for (const bad of ['', 'abc', 'a.b', 'a.b.c.d', 'a.b.c', '!!.??.##', `${base64url.encode('not json')}.e30.c2ln`]) {
      const error = await refused(verifier, bad, 'token-invalid');
      assert.equal(error.closeCode, 4001);
    }
    await refused(verifier, 42 as unknown as string, 'token-invalid');
  });

  test('too large: refused before decoding', async () => {
    const { token } = await issuer.issue({ operatorId: '101' });
    const [header, , signature] = token.split('.');
    const padded = await sign({ sub: '101', aud: 'switchboard', exp: t + 60, pad: 'x'.repeat(MAX_TOKEN_LENGTH) });
    const error = await refused(verifier, padded, 'token-invalid');
    assert.match(error.message, /longer than/);
    await refused(verifier, `${header}.${'A'.repeat(1_000_000)}.${signature}`, 'token-invalid');
  });

  test('exp too far ahead, or missing', async () => {
    await refused(verifier, await sign({ sub: '101', aud: 'switchboard', exp: t + 86400 + 3600 }), 'token-invalid');
    assert.equal((await verifier.verify(await sign({ sub: '101', aud: 'switchboard', exp: t + 86400 }))).operatorId, '101');
    const strict = new Hs256TokenVerifier({ ...auth, maxTokenLifetimeSeconds: 900 }, { now });
    await refused(strict, await sign({ sub: '101', aud: 'switchboard', exp: t + 3600 }), 'token-invalid');
    await refused(verifier, await sign({ sub: '101', aud: 'switchboard' }), 'token-invalid');
    await refused(verifier, await sign({ sub: '101', aud: 'switchboard', exp: 'tomorrow' }), 'token-invalid');
  });

  test('missing or unusable sub', async () => {
    await refused(verifier, await sign({ aud: 'switchboard', exp: t + 60 }), 'token-invalid');
    for (const sub of ['', 'a:b', 'has space', '<script>', 'x'.repeat(65), '-leading', 'é']) {
      await refused(verifier, await sign({ sub, aud: 'switchboard', exp: t + 60 }), 'token-invalid');
    }
    assert.equal((await verifier.verify(await sign({ sub: 'x'.repeat(64), aud: 'switchboard', exp: t + 60 }))).operatorId, 'x'.repeat(64));
  });

  test('missing aud, nbf in the future, iat in the future', async () => {
    await refused(verifier, await sign({ sub: '101', exp: t + 60 }), 'token-invalid');
    await refused(verifier, await sign({ sub: '101', aud: 'switchboard', exp: t + 600, nbf: t + 300 }), 'token-invalid');
    await refused(verifier, await sign({ sub: '101', aud: 'switchboard', exp: t + 600, iat: t + 300 }), 'token-invalid');
  });
});

test('every refusal code is a protocol close reason', () => {
  const expected: Record<TokenErrorCode, number> = {
    'token-invalid': 4001,
    'token-expired': 4002,
    'token-audience': 4003,
    'token-tampered': 4004,
    internal: 4202,
  };
  for (const code of TOKEN_ERROR_CODES) {
    assert.ok(code in CLOSE_REASONS);
    assert.equal(new TokenError(code, 'x').closeCode, expected[code]);
  }
  assert.deepEqual([...TOKEN_ERROR_CODES].sort(), Object.keys(expected).sort());
});

describe('ttl', () => {
  test('units and sums', () => {
    assert.equal(parseTtl('90s'), 90);
    assert.equal(parseTtl('15m'), 900);
    assert.equal(parseTtl('1h'), 3600);
    assert.equal(parseTtl('1h30m'), 5400);
    assert.equal(parseTtl('24h'), 86400);
    assert.equal(parseTtl('1d'), 86400);
    assert.equal(parseTtl('3600'), 3600);
  });

  test('bounds: at least a second, at most 24 h or the configured maximum', () => {
    assert.throws(() => parseTtl('0s'), /at least 1 second/);
    assert.throws(() => parseTtl('24h1s'), /at most 24h, got 24h1s/);
    assert.throws(() => parseTtl('2d'), TtlError);
    assert.throws(() => parseTtl('2h', 3600), /at most 1h, got 2h/);
    for (const bad of ['', 'h', '1x', '-1h', '1.5h', '1 h', 'soon']) assert.throws(() => parseTtl(bad), TtlError, bad);
  });

  test('formatSeconds', () => {
    assert.equal(formatSeconds(5400), '1h30m');
    assert.equal(formatSeconds(61), '1m1s');
    assert.equal(formatSeconds(0), '0s');
  });
});
