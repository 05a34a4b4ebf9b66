import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CATALOGUES, pickLanguage, placeholders, translator } from './index.js';

describe('the catalogues', () => {
  const [reference, ...others] = Object.entries(CATALOGUES);
  it('have the same keys and placeholders in every language', () => {
    assert.ok(reference);
    const keys = Object.keys(reference[1]).sort();
    for (const [language, catalogue] of others) {
      assert.deepEqual(Object.keys(catalogue).sort(), keys, `${language} has the keys of ${reference[0]}`);
      for (const key of keys) {
        const k = key as keyof typeof catalogue;
        assert.deepEqual(placeholders(catalogue[k]), placeholders(reference[1][k]), `${language} ${key}`);
        assert.notEqual(catalogue[k].trim(), '', `${language} ${key} is empty`);
      }
    }
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    const t = translator('en');
    assert.equal(t('call.dialling', { who: '102' }), 'Calling 102…');
    assert.equal(t('call.dialling'), 'Calling {who}…');
    assert.equal(translator('ru')('cause.busy'), 'Занято');
    assert.equal(t('cause.somewhere-new' as 'cause.busy'), 'Failed');
  });
});

describe('pickLanguage', () => {
  it('prefers an explicit choice, then the browser, then English', () => {
    assert.equal(pickLanguage('ru', ['en-US']), 'ru');
    assert.equal(pickLanguage(undefined, ['ru-RU', 'en']), 'ru');
    assert.equal(pickLanguage('de', ['de-DE', 'en-GB']), 'en');
    assert.equal(pickLanguage(undefined, ['fr']), 'en');
    assert.equal(pickLanguage('EN', ['ru']), 'en');
  });
});
