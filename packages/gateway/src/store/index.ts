export { openStore, openDatabase, DEFAULT_BUSY_TIMEOUT_MS, type Store, type StoreOptions, type SqliteStoreOptions } from './store.js';
export { StoreError, type StoreErrorCode } from './errors.js';
export { SCHEMA_VERSION, MIGRATION_TABLE, MIGRATION_LOCK_TABLE } from './migrations.js';
export { CALL_DIRECTIONS, CALL_LOG_STATES, type CallDirection, type CallLogState, type Database } from './schema.js';
export type { Operator, OperatorInput, OperatorRepository } from './operators.js';
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type CallEndInput,
  type CallPage,
  type CallRecord,
  type CallRepository,
  type CallStartInput,
  type OperatorCallCounts,
} from './calls.js';
export { seedDemoOperators, type SeedOperator } from './seed.js';
