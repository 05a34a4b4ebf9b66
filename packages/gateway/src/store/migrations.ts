/**
 * Schema migrations, listed in code rather than read from a directory so they survive bundling. A migration is
 * never edited once released: change the schema by appending one. Names sort in the order they run, and the
 * number in front of the name is the schema version the database has once it has run.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { StoreError } from './errors.js';

/** Our own table names, so a PostgreSQL database shared with a CRM that also uses Kysely keeps the two apart. */
export const MIGRATION_TABLE = 'switchboard_migration';
export const MIGRATION_LOCK_TABLE = 'switchboard_migration_lock';

// Migrations take Kysely<any>: they describe the schema as it was then, not the `Database` type of today.
const m0001_initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('operators')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('display_name', 'varchar(128)', (c) => c.notNull())
      .addColumn('extension', 'varchar(15)', (c) => c.notNull().unique())
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addCheckConstraint('operators_enabled_flag', sql`enabled in (0, 1)`)
      .execute();

    await db.schema
      .createTable('calls')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('direction', 'varchar(16)', (c) => c.notNull())
      .addColumn('from_operator', 'varchar(64)', (c) => c.references('operators.id'))
      .addColumn('to_operator', 'varchar(64)', (c) => c.references('operators.id'))
      .addColumn('external_number', 'varchar(128)')
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('cause', 'varchar(32)')
      .addColumn('sip_status', 'integer')
      .addColumn('context', 'varchar(512)')
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('answered_at', 'bigint')
      .addColumn('ended_at', 'bigint')
      .addColumn('duration_ms', 'bigint')
      .addCheckConstraint('calls_direction', sql`direction in ('inbound', 'outbound', 'internal')`)
      .addCheckConstraint('calls_state', sql`state in ('ringing', 'early', 'active', 'ended')`)
      .execute();

    // An operator's call history is read newest first from both ends of the call.
    await db.schema.createIndex('calls_from_operator_started').on('calls').columns(['from_operator', 'started_at', 'id']).execute();
    await db.schema.createIndex('calls_to_operator_started').on('calls').columns(['to_operator', 'started_at', 'id']).execute();
    await db.schema.createIndex('calls_started').on('calls').columns(['started_at', 'id']).execute();
  },
};

export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_initial': m0001_initial,
});

const KNOWN = Object.keys(MIGRATIONS).sort();

/** The schema version this code writes: the number of its newest migration. */
export const SCHEMA_VERSION = versionOf(KNOWN[KNOWN.length - 1] ?? '0');

function versionOf(name: string): number {
  const n = Number.parseInt(name, 10);
  return Number.isFinite(n) ? n : 0;
}

export const staticMigrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};

function migrator(db: Kysely<any>): Migrator {
  return new Migrator({
    db,
    provider: staticMigrationProvider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
}

/** Names of the migrations the database has run, in order; empty for a database never migrated. */
export async function executedMigrations(db: Kysely<any>): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === MIGRATION_TABLE)) return [];
  const rows = await db.selectFrom(MIGRATION_TABLE).select('name').orderBy('name').execute();
  return rows.map((r: { name: string }) => r.name);
}

/**
 * Refuses a database a newer gateway has migrated: this code cannot know what the newer schema means, and
 * writing through an older understanding of it would corrupt data silently. Kysely would also stop, but with
 * "corrupted migrations", which sends people looking for the wrong problem.
 */
export function assertNotNewer(executed: readonly string[], where: string): void {
  const unknown = executed.filter((name) => !KNOWN.includes(name));
  if (unknown.length === 0) return;
  const theirs = Math.max(...executed.map(versionOf));
  throw new StoreError(
    'schema-too-new',
    `The database ${where} has schema version ${theirs} (migrations ${unknown.join(', ')}), newer than this gateway ` +
      `understands (schema version ${SCHEMA_VERSION}). It was written by a newer Switchboard gateway: upgrade this ` +
      'gateway, or point it at another database.',
  );
}

export interface MigrationPlan {
  /** Migrations this code has and the database has not run yet. */
  pending: string[];
}

/** Checks the database against this code, without changing it. */
export async function planMigrations(db: Kysely<any>, where: string): Promise<MigrationPlan> {
  const executed = await executedMigrations(db);
  assertNotNewer(executed, where);
  return { pending: KNOWN.filter((name) => !executed.includes(name)) };
}

/** Brings the database to `SCHEMA_VERSION`. Callers serialise concurrent runs (see the dialect's `open`). */
export async function migrateToLatest(db: Kysely<any>, where: string): Promise<void> {
  await planMigrations(db, where);
  const { error, results } = await migrator(db).migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  throw new StoreError(
    'migration-failed',
    `Could not migrate the database ${where}${failed === undefined ? '' : ` (migration ${failed})`}: ${errorText(error)}`,
    { cause: error },
  );
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
