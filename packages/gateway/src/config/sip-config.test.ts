import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from './config-error.js';
import { resolveConfig } from './load.js';
import { redactConfig } from './redact.js';
import { hostOf, hostPortOf } from './resolve-sip.js';

const env = { SWITCHBOARD_TOKEN_SECRET: 'a-shared-secret-of-more-than-32-bytes!', LINE_101_PASSWORD: 'pw-101-secret', PHONE_200_PASSWORD: 'pw-200' };

function resolveRaw(raw: unknown) {
  return resolveConfig(raw, { env, baseDir: '/srv/switchboard' });
}

function issues(raw: unknown): string[] {
  try {
    resolveRaw(raw);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected a ConfigError');
}

const PBX = { main: { registrar: 'sip:127.0.0.1:5090;transport=udp', media: 'passthrough' } };

describe('SIP side of the config', () => {
  test('dtmf "rfc4733" needs telephone-event among the codecs, in any case', () => {
    const line = { '101': { mode: 'pbx', pbx: 'main', user: 'op101', passwordEnv: 'LINE_101_PASSWORD' } };
    assert.deepEqual(issues({ pbx: { main: { ...PBX.main, dtmf: 'rfc4733', codecs: ['PCMU'] } }, lines: line }), [
      'pbx.main.codecs: must list telephone-event when dtmf is "rfc4733" (the digits travel as telephone-events in the media)',
    ]);
    assert.equal(resolveRaw({ pbx: { main: { ...PBX.main, dtmf: 'rfc4733', codecs: ['PCMU', 'Telephone-Event'] } }, lines: line }).pbx[0]?.dtmf, 'rfc4733');
    assert.equal(resolveRaw({ pbx: { main: { ...PBX.main, dtmf: 'info', codecs: ['PCMU'] } }, lines: line }).pbx[0]?.dtmf, 'info', 'INFO needs no codec');
  });


  test('without any, there are no PBXs or lines, and the registrar has its defaults', () => {
    const config = resolveRaw({});
    assert.deepEqual(config.pbx, []);
    assert.deepEqual(config.lines, []);
    assert.deepEqual(config.registrar, { realm: 'switchboard', minExpiresSeconds: 60, maxExpiresSeconds: 3600, accounts: [] });
    assert.equal(config.rtpengine, undefined);
  });

  test('a pbx line is linked to its PBX with defaults filled in and the password read from the environment', () => {
    const config = resolveRaw({
      pbx: PBX,
      lines: { '101': { mode: 'pbx', pbx: 'main', user: 'op101', passwordEnv: 'LINE_101_PASSWORD' }, '102': { mode: 'local' } },
      registrar: { accounts: { '200': { passwordEnv: 'PHONE_200_PASSWORD' } } },
    });
    const [line, local] = config.lines;
    assert.equal(line?.mode, 'pbx');
    if (line?.mode !== 'pbx') return;
    assert.equal(line.operatorId, '101');
    assert.equal(line.user, 'op101');
    assert.equal(line.authUser, 'op101');
    assert.equal(line.password.reveal(), 'pw-101-secret');
    assert.equal(line.pbx.domain, '127.0.0.1:5090');
    assert.equal(line.pbx.registerExpiresSeconds, 600);
    assert.deepEqual(line.pbx.codecs, ['opus', 'PCMU', 'PCMA', 'telephone-event']);
    assert.deepEqual(local, { mode: 'local', operatorId: '102' });
    assert.equal(config.registrar.accounts[0]?.user, '200');
    // Printing the config never shows a password.
    const printed = JSON.stringify(redactConfig(config));
    assert.doesNotMatch(printed, /pw-101-secret|pw-200/);
  });

  test('mistakes name the field', () => {
    assert.deepEqual(issues({ pbx: PBX, lines: { '101': { mode: 'pbx', pbx: 'other', user: 'u', passwordEnv: 'LINE_101_PASSWORD' } } }), [
      'lines.101.pbx: names no configured PBX (configured: main)',
    ]);
    assert.deepEqual(issues({ pbx: PBX, lines: { '101': { mode: 'pbx', pbx: 'main' } } }), [
      'lines.101.user: is required for a line with mode "pbx"',
      'lines.101.passwordEnv: is required for a line with mode "pbx"',
    ]);
    assert.deepEqual(issues({ lines: { '101': { mode: 'local', user: 'x' } } }), [
      'lines.101.user: belongs to a line with mode "pbx"; a local line has no account elsewhere',
    ]);
    assert.deepEqual(issues({ pbx: PBX, lines: { '101': { mode: 'pbx', pbx: 'main', user: 'u', passwordEnv: 'MISSING_PASSWORD' } } }), [
      'lines.101.passwordEnv: environment variable MISSING_PASSWORD is not set (it holds the SIP password)',
    ]);
    assert.match(issues({ pbx: { main: { registrar: 'http://pbx' } } })[0] ?? '', /^pbx\.main\.registrar: must be a sip: or sips: URI/);
    assert.match(issues({ pbx: { main: { ...PBX.main, password: 'x' } } })[0] ?? '', /^pbx\.main\.password: is not a setting: secrets come only from environment variables/);
    assert.match(issues({ rtpengine: { ng: 'localhost' } })[0] ?? '', /^rtpengine\.ng: must be host:port/);
  });

  test('a PBX that needs rtpengine, used by a line, needs rtpengine configured', () => {
    const raw = {
      pbx: { main: { registrar: 'sip:pbx.example.com' } },
      lines: { '101': { mode: 'pbx', pbx: 'main', user: 'u', passwordEnv: 'LINE_101_PASSWORD' } },
    };
    assert.match(issues(raw)[0] ?? '', /^pbx\.main\.media: is "rtpengine" but no rtpengine is configured/);
    const config = resolveRaw({ ...raw, rtpengine: { ng: '127.0.0.1:22222' } });
    assert.deepEqual(config.rtpengine, { host: '127.0.0.1', port: 22222, timeoutMs: 1000, holdMusic: undefined });
  });

  test('hold music is an absolute path, as rtpengine takes it: no relative path, no control characters, not too long', () => {
    const config = resolveRaw({ rtpengine: { ng: '127.0.0.1:22222', holdMusic: '/usr/share/sounds/Hold Music.wav' } });
    assert.equal(config.rtpengine?.holdMusic, '/usr/share/sounds/Hold Music.wav');
    for (const holdMusic of ['hold.wav', '', '/', '/srv/hold\n.wav', `/${'a'.repeat(1024)}`, 42]) {
      assert.match(issues({ rtpengine: { ng: '127.0.0.1:22222', holdMusic } })[0] ?? '', /^rtpengine\.holdMusic: must be an absolute path/, JSON.stringify(holdMusic));
    }
  });

  test('TLS, WS and WSS listeners: paths follow the config file, and no two share a TCP port', () => {
    const config = resolveRaw({ sip: { port: 5060, tls: { port: 5061, certFile: 'tls/gw.crt', keyFile: '/etc/gw.key' }, ws: { port: 8088 } } });
    assert.deepEqual(config.sip.tls, { port: 5061, certFile: '/srv/switchboard/tls/gw.crt', keyFile: '/etc/gw.key' });
    assert.deepEqual(config.sip.ws, { port: 8088 });
    assert.deepEqual(issues({ sip: { port: 5060, ws: { port: 5060 }, wss: { port: 8089, certFile: 'a', keyFile: 'b' }, tls: { port: 8089, certFile: 'a', keyFile: 'b' } } }), [
      'sip.ws.port: is already used by sip.port (TCP)',
      'sip.wss.port: is already used by sip.tls.port',
    ]);
  });

  test('hostOf and hostPortOf read sip: URIs', () => {
    assert.equal(hostPortOf('sip:pbx.example.com;transport=tcp'), 'pbx.example.com');
    assert.equal(hostPortOf('sip:u@[2001:db8::1]:5061'), '[2001:db8::1]:5061');
    assert.equal(hostOf('sip:pbx.example.com:5060;transport=tcp'), 'pbx.example.com');
    assert.equal(hostOf('sips:user@[2001:db8::1]:5061'), '[2001:db8::1]');
    assert.equal(hostOf('sip:127.0.0.1'), '127.0.0.1');
  });
});
