import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { StoreError } from './errors.js';
import { openDatabase, openStore } from './store.js';
import { storeConformance } from './test-support/store-conformance.js';

const root = mkdtempSync(join(tmpdir(), 'switchboard-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

storeConformance({
  name: 'SQLite file',
  sharedDatabase: true,
  async fresh() {
    const dir = join(root, `db-${++n}`);
    return {
      // A directory that does not exist yet: opening must create it.
      options: { kind: 'sqlite', file: join(dir, 'nested', 'switchboard.db') },
      shared: true,
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});

storeConformance({
  name: "SQLite ':memory:'",
  sharedDatabase: false,
  async fresh() {
    return { options: { kind: 'sqlite', file: ':memory:' }, shared: false, dispose: async () => {} };
  },
});

describe('SQLite store specifics', () => {
  it('creates the parent directory and sets WAL, busy timeout and foreign keys on every connection', async () => {
    const file = join(root, 'specifics', 'deep', 'gateway.db');
    const store = await openStore({ kind: 'sqlite', file, busyTimeoutMs: 1234 });
    await store.close();
    assert.ok(existsSync(file));
    const { db } = openDatabase({ kind: 'sqlite', file, busyTimeoutMs: 1234 });
    try {
      const pragma = async (name: string) => Object.values((await sql.raw(`pragma ${name}`).execute(db)).rows[0] as object)[0];
      assert.equal(String(await pragma('journal_mode')).toLowerCase(), 'wal');
      assert.equal(Number(await pragma('busy_timeout')), 1234);
      assert.equal(Number(await pragma('foreign_keys')), 1);
    } finally {
      await db.destroy();
    }
  });

  it('lets gateways in separate processes migrate and write one fresh file at once', async () => {
    const file = join(root, 'processes', 'shared.db');
    const storeModule = fileURLToPath(new URL('./store.js', import.meta.url)).replace(/\.js$/, '.ts');
    // Each process is its own event loop, so one waiting out a lock cannot stall the other, as in production.
    const script = (who: string) => `
      import { openStore } from ${JSON.stringify(storeModule)};
      const store = await openStore({ kind: 'sqlite', file: ${JSON.stringify(file)} });
      await store.operators.upsert({ id: ${JSON.stringify(who)}, displayName: 'P', extension: ${JSON.stringify(who)} });
      for (let i = 0; i < 25; i++) await store.calls.start({ direction: 'outbound', fromOperator: ${JSON.stringify(who)}, externalNumber: '+1' + i });
      await store.close();`;
    const cwd = fileURLToPath(new URL('.', import.meta.url));
    const run = (who: string) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(who)], { cwd });
    await Promise.all([run('201'), run('202'), run('203')]);
    const store = await openStore({ kind: 'sqlite', file });
    try {
      for (const who of ['201', '202', '203']) assert.equal((await store.calls.countsForOperator(who)).placed, 25);
    } finally {
      await store.close();
    }
  });

  it('rejects options it cannot use with a clear error', async () => {
    for (const options of [
      { kind: 'sqlite', file: '' },
      { kind: 'sqlite', file: ':memory:', busyTimeoutMs: -1 },
      { kind: 'mongodb', file: 'x' },
    ]) {
      await assert.rejects(openStore(options as never), (error: unknown) => error instanceof StoreError && error.code === 'invalid-argument');
    }
  });
});
