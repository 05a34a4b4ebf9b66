import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryDelay, timeoutSignal, TokenSource, TokenSourceStopped, type Clock, type FetchLike, type TokenProblem } from './token-source.js';

/** Timers that fire only when the test says so. */
class ManualClock implements Clock {
  now = 0;
  private timers: { at: number; callback: () => void; id: number }[] = [];
  private next = 1;
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.now + ms, callback, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  /** Runs the next timer, letting promises settle around it; returns the delay it had. */
  async runNext(): Promise<number> {
    await settle();
    this.timers.sort((a, b) => a.at - b.at);
    const timer = this.timers.shift();
    if (!timer) throw new Error('no timer pending');
    const waited = timer.at - this.now;
    this.now = timer.at;
    timer.callback();
    await settle();
    return waited;
  }
  get pending(): number {
    return this.timers.length;
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

type Answer = { status: number; body?: string } | 'network';

function scriptedFetch(answers: Answer[]): { fetch: FetchLike; calls: { url: string; init: unknown }[] } {
  const calls: { url: string; init: unknown }[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, init });
    const answer = answers.shift() ?? { status: 200, body: '{"token":"t-last"}' };
    if (answer === 'network') throw new TypeError('Failed to fetch');
    return { status: answer.status, ok: answer.status >= 200 && answer.status < 300, text: async () => answer.body ?? '' };
  };
  return { fetch, calls };
}

function source(answers: Answer[], random = () => 0.5, fetchOverride?: FetchLike) {
  const clock = new ManualClock();
  const scripted = scriptedFetch(answers);
  const fetch = fetchOverride ?? scripted.fetch;
  const problems: (TokenProblem | undefined)[] = [];
  const timeouts: { ms: number; controller: AbortController }[] = [];
  const timeoutSignal = (ms: number): AbortSignal => {
    const controller = new AbortController();
    timeouts.push({ ms, controller });
    return controller.signal;
  };
  const tokens = new TokenSource({ url: '/crm/phone-token', fetch, clock, random, timeoutSignal, onProblem: (p) => problems.push(p) });
  return { clock, calls: scripted.calls, problems, tokens, timeouts };
}

