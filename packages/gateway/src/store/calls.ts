/**
 * The call log: one row per call, written as the call progresses so a gateway that stops mid-call still leaves a
 * record. Every write is a single statement: two gateways (or two connections in one process) can write the same
 * SQLite file without holding a lock across an `await`, which would stall the other writer until its busy timeout.
 *
 *   start ──► ringing ──► early ──► active ──► ended
 *                │           └──────────────────▲
 *                └──────────────────────────────┘   (end is allowed from any live state)
 */
import { randomUUID } from 'node:crypto';
import type { CallEndCause } from '@switchboard/protocol';
import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import { StoreError, constraintViolation } from './errors.js';
import { CALL_DIRECTIONS, type CallDirection, type CallLogState, type CallsTable, type Database } from './schema.js';
import {
  checkCause,
  checkContext,
  checkEpochMs,
  checkId,
  checkLimit,
  checkOneOf,
  checkOperatorId,
  checkSipStatus,
  checkText,
} from './validation.js';

export interface CallRecord {
  id: string;
  direction: CallDirection;
  fromOperator: string | null;
  toOperator: string | null;
  externalNumber: string | null;
  state: CallLogState;
  cause: CallEndCause | null;
  sipStatus: number | null;
  context: string | null;
  startedAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  /** Talk time; null until the call ends and for calls never answered. */
  durationMs: number | null;
}

/**
 * `outbound`: `fromOperator` calls `externalNumber`. `inbound`: `externalNumber` calls `toOperator`.
 * `internal`: `fromOperator` calls `toOperator`.
 */
export interface CallStartInput {
  /** Generated when absent. */
  id?: string;
  direction: CallDirection;
  fromOperator?: string | null;
  toOperator?: string | null;
  externalNumber?: string | null;
  context?: string | null;
  startedAt?: number;
}

export interface CallEndInput {
  cause: CallEndCause;
  sipStatus?: number | null;
  endedAt?: number;
}

export interface CallPage {
  calls: CallRecord[];
  /** Pass back as `cursor` for the next (older) page; undefined on the last page. */
  nextCursor: string | undefined;
}

export interface OperatorCallCounts {
  /** Calls the operator placed (outbound and internal). */
  placed: number;
  /** Calls that rang the operator (inbound and internal). */
  received: number;
  /** Of either, those answered. */
  answered: number;
  /** Received, ended, never answered. */
  missed: number;
  /** Sum of talk time over ended calls. */
  talkMs: number;
}

export interface CallRepository {
  /** Logs a new call as `ringing`. Throws `conflict` for a used id, `not-found` for an unknown operator. */
  start(input: CallStartInput): Promise<CallRecord>;
  /** Moves a live call forward (`early`, `active`); `active` stamps `answeredAt` once. Throws `invalid-state` for a call already ended or a step backwards. */
  setState(id: string, state: 'ringing' | 'early' | 'active', at?: number): Promise<CallRecord>;
  /** Ends a live call and computes its talk time. Throws `invalid-state` when it has already ended. */
  end(id: string, input: CallEndInput): Promise<CallRecord>;
  get(id: string): Promise<CallRecord | undefined>;
  /** The operator's calls, either end, newest first. */
  listByOperator(operatorId: string, options?: { limit?: number; cursor?: string }): Promise<CallPage>;
  /** Counts over calls started in [since, until). */
  countsForOperator(operatorId: string, range?: { since?: number; until?: number }): Promise<OperatorCallCounts>;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** States a call may move to each live state from; staying put is allowed so repeated events are harmless. */
const PREDECESSORS: Record<'ringing' | 'early' | 'active', CallLogState[]> = {
  ringing: ['ringing'],
  early: ['ringing', 'early'],
  active: ['ringing', 'early', 'active'],
};

function toCall(row: Selectable<CallsTable>): CallRecord {
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: row.id,
    direction: row.direction,
    fromOperator: row.from_operator,
    toOperator: row.to_operator,
    externalNumber: row.external_number,
    state: row.state,
    cause: row.cause,
    sipStatus: num(row.sip_status),
    context: row.context,
    startedAt: Number(row.started_at),
    answeredAt: num(row.answered_at),
    endedAt: num(row.ended_at),
    durationMs: num(row.duration_ms),
  };
}

