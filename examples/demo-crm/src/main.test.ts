import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFlags, UsageError } from './main.js';

describe('parseFlags', () => {
  it('defaults the CRM to 127.0.0.1:3000 and leaves the gateway to its defaults', () => {
    const flags = parseFlags([]);
    assert.deepEqual(flags.crm, { host: '127.0.0.1', port: 3000 });
    assert.equal(flags.http, undefined);
    assert.equal(flags.sip, undefined);
    assert.equal(flags.help, false);
  });

  it('reads every address', () => {
    const flags = parseFlags(['--crm', '127.0.0.1:3999', '--http', '[::1]:8999', '--sip', '127.0.0.1:5999', '--data', '/tmp/x']);
    assert.deepEqual(flags.crm, { host: '127.0.0.1', port: 3999 });
    assert.deepEqual(flags.http, { host: '::1', port: 8999 });
    assert.deepEqual(flags.sip, { host: '127.0.0.1', port: 5999 });
    assert.equal(flags.dataDir, '/tmp/x');
  });

  it('refuses unknown flags, stray arguments and bad addresses', () => {
    for (const argv of [['--nope'], ['start'], ['--crm'], ['--crm', 'localhost'], ['--http', '127.0.0.1:0'], ['--sip', '127.0.0.1:70000']]) {
      assert.throws(() => parseFlags(argv), UsageError, argv.join(' '));
    }
  });
});
