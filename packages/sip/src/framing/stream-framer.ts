/**
 * Cuts SIP messages out of a byte stream (TCP, TLS): RFC 3261 §18.3 framing by Content-Length, and RFC 5626
 * §4.4.1 CRLF keep-alives between messages. Platform-free: the Node transports feed it socket chunks.
 *
 * The items produced depend only on the bytes, never on how they were chunked, so a peer cannot change what we
 * see by choosing its segment boundaries. Anything that makes the stream impossible to frame (no usable
 * Content-Length, a limit exceeded) ends in an `error` item, after which the framer is closed: the connection
 * must be closed too, because the next message boundary is unknown. A message that frames but does not parse is
 * only an `invalid` item: the stream is still in step, and the request can be answered (400, 505, ...).
 */
import { SipFramingError, SipParseError } from '../errors.js';
import { headerKey } from '../message/header-names.js';
import { parseContentLength } from '../message/header-values.js';
import { DEFAULT_PARSE_LIMITS, parseMessage, type ParseLimits } from '../message/parse-message.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';

export interface FramerLimits extends ParseLimits {
  /** Start line and headers including the blank line, bytes. Larger: the stream is closed. */
  maxHeaderSize: number;
}

export const DEFAULT_FRAMER_LIMITS: Readonly<FramerLimits> = {
  ...DEFAULT_PARSE_LIMITS,
  maxHeaderSize: 32768,
};

export type FramedItem =
  /** A whole message; `raw` is its exact bytes (head and Content-Length bytes of body). */
  | { readonly type: 'message'; readonly message: SipRequest | SipResponse; readonly raw: Uint8Array }
  /** Framed correctly but did not parse; `raw` lets the caller build an error response. */
  | { readonly type: 'invalid'; readonly error: SipParseError; readonly raw: Uint8Array }
  /** A double CRLF between messages: the peer wants a single CRLF back. */
  | { readonly type: 'ping' }
  /** A single CRLF between messages: the answer to a ping we sent (or a stray CRLF, RFC 3261 §7.5). */
  | { readonly type: 'pong' }
  /** The stream cannot be framed any further; the framer is now closed. Always the last item. */
  | { readonly type: 'error'; readonly error: SipFramingError };

const CR = 13;
const LF = 10;
const INITIAL_CAPACITY = 4096;
// A buffer grown for one large chunk is dropped once empty, so idle connections stay small.
const RETAINED_CAPACITY = 65536;

const decoder = new TextDecoder();

type Phase = 'between' | 'head' | 'body';

export class StreamFramer {
  readonly limits: Readonly<FramerLimits>;
  private buf = new Uint8Array(INITIAL_CAPACITY);
  /** Unconsumed bytes are buf[start, end). */
  private start = 0;
  private end = 0;
  private phase: Phase = 'between';
  // The offsets below are relative to `start` (the first byte of the current message), so compaction moves
  // nothing but `start`.
  /** Where the search for the blank line resumes: bytes before it hold no header end. */
  private scanFrom = 0;
  /** Start of the header line being scanned. */
  private lineStart = 0;
  /** Offset of the body, once the head is complete. */
  private bodyStart = 0;
  private bodyLength = 0;
  private closedFlag = false;

  constructor(limits: Partial<FramerLimits> = {}) {
    this.limits = { ...DEFAULT_FRAMER_LIMITS, ...limits };
  }

  /** True after a framing error or `close()`: further input is ignored. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** Bytes held while waiting for the rest of a message (or for a keep-alive to be told apart). */
  get buffered(): number {
    return this.end - this.start;
  }

  /** True when the framer holds part of a message (not just keep-alive CRLFs). */
  get inMessage(): boolean {
    return this.phase !== 'between';
  }

