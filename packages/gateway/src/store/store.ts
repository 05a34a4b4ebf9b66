/**
 * Opening the store. One entry point for every backend: the repositories are written in dialect-neutral Kysely,
 * so a backend is only a connection, its session settings and how concurrent migrations are kept apart.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { callRepository, type CallRepository } from './calls.js';
import { StoreError } from './errors.js';
import { migrateToLatest, planMigrations, SCHEMA_VERSION } from './migrations.js';
import { operatorRepository, type OperatorRepository } from './operators.js';
import type { Database } from './schema.js';

export interface SqliteStoreOptions {
  kind: 'sqlite';
  /** A file path (its directory is created), or ':memory:' for a database that lives and dies with the store. */
  file: string;
  /** How long a write waits for another connection's lock before failing with SQLITE_BUSY. Default 5000. */
  busyTimeoutMs?: number;
  /** Clock for created/updated stamps and default call times; tests pass a fixed one. */
  now?: () => number;
}

export type StoreOptions = SqliteStoreOptions;

export interface Store {
  readonly kind: StoreOptions['kind'];
  /** The schema version of the database, which is this code's once open has migrated it. */
  readonly schemaVersion: number;
  readonly operators: OperatorRepository;
  readonly calls: CallRepository;
  /** Closes the connection; safe to call twice. */
  close(): Promise<void>;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

const MEMORY = ':memory:';

/** Opens (creating and migrating as needed) the database described by `options`. */
export async function openStore(options: StoreOptions): Promise<Store> {
  if (typeof options !== 'object' || options === null) throw new StoreError('invalid-argument', 'store options must be an object');
  switch (options.kind) {
    case 'sqlite':
      return openSqliteStore(options);
    default:
      throw new StoreError('invalid-argument', `unknown store kind ${JSON.stringify((options as { kind?: unknown }).kind)}`);
  }
}

/**
 * Opens a Kysely connection to the database without migrating it. For tools and tests that must look at a
 * database as it is; everything else uses `openStore`.
 */
export function openDatabase(options: StoreOptions): { db: Kysely<Database>; where: string } {
  const file = checkFile(options.file);
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new StoreError('invalid-argument', `busyTimeoutMs must be a non-negative integer, got ${String(busyTimeoutMs)}`);
  }
  const path = file === MEMORY ? MEMORY : resolve(file);
  if (path !== MEMORY) mkdirSync(dirname(path), { recursive: true });
  let sqlite: SqliteDatabase.Database;
  try {
    sqlite = new SqliteDatabase(path, { timeout: busyTimeoutMs });
  } catch (error) {
    throw new StoreError('invalid-argument', `cannot open SQLite database ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    // WAL lets readers proceed while one connection writes; NORMAL sync is durable across crashes of the process
    // under WAL and loses at most the last transactions on power loss, the usual trade for a call log.
    if (path !== MEMORY) sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);
    sqlite.pragma('foreign_keys = ON');
  } catch (error) {
    sqlite.close();
    throw new StoreError('invalid-argument', `cannot use SQLite database ${path}: ${(error as Error).message}`, { cause: error });
  }
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }), where: path };
}

function checkFile(file: unknown): string {
  if (typeof file !== 'string' || file.length === 0) {
    throw new StoreError('invalid-argument', `store file must be a path or ':memory:', got ${JSON.stringify(file)}`);
  }
  return file;
}

/**
 * Opens on one file in this process take turns: Kysely's SQLite migrator takes no lock of its own, and two opens
 * interleaving at their awaits would both try to create the tables.
 */
const opening = new Map<string, Promise<unknown>>();

async function serialised<T>(key: string, task: () => Promise<T>): Promise<T> {
  const before = opening.get(key) ?? Promise.resolve();
  const run = before.then(task, task);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  opening.set(key, settled);
  try {
    return await run;
  } finally {
    if (opening.get(key) === settled) opening.delete(key);
  }
}

async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const { db, where } = openDatabase(options);
  try {
    await serialised(where, async () => {
      const { pending } = await planMigrations(db, where);
      if (pending.length === 0) return;
      // Another process may be migrating the same file. BEGIN IMMEDIATE takes the write lock up front (waiting out
      // the busy timeout), and SQLite's DDL is transactional, so a failed migration leaves the schema as it was.
      // The SQLite driver has one connection and the store is not handed out yet, so these statements and the
      // migrator's all run inside this transaction.
      await sql`begin immediate`.execute(db);
      try {
        await migrateToLatest(db, where);
        await sql`commit`.execute(db);
      } catch (error) {
        await sql`rollback`.execute(db).catch(() => undefined);
        throw error;
      }
    });
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return assemble('sqlite', db, options.now ?? Date.now);
}

function assemble(kind: Store['kind'], db: Kysely<Database>, now: () => number): Store {
  let closed: Promise<void> | undefined;
  return {
    kind,
    schemaVersion: SCHEMA_VERSION,
    operators: operatorRepository(db, now),
    calls: callRepository(db, now),
    close() {
      closed ??= db.destroy();
      return closed;
    },
  };
}
