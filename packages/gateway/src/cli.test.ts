import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { Hs256TokenVerifier } from './auth/token-verifier.js';
import { EXIT_OK, EXIT_USAGE, main, type CliIo } from './cli.js';
import { Secret } from './config/secret.js';
import type { GatewayConfig } from './config/types.js';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SECRET = 'cli-test-secret-0123456789-0123456789';

function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tempConfig(config: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sb-cli-')), 'switchboard.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

function fakeIo(overrides: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const started: GatewayConfig[] = [];
  const io: CliIo = {
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    env: { SWITCHBOARD_TOKEN_SECRET: SECRET },
    cwd: mkdtempSync(join(tmpdir(), 'sb-cli-')),
    start: async (config) => {
      started.push(config);
      return {
        logger: undefined as never,
        location: undefined as never,
        http: { host: config.http.host, port: config.http.port },
        sip: { udp: { host: config.sip.host, port: config.sip.port }, tcp: { host: config.sip.host, port: config.sip.port }, listening: [] },
        close: async () => {},
      };
    },
    ...overrides,
  };
  return { io, out, err, started };
}

describe('switchboard token (spawned)', () => {
  test('prints a token the gateway accepts', async () => {
    const file = tempConfig({ auth: { hs256: { secretEnv: 'CRM_SECRET' }, audience: 'switchboard' } });
    const result = run(['token', '--operator', '101', '--config', file, '--ttl', '15m'], { CRM_SECRET: SECRET });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const token = result.stdout.trim();
    assert.equal(result.stdout, `${token}\n`);
    const verifier = new Hs256TokenVerifier({ secret: new Secret(SECRET, 'test'), audience: 'switchboard', maxTokenLifetimeSeconds: 86400, clockToleranceSeconds: 30 });
    const verified = await verifier.verify(token);
    assert.equal(verified.operatorId, '101');
    assert.ok(Math.abs(verified.expiresAt - (Date.now() + 900_000)) < 60_000);
  });

  test('a bad config exits 2 and names the field', () => {
    const file = tempConfig({ http: { port: 70000 } });
    const result = run(['token', '--operator', '101', '--config', file], { SWITCHBOARD_TOKEN_SECRET: SECRET });
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /http\.port: must be an integer from 1 to 65535, got 70000/);
  });

  test('a missing secret exits 2, names the variable and shows no secret', () => {
    const result = run(['token', '--operator', '101']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /auth\.hs256\.secretEnv: environment variable SWITCHBOARD_TOKEN_SECRET is not set/);
  });
});

describe('main', () => {
  test('--help and no command', async () => {
    const help = fakeIo();
    assert.equal(await main(['--help'], help.io), EXIT_OK);
    assert.match(help.out.join(''), /Usage: switchboard <command>/);
    const none = fakeIo();
    assert.equal(await main([], none.io), EXIT_USAGE);
    assert.match(none.err.join(''), /Usage/);
    for (const command of ['start', 'token']) {
      const sub = fakeIo();
      assert.equal(await main([command, '--help'], sub.io), EXIT_OK);
      assert.match(sub.out.join(''), new RegExp(`Usage: switchboard ${command}`));
    }
  });

  test('usage errors exit 2 with a message on stderr', async () => {
    const cases: [string[], RegExp][] = [
      [['dial'], /unknown command "dial"/],
      [['start', '--bogus'], /switchboard start: unknown option '--bogus'/],
      [['start', 'extra'], /switchboard start: unexpected argument/],
      [['start', '--http', '8080'], /--http: expected HOST:PORT/],
      [['start', '--demo', '--config', 'x.json'], /--demo and --config cannot be used together/],
      [['token'], /--operator is required/],
      [['token', '--operator', 'a:b'], /--operator: must be 1 to 64 characters/],
      [['token', '--operator', '101', '--ttl', '2d'], /--ttl: must be at most 24h, got 48h/],
      [['token', '--operator', '101', '--ttl', 'soon'], /--ttl: expected a duration/],
    ];
    for (const [args, expected] of cases) {
      const { io, out, err, started } = fakeIo();
      assert.equal(await main(args, io), EXIT_USAGE, args.join(' '));
      assert.match(err.join(''), expected);
      assert.deepEqual(out, []);
      assert.deepEqual(started, []);
    }
  });

  test('start loads the config, applies --http and --sip, says what it starts and calls the server hook', async () => {
    const file = tempConfig({ ice: { stun: ['stun:127.0.0.1:3478'] } });
    const { io, err, started } = fakeIo();
    assert.equal(await main(['start', '--config', file, '--http', '127.0.0.1:9080', '--sip', '[::1]:5070'], io), EXIT_OK);
    assert.equal(started.length, 1);
    assert.deepEqual(started[0]?.http, { host: '127.0.0.1', port: 9080 });
    assert.deepEqual(started[0]?.sip, { host: '::1', port: 5070 });
    const text = err.join('');
    assert.match(text, /http:\/\/127\.0\.0\.1:9080/);
    assert.match(text, /\[::1\]:5070/);
    assert.match(text, /STUN stun:127\.0\.0\.1:3478/);
    assert.ok(!text.includes(SECRET));
  });

  test('start --http with a port out of range names http.port', async () => {
    const { io, err, started } = fakeIo();
    assert.equal(await main(['start', '--http', '127.0.0.1:70000'], io), EXIT_USAGE);
    assert.match(err.join(''), /http\.port: must be an integer from 1 to 65535, got 70000/);
    assert.deepEqual(started, []);
  });

  test('start --demo needs no environment, and token --demo signs with the demo secret', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sb-cli-demo-'));
    const demo = fakeIo({ cwd, env: {} });
    assert.equal(await main(['start', '--demo'], demo.io), EXIT_OK);
    const config = demo.started[0];
    assert.ok(config?.demo);
    assert.match(demo.err.join(''), /demo operators {6}101, 102, 103/);
    assert.match(demo.err.join(''), /demo page {11}http:\/\/127\.0\.0\.1:\d+\/ /);
    const tokenRun = fakeIo({ cwd, env: {} });
    assert.equal(await main(['token', '--demo', '--operator', '102'], tokenRun.io), EXIT_OK);
    assert.ok(config.auth.kind === 'hs256');
    const verifier = new Hs256TokenVerifier(config.auth);
    assert.equal((await verifier.verify(tokenRun.out.join('').trim())).operatorId, '102');
  });

  test('token refuses a JWKS setup: there is no secret to sign with', async () => {
    const file = tempConfig({ auth: { jwks: { url: 'https://crm.example.com/jwks.json' } } });
    const { io, err } = fakeIo();
    assert.equal(await main(['token', '--operator', '101', '--config', file], io), EXIT_USAGE);
    assert.match(err.join(''), /verifies logins against a JWKS/);
  });
});