  /**
   * Takes a lone CRLF held back at the end of the input (see `between`) as a pong. For a side that has sent a ping
   * and awaits the answer, which is one CRLF (RFC 5626 §4.4.1): waiting for the next byte to tell it from the first
   * half of a ping would wait for good. True when there was one.
   */
  takeHeldPong(): boolean {
    if (this.closedFlag || this.phase !== 'between' || this.end - this.start !== 2) return false;
    if (this.buf[this.start] !== CR || this.buf[this.start + 1] !== LF) return false;
    this.start = this.end = 0;
    return true;
  }

  /** True when all that is held is a CR between messages: perhaps the first half of a pong. */
  holdsLoneCr(): boolean {
    return !this.closedFlag && this.phase === 'between' && this.end - this.start === 1 && this.buf[this.start] === CR;
  }

  close(): void {
    this.closedFlag = true;
    this.buf = new Uint8Array(0);
    this.start = this.end = 0;
  }

  /** Adds bytes; returns the items they complete, in stream order. */
  push(chunk: Uint8Array): FramedItem[] {
    if (this.closedFlag || chunk.length === 0) return [];
    this.append(chunk);
    const items: FramedItem[] = [];
    for (;;) {
      const progressed = this.phase === 'between' ? this.between(items) : this.phase === 'head' ? this.head(items) : this.body(items);
      if (this.closedFlag || !progressed) break;
    }
    if (!this.closedFlag && this.start === this.end) {
      this.start = this.end = 0;
      if (this.buf.length > RETAINED_CAPACITY) this.buf = new Uint8Array(INITIAL_CAPACITY);
    }
    return items;
  }

