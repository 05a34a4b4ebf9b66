import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import type { JwksAlgorithm } from '../config/schema.js';
import type { JwksAuthConfig } from '../config/types.js';
import { TokenError, type TokenErrorCode } from './token-error.js';
import { JwksTokenVerifier } from './token-verifier.js';

const ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const satisfies readonly JwksAlgorithm[];

interface SigningKey {
  readonly alg: JwksAlgorithm;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

let server: Server;
let url: string;
let keys: SigningKey[];
let requests = 0;

async function makeKey(alg: JwksAlgorithm, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

before(async () => {
  keys = await Promise.all(ALGORITHMS.map((alg) => makeKey(alg, `key-${alg}`)));
  server = createServer((req, res) => {
    requests += 1;
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function config(overrides: Partial<JwksAuthConfig> = {}): JwksAuthConfig {
  return {
    kind: 'jwks',
    url,
    algorithms: ALGORITHMS,
    audience: 'switchboard',
    maxTokenLifetimeSeconds: 86400,
    clockToleranceSeconds: 30,
    ...overrides,
  };
}

function sign(key: SigningKey, claims: Record<string, unknown> = {}, kid: string = key.kid): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: '101', aud: 'switchboard', iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: key.alg, kid })
    .sign(key.privateKey);
}

async function refused(verifier: JwksTokenVerifier, token: string, code: TokenErrorCode): Promise<void> {
  await assert.rejects(verifier.verify(token), (error: unknown) => {
    assert.ok(error instanceof TokenError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
}

describe('JWKS', () => {
  for (const alg of ALGORITHMS) {
    test(`${alg}: a token signed with a published key verifies`, async () => {
      const verifier = new JwksTokenVerifier(config());
      const key = keys.find((k) => k.alg === alg);
      assert.ok(key);
      const result = await verifier.verify(await sign(key, { sub: 'op-17' }));
      assert.equal(result.operatorId, 'op-17');
      assert.ok(result.expiresAt > Date.now());
    });
  }

  test('the key set is fetched once and reused', async () => {
    const verifier = new JwksTokenVerifier(config());
    const before = requests;
    for (const key of keys) await verifier.verify(await sign(key));
    for (const key of keys) await verifier.verify(await sign(key));
    assert.equal(requests - before, 1);
  });

  test('claims are checked as for HS256', async () => {
    const verifier = new JwksTokenVerifier(config());
    const [rsa] = keys;
    assert.ok(rsa);
    const now = Math.floor(Date.now() / 1000);
    await refused(verifier, await sign(rsa, { exp: now - 3600 }), 'token-expired');
    await refused(verifier, await sign(rsa, { aud: 'other' }), 'token-audience');
    await refused(verifier, await sign(rsa, { exp: now + 2 * 86400 }), 'token-invalid');
    await refused(verifier, await sign(rsa, { sub: 'no spaces please' }), 'token-invalid');
  });

  test('a key the set does not publish, or the wrong key under a published kid, is tampering', async () => {
    const verifier = new JwksTokenVerifier(config());
    const stranger = await makeKey('ES256', 'key-stranger');
    await refused(verifier, await sign(stranger), 'token-tampered');
    await refused(verifier, await sign(stranger, {}, 'key-ES256'), 'token-tampered');
  });

  test('algorithms outside the configured list are refused, HS256 above all', async () => {
    const verifier = new JwksTokenVerifier(config({ algorithms: ['RS256'] }));
    const es = keys.find((k) => k.alg === 'ES256');
    assert.ok(es);
    await refused(verifier, await sign(es), 'token-tampered');
    const now = Math.floor(Date.now() / 1000);
    const hs = await new SignJWT({ sub: '101', aud: 'switchboard', exp: now + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: 'key-RS256' })
      .sign(new TextEncoder().encode('a-secret-that-is-long-enough-0123456789'));
    await refused(new JwksTokenVerifier(config()), hs, 'token-tampered');
  });

  test('a key set that cannot be fetched is the gateway’s fault, not the token’s', async () => {
    const [rsa] = keys;
    assert.ok(rsa);
    await refused(new JwksTokenVerifier(config({ url: url.replace('jwks.json', 'missing.json') })), await sign(rsa), 'internal');
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await refused(new JwksTokenVerifier(config({ url: `http://127.0.0.1:${port}/jwks.json` })), await sign(rsa), 'internal');
  });
});
