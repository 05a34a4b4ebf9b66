/**
 * Errors the store throws. Callers branch on `code` (messages are for people and may change); the REST layer maps
 * `invalid-argument` to 400, `not-found` to 404 and `conflict`/`invalid-state` to 409.
 */
export type StoreErrorCode =
  | 'invalid-argument'
  | 'not-found'
  | 'conflict'
  | 'invalid-state'
  | 'schema-too-new'
  | 'migration-failed'
  | 'closed';

export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.code = code;
  }
}

export type ConstraintKind = 'unique' | 'foreign-key' | 'check';

/**
 * Which integrity constraint a driver error reports, if any. Queries stay dialect-neutral, but drivers report
 * violations in their own words: better-sqlite3 by extended result code, node-postgres by SQLSTATE.
 */
export function constraintViolation(error: unknown): ConstraintKind | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
    case '23505':
      return 'unique';
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
    case '23503':
      return 'foreign-key';
    case 'SQLITE_CONSTRAINT_CHECK':
    case '23514':
      return 'check';
    default:
      return undefined;
  }
}
