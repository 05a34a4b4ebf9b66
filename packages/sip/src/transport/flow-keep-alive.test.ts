import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock, type Random } from '../clock.js';
import { SipError } from '../errors.js';
import { FlowKeepAlive, keepAliveTimes, type PongExpectation } from './flow-keep-alive.js';

/** Random bytes that make every wait `fraction` of the way from 80 % to 100 % of the interval. */
function fixed(fraction: number): Random {
  const value = Math.round(fraction * 0xffff);
  return { bytes: (length) => Uint8Array.from({ length }, (_, i) => (i === 0 ? value >> 8 : value & 0xff)) };
}

function setup(random: Random = fixed(0), expectPong: PongExpectation = 'always', options = { intervalMs: 1000, pongTimeoutMs: 300 }) {
  const clock = new ManualClock();
  const pings: number[] = [];
  const failures: number[] = [];
  const keepAlive = new FlowKeepAlive(options, expectPong, random, {
    ping: () => pings.push(clock.now()),
    failed: () => failures.push(clock.now()),
  }, clock);
  return { clock, keepAlive, pings, failures };
}

describe('flow keep-alive (RFC 5626 §4.4.1)', () => {
  test('pings after 80 % to 100 % of the interval, and again after each pong', () => {
    const { clock, keepAlive, pings, failures } = setup(fixed(0));
    keepAlive.start();
    clock.advance(799);
    assert.deepEqual(pings, [], 'nothing before 80 % of the interval');
    clock.advance(1);
    assert.deepEqual(pings, [800]);
    assert.equal(keepAlive.state, 'awaiting-pong');
    clock.advance(100);
    keepAlive.pong();
    assert.equal(keepAlive.state, 'waiting');
    clock.advance(800);
    assert.deepEqual(pings, [800, 1700], 'the next wait starts at the pong');
    for (let i = 0; i < 10; i++) {
      keepAlive.pong();
      clock.advance(800);
    }
    assert.equal(pings.length, 12);
    assert.deepEqual(failures, [], 'a flow that answers never fails');
  });

  test('the wait is drawn from the randomness: the whole of it at the top of the range', () => {
    const { clock, keepAlive, pings } = setup(fixed(1));
    keepAlive.start();
    clock.advance(999);
    assert.deepEqual(pings, []);
    clock.advance(1);
    assert.deepEqual(pings, [1000]);
  });

  test('no pong within the pong timeout: failed, once, and no more pings', () => {
    const { clock, keepAlive, pings, failures } = setup();
    keepAlive.start();
    clock.advance(800 + 299);
    assert.deepEqual(failures, []);
    clock.advance(1);
    assert.deepEqual(failures, [1100]);
    assert.equal(keepAlive.state, 'failed');
    keepAlive.pong();
    clock.advance(10_000);
    assert.deepEqual(pings, [800]);
    assert.deepEqual(failures, [1100]);
    assert.equal(clock.pending, 0);
  });

  test('other traffic from the peer answers a ping as a pong would', () => {
    const { clock, keepAlive, pings, failures } = setup();
    keepAlive.start();
    assert.equal(keepAlive.alive(), false, 'nothing awaited yet');
    clock.advance(800 + 250);
    assert.equal(keepAlive.alive(), true);
    clock.advance(800);
    assert.deepEqual(pings, [800, 1850]);
    assert.deepEqual(failures, []);
  });

  test('once-answered: a peer that never answered a ping is pinged on, not failed; once it has answered, silence fails it', () => {
    const { clock, keepAlive, pings, failures } = setup(fixed(0), 'once-answered');
    keepAlive.start();
    clock.advance(5000);
    assert.deepEqual(failures, [], 'a peer that only skips CRLFs (RFC 3261 §7.5) is not dead');
    assert.deepEqual(pings, [800, 1900, 3000, 4100], 'each unanswered round waits out the pong timeout, then the interval');
    clock.advance(300);
    assert.equal(keepAlive.state, 'awaiting-pong');
    assert.equal(keepAlive.alive(), true, 'traffic answers, but does not say the peer answers pings');
    clock.advance(800 + 300);
    assert.deepEqual(failures, []);
    clock.advance(800);
    assert.deepEqual(pings.slice(-3), [5200, 6100, 7200]);
    assert.equal(keepAlive.pong(), true);
    clock.advance(800 + 300);
    assert.deepEqual(failures, [8300]);
    assert.equal(keepAlive.state, 'failed');
  });

  test('a pong nothing awaits changes nothing; stop ends every timer, from any state', () => {
    const { clock, keepAlive, pings } = setup();
    keepAlive.pong();
    assert.equal(keepAlive.state, 'idle');
    keepAlive.start();
    keepAlive.start();
    clock.advance(400);
    keepAlive.pong();
    clock.advance(400);
    assert.deepEqual(pings, [800], 'an early pong did not move the ping');
    keepAlive.stop();
    assert.equal(keepAlive.state, 'stopped');
    assert.equal(clock.pending, 0);
    clock.advance(10_000);
    assert.deepEqual(pings, [800]);
    keepAlive.start();
    assert.equal(keepAlive.state, 'stopped', 'a stopped keep-alive does not start again');
  });

  test('times are checked when made: positive, and the pong timeout below 80 % of the interval', () => {
    assert.deepEqual(keepAliveTimes(), { intervalMs: 120_000, pongTimeoutMs: 10_000 });
    for (const bad of [{ intervalMs: 0 }, { intervalMs: Number.NaN }, { pongTimeoutMs: -1 }, { intervalMs: 10_000, pongTimeoutMs: 8_000 }, { intervalMs: 2 ** 31 }]) {
      assert.throws(() => keepAliveTimes(bad), (error: unknown) => error instanceof SipError && error.code === 'invalid-argument', JSON.stringify(bad));
    }
  });
});
