import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientError } from '@switchboard/client';
import { errorText } from './error-text.js';
import { CATALOGUES, translator } from './i18n/index.js';

describe('errorText', () => {
  it('says what a refusal means in the operator’s language', () => {
    const refused = new ClientError('not-supported', 'the PBX takes DTMF only in the media');
    assert.equal(errorText(refused, translator('en')), 'not available on this call');
    assert.equal(errorText(refused, translator('ru')), 'недоступно в этом звонке');
    assert.equal(errorText(new ClientError('rate-limited', 'x'), translator('en')), 'too many at once, try again shortly');
  });

  it('has a sentence in every language for every code it explains, and quotes the others', () => {
    for (const code of ['not-supported', 'forbidden', 'not-found', 'invalid-target', 'call-state', 'rate-limited', 'timeout', 'not-connected', 'connection-lost', 'internal', 'webrtc-failed'] as const) {
      for (const [language, catalogue] of Object.entries(CATALOGUES)) {
        assert.ok(`error.${code}` in catalogue, `${language}: error.${code}`);
        assert.equal(errorText(new ClientError(code, 'm'), translator(language as 'en')), catalogue[`error.${code}` as keyof typeof catalogue]);
      }
    }
    assert.equal(errorText(new ClientError('unknown-type', 'm'), translator('en')), 'unknown-type');
    assert.equal(errorText(new Error('boom'), translator('en')), 'boom');
    assert.equal(errorText('plain', translator('en')), 'plain');
  });
});
