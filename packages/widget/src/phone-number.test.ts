import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanNumber, numberFromTelHref } from './phone-number.js';

describe('cleanNumber', () => {
  it('drops separators and a tel: prefix, keeps a leading +', () => {
    for (const [input, number] of [
      ['102', '102'],
      [' +7 (495) 123-45-67 ', '+74951234567'],
      ['tel:+1-201-555-0123', '+12015550123'],
      ['TEL:030.1234.5678', '03012345678'],
      ['+49\u00a030\u2009123', '+4930123'],
      ['*21#', '*21#'],
      ['tel:+4930123;ext=55', '+4930123'],
    ] as const) {
      assert.deepEqual(cleanNumber(input), { ok: true, number }, input);
    }
  });

  it('refuses letters, a + anywhere but first, and other characters, naming the first', () => {
    assert.deepEqual(cleanNumber('0800-FLOWERS'), { ok: false, problem: 'character', character: 'F' });
    assert.deepEqual(cleanNumber('12+3'), { ok: false, problem: 'character', character: '+' });
    assert.deepEqual(cleanNumber('102@example.com'), { ok: false, problem: 'character', character: '@' });
    assert.deepEqual(cleanNumber('sip:102'), { ok: false, problem: 'character', character: 's' });
  });

  it('refuses empty and over-long input', () => {
    assert.deepEqual(cleanNumber('  - () '), { ok: false, problem: 'empty' });
    assert.deepEqual(cleanNumber(''), { ok: false, problem: 'empty' });
    assert.deepEqual(cleanNumber('1'.repeat(65)), { ok: false, problem: 'too-long' });
    assert.equal(cleanNumber('1'.repeat(64)).ok, true);
  });
});

describe('numberFromTelHref', () => {
  it('decodes a tel: href and ignores other schemes', () => {
    assert.equal(numberFromTelHref('tel:+1%20201%20555'), '+1 201 555');
    assert.equal(numberFromTelHref('tel:%E0%A4%A'), '%E0%A4%A');
    assert.equal(numberFromTelHref('mailto:a@b'), undefined);
  });
});