  private append(chunk: Uint8Array): void {
    if (this.buf.length - this.end < chunk.length) {
      const held = this.end - this.start;
      const needed = held + chunk.length;
      if (needed <= this.buf.length) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const grown = new Uint8Array(Math.max(needed, this.buf.length * 2));
        grown.set(this.buf.subarray(this.start, this.end), 0);
        this.buf = grown;
      }
      this.start = 0;
      this.end = held;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  private fail(items: FramedItem[], message: string, status: number): false {
    items.push({ type: 'error', error: new SipFramingError(message, status) });
    this.close();
    return false;
  }

  /**
   * Between messages, CRLF pairs are keep-alives. A lone CRLF is a pong only once the next byte shows it is not
   * the first half of a ping, so a CRLF at the very end of the input is held back.
   */
  private between(items: FramedItem[]): boolean {
    const b = this.buf;
    const s = this.start;
    const available = this.end - s;
    if (available === 0) return false;
    if (b[s] !== CR) return this.beginMessage();
    if (available < 2) return false;
    if (b[s + 1] !== LF) return this.beginMessage();
    if (available < 3) return false;
    if (b[s + 2] === CR) {
      if (available < 4) return false;
      if (b[s + 3] === LF) {
        items.push({ type: 'ping' });
        this.start += 4;
        return true;
      }
    }
    items.push({ type: 'pong' });
    this.start += 2;
    return true;
  }

  private beginMessage(): boolean {
    this.phase = 'head';
    this.scanFrom = 0;
    this.lineStart = 0;
    return true;
  }

  private head(items: FramedItem[]): boolean {
    const { maxHeaderSize, maxLineLength } = this.limits;
    const s = this.start;
    const view = this.buf.subarray(s, this.end);
    const available = view.length;
    // A line may carry its CRLF on top of maxLineLength characters.
    const maxLineBytes = maxLineLength + 2;
    let pos = this.scanFrom;
    while (pos < available) {
      const lf = view.indexOf(LF, pos);
      const stop = lf === -1 ? available : lf + 1;
      const isHeaderEnd = lf >= 3 && view[lf - 1] === CR && view[lf - 2] === LF && view[lf - 3] === CR;
      // Check limits in byte order, so that which one trips does not depend on how much was buffered.
      const lineOver = stop - this.lineStart > maxLineBytes ? this.lineStart + maxLineBytes : Infinity;
      const headOver = stop > maxHeaderSize ? maxHeaderSize : Infinity;
      if (headOver !== Infinity && headOver <= lineOver) {
        return this.fail(items, `header section larger than ${maxHeaderSize} bytes`, 513);
      }
      if (lineOver !== Infinity) return this.fail(items, `header line longer than ${maxLineLength} characters`, 400);
      if (lf === -1) break;
      pos = stop;
      this.lineStart = stop;
      if (isHeaderEnd) return this.headComplete(items, view.subarray(0, lf - 3), stop);
    }
    this.scanFrom = available;
    return false;
  }

  private headComplete(items: FramedItem[], head: Uint8Array, bodyStart: number): boolean {
    const { maxBodySize, maxMessageSize } = this.limits;
    const found = contentLengthOf(decoder.decode(head));
    if (typeof found === 'string') return this.fail(items, found, 400);
    if (found > maxBodySize) return this.fail(items, `body of ${found} bytes is larger than ${maxBodySize}`, 413);
    if (bodyStart + found > maxMessageSize) return this.fail(items, `message of ${bodyStart + found} bytes is larger than ${maxMessageSize}`, 513);
    this.bodyStart = bodyStart;
    this.bodyLength = found;
    this.phase = 'body';
    return true;
  }

  private body(items: FramedItem[]): boolean {
    const total = this.bodyStart + this.bodyLength;
    if (this.end - this.start < total) return false;
    const raw = this.buf.slice(this.start, this.start + total);
    this.start += total;
    this.phase = 'between';
    try {
      items.push({ type: 'message', message: parseMessage(raw, this.limits), raw });
    } catch (error) {
      const parseError = error instanceof SipParseError ? error : new SipParseError('cannot parse the message', 400, undefined, error);
      items.push({ type: 'invalid', error: parseError, raw });
    }
    return true;
  }
}

/**
 * The one Content-Length of a head (text before the blank line), found the way `parseHead` splits and unfolds
 * lines so both agree on which header it is; a string describes why there is no usable one. The rest of the head
 * may be malformed: that is for the parser to report once the message is cut out.
 */
export function contentLengthOf(head: string): number | string {
  let value: string | undefined;
  let pos = head.indexOf('\r\n');
  if (pos === -1) return 'no Content-Length header (mandatory over stream transports)';
  pos += 2;
  const n = head.length;
  while (pos < n) {
    let end = head.indexOf('\r\n', pos);
    if (end === -1) end = n;
    let line = head.slice(pos, end);
    while (end < n) {
      const next = head.charCodeAt(end + 2);
      if (next !== 32 && next !== 9) break;
      let contEnd = head.indexOf('\r\n', end + 2);
      if (contEnd === -1) contEnd = n;
      line += ' ' + head.slice(end + 2, contEnd);
      end = contEnd;
    }
    pos = end + 2;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    let nameEnd = colon;
    while (nameEnd > 0 && (line.charCodeAt(nameEnd - 1) === 32 || line.charCodeAt(nameEnd - 1) === 9)) nameEnd--;
    if (nameEnd > 14 || headerKey(line.slice(0, nameEnd)) !== 'content-length') continue;
    if (value !== undefined) return 'more than one Content-Length header';
    value = trimWs(line.slice(colon + 1));
  }
  if (value === undefined) return 'no Content-Length header (mandatory over stream transports)';
  try {
    return parseContentLength(value);
  } catch {
    return `invalid Content-Length ${JSON.stringify(value.slice(0, 40))}`;
  }
}

/** Trims SP and HT only, as the parser does: other white space is not SIP's LWS. */
function trimWs(text: string): string {
  let from = 0;
  let to = text.length;
  while (from < to && (text.charCodeAt(from) === 32 || text.charCodeAt(from) === 9)) from++;
  while (to > from && (text.charCodeAt(to - 1) === 32 || text.charCodeAt(to - 1) === 9)) to--;
  return text.slice(from, to);
}
