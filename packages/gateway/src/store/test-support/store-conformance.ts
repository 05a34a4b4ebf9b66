/**
 * What every store backend must do, as tests. A backend's test file calls `storeConformance` with a way to get a
 * fresh, empty database; the tests go through `openStore` only, so a backend passes by behaving, not by sharing
 * code. Tests that need a second connection to the same database are registered only for targets that have one
 * (not SQLite ':memory:'), so nothing is reported as skipped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { StoreError, type StoreErrorCode } from '../errors.js';
import { MIGRATION_TABLE, SCHEMA_VERSION } from '../migrations.js';
import { seedDemoOperators } from '../seed.js';
import { openDatabase, openStore, type Store, type StoreOptions } from '../store.js';

const SEED = ['101', '102', '103'].map((id) => ({ id, name: `Operator ${id}`, extension: id }));

export interface StoreFixture {
  options: StoreOptions;
  /** True when another `openStore(options)` reaches the same database through a connection of its own. */
  shared: boolean;
  dispose(): Promise<void>;
}

export interface StoreTarget {
  name: string;
  /** Whether a second `openStore(options)` reaches the same database (false for SQLite ':memory:'). */
  sharedDatabase: boolean;
  /** A fresh, empty database for one test. */
  fresh(): Promise<StoreFixture>;
}

/** Registers nothing: a test that cannot apply to a target is left out rather than reported as skipped. */
const itNever = (_name: string, _fn: () => Promise<void>): void => undefined;

const T0 = 1_700_000_000_000;

/** A clock the test moves by hand, so stamps are exact. */
function manualClock(start = T0) {
  let now = start;
  return { now: () => now, set: (t: number) => void (now = t), advance: (ms: number) => void (now += ms) };
}

