import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '@switchboard/sip';
import { EndedCalls } from './ended-calls.js';

describe('EndedCalls', () => {
  it('tells the parties how a call ended, for a while, and nobody else', () => {
    const clock = new ManualClock(1_000);
    const ended = new EndedCalls(clock, 60_000, 100);
    ended.add('c-1', 'cancelled', ['op-1', 'op-2']);
    assert.equal(ended.causeFor('c-1', 'op-2'), 'cancelled');
    assert.equal(ended.causeFor('c-1', 'op-3'), undefined);
    assert.equal(ended.causeFor('c-2', 'op-1'), undefined);
    clock.advance(60_001);
    assert.equal(ended.causeFor('c-1', 'op-1'), undefined);
    assert.equal(ended.size, 0);
  });

  it('keeps at most its bound, dropping the oldest first', () => {
    const clock = new ManualClock(0);
    const ended = new EndedCalls(clock, 60_000, 3);
    for (let i = 1; i <= 5; i++) ended.add(`c-${i}`, 'normal', ['op-1']);
    assert.equal(ended.size, 3);
    assert.equal(ended.causeFor('c-2', 'op-1'), undefined);
    assert.equal(ended.causeFor('c-5', 'op-1'), 'normal');
  });
});
