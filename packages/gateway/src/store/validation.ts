/**
 * Checks on what callers hand the store, so a bad value fails with a sentence naming the field instead of a
 * constraint error from the database (or, worse, a row the rest of the system cannot read back). Limits match the
 * browser protocol's, because these values travel there.
 */
import { CALL_END_CAUSES, MAX_CONTEXT_LENGTH, MAX_ID_LENGTH, MAX_NAME_LENGTH, type CallEndCause } from '@switchboard/protocol';
import { StoreError } from './errors.js';

const VISIBLE_ASCII = /^[\u0021-\u007E]+$/;
const EXTENSION = /^[0-9]{1,15}$/;

/** Whether a dialled string could be an operator's extension at all. */
export function isExtension(value: string): boolean {
  return EXTENSION.test(value);
}
// Control characters and bidirectional overrides would let a name or number disguise itself on an operator's screen.
const UNDISPLAYABLE = /[\u0000-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

function invalid(message: string): StoreError {
  return new StoreError('invalid-argument', message);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return value === null ? 'null' : typeof value;
}

export function checkId(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH || !VISIBLE_ASCII.test(value)) {
    throw invalid(`${field} must be 1 to ${MAX_ID_LENGTH} visible ASCII characters (no spaces), got ${describe(value)}`);
  }
  return value;
}

export function checkOperatorId(value: unknown): string {
  return checkId('operator id', value);
}

export function checkExtension(value: unknown): string {
  if (typeof value !== 'string' || !EXTENSION.test(value)) {
    throw invalid(`extension must be 1 to 15 digits, got ${describe(value)}`);
  }
  return value;
}

/** Display text: trimmed, non-empty, displayable. */
export function checkText(field: string, value: unknown, maxLength = MAX_NAME_LENGTH): string {
  if (typeof value !== 'string') throw invalid(`${field} must be a string, got ${describe(value)}`);
  const text = value.trim();
  if (text.length === 0 || text.length > maxLength) {
    throw invalid(`${field} must be 1 to ${maxLength} characters, got ${describe(value)}`);
  }
  if (UNDISPLAYABLE.test(text)) throw invalid(`${field} must not contain control or bidirectional characters`);
  return text;
}

export function checkContext(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_CONTEXT_LENGTH) {
    throw invalid(`context must be a string of at most ${MAX_CONTEXT_LENGTH} characters, got ${describe(value)}`);
  }
  return value;
}

export function checkEpochMs(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${field} must be a non-negative integer of epoch milliseconds, got ${String(value)}`);
  }
  return value;
}

export function checkSipStatus(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 100 || value > 699) {
    throw invalid(`sipStatus must be a SIP status code (100-699), got ${String(value)}`);
  }
  return value;
}

export function checkCause(value: unknown): CallEndCause {
  if (typeof value !== 'string' || !Object.hasOwn(CALL_END_CAUSES, value)) {
    throw invalid(`cause must be one of ${Object.keys(CALL_END_CAUSES).join(', ')}, got ${describe(value)}`);
  }
  return value as CallEndCause;
}

export function checkOneOf<T extends string>(field: string, allowed: readonly T[], value: unknown): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(`${field} must be one of ${allowed.join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

export function checkLimit(value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(`limit must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value;
}
