/**
 * The database as Kysely sees it. Column types are chosen to mean the same on SQLite and PostgreSQL:
 * timestamps are epoch milliseconds in `bigint` columns (INTEGER affinity on SQLite), and flags are 0/1 integers
 * because better-sqlite3 cannot bind booleans. PostgreSQL drivers return `bigint` and aggregates as strings, so
 * rows pass through `Number()` before they leave the store.
 */
import type { CallEndCause } from '@switchboard/protocol';
import type { ColumnType } from 'kysely';

/** Who placed the call, seen from the gateway: `internal` is operator to operator, with no external party. */
export const CALL_DIRECTIONS = ['inbound', 'outbound', 'internal'] as const;
export type CallDirection = (typeof CALL_DIRECTIONS)[number];

/** The protocol's live states plus `ended`, which only the log knows. */
export const CALL_LOG_STATES = ['ringing', 'early', 'active', 'ended'] as const;
export type CallLogState = (typeof CALL_LOG_STATES)[number];

type EpochMs = ColumnType<number, number, number>;

export interface OperatorsTable {
  /** The CRM's operator id, verbatim ('101', a UUID, ...). */
  id: string;
  display_name: string;
  /** Digits other operators dial; unique. */
  extension: string;
  /** 1 or 0. */
  enabled: number;
  created_at: EpochMs;
  updated_at: EpochMs;
}

export interface CallsTable {
  id: string;
  direction: CallDirection;
  from_operator: string | null;
  to_operator: string | null;
  /** The far end of an inbound or outbound call, as the SIP side gave it ('anonymous' when withheld). */
  external_number: string | null;
  state: CallLogState;
  cause: CallEndCause | null;
  /** The final SIP status that ended the call, when SIP decided it. */
  sip_status: number | null;
  /** The CRM's opaque reference from `call.start`. */
  context: string | null;
  started_at: EpochMs;
  answered_at: EpochMs | null;
  ended_at: EpochMs | null;
  /** Talk time (ended − answered); null until the call ends, and for calls never answered. */
  duration_ms: number | null;
}

export interface Database {
  operators: OperatorsTable;
  calls: CallsTable;
}
