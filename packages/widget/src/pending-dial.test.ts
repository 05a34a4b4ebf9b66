import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgePendingDial, PENDING_DIAL_MS } from './pending-dial.js';

describe('a number waiting for the connection', () => {
  it('is dialled within 30 s', () => {
    assert.equal(judgePendingDial({ number: '102', at: 1_000, operatorId: undefined }, 1_000 + PENDING_DIAL_MS - 1, '101'), 'dial');
    assert.equal(judgePendingDial({ number: '102', at: 1_000, operatorId: undefined }, 1_000 + PENDING_DIAL_MS, '101'), 'expired');
  });

  it('is dialled only by the operator it was asked for, when that one is known', () => {
    assert.equal(judgePendingDial({ number: '102', at: 0, operatorId: '101' }, 10, '101'), 'dial');
    assert.equal(judgePendingDial({ number: '102', at: 0, operatorId: '101' }, 10, '103'), 'other-operator');
    assert.equal(judgePendingDial({ number: '102', at: 0, operatorId: '101' }, 10, undefined), 'other-operator');
    assert.equal(judgePendingDial({ number: '102', at: 0, operatorId: undefined }, 10, '103'), 'dial');
  });
});
