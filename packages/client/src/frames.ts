/**
 * Frames from the gateway, checked before anything reads them. The same verdicts as the protocol package's
 * `parseServerMessage`, from checkers generated out of the same schemas (see scripts/generate-checks.ts).
 */
import type { ServerMessage } from '@switchboard/protocol';
import { utf8Exceeds } from '@switchboard/protocol/utf8';
import {
  BYTE_LIMITS,
  EVENT_CHECKS,
  MAX_FRAME_BYTES,
  RESULT_CHECKS,
  checkReplyError,
  checkReplyOk,
} from './generated/server-checks.js';

export type FrameResult = { ok: true; message: ServerMessage } | { ok: false; problem: string };

function withinByteLimits(value: Record<string, unknown>): boolean {
  for (const key in BYTE_LIMITS) {
    const field = Object.prototype.hasOwnProperty.call(value, key) ? value[key] : undefined;
    if (typeof field === 'string' && utf8Exceeds(field, BYTE_LIMITS[key]!)) return false;
  }
  return true;
}

const fail = (problem: string): FrameResult => ({ ok: false, problem });

/**
 * `requestTypeOf` names the request still awaiting a reply under an id, so that a reply's result is checked
 * against what was asked; a reply to no pending request is checked as an envelope only.
 */
export function parseServerFrame(
  text: unknown,
  requestTypeOf: (id: string) => keyof typeof RESULT_CHECKS | undefined,
  maxFrameBytes = MAX_FRAME_BYTES,
): FrameResult {
  if (typeof text !== 'string') return fail('a frame must be text');
  if (utf8Exceeds(text, maxFrameBytes)) return fail(`a frame larger than ${maxFrameBytes} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('a frame that is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('a frame that is not an object');
  const frame = value as Record<string, unknown>;
  const type = frame.type;
  let valid: boolean;
  if (type !== undefined) {
    const check = typeof type === 'string' && Object.prototype.hasOwnProperty.call(EVENT_CHECKS, type)
      ? EVENT_CHECKS[type as keyof typeof EVENT_CHECKS]
      : undefined;
    if (!check) return fail(`an unknown event ${JSON.stringify(String(type).slice(0, 64))}`);
    valid = check(frame);
  } else if (frame.ok === true) {
    const pending = typeof frame.id === 'string' ? requestTypeOf(frame.id) : undefined;
    valid = checkReplyOk(frame) && (pending === undefined || RESULT_CHECKS[pending](frame.result));
  } else {
    valid = checkReplyError(frame);
  }
  if (!valid) return fail(type === undefined ? 'a malformed reply' : `a malformed ${String(type)} event`);
  return withinByteLimits(frame) ? { ok: true, message: frame as unknown as ServerMessage } : fail('an SDP over the byte limit');
}
