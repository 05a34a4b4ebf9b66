/**
 * The operator directory: who may log in and which extension reaches them. The CRM owns operators; the gateway
 * keeps this copy so it can route calls between operators and log them without asking the CRM on every call.
 */
import type { Kysely, Selectable } from 'kysely';
import { StoreError, constraintViolation } from './errors.js';
import type { Database, OperatorsTable } from './schema.js';
import { checkExtension, checkOperatorId, checkText } from './validation.js';

export interface Operator {
  id: string;
  displayName: string;
  extension: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface OperatorInput {
  id: string;
  displayName: string;
  extension: string;
  /** New operators are enabled unless told otherwise; an update leaves the flag alone unless given. */
  enabled?: boolean;
}

export interface OperatorRepository {
  /** Creates the operator or replaces its name and extension. Throws `conflict` when another operator has the extension. */
  upsert(input: OperatorInput): Promise<Operator>;
  get(id: string): Promise<Operator | undefined>;
  getByExtension(extension: string): Promise<Operator | undefined>;
  /** Ordered by id. */
  list(filter?: { enabled?: boolean }): Promise<Operator[]>;
  /** Throws `not-found` for an unknown operator. */
  setEnabled(id: string, enabled: boolean): Promise<Operator>;
}

export function toOperator(row: Selectable<OperatorsTable>): Operator {
  return {
    id: row.id,
    displayName: row.display_name,
    extension: row.extension,
    enabled: Number(row.enabled) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function operatorRepository(db: Kysely<Database>, now: () => number): OperatorRepository {
  async function byExtension(extension: string): Promise<Operator | undefined> {
    const row = await db.selectFrom('operators').selectAll().where('extension', '=', extension).executeTakeFirst();
    return row === undefined ? undefined : toOperator(row);
  }

  return {
    async upsert(input) {
      if (typeof input !== 'object' || input === null) throw new StoreError('invalid-argument', 'operator must be an object');
      const id = checkOperatorId(input.id);
      const displayName = checkText('display name', input.displayName);
      const extension = checkExtension(input.extension);
      if (input.enabled !== undefined && typeof input.enabled !== 'boolean') {
        throw new StoreError('invalid-argument', `enabled must be a boolean, got ${typeof input.enabled}`);
      }
      const at = now();
      try {
        const row = await db
          .insertInto('operators')
          .values({
            id,
            display_name: displayName,
            extension,
            enabled: input.enabled === false ? 0 : 1,
            created_at: at,
            updated_at: at,
          })
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              display_name: eb.ref('excluded.display_name'),
              extension: eb.ref('excluded.extension'),
              updated_at: eb.ref('excluded.updated_at'),
              ...(input.enabled === undefined ? {} : { enabled: eb.ref('excluded.enabled') }),
            })),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        return toOperator(row);
      } catch (error) {
        if (constraintViolation(error) !== 'unique') throw error;
        // The id conflict is the upsert's own; a unique violation left over can only be the extension.
        const holder = await byExtension(extension);
        throw new StoreError(
          'conflict',
          `extension ${extension} already belongs to operator ${holder === undefined ? '(unknown)' : JSON.stringify(holder.id)}`,
          { cause: error },
        );
      }
    },

    async get(id) {
      const key = checkOperatorId(id);
      const row = await db.selectFrom('operators').selectAll().where('id', '=', key).executeTakeFirst();
      return row === undefined ? undefined : toOperator(row);
    },

    async getByExtension(extension) {
      return byExtension(checkExtension(extension));
    },

    async list(filter = {}) {
      let query = db.selectFrom('operators').selectAll().orderBy('id');
      if (filter.enabled !== undefined) query = query.where('enabled', '=', filter.enabled ? 1 : 0);
      return (await query.execute()).map(toOperator);
    },

    async setEnabled(id, enabled) {
      const key = checkOperatorId(id);
      if (typeof enabled !== 'boolean') throw new StoreError('invalid-argument', `enabled must be a boolean, got ${typeof enabled}`);
      const row = await db
        .updateTable('operators')
        .set({ enabled: enabled ? 1 : 0, updated_at: now() })
        .where('id', '=', key)
        .returningAll()
        .executeTakeFirst();
      if (row === undefined) throw new StoreError('not-found', `operator ${JSON.stringify(key)} does not exist`);
      return toOperator(row);
    },
  };
}