async function rejectsWith(promise: Promise<unknown>, code: StoreErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

export function storeConformance(target: StoreTarget): void {
  /** Runs `body` against a freshly opened store and always cleans up. */
  async function withStore(body: (store: Store, clock: ReturnType<typeof manualClock>, fixture: StoreFixture) => Promise<void>) {
    const fixture = await target.fresh();
    const clock = manualClock();
    const store = await openStore({ ...fixture.options, now: clock.now });
    try {
      await body(store, clock, fixture);
    } finally {
      await store.close();
      await fixture.dispose();
    }
  }

  async function withOperators(body: (store: Store, clock: ReturnType<typeof manualClock>) => Promise<void>) {
    await withStore(async (store, clock) => {
      await seedDemoOperators(store, SEED);
      await body(store, clock);
    });
  }

  describe(`store conformance: ${target.name}`, () => {
    describe('operators', () => {
      it('creates an operator and reads it back by id and by extension', () =>
        withStore(async (store) => {
          const created = await store.operators.upsert({ id: '101', displayName: ' Ada Lovelace ', extension: '2101' });
          const expected = { id: '101', displayName: 'Ada Lovelace', extension: '2101', enabled: true, createdAt: T0, updatedAt: T0 };
          assert.deepEqual(created, expected);
          assert.deepEqual(await store.operators.get('101'), expected);
          assert.deepEqual(await store.operators.getByExtension('2101'), expected);
          assert.equal(await store.operators.get('999'), undefined);
          assert.equal(await store.operators.getByExtension('999'), undefined);
        }));

      it('updates name and extension in place, keeping creation time and the enabled flag', () =>
        withStore(async (store, clock) => {
          await store.operators.upsert({ id: 'crm-7', displayName: 'Grace', extension: '107', enabled: false });
          clock.advance(5000);
          const updated = await store.operators.upsert({ id: 'crm-7', displayName: 'Grace Hopper', extension: '207' });
          assert.deepEqual(updated, {
            id: 'crm-7',
            displayName: 'Grace Hopper',
            extension: '207',
            enabled: false,
            createdAt: T0,
            updatedAt: T0 + 5000,
          });
          assert.equal(await store.operators.getByExtension('107'), undefined);
          assert.equal((await store.operators.upsert({ id: 'crm-7', displayName: 'Grace Hopper', extension: '207', enabled: true })).enabled, true);
        }));

      it('refuses an extension another operator has, naming that operator', () =>
        withStore(async (store) => {
          await store.operators.upsert({ id: '101', displayName: 'A', extension: '101' });
          await store.operators.upsert({ id: '102', displayName: 'B', extension: '102' });
          await rejectsWith(store.operators.upsert({ id: '103', displayName: 'C', extension: '101' }), 'conflict', /101.*"101"/);
          await rejectsWith(store.operators.upsert({ id: '102', displayName: 'B', extension: '101' }), 'conflict', /"101"/);
          assert.equal((await store.operators.get('102'))?.extension, '102');
          assert.equal(await store.operators.get('103'), undefined);
        }));

      it('lists by id, optionally only enabled or disabled operators', () =>
        withStore(async (store, clock) => {
          for (const id of ['b', 'c', 'a']) await store.operators.upsert({ id, displayName: id.toUpperCase(), extension: `${id.charCodeAt(0)}` });
          clock.advance(1);
          const disabled = await store.operators.setEnabled('b', false);
          assert.equal(disabled.enabled, false);
          assert.equal(disabled.updatedAt, T0 + 1);
          assert.deepEqual((await store.operators.list()).map((o) => o.id), ['a', 'b', 'c']);
          assert.deepEqual((await store.operators.list({ enabled: true })).map((o) => o.id), ['a', 'c']);
          assert.deepEqual((await store.operators.list({ enabled: false })).map((o) => o.id), ['b']);
          await rejectsWith(store.operators.setEnabled('zz', true), 'not-found', /"zz"/);
        }));

      it('rejects malformed ids, extensions and names with a message naming the field', () =>
        withStore(async (store) => {
          const ok = { id: '101', displayName: 'A', extension: '101' };
          for (const id of ['', 'has space', 'x'.repeat(65), 'ümlaut', 42]) {
            await rejectsWith(store.operators.upsert({ ...ok, id: id as string }), 'invalid-argument', /operator id/);
          }
          for (const extension of ['', '10a', '+101', '1'.repeat(16), 101]) {
            await rejectsWith(store.operators.upsert({ ...ok, extension: extension as string }), 'invalid-argument', /extension/);
          }
          for (const displayName of ['', '   ', 'a\u0000b', 'evil\u202Eeman', 'x'.repeat(129)]) {
            await rejectsWith(store.operators.upsert({ ...ok, displayName }), 'invalid-argument', /display name/);
          }
          await rejectsWith(store.operators.get('bad id'), 'invalid-argument');
          await rejectsWith(store.operators.getByExtension('abc'), 'invalid-argument');
          assert.deepEqual(await store.operators.list(), []);
        }));

      it('seeds operators 101-103 once, leaving later edits alone', () =>
        withStore(async (store) => {
          const first = await seedDemoOperators(store, SEED);
          assert.deepEqual(
            first.map((o) => [o.id, o.displayName, o.extension, o.enabled]),
            [
              ['101', 'Operator 101', '101', true],
              ['102', 'Operator 102', '102', true],
              ['103', 'Operator 103', '103', true],
            ],
          );
          await store.operators.setEnabled('102', false);
          await seedDemoOperators(store, SEED);
          assert.equal((await store.operators.list()).length, 3);
          assert.equal((await store.operators.get('102'))?.enabled, false);
        }));
    });

    describe('calls', () => {
      it('logs outbound, inbound and internal calls with their parties', () =>
        withOperators(async (store) => {
          const out = await store.calls.start({ id: 'c1', direction: 'outbound', fromOperator: '101', externalNumber: '+493012345', context: 'deal-42' });
          assert.deepEqual(out, {
            id: 'c1',
            direction: 'outbound',
            fromOperator: '101',
            toOperator: null,
            externalNumber: '+493012345',
            state: 'ringing',
            cause: null,
            sipStatus: null,
            context: 'deal-42',
            startedAt: T0,
            answeredAt: null,
            endedAt: null,
            durationMs: null,
          });
          assert.deepEqual(await store.calls.get('c1'), out);
          const inbound = await store.calls.start({ direction: 'inbound', toOperator: '102', externalNumber: 'anonymous', startedAt: T0 + 7 });
          assert.match(inbound.id, /^[\x21-\x7e]{1,64}$/);
          assert.equal(inbound.startedAt, T0 + 7);
          const internal = await store.calls.start({ id: 'c3', direction: 'internal', fromOperator: '101', toOperator: '103' });
          assert.deepEqual([internal.fromOperator, internal.toOperator, internal.externalNumber], ['101', '103', null]);
          assert.equal(await store.calls.get('nope'), undefined);
        }));

      it('refuses calls whose parties do not fit the direction, unknown operators and reused ids', () =>
        withOperators(async (store) => {
          const bad: Array<[Parameters<Store['calls']['start']>[0], StoreErrorCode, RegExp]> = [
            [{ direction: 'inbound', externalNumber: '+1555' }, 'invalid-argument', /toOperator/],
            [{ direction: 'inbound', toOperator: '101', fromOperator: '102', externalNumber: '+1555' }, 'invalid-argument', /fromOperator/],
            [{ direction: 'outbound', fromOperator: '101' }, 'invalid-argument', /externalNumber/],
            [{ direction: 'internal', fromOperator: '101', toOperator: '101' }, 'invalid-argument', /itself/],
            [{ direction: 'internal', fromOperator: '101', toOperator: '102', externalNumber: '1' }, 'invalid-argument', /externalNumber/],
            [{ direction: 'sideways' as 'inbound', toOperator: '101', externalNumber: '1' }, 'invalid-argument', /direction/],
            [{ direction: 'outbound', fromOperator: '101', externalNumber: '+1\u0007' }, 'invalid-argument', /externalNumber/],
            [{ direction: 'outbound', fromOperator: '101', externalNumber: '+1', context: 'x'.repeat(513) }, 'invalid-argument', /context/],
            [{ direction: 'outbound', fromOperator: '101', externalNumber: '+1', startedAt: -1 }, 'invalid-argument', /startedAt/],
            [{ direction: 'outbound', fromOperator: '999', externalNumber: '+1' }, 'not-found', /"999"/],
          ];
          for (const [input, code, message] of bad) await rejectsWith(store.calls.start(input), code, message);
          await store.calls.start({ id: 'dup', direction: 'outbound', fromOperator: '101', externalNumber: '+1' });
          await rejectsWith(store.calls.start({ id: 'dup', direction: 'outbound', fromOperator: '102', externalNumber: '+2' }), 'conflict', /"dup"/);
          assert.equal((await store.calls.listByOperator('102')).calls.length, 0);
        }));

      it('walks a call through ringing, early media and answer to its end, with talk time', () =>
        withOperators(async (store, clock) => {
          await store.calls.start({ id: 'c1', direction: 'inbound', toOperator: '101', externalNumber: '+1555' });
          clock.advance(1000);
          assert.equal((await store.calls.setState('c1', 'early')).state, 'early');
          clock.advance(1000);
          const answered = await store.calls.setState('c1', 'active');
          assert.deepEqual([answered.state, answered.answeredAt], ['active', T0 + 2000]);
          // A repeated answer event must not move the answer time.
          assert.equal((await store.calls.setState('c1', 'active', T0 + 2500)).answeredAt, T0 + 2000);
          await rejectsWith(store.calls.setState('c1', 'ringing'), 'invalid-state', /active/);
          const ended = await store.calls.end('c1', { cause: 'normal', endedAt: T0 + 62_000 });
          assert.deepEqual(
            [ended.state, ended.cause, ended.sipStatus, ended.endedAt, ended.durationMs],
            ['ended', 'normal', null, T0 + 62_000, 60_000],
          );
          await rejectsWith(store.calls.end('c1', { cause: 'normal' }), 'invalid-state', /ended/);
          await rejectsWith(store.calls.setState('c1', 'active'), 'invalid-state', /ended/);
          await rejectsWith(store.calls.setState('missing', 'active'), 'not-found');
          await rejectsWith(store.calls.end('missing', { cause: 'normal' }), 'not-found');
          assert.deepEqual(await store.calls.get('c1'), ended);
        }));

      it('ends an unanswered call with its SIP status and no talk time; rejects unknown causes and statuses', () =>
        withOperators(async (store) => {
          await store.calls.start({ id: 'c1', direction: 'outbound', fromOperator: '101', externalNumber: '+1555' });
          await rejectsWith(store.calls.end('c1', { cause: 'exploded' as 'normal' }), 'invalid-argument', /cause/);
          await rejectsWith(store.calls.end('c1', { cause: 'busy', sipStatus: 99 }), 'invalid-argument', /sipStatus/);
          await rejectsWith(store.calls.setState('c1', 'ended' as 'active'), 'invalid-argument', /state/);
          const ended = await store.calls.end('c1', { cause: 'busy', sipStatus: 486, endedAt: T0 + 3000 });
          assert.deepEqual([ended.cause, ended.sipStatus, ended.answeredAt, ended.durationMs], ['busy', 486, null, null]);
        }));

      it('pages an operator’s calls newest first, ties broken by id, without gaps or repeats', () =>
        withOperators(async (store) => {
          const starts = [5, 3, 3, 9, 1, 3, 7, 2];
          for (const [i, at] of starts.entries()) {
            const even = i % 2 === 0;
            await store.calls.start({
              id: `call-${i}`,
              direction: 'internal',
              fromOperator: even ? '101' : '102',
              toOperator: even ? '102' : '101',
              startedAt: T0 + at,
            });
          }
          await store.calls.start({ id: 'other', direction: 'internal', fromOperator: '102', toOperator: '103', startedAt: T0 + 4 });
          const expected = starts
            .map((at, i) => ({ at, id: `call-${i}` }))
            .sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1))
            .map((c) => c.id);
          const seen: string[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await store.calls.listByOperator('101', cursor === undefined ? { limit: 3 } : { limit: 3, cursor });
            assert.ok(page.calls.length <= 3);
            seen.push(...page.calls.map((c) => c.id));
            cursor = page.nextCursor;
            pages++;
          } while (cursor !== undefined);
          assert.deepEqual(seen, expected);
          assert.equal(pages, 3);
          // A call arriving between pages does not shift the older pages.
          const first = await store.calls.listByOperator('101', { limit: 4 });
          await store.calls.start({ id: 'newest', direction: 'inbound', toOperator: '101', externalNumber: '+1', startedAt: T0 + 100 });
          const second = await store.calls.listByOperator('101', { limit: 4, cursor: first.nextCursor as string });
          assert.deepEqual(second.calls.map((c) => c.id), expected.slice(4));
          assert.equal(second.nextCursor, undefined);
          assert.deepEqual((await store.calls.listByOperator('103')).calls.map((c) => c.id), ['other']);
          assert.deepEqual(await store.calls.listByOperator('nobody'), { calls: [], nextCursor: undefined });
          await rejectsWith(store.calls.listByOperator('101', { cursor: 'garbage' }), 'invalid-argument', /cursor/);
          await rejectsWith(store.calls.listByOperator('101', { limit: 0 }), 'invalid-argument', /limit/);
          await rejectsWith(store.calls.listByOperator('101', { limit: 501 }), 'invalid-argument', /limit/);
        }));

      it('counts an operator’s placed, received, answered and missed calls and talk time over a range', () =>
        withOperators(async (store) => {
          const log = async (id: string, input: Parameters<Store['calls']['start']>[0], answerAfter: number | null, endAfter: number) => {
            const call = await store.calls.start({ id, ...input });
            if (answerAfter !== null) await store.calls.setState(id, 'active', call.startedAt + answerAfter);
            await store.calls.end(id, { cause: answerAfter === null ? 'no-answer' : 'normal', endedAt: call.startedAt + endAfter });
          };
          await log('a', { direction: 'outbound', fromOperator: '101', externalNumber: '+1', startedAt: T0 }, 1000, 11_000);
          await log('b', { direction: 'inbound', toOperator: '101', externalNumber: '+2', startedAt: T0 + 100 }, null, 30_000);
          await log('c', { direction: 'internal', fromOperator: '102', toOperator: '101', startedAt: T0 + 200 }, 500, 5500);
          await log('d', { direction: 'internal', fromOperator: '101', toOperator: '103', startedAt: T0 + 300 }, null, 2000);
          await store.calls.start({ id: 'live', direction: 'inbound', toOperator: '101', externalNumber: '+3', startedAt: T0 + 400 });
          assert.deepEqual(await store.calls.countsForOperator('101'), { placed: 2, received: 3, answered: 2, missed: 1, talkMs: 15_000 });
          assert.deepEqual(await store.calls.countsForOperator('101', { since: T0 + 100, until: T0 + 300 }), {
            placed: 0,
            received: 2,
            answered: 1,
            missed: 1,
            talkMs: 5000,
          });
          assert.deepEqual(await store.calls.countsForOperator('103'), { placed: 0, received: 1, answered: 0, missed: 1, talkMs: 0 });
          assert.deepEqual(await store.calls.countsForOperator('nobody'), { placed: 0, received: 0, answered: 0, missed: 0, talkMs: 0 });
        }));
    });

    describe('lifecycle', () => {
      it('reports the schema version and closes twice without complaint', () =>
        withStore(async (store) => {
          assert.equal(store.schemaVersion, SCHEMA_VERSION);
          await store.close();
          await store.close();
        }));

      (target.sharedDatabase ? it : itNever)('reopens a database without migrating it again, keeping its data', async () => {
        const fixture = await target.fresh();
        try {
          const first = await openStore(fixture.options);
          await seedDemoOperators(first, SEED);
          await first.calls.start({ id: 'c1', direction: 'outbound', fromOperator: '101', externalNumber: '+1' });
          await first.close();
          for (let i = 0; i < 2; i++) {
            const again = await openStore(fixture.options);
            assert.equal((await again.operators.list()).length, 3);
            assert.equal((await again.calls.get('c1'))?.state, 'ringing');
            await again.close();
          }
          const { db } = openDatabase(fixture.options);
          try {
            const rows = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(db);
            assert.equal(rows.rows.length, SCHEMA_VERSION);
          } finally {
            await db.destroy();
          }
        } finally {
          await fixture.dispose();
        }
      });

      (target.sharedDatabase ? it : itNever)('refuses a database migrated by newer code, saying so', async () => {
        const fixture = await target.fresh();
        try {
          const store = await openStore(fixture.options);
          await seedDemoOperators(store, SEED);
          await store.close();
          const { db } = openDatabase(fixture.options);
          try {
            await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values (${'9999_from_the_future'}, ${new Date(T0).toISOString()})`.execute(db);
          } finally {
            await db.destroy();
          }
          await rejectsWith(openStore(fixture.options), 'schema-too-new', /schema version 9999.*9999_from_the_future.*newer.*upgrade/is);
        } finally {
          await fixture.dispose();
        }
      });

      (target.sharedDatabase ? it : itNever)('lets two connections open a fresh database at once and write side by side', async () => {
        const fixture = await target.fresh();
        try {
          const [a, b] = await Promise.all([openStore(fixture.options), openStore(fixture.options)]);
          try {
            await seedDemoOperators(a, SEED);
            const writes: Promise<unknown>[] = [];
            for (let i = 0; i < 40; i++) {
              writes.push(a.calls.start({ id: `a-${i}`, direction: 'outbound', fromOperator: '101', externalNumber: `+1${i}` }));
              writes.push(b.calls.start({ id: `b-${i}`, direction: 'inbound', toOperator: '101', externalNumber: `+2${i}` }));
              writes.push(b.operators.upsert({ id: `op-${i}`, displayName: `Op ${i}`, extension: `5${i}` }));
              // Both writers change the same row; the last one wins and neither fails.
              writes.push((i % 2 === 0 ? a : b).operators.upsert({ id: '103', displayName: `Name ${i}`, extension: '103' }));
            }
            await Promise.all(writes);
            const [counts, page] = await Promise.all([b.calls.countsForOperator('101'), a.calls.listByOperator('101', { limit: 500 })]);
            assert.deepEqual([counts.placed, counts.received], [40, 40]);
            assert.equal(page.calls.length, 80);
            assert.equal((await a.operators.list()).length, 43);
            assert.equal((await b.operators.get('103'))?.displayName, 'Name 39');
            await Promise.all([a.calls.end('a-0', { cause: 'normal' }), b.calls.end('b-0', { cause: 'cancelled' })]);
            await rejectsWith(b.calls.end('a-0', { cause: 'normal' }), 'invalid-state');
          } finally {
            await Promise.all([a.close(), b.close()]);
          }
        } finally {
          await fixture.dispose();
        }
      });
    });
  });
}