describe('TokenSource', () => {
  it('fetches same-origin with cookies, uncached, and reads {token}', async () => {
    const { calls, tokens, problems, timeouts } = source([{ status: 200, body: '{"token":"abc.def.ghi"}' }]);
    assert.equal(await tokens.get(), 'abc.def.ghi');
    assert.deepEqual(timeouts.map((t) => t.ms), [10_000]);
    const signal = (calls[0]?.init as { signal?: unknown } | undefined)?.signal;
    assert.ok(signal instanceof AbortSignal);
    assert.deepEqual(calls, [{ url: '/crm/phone-token', init: { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' }, signal } }]);
    assert.deepEqual(problems, [undefined]);
  });

  it('reports each failure kind and retries with growing delays until a token arrives', async () => {
    const { clock, calls, tokens, problems } = source([
      { status: 401 },
      { status: 500 },
      'network',
      { status: 200, body: '<html>login</html>' },
      { status: 200, body: '{"token":""}' },
      { status: 200, body: '{"token":"ok"}' },
    ]);
    const token = tokens.get();
    const delays: number[] = [];
    while (calls.length < 6) delays.push(await clock.runNext());
    assert.equal(await token, 'ok');
    assert.deepEqual(
      problems.map((p) => p && p.failure),
      [{ kind: 'unauthorized', status: 401 }, { kind: 'server', status: 500 }, { kind: 'network' }, { kind: 'malformed' }, { kind: 'malformed' }, undefined],
    );
    // random 0.5: three quarters of 1, 2, 4, 8, 16 s.
    assert.deepEqual(delays, [750, 1500, 3000, 6000, 12000]);
    assert.deepEqual(problems.slice(0, 5).map((p) => p?.retryInMs), delays);
    assert.deepEqual(problems.slice(0, 5).map((p) => p?.attempt), [1, 2, 3, 4, 5]);
  });

  it('gives up on a request that hangs after the timeout, as a network failure, and tries again', async () => {
    let hits = 0;
    const hanging: FetchLike = (_url, init) => {
      hits++;
      // The first request never settles, not even on abort; the second hangs in its body until aborted.
      if (hits === 1) return new Promise(() => {});
      if (hits === 2) {
        return Promise.resolve({
          status: 200,
          ok: true,
          text: () => new Promise<string>((_, reject) => init.signal.addEventListener('abort', () => reject(new DOMException('timed out', 'TimeoutError')))),
        });
      }
      return Promise.resolve({ status: 200, ok: true, text: async () => '{"token":"late"}' });
    };
    const { clock, problems, tokens, timeouts } = source([], () => 0.5, hanging);
    const token = tokens.get();
    await settle();
    assert.equal(problems.length, 0, 'still waiting for the CRM');
    timeouts[0]?.controller.abort(new DOMException('timed out', 'TimeoutError'));
    await settle();
    assert.deepEqual(problems.map((p) => p?.failure), [{ kind: 'network' }]);
    await clock.runNext();
    assert.equal(hits, 2);
    timeouts[1]?.controller.abort(new DOMException('timed out', 'TimeoutError'));
    await settle();
    assert.deepEqual(problems.map((p) => p?.failure), [{ kind: 'network' }, { kind: 'network' }]);
    await clock.runNext();
    assert.equal(await token, 'late');
  });

  it('shares one fetch between callers and starts afresh after a success', async () => {
    const { calls, tokens } = source([{ status: 200, body: '{"token":"one"}' }, { status: 200, body: '{"token":"two"}' }]);
    const [a, b] = await Promise.all([tokens.get(), tokens.get()]);
    assert.deepEqual([a, b, calls.length], ['one', 'one', 1]);
    assert.equal(await tokens.get(), 'two');
  });

  it('stop() ends the retries and rejects the waiting caller', async () => {
    const { clock, tokens } = source([{ status: 500 }]);
    const token = tokens.get();
    await settle();
    assert.equal(clock.pending, 1);
    tokens.stop();
    await assert.rejects(token, TokenSourceStopped);
    assert.equal(clock.pending, 0);
    await assert.rejects(tokens.get(), TokenSourceStopped);
  });

  it('stop() aborts a request under way', async () => {
    let seen: AbortSignal | undefined;
    const hanging: FetchLike = (_url, init) => {
      seen = init.signal;
      return new Promise(() => {});
    };
    const { clock, problems, tokens } = source([], () => 0.5, hanging);
    const token = tokens.get();
    await settle();
    assert.equal(seen?.aborted, false);
    tokens.stop();
    assert.equal(seen?.aborted, true);
    await assert.rejects(token, TokenSourceStopped);
    assert.equal(clock.pending, 0, 'no retry scheduled');
    assert.deepEqual(problems, [], 'an unmount is no problem to report');
  });

  it('a timed-out attempt aborts the signal the fetch got', async () => {
    let seen: AbortSignal | undefined;
    const hanging: FetchLike = (_url, init) => {
      seen = init.signal;
      return new Promise(() => {});
    };
    const { tokens, timeouts } = source([], () => 0.5, hanging);
    void tokens.get().catch(() => {});
    await settle();
    timeouts[0]?.controller.abort(new DOMException('timed out', 'TimeoutError'));
    assert.equal(seen?.aborted, true);
    tokens.stop();
  });
});

describe('timeoutSignal', () => {
  it('uses AbortSignal.timeout when the browser has it, else a controller and a timer', async () => {
    const clock = new ManualClock();
    const native = AbortSignal.abort();
    assert.equal(timeoutSignal(5, clock, () => native), native);
    assert.equal(clock.pending, 0);
    const fallback = timeoutSignal(10_000, clock, null);
    assert.equal(fallback.aborted, false);
    assert.equal(await clock.runNext(), 10_000);
    assert.equal(fallback.aborted, true);
    assert.equal((fallback.reason as DOMException).name, 'TimeoutError');
  });
});

describe('retryDelay', () => {
  it('doubles from 1 s to at most 60 s, with jitter of up to half', () => {
    assert.deepEqual([1, 2, 3, 7, 8, 30].map((n) => retryDelay(n, () => 0)), [500, 1000, 2000, 30000, 30000, 30000]);
    assert.deepEqual([1, 2, 7, 40].map((n) => retryDelay(n, () => 0.999999)), [1000, 2000, 60000, 60000]);
    // Below the cap; there the jitter alone decides.
    for (let attempt = 1; attempt < 6; attempt++) {
      assert.ok(retryDelay(attempt + 1, () => 0) >= retryDelay(attempt, () => 0.999999), `gaps never shrink (${attempt})`);
    }
  });
});
