import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipError } from '../errors.js';
import { backoff, DEFAULT_TIMER_CONFIG, timerConfig, transactionTimers } from './timers.js';

describe('transaction timers (RFC 3261 Table 4, RFC 6026)', () => {
  test('defaults are T1 = 500 ms, T2 = 4 s, T4 = 5 s', () => {
    assert.equal(DEFAULT_TIMER_CONFIG.T1, 500);
    assert.equal(DEFAULT_TIMER_CONFIG.T2, 4000);
    assert.equal(DEFAULT_TIMER_CONFIG.T4, 5000);
  });

  test('unreliable transport: retransmission timers run, D = 32 s, I = K = T4, J = 64*T1', () => {
    const t = transactionTimers(false);
    assert.deepEqual(
      { A: t.A, B: t.B, D: t.D, E: t.E, F: t.F, G: t.G, H: t.H, I: t.I, J: t.J, K: t.K, L: t.L, M: t.M },
      { A: 500, B: 32_000, D: 32_000, E: 500, F: 32_000, G: 500, H: 32_000, I: 5000, J: 32_000, K: 5000, L: 32_000, M: 32_000 },
    );
  });

  test('reliable transport: no A/E/G, and D = I = J = K = 0; B, F, H, L, M unchanged', () => {
    const t = transactionTimers(true);
    assert.deepEqual(
      { A: t.A, B: t.B, D: t.D, E: t.E, F: t.F, G: t.G, H: t.H, I: t.I, J: t.J, K: t.K, L: t.L, M: t.M },
      { A: undefined, B: 32_000, D: 0, E: undefined, F: 32_000, G: undefined, H: 32_000, I: 0, J: 0, K: 0, L: 32_000, M: 32_000 },
    );
  });

  test('every derived timer scales with the configured base values', () => {
    const t = transactionTimers(false, timerConfig({ T1: 100, T2: 1000, T4: 2000 }));
    assert.deepEqual([t.A, t.B, t.E, t.F, t.G, t.H, t.I, t.J, t.K, t.L, t.M], [100, 6400, 100, 6400, 100, 6400, 2000, 6400, 2000, 6400, 6400]);
    assert.equal(t.T2, 1000);
  });

  test('Timer D and the 100 Trying delay are configurable; undefined options keep the defaults', () => {
    const config = timerConfig({ timerD: 40_000, tryingDelay: 100, T1: undefined });
    assert.equal(transactionTimers(false, config).D, 40_000);
    assert.equal(transactionTimers(false, config).tryingDelay, 100);
    assert.equal(config.T1, 500);
  });

  test('nonsensical values are rejected', () => {
    for (const options of [{ T1: 0 }, { T1: -1 }, { T2: 100 }, { T4: Number.NaN }, { timerD: Infinity }]) {
      assert.throws(() => timerConfig(options), (error: unknown) => error instanceof SipError && error.code === 'invalid-argument', JSON.stringify(options));
    }
  });

  test('backoff doubles, capped when a cap is given', () => {
    assert.equal(backoff(500), 1000);
    assert.equal(backoff(16_000), 32_000);
    assert.equal(backoff(2000, 4000), 4000);
    assert.equal(backoff(4000, 4000), 4000);
  });
});