function invalid(message: string): StoreError {
  return new StoreError('invalid-argument', message);
}

function parties(input: CallStartInput): Pick<CallsTable, 'from_operator' | 'to_operator' | 'external_number'> {
  const direction = checkOneOf('direction', CALL_DIRECTIONS, input.direction);
  const from = input.fromOperator ?? null;
  const to = input.toOperator ?? null;
  const external = input.externalNumber ?? null;
  const need = (field: string, value: unknown, present: boolean) => {
    if (present && value === null) throw invalid(`an ${direction} call needs ${field}`);
    if (!present && value !== null) throw invalid(`an ${direction} call has no ${field}`);
  };
  need('fromOperator', from, direction !== 'inbound');
  need('toOperator', to, direction !== 'outbound');
  need('externalNumber', external, direction !== 'internal');
  const row = {
    from_operator: from === null ? null : checkOperatorId(from),
    to_operator: to === null ? null : checkOperatorId(to),
    external_number: external === null ? null : checkText('externalNumber', external),
  };
  if (row.from_operator !== null && row.from_operator === row.to_operator) {
    throw invalid(`operator ${JSON.stringify(row.from_operator)} cannot call itself`);
  }
  return row;
}

const CURSOR = /^(\d{1,16}):(.+)$/s;

function encodeCursor(call: CallRecord): string {
  return Buffer.from(`${call.startedAt}:${call.id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: unknown): { startedAt: number; id: string } {
  const match = typeof cursor === 'string' ? CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8')) : null;
  if (match === null) throw invalid('cursor is not one this store handed out');
  return { startedAt: Number(match[1]), id: match[2] as string };
}

export function callRepository(db: Kysely<Database>, now: () => number): CallRepository {
  async function get(id: string): Promise<CallRecord | undefined> {
    const row = await db.selectFrom('calls').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toCall(row);
  }

  /** Explains why a guarded single-statement update touched no row. */
  async function refusal(id: string, action: string): Promise<StoreError> {
    const call = await get(id);
    if (call === undefined) return new StoreError('not-found', `call ${JSON.stringify(id)} does not exist`);
    return new StoreError('invalid-state', `cannot ${action} call ${JSON.stringify(id)}: it is ${call.state}`);
  }

  const involving = (operatorId: string) => (eb: ExpressionBuilder<Database, 'calls'>) =>
    eb.or([eb('from_operator', '=', operatorId), eb('to_operator', '=', operatorId)]);

  return {
    async start(input) {
      if (typeof input !== 'object' || input === null) throw invalid('call must be an object');
      const id = input.id === undefined ? randomUUID() : checkId('call id', input.id);
      const row = {
        id,
        direction: input.direction,
        ...parties(input),
        state: 'ringing' as const,
        context: input.context === undefined || input.context === null ? null : checkContext(input.context),
        started_at: input.startedAt === undefined ? now() : checkEpochMs('startedAt', input.startedAt),
      };
      try {
        const inserted = await db.insertInto('calls').values(row).returningAll().executeTakeFirstOrThrow();
        return toCall(inserted);
      } catch (error) {
        const kind = constraintViolation(error);
        if (kind === 'unique') throw new StoreError('conflict', `call ${JSON.stringify(id)} is already logged`, { cause: error });
        if (kind === 'foreign-key') {
          const who = [row.from_operator, row.to_operator].filter((o) => o !== null).map((o) => JSON.stringify(o));
          throw new StoreError('not-found', `operator ${who.join(' or ')} does not exist`, { cause: error });
        }
        throw error;
      }
    },

    async setState(id, state, at) {
      const key = checkId('call id', id);
      const target = checkOneOf('state', ['ringing', 'early', 'active'] as const, state);
      const when = at === undefined ? now() : checkEpochMs('at', at);
      const row = await db
        .updateTable('calls')
        .set((eb) => ({
          state: target,
          ...(target === 'active' ? { answered_at: eb.fn.coalesce('answered_at', eb.val(when)) } : {}),
        }))
        .where('id', '=', key)
        .where('state', 'in', PREDECESSORS[target])
        .returningAll()
        .executeTakeFirst();
      if (row === undefined) throw await refusal(key, `move to ${target}`);
      return toCall(row);
    },

    async end(id, input) {
      const key = checkId('call id', id);
      if (typeof input !== 'object' || input === null) throw invalid('end needs { cause }');
      const cause = checkCause(input.cause);
      const sipStatus = input.sipStatus === undefined || input.sipStatus === null ? null : checkSipStatus(input.sipStatus);
      const when = input.endedAt === undefined ? now() : checkEpochMs('endedAt', input.endedAt);
      const row = await db
        .updateTable('calls')
        .set((eb) => ({
          state: 'ended',
          cause,
          sip_status: sipStatus,
          ended_at: when,
          // Null minus anything is null in every SQL dialect, which is what an unanswered call's talk time is.
          duration_ms: eb(eb.val(when), '-', eb.ref('answered_at')),
        }))
        .where('id', '=', key)
        .where('state', '!=', 'ended')
        .returningAll()
        .executeTakeFirst();
      if (row === undefined) throw await refusal(key, 'end');
      return toCall(row);
    },

    async get(id) {
      return get(checkId('call id', id));
    },

    async listByOperator(operatorId, options = {}) {
      const op = checkOperatorId(operatorId);
      const limit = checkLimit(options.limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      let query = db.selectFrom('calls').selectAll().where(involving(op));
      if (options.cursor !== undefined) {
        // Keyset paging: pages stay stable while new calls arrive, which offsets would not.
        const after = decodeCursor(options.cursor);
        query = query.where((eb) =>
          eb.or([
            eb('started_at', '<', after.startedAt),
            eb.and([eb('started_at', '=', after.startedAt), eb('id', '<', after.id)]),
          ]),
        );
      }
      const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
      const calls = rows.slice(0, limit).map(toCall);
      const last = calls[calls.length - 1];
      return { calls, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last) : undefined };
    },

    async countsForOperator(operatorId, range = {}) {
      const op = checkOperatorId(operatorId);
      let query = db.selectFrom('calls').where(involving(op));
      if (range.since !== undefined) query = query.where('started_at', '>=', checkEpochMs('since', range.since));
      if (range.until !== undefined) query = query.where('started_at', '<', checkEpochMs('until', range.until));
      // Literals, not parameters, inside the sums: PostgreSQL cannot type `sum($1)`.
      const row = await query
        .select((eb) => {
          const count = (condition: ReturnType<typeof eb.and>) =>
            eb.fn.sum<number | string | null>(eb.case().when(condition).then(eb.lit(1)).else(eb.lit(0)).end());
          return [
            count(eb.and([eb('from_operator', '=', op)])).as('placed'),
            count(eb.and([eb('to_operator', '=', op)])).as('received'),
            count(eb.and([eb('answered_at', 'is not', null)])).as('answered'),
            count(eb.and([eb('to_operator', '=', op), eb('state', '=', 'ended'), eb('answered_at', 'is', null)])).as('missed'),
            eb.fn.sum<number | string | null>('duration_ms').as('talkMs'),
          ];
        })
        .executeTakeFirstOrThrow();
      const n = (v: number | string | null) => (v === null ? 0 : Number(v));
      return {
        placed: n(row.placed),
        received: n(row.received),
        answered: n(row.answered),
        missed: n(row.missed),
        talkMs: n(row.talkMs),
      };
    },
  };
}
