/**
 * Text in, checked message out, and back. Parsing never throws: a gateway must answer any frame with an error
 * reply (or a close), and a client must survive a gateway newer or buggier than itself.
 */
import { replyError, type ReplyError } from './envelope.js';
import { MAX_FRAME_BYTES } from './limits.js';
import { utf8Exceeds } from './utf8.js';
import type { ClientMessage, ServerMessage } from './messages.js';
import {
  checkClientMessage,
  checkServerMessage,
  fail,
  type CheckServerOptions,
  type ParseFailure,
  type ParseResult,
} from './validate.js';

export interface ParseOptions {
  /** Largest frame accepted, in UTF-8 bytes; `MAX_FRAME_BYTES` unless set lower (or higher) by the deployment. */
  maxFrameBytes?: number;
}

function parseJson(text: unknown, maxFrameBytes: number): { ok: true; value: unknown } | { ok: false; error: ParseFailure } {
  if (typeof text !== 'string') return fail('bad-request', '', 'type', 'a frame must be text');
  if (utf8Exceeds(text, maxFrameBytes)) {
    return fail('too-large', '', 'too-large', `the frame is larger than ${maxFrameBytes} bytes`);
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return fail('bad-request', '', 'json', 'the frame is not valid JSON');
  }
}

function guarded<T>(run: () => ParseResult<T>): ParseResult<T> {
  try {
    return run();
  } catch {
    return fail('internal', '', 'internal', 'the message could not be checked');
  }
}

/** A frame from a browser, as the gateway receives it. */
export function parseClientMessage(text: string, options: ParseOptions = {}): ParseResult<ClientMessage> {
  return guarded(() => {
    const json = parseJson(text, options.maxFrameBytes ?? MAX_FRAME_BYTES);
    return json.ok ? checkClientMessage(json.value) : json;
  });
}

/** A frame from the gateway, as the client receives it. */
export function parseServerMessage(text: string, options: ParseOptions & CheckServerOptions = {}): ParseResult<ServerMessage> {
  return guarded(() => {
    const json = parseJson(text, options.maxFrameBytes ?? MAX_FRAME_BYTES);
    return json.ok ? checkServerMessage(json.value, options) : json;
  });
}

export function encodeClientMessage(message: ClientMessage): string {
  return JSON.stringify(message);
}

export function encodeServerMessage(message: ServerMessage): string {
  return JSON.stringify(message);
}

/** The reply a gateway sends for a frame it could not accept. */
export function replyToFailure(failure: ParseFailure): ReplyError {
  return replyError(failure.id ?? null, failure.code, failure.message, { path: failure.path, problem: failure.problem });
}
