import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RtpengineConfig } from '../config/types.js';
import { warnOfMissingHoldMusic } from './hold-music.js';

const here = fileURLToPath(import.meta.url);

function warningsFor(config: Partial<RtpengineConfig>): unknown[] {
  const warnings: unknown[] = [];
  const full: RtpengineConfig = { host: '127.0.0.1', port: 22222, timeoutMs: 1000, holdMusic: undefined, ...config };
  warnOfMissingHoldMusic(full, { warn: (fields: unknown) => void warnings.push(fields) } as never);
  return warnings;
}

describe('warnOfMissingHoldMusic', () => {
  it('warns when rtpengine runs on this host and the file is not there', () => {
    for (const host of ['127.0.0.1', '127.0.0.53', '::1', 'localhost']) {
      assert.deepEqual(warningsFor({ host, holdMusic: '/nonexistent/hold.wav' }), [{ file: '/nonexistent/hold.wav', rtpengine: `${host}:22222` }], host);
    }
  });

  it('says nothing of a file that is there, of no file, or of a rtpengine elsewhere (it sees its own files)', () => {
    assert.deepEqual(warningsFor({ holdMusic: here }), []);
    assert.deepEqual(warningsFor({}), []);
    assert.deepEqual(warningsFor({ host: '10.0.0.7', holdMusic: '/nonexistent/hold.wav' }), []);
    assert.deepEqual(warningsFor({ host: 'media.example', holdMusic: '/nonexistent/hold.wav' }), []);
  });
});
