import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from './config-error.js';
import { fieldPath, loadConfig, parseHostPort, resolveConfig } from './load.js';

const SECRET = 'a-shared-secret-of-more-than-32-bytes!';
const TURN_SECRET = 'turn-secret-0123456789';
const env = { SWITCHBOARD_TOKEN_SECRET: SECRET };

function resolveRaw(raw: unknown, environment: Record<string, string> = env) {
  return resolveConfig(raw, { env: environment, baseDir: '/srv/switchboard' });
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ConfigError');
}

/** Sets `value` at a dotted path in a fresh object. */
function at(path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  const root: Record<string, unknown> = {};
  let node = root;
  for (const key of keys.slice(0, -1)) {
    const next: Record<string, unknown> = {};
    node[key] = next;
    node = next;
  }
  node[keys[keys.length - 1] ?? ''] = value;
  return root;
}

describe('defaults', () => {
  test('an empty config takes every default', () => {
    const config = resolveRaw({});
    assert.deepEqual(config.http, { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(config.sip, { host: '127.0.0.1', port: 5060 });
    assert.deepEqual(config.database, { kind: 'sqlite', file: '/srv/switchboard/data/switchboard.sqlite' });
    assert.equal(config.auth.kind, 'hs256');
    assert.equal(config.auth.audience, 'switchboard');
    assert.equal(config.auth.maxTokenLifetimeSeconds, 86400);
    assert.equal(config.auth.clockToleranceSeconds, 30);
    assert.deepEqual(config.ice, { stun: [], turn: undefined });
    assert.deepEqual(config.routing, { ringTimeoutSeconds: 30, callWaiting: true });
    assert.deepEqual(config.logging, { level: 'info' });
    assert.deepEqual(config.limits, { maxSessionsPerOperator: 8, messagesPerSecond: 20 });
    assert.equal(config.demo, undefined);
  });

  test('a file sets what it names and keeps the other defaults; relative paths follow the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
    const file = join(dir, 'switchboard.json');
    writeFileSync(file, JSON.stringify({ http: { port: 9000 }, database: { file: 'db/calls.sqlite' }, routing: { callWaiting: false } }));
    const config = loadConfig({ file, env });
    assert.deepEqual(config.http, { host: '127.0.0.1', port: 9000 });
    assert.equal(config.database.file, join(dir, 'db/calls.sqlite'));
    assert.equal(config.routing.callWaiting, false);
    assert.equal(config.routing.ringTimeoutSeconds, 30);
    assert.equal(config.source, file);
  });

  test('overrides lie over the file and are checked like it', () => {
    const config = resolveConfig({ http: { host: '127.0.0.1', port: 9000 } }, { env, baseDir: '/', overrides: { http: { host: '::1', port: 8081 } } });
    assert.deepEqual(config.http, { host: '::1', port: 8081 });
    const error = configError(() => resolveConfig({}, { env, baseDir: '/', overrides: { http: { host: '127.0.0.1', port: 70000 } } }));
    assert.equal(error.message, 'http.port: must be an integer from 1 to 65535, got 70000');
  });

  test('ICE servers and TURN come from the file, the TURN secret from the environment', () => {
    const config = resolveRaw(
      { ice: { stun: ['stun:127.0.0.1:3478'], turn: { urls: ['turn:127.0.0.1:3478?transport=udp', 'turns:127.0.0.1:5349'] } } },
      { ...env, SWITCHBOARD_TURN_SECRET: TURN_SECRET },
    );
    assert.deepEqual(config.ice.stun, ['stun:127.0.0.1:3478']);
    assert.equal(config.ice.turn?.urls.length, 2);
    assert.equal(config.ice.turn?.ttlSeconds, 3600);
    assert.equal(config.ice.turn?.secret.reveal(), TURN_SECRET);
  });

  test('a JWKS URL replaces the shared secret', () => {
    const config = resolveRaw({ auth: { jwks: { url: 'https://crm.example.com/.well-known/jwks.json' } } }, {});
    assert.equal(config.auth.kind, 'jwks');
    if (config.auth.kind !== 'jwks') return;
    assert.deepEqual(config.auth.algorithms, ['RS256', 'ES256', 'EdDSA']);
  });
});

describe('every field error names its path', () => {
  const cases: [string, unknown, string][] = [
    ['http.host', 'not a host!', 'must be an IP address or host name, got "not a host!"'],
    ['http.port', 70000, 'must be an integer from 1 to 65535, got 70000'],
    ['http.port', 0, 'must be an integer from 1 to 65535, got 0'],
    ['http.port', 80.5, 'must be an integer from 1 to 65535, got 80.5'],
    ['sip.host', '', 'must be an IP address or host name, got ""'],
    ['sip.port', '5060', 'must be an integer from 1 to 65535, got "5060"'],
    ['database.kind', 'postgres', 'must be one of "sqlite", got "postgres"'],
    ['database.file', '', 'must be a file path, got ""'],
    ['auth.audience', '', 'must be a non-empty string of at most 256 characters, got ""'],
    ['auth.maxTokenLifetimeSeconds', 90000, 'must be an integer from 60 to 86400, got 90000'],
    ['auth.clockToleranceSeconds', -1, 'must be an integer from 0 to 300, got -1'],
    ['auth.jwks.url', 'ftp://x', 'must be an https:// URL (http:// only for a loopback address), without credentials, got "ftp://x"'],
    ['auth.jwks.algorithms', [], 'must be a non-empty list of distinct algorithms'],
    ['auth.jwks.algorithms', ['RS256', 'RS256'], 'must be a non-empty list of distinct algorithms'],
    ['auth.hs256.secretEnv', 'lower-case', 'must be the name of an environment variable (A-Z, 0-9 and _), not the secret itself'],
    ['ice.stun', 'stun:x', 'must be a list of at most 8 stun: or stuns: URIs, got "stun:x"'],
    ['ice.turn.urls', ['stun:x'], 'must be a turn: or turns: URI, got "stun:x"'],
    ['ice.turn.ttlSeconds', 10, 'must be an integer from 60 to 86400, got 10'],
    ['ice.turn.secretEnv', 'x y', 'must be the name of an environment variable'],
    ['routing.ringTimeoutSeconds', 1, 'must be an integer from 5 to 600, got 1'],
    ['routing.callWaiting', 'yes', 'must be true or false, got "yes"'],
    ['logging.level', 'loud', 'must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "loud"'],
    ['limits.maxSessionsPerOperator', 0, 'must be an integer from 1 to 100, got 0'],
    ['limits.messagesPerSecond', 5000, 'must be an integer from 1 to 1000, got 5000'],
    ['http', 5, 'must be an object, got 5'],
    ['lookup.url', 'https://crm.example.com/lookup', 'must be an http:// or https:// URL with {number} where the caller\'s number goes, got "https://crm.example.com/lookup"'],
    ['lookup.timeoutMs', 50, 'must be an integer from 100 to 10000, got 50'],
    ['lookup.tokenEnv', 'my token', 'must be the name of an environment variable'],
    ['colour', 'blue', 'is not a known setting (expected: http, sip, database, auth, ice, routing, logging, limits, lookup, pbx, lines, registrar, rtpengine, dns)'],
    ['dns.servers', ['ns1.example.com'], 'must be an IP address with an optional port (10.0.0.53, 10.0.0.53:5353, [2001:db8::53]:5353), got "ns1.example.com"'],
    ['dns.servers', ['10.0.0.300'], 'must be an IP address with an optional port (10.0.0.53, 10.0.0.53:5353, [2001:db8::53]:5353), got "10.0.0.300"'],
    ['dns.servers', ['10.0.0.53:70000'], 'must be an IP address with an optional port (10.0.0.53, 10.0.0.53:5353, [2001:db8::53]:5353), got "10.0.0.53:70000"'],
    ['dns.servers', ['[10.0.0.53]:53'], 'must be an IP address with an optional port (10.0.0.53, 10.0.0.53:5353, [2001:db8::53]:5353), got "[10.0.0.53]:53"'],
    ['dns.servers', [], 'must be a list of 1 to 8 name servers, each an IP address with an optional port'],
    ['dns.servers', ['10.0.0.53:0'], 'must be an IP address with an optional port (10.0.0.53, 10.0.0.53:5353, [2001:db8::53]:5353), got "10.0.0.53:0"'],
    ['dns.servers', ['[2001:db8::53]:00'], 'must be an IP address with an optional port (10.0.0.53, 10.0.0.53:5353, [2001:db8::53]:5353), got "[2001:db8::53]:00"'],
    ['pbx.main.registrar', 'sip:pbx.example.com;transport=TLS', 'asks for TLS, but the gateway has no TLS listener (set sip.tls)'],
    ['pbx.main.registrar', 'sips:pbx.example.com', 'asks for TLS, but the gateway has no TLS listener (set sip.tls)'],
    ['pbx.main.registrar', 'sip:pbx.example.com;transport=ws', 'asks for WS, but the gateway has no WS listener (set sip.ws)'],
    ['dns.timeoutMs', 50, 'must be an integer from 100 to 30000, got 50'],
    ['dns.tries', 9, 'must be an integer from 1 to 5, got 9'],
    ['routing.ringtimeout', 30, 'is not a known setting (expected: ringTimeoutSeconds, callWaiting)'],
    ['ice.turn.urls', undefined, 'is required'],
  ];
  for (const [path, value, expected] of cases) {
    test(`${path} = ${JSON.stringify(value)}`, () => {
      const raw = path === 'ice.turn.urls' && value === undefined ? { ice: { turn: { ttlSeconds: 60 } } } : at(path, value);
      const error = configError(() => resolveRaw(raw, { ...env, SWITCHBOARD_TURN_SECRET: TURN_SECRET }));
      const issue = error.issues.find((i) => i.path === path || i.path.startsWith(`${path}[`));
      assert.ok(issue, `no issue at ${path}: ${error.message}`);
      assert.ok(issue.message.startsWith(expected), `${issue.message} should start with ${expected}`);
      assert.ok(error.message.includes(`${issue.path}: ${issue.message}`));
    });
  }

  test('all problems are reported at once, one line each', () => {
    const error = configError(() => resolveRaw({ http: { port: 0 }, sip: { port: 0 }, logging: { level: 'x' } }));
    assert.deepEqual(error.issues.map((i) => i.path), ['http.port', 'sip.port', 'logging.level']);
    assert.equal(error.message.split('\n').length, 3);
  });

  test('list items are named by index', () => {
    const error = configError(() => resolveRaw({ ice: { stun: ['stun:ok', 'http://nope'] } }));
    assert.equal(error.message, 'ice.stun[1]: must be a stun: or stuns: URI, got "http://nope"');
  });

  test('hs256 and jwks together', () => {
    const error = configError(() => resolveRaw({ auth: { hs256: {}, jwks: { url: 'https://crm.example.com/jwks' } } }));
    assert.equal(error.message, 'auth: set either hs256 or jwks, not both');
  });

  test('a JWKS over plain http is accepted only on loopback', () => {
    const error = configError(() => resolveRaw({ auth: { jwks: { url: 'http://crm.example.com/jwks' } } }));
    assert.match(error.message, /^auth\.jwks\.url: must use https:\/\//);
    assert.equal(resolveRaw({ auth: { jwks: { url: 'http://127.0.0.1:4000/jwks' } } }).auth.kind, 'jwks');
    assert.equal(resolveRaw({ auth: { jwks: { url: 'http://[::1]:4000/jwks' } } }).auth.kind, 'jwks');
  });

  test('dns: the system’s name servers by default; addresses with and without ports', () => {
    assert.deepEqual(resolveRaw({}).dns, { servers: undefined, timeoutMs: 2000, tries: 2 });
    const servers = ['10.0.0.53', '10.0.0.54:5353', '2001:db8::53', '[2001:db8::54]:5353'];
    assert.deepEqual(resolveRaw({ dns: { servers, timeoutMs: 500, tries: 1 } }).dns, { servers, timeoutMs: 500, tries: 1 });
  });

  test('a PBX reached over a transport the gateway does not listen on is refused; UDP and TCP always listen', () => {
    assert.equal(
      configError(() => resolveRaw({ pbx: { main: { registrar: 'sip:10.0.0.1', outboundProxy: 'sips:proxy.example.com;transport=ws' } } })).message,
      'pbx.main.outboundProxy: asks for WSS, but the gateway has no WSS listener (set sip.wss)',
    );
    assert.equal(resolveRaw({ pbx: { main: { registrar: 'sip:pbx.example.com;transport=tcp', outboundProxy: 'sip:10.0.0.5;transport=udp' } } }).pbx[0]?.name, 'main');
    assert.equal(resolveRaw({ sip: { ws: { port: 8088 } }, pbx: { main: { registrar: 'sip:pbx.example.com;transport=ws' } } }).pbx[0]?.name, 'main');
    assert.equal(resolveRaw({ pbx: { main: { registrar: 'sips:pbx.example.com', outboundProxy: 'sip:10.0.0.5' } } }).pbx[0]?.name, 'main', 'a registrar behind a proxy is not reached directly');
    assert.equal(
      configError(() => resolveRaw({ pbx: { main: { registrar: 'sip:pbx.example.com;transport=sctp' } } })).message,
      'pbx.main.registrar: has a transport parameter other than udp, tcp, tls, ws or wss',
    );
  });

  test('lookup: defaults, the token from the environment, https except on loopback', () => {
    const url = 'https://crm.example.com/switchboard/lookup?number={number}';
    const lookup = resolveRaw({ lookup: { url, tokenEnv: 'CRM_LOOKUP_TOKEN' } }, { ...env, CRM_LOOKUP_TOKEN: 'lookup-token-0123456789' }).lookup;
    assert.equal(lookup?.url, url);
    assert.equal(lookup?.token?.reveal(), 'lookup-token-0123456789');
    assert.deepEqual([lookup?.timeoutMs, lookup?.cacheSeconds, lookup?.cacheSize], [1500, 60, 10000]);
    assert.equal(resolveRaw({}).lookup, undefined);
    assert.equal(resolveRaw({ lookup: { url: 'http://127.0.0.1:3000/lookup/{number}' } }).lookup?.token, undefined);
    assert.match(configError(() => resolveRaw({ lookup: { url: 'http://crm.example.com/l?n={number}' } })).message, /^lookup\.url: must use https:\/\//);
    assert.equal(
      configError(() => resolveRaw({ lookup: { url, tokenEnv: 'CRM_LOOKUP_TOKEN' } })).message,
      'lookup.tokenEnv: names environment variable CRM_LOOKUP_TOKEN, which is not set',
    );
    assert.match(configError(() => resolveRaw({ lookup: { url, tokenEnv: 'CRM_LOOKUP_TOKEN' } }, { ...env, CRM_LOOKUP_TOKEN: 'short' })).message, /too short/);
  });

  test('the config must be a JSON object', () => {
    assert.equal(configError(() => resolveRaw([])).message, 'the config file must hold a JSON object');
  });

  test('unreadable and malformed files name the file and the position, not the text', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
    const missing = join(dir, 'missing.json');
    assert.equal(configError(() => loadConfig({ file: missing, env })).message, `${missing}: cannot read the config file (ENOENT)`);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{\n  "http": {"port": 8080},\n  "auth": hunter2-secret-value\n}');
    const message = configError(() => loadConfig({ file: bad, env })).message;
    assert.match(message, /bad\.json: not valid JSON/);
    assert.ok(!message.includes('hunter2'));
    const trailing = join(dir, 'trailing.json');
    writeFileSync(trailing, '{\n  "http": {"port": 8080},\n}');
    assert.match(configError(() => loadConfig({ file: trailing, env })).message, /trailing\.json: not valid JSON at line 3, column 1$/);
  });

  test('fieldPath turns JSON pointers into dotted paths', () => {
    assert.equal(fieldPath('/ice/turn/urls/0'), 'ice.turn.urls[0]');
    assert.equal(fieldPath('/a~1b/c~0d'), 'a/b.c~d');
    assert.equal(fieldPath(''), '');
  });
});

describe('secrets come from the environment', () => {
  test('a missing HS256 secret names the variable', () => {
    const error = configError(() => resolveRaw({}, {}));
    assert.equal(error.issues[0]?.path, 'auth.hs256.secretEnv');
    assert.match(error.message, /environment variable SWITCHBOARD_TOKEN_SECRET is not set/);
    const named = configError(() => resolveRaw({ auth: { hs256: { secretEnv: 'CRM_JWT_SECRET' } } }, env));
    assert.equal(named.message, 'auth.hs256.secretEnv: environment variable CRM_JWT_SECRET is not set');
    assert.equal(resolveRaw({ auth: { hs256: { secretEnv: 'CRM_JWT_SECRET' } } }, { CRM_JWT_SECRET: SECRET }).auth.kind, 'hs256');
  });

  test('a short secret is refused without echoing it', () => {
    const error = configError(() => resolveRaw({}, { SWITCHBOARD_TOKEN_SECRET: 'short-secret' }));
    assert.match(error.message, /^auth\.hs256\.secretEnv: the secret in environment variable SWITCHBOARD_TOKEN_SECRET is too short: use at least 32 bytes/);
    assert.ok(!error.message.includes('short-secret'));
    assert.ok(!error.message.includes('12'));
  });

  test('a missing or short TURN secret names its field', () => {
    const raw = { ice: { turn: { urls: ['turn:127.0.0.1:3478'] } } };
    assert.match(configError(() => resolveRaw(raw)).message, /^ice\.turn\.secretEnv: environment variable SWITCHBOARD_TURN_SECRET is not set/);
    assert.match(configError(() => resolveRaw(raw, { ...env, SWITCHBOARD_TURN_SECRET: 'tiny' })).message, /^ice\.turn\.secretEnv: .* too short/);
  });

  test('a secret written into the file is refused, and never echoed', () => {
    const error = configError(() => resolveRaw({ auth: { hs256: { secret: 'hunter2-hunter2-hunter2-hunter2-hunter2' } } }));
    assert.match(error.message, /^auth\.hs256\.secret: is not a setting: secrets come only from environment variables/);
    assert.ok(!error.message.includes('hunter2'));
    const turn = configError(() => resolveRaw({ ice: { turn: { urls: ['turn:x'], password: 'hunter2' } } }));
    assert.ok(!turn.message.includes('hunter2'));
  });

  test('a secret pasted where the variable name belongs is not echoed', () => {
    for (const pasted of ['s3cr3t/with+base64=', 'ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF']) {
      const error = configError(() => resolveRaw({ auth: { hs256: { secretEnv: pasted } } }));
      assert.ok(!error.message.includes(pasted), error.message);
      assert.match(error.message, /^auth\.hs256\.secretEnv: must be the name of an environment variable/);
    }
    const hex = 'ABCDEF0123456789ABCDEF0123456789';
    const error = configError(() => resolveRaw({ ice: { turn: { urls: ['turn:127.0.0.1'], secretEnv: hex } } }));
    assert.ok(!error.message.includes(hex), error.message);
    assert.match(error.message, /^ice\.turn\.secretEnv: names no environment variable that is set, and looks like a secret itself/);
  });
});

describe('parseHostPort', () => {
  test('host and port, IPv6 in brackets', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:8080', '--http'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseHostPort('[::1]:5060', '--sip'), { host: '::1', port: 5060 });
    assert.deepEqual(parseHostPort('localhost:70000', '--http'), { host: 'localhost', port: 70000 });
  });

  test('anything else names the flag', () => {
    for (const bad of ['8080', '127.0.0.1', '127.0.0.1:', ':8080', '::1:8080', '127.0.0.1:80a', 'a b:1']) {
      const error = configError(() => parseHostPort(bad, '--http'));
      assert.match(error.message, /^--http: expected HOST:PORT/);
    }
  });
});
