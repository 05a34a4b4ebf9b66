import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dialString, numberKey, sameLine } from './phone-numbers.js';

describe('numberKey', () => {
  it('reduces every usual way of writing a number to one key', () => {
    for (const input of ['+7 (495) 123-45-67', '+74951234567', '8 495 123 45 67', '8(495)123-45-67', '0074951234567', '7.495.123.45.67']) {
      assert.equal(numberKey(input), '74951234567', input);
    }
    assert.equal(numberKey('+44 20 7946 0958'), '442079460958');
    assert.equal(numberKey('101'), '101');
  });

  it('keeps an 8 that is not a Russian trunk prefix', () => {
    assert.equal(numberKey('800'), '800');
    assert.equal(numberKey('+8 123 456 7890'), '81234567890'.replace(/^8/, '7'));
    assert.equal(numberKey('812345678'), '812345678');
  });

  it('refuses what is not a phone number', () => {
    for (const input of ['', '+', 'abc', '12a', '1+2', '++1', '1'.repeat(65), 'sip:101@example.com', '1\n2']) {
      assert.equal(numberKey(input), undefined, JSON.stringify(input));
    }
  });
});

describe('sameLine', () => {
  it('matches a ten-digit national number to its international form only', () => {
    assert.ok(sameLine('4951234567', '74951234567'));
    assert.ok(sameLine('74951234567', '4951234567'));
    assert.ok(!sameLine('14951234567', '74951234567'));
    assert.ok(!sameLine('101', '74951234101'));
    assert.ok(!sameLine('951234567', '74951234567'));
  });
});

describe('dialString', () => {
  it('drops formatting and keeps the number as written', () => {
    assert.equal(dialString('+7 (495) 123-45-67'), '+74951234567');
    assert.equal(dialString('8 912 345-67-89'), '89123456789');
  });
});
