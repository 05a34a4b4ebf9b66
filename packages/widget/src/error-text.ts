/**
 * What the status line says about a failed request: a sentence in the operator's language for the codes an operator
 * can meet, the code itself for the rest (rare, and still something to quote to support).
 */
import { ClientError } from '@switchboard/client';
import type { MessageKey, Translate } from './i18n/index.js';

const EXPLAINED = new Set<string>([
  'not-supported',
  'forbidden',
  'not-found',
  'invalid-target',
  'call-state',
  'rate-limited',
  'timeout',
  'not-connected',
  'connection-lost',
  'internal',
  'webrtc-failed',
]);

export function errorText(error: unknown, t: Translate): string {
  if (error instanceof ClientError) return EXPLAINED.has(error.code) ? t(`error.${error.code}` as MessageKey) : error.code;
  return error instanceof Error ? error.message : String(error);
}
