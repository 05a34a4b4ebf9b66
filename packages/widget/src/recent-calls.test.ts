import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_RECENT, mergeRecent, RecentCalls, recordsCall, type RecentCall, type StorageLike } from './recent-calls.js';

class MemoryStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

function call(callId: string, at: number, extra: Partial<RecentCall> = {}): RecentCall {
  return { callId, direction: 'outbound', number: '102', cause: 'normal', answered: true, at, ...extra };
}

describe('RecentCalls', () => {
  it('keeps calls per operator, newest first', () => {
    const storage = new MemoryStorage();
    const mine = new RecentCalls(storage, '101');
    mine.add(call('c-1', 1000));
    mine.add(call('c-2', 2000, { direction: 'inbound', name: 'Grace Hopper' }));
    new RecentCalls(storage, '102').add(call('c-9', 3000));
    assert.deepEqual(mine.list().map((c) => c.callId), ['c-2', 'c-1']);
    assert.deepEqual(new RecentCalls(storage, '102').list().map((c) => c.callId), ['c-9']);
    assert.equal(new RecentCalls(storage, '101').list()[0]?.name, 'Grace Hopper', 'another tab reads the same list');
  });

  it('holds at most 20 and one entry per call id', () => {
    const recent = new RecentCalls(new MemoryStorage(), '101');
    for (let i = 0; i < 30; i++) recent.add(call(`c-${i}`, i));
    recent.add(call('c-29', 100, { cause: 'busy' }));
    const list = recent.list();
    assert.equal(list.length, MAX_RECENT);
    assert.equal(list.filter((c) => c.callId === 'c-29').length, 1);
    assert.equal(list[0]?.cause, 'busy');
    assert.equal(list.at(-1)?.callId, 'c-10');
  });

  it('skips what it cannot read and survives storage that throws', () => {
    const storage = new MemoryStorage();
    storage.setItem('switchboard.recent.101', '[{"callId":1},' + JSON.stringify(call('c-1', 1)) + ']');
    assert.deepEqual(new RecentCalls(storage, '101').list().map((c) => c.callId), ['c-1']);
    storage.setItem('switchboard.recent.101', 'not json');
    assert.deepEqual(new RecentCalls(storage, '101').list(), []);
    const broken: StorageLike = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    assert.deepEqual(new RecentCalls(broken, '101').add(call('c-1', 1)).map((c) => c.callId), ['c-1']);
    assert.deepEqual(new RecentCalls(undefined, '101').list(), []);
  });

  it('two tabs writing in turn keep each other’s calls, one entry per call id', () => {
    const storage = new MemoryStorage();
    const tabA = new RecentCalls(storage, '101');
    const tabB = new RecentCalls(storage, '101');
    // Each tab shows the list it got back from its own last write; neither list is written back as it stands.
    let shownA = tabA.add(call('a-1', 1000));
    const shownB = tabB.add(call('b-1', 2000));
    shownA = tabA.add(call('a-2', 3000));
    assert.deepEqual(shownB.map((c) => c.callId), ['b-1', 'a-1']);
    assert.deepEqual(shownA.map((c) => c.callId), ['a-2', 'b-1', 'a-1']);
    tabB.add(call('a-2', 3000, { cause: 'busy' }));
    assert.deepEqual(tabA.list().map((c) => `${c.callId}:${c.cause}`), ['a-2:busy', 'b-1:normal', 'a-1:normal']);
  });

  it('merges by call id, newest first, the added entries winning', () => {
    const merged = mergeRecent([call('x', 5), call('y', 3), call('x', 1)], [call('y', 4, { cause: 'busy' }), call('z', 9)]);
    assert.deepEqual(merged.map((c) => `${c.callId}:${c.at}:${c.cause}`), ['z:9:normal', 'x:5:normal', 'y:4:busy']);
    assert.equal(mergeRecent([], Array.from({ length: 30 }, (_, i) => call(`c-${i}`, i))).length, MAX_RECENT);
  });

  it('leaves a call answered in another tab to that tab', () => {
    assert.equal(recordsCall('answered-elsewhere'), false);
    for (const cause of ['normal', 'busy', 'cancelled', 'no-answer', 'connection-lost']) assert.equal(recordsCall(cause), true);
  });
});
