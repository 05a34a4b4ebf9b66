import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveLimits } from './limits.js';
import type { SessionOperator } from './ports.js';
import { SessionRegistry, type SessionHandle } from './registry.js';
import { SessionStateError, transition } from './session-state.js';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then the refill rate', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
    assert.equal(bucket.retryAfterMs(), 100);
    now += 100;
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
    now += 10_000;
    assert.equal(bucket.retryAfterMs(), 0);
    for (let i = 0; i < 3; i++) assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
  });

  it('does not drain when the clock steps back', () => {
    let now = 1000;
    const bucket = new TokenBucket(1, 1, () => now);
    now = 0;
    assert.equal(bucket.take(), true);
  });
});

describe('session states', () => {
  it('allows the drawn transitions and refuses the rest', () => {
    assert.equal(transition('awaiting-hello', 'authenticating'), 'authenticating');
    assert.equal(transition('authenticating', 'authenticated'), 'authenticated');
    assert.equal(transition('authenticated', 'closing'), 'closing');
    assert.equal(transition('closing', 'closed'), 'closed');
    assert.throws(() => transition('awaiting-hello', 'authenticated'), SessionStateError);
    assert.throws(() => transition('closed', 'closing'), SessionStateError);
    assert.throws(() => transition('closing', 'authenticated'), SessionStateError);
  });
});

describe('limits', () => {
  it('refuses a frame limit the welcome could not announce', () => {
    assert.throws(() => resolveLimits({ maxFrameBytes: 1 << 20 }), RangeError);
    assert.throws(() => resolveLimits({ burst: 0 }), RangeError);
    assert.equal(resolveLimits({ burst: 5 }).burst, 5);
  });
});

function fakeSession(id: string, operatorId: string, instance?: string): SessionHandle {
  const operator: SessionOperator = { id: operatorId, displayName: operatorId, extension: '1', enabled: true };
  return { id, operator, instance, tokenExpiresAt: 0, connectedAt: 0, open: true, send: () => true, close: () => {} };
}

describe('SessionRegistry', () => {
  it('displaces the same instance and the oldest beyond the limit, and removes idempotently', () => {
    const registry = new SessionRegistry(2);
    const a = fakeSession('a', 'op', 'tab-1');
    const b = fakeSession('b', 'op', 'tab-2');
    assert.deepEqual(registry.add(a), []);
    assert.deepEqual(registry.add(b), []);
    const a2 = fakeSession('a2', 'op', 'tab-1');
    assert.deepEqual(registry.add(a2), [a]);
    assert.deepEqual(registry.add(fakeSession('c', 'op')), [b]);
    assert.equal(registry.size, 2);
    registry.remove(a);
    registry.remove(a2);
    registry.remove(a2);
    assert.deepEqual(registry.sessionsOf('op').map((s) => s.id), ['c']);
    assert.equal(registry.get('a2'), undefined);
    assert.equal(registry.operatorCount, 1);
  });
});
