import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { resolveConfig } from './load.js';
import { redactConfig } from './redact.js';
import { REDACTED, Secret } from './secret.js';

const TOKEN_SECRET = 'token-secret-0123456789-0123456789-abc';
const TURN_SECRET = 'turn-secret-0123456789-xyz';

const config = resolveConfig(
  { ice: { stun: ['stun:127.0.0.1:3478'], turn: { urls: ['turn:127.0.0.1:3478'] } } },
  { env: { SWITCHBOARD_TOKEN_SECRET: TOKEN_SECRET, SWITCHBOARD_TURN_SECRET: TURN_SECRET }, baseDir: '/srv' },
);

function assertNoSecret(text: string): void {
  assert.ok(!text.includes(TOKEN_SECRET), `token secret leaked: ${text}`);
  assert.ok(!text.includes(TURN_SECRET), `TURN secret leaked: ${text}`);
}

test('the redacted config keeps every setting and says where each secret came from', () => {
  const redacted = redactConfig(config);
  const text = JSON.stringify(redacted);
  assertNoSecret(text);
  assert.deepEqual((redacted['auth'] as Record<string, unknown>)['secret'], `${REDACTED} (env SWITCHBOARD_TOKEN_SECRET)`);
  assert.deepEqual(((redacted['ice'] as Record<string, unknown>)['turn'] as Record<string, unknown>)['secret'], `${REDACTED} (env SWITCHBOARD_TURN_SECRET)`);
  assert.deepEqual(redacted['http'], { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(JSON.parse(text), redacted);
});

test('the config itself never prints a secret, however it is turned into text', () => {
  assertNoSecret(JSON.stringify(config));
  assertNoSecret(inspect(config, { depth: 10 }));
  assertNoSecret(`${String(config.auth.kind === 'hs256' ? config.auth.secret : '')}`);
  assertNoSecret(inspect(config.ice.turn?.secret));
  assert.equal(config.auth.kind === 'hs256' && config.auth.secret.reveal(), TOKEN_SECRET);
});

test('Secret exposes its value only by asking', () => {
  const secret = new Secret('value-of-the-secret', 'env X');
  assert.equal(`${secret}`, REDACTED);
  assert.equal(JSON.stringify({ secret }), `{"secret":"${REDACTED} (env X)"}`);
  assert.equal(inspect(secret), `Secret(${REDACTED}, env X)`);
  assert.equal(secret.reveal(), 'value-of-the-secret');
  assert.deepEqual(secret.bytes(), new TextEncoder().encode('value-of-the-secret'));
});
