import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from './config-error.js';
import { DEMO_OPERATORS, demoConfig, ensureDemoSecret } from './demo.js';

test('the demo keeps SQLite and a generated secret under ./data, with operators 101-103', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'sb-demo-'));
  const config = demoConfig({ cwd });
  const dataDir = join(cwd, 'data');
  assert.deepEqual(config.database, { kind: 'sqlite', file: join(dataDir, 'demo.sqlite') });
  assert.deepEqual(config.demo?.operators.map((o) => o.id), ['101', '102', '103']);
  assert.equal(config.demo?.dataDir, dataDir);
  assert.deepEqual(config.http, { host: '127.0.0.1', port: 8080 });
  assert.equal(config.auth.kind, 'hs256');
  if (config.auth.kind !== 'hs256') return;
  const stored = readFileSync(join(dataDir, 'demo-secret'), 'utf8').trim();
  assert.equal(config.auth.secret.reveal(), stored);
  assert.ok(stored.length >= 32);
  assert.equal(config.auth.secret.source, `file ${join(dataDir, 'demo-secret')}`);
  assert.equal(statSync(join(dataDir, 'demo-secret')).mode & 0o777, 0o600);
});

test('the secret is generated once and kept', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'sb-demo-'));
  const first = demoConfig({ cwd });
  const second = demoConfig({ cwd, overrides: { http: { host: '127.0.0.1', port: 8090 } } });
  assert.ok(first.auth.kind === 'hs256' && second.auth.kind === 'hs256');
  assert.equal(first.auth.secret.reveal(), second.auth.secret.reveal());
  assert.equal(second.http.port, 8090);
  const other = demoConfig({ cwd: mkdtempSync(join(tmpdir(), 'sb-demo-')) });
  assert.ok(other.auth.kind === 'hs256');
  assert.notEqual(other.auth.secret.reveal(), first.auth.secret.reveal());
});

test('a damaged secret file is reported, not silently replaced', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-demo-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'demo-secret'), 'short\n');
  assert.throws(() => ensureDemoSecret(dir), (error: unknown) => error instanceof ConfigError && /delete the file/.test(error.message));
});

test('the demo operators have distinct ids and extensions', () => {
  assert.equal(new Set(DEMO_OPERATORS.map((o) => o.id)).size, 3);
  assert.equal(new Set(DEMO_OPERATORS.map((o) => o.extension)).size, 3);
});
