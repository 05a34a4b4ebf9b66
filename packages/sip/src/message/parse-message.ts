/**
 * Parsing SIP messages (RFC 3261 §7, §25) from a datagram's bytes or from text, fully: every header split into
 * name and value, known headers parsed into structured values. Anything that is not a SIP message throws
 * `SipParseError` carrying the status a UAS should answer with; nothing else is ever thrown.
 */
import { SipParseError } from '../errors.js';
import { headerInfo, type HeaderInfo } from './header-codecs.js';
import { hasControl, hasControlCharacter, isToken, splitList } from './header-values.js';
import { builtField, PARSED_START_LINE, ReceivedText, SipRequest, SipResponse, type HeaderField, type SipMessage } from './sip-message.js';
import { cutSipUri, parseUri, SIP_URI_FAST_SOURCE, sipUriFromMatch } from './uri.js';

export interface ParseLimits {
  /** Whole message, bytes. Larger: 513. */
  maxMessageSize: number;
  /** Body, bytes. Larger: 413. */
  maxBodySize: number;
  /** Header fields (after splitting lists). More: 400. */
  maxHeaderCount: number;
  /** One header line after unfolding, characters. Longer: 400. */
  maxLineLength: number;
}

export const DEFAULT_PARSE_LIMITS: Readonly<ParseLimits> = {
  maxMessageSize: 65535,
  maxBodySize: 65535,
  maxHeaderCount: 256,
  maxLineLength: 16384,
};

// Fatal: a header section that is not UTF-8 is refused rather than silently changed. A BOM is kept, and refused.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Parses one message. `data` is a whole datagram (or a message a framer has cut out of a stream):
 * with Content-Length the body is that many bytes and anything after it is discarded (RFC 4475 §3.1.1.8);
 * a Content-Length larger than what follows is an error (§3.1.2.2); without one the body is the rest.
 */
export function parseMessage(data: Uint8Array | string, limits?: Partial<ParseLimits>): SipRequest | SipResponse {
  const lim = limits === undefined ? DEFAULT_PARSE_LIMITS : { ...DEFAULT_PARSE_LIMITS, ...limits };
  // Sizes are bytes on the wire: text is measured by its UTF-8 length, which only long text needs counted.
  const size = typeof data === 'string' && data.length * 3 > lim.maxMessageSize ? utf8Length(data) : data.length;
  if (size > lim.maxMessageSize) throw overLimit('message larger than ', lim.maxMessageSize, ' bytes', 513);
  const message = typeof data === 'string' ? parseText(data, lim) : parseBytes(data, lim);
  // Written again, a message can grow (compact names expanded, a missing Content-Length added, lists one element a
  // line). A large one must still fit the limit as we would send it, so that what is accepted can be forwarded.
  if (size > lim.maxMessageSize / 2 && utf8Length(message.head()) + message.bodyLength > lim.maxMessageSize) {
    throw overLimit('message larger than ', lim.maxMessageSize, ' bytes once written in canonical form', 513);
  }
  return message;
}

/**
 * The error for a size over its limit. Built here rather than where it is thrown: written inline, the optimizing
 * compiler converts the limit to text ahead of the test (out of the header loop even), on every message.
 */
function overLimit(before: string, limit: number, after: string, status?: number): SipParseError {
  return new SipParseError(before + limit + after, status);
}

function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) length += 1;
    else if (c < 0x800) length += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

function parseBytes(data: Uint8Array, lim: Readonly<ParseLimits>): SipRequest | SipResponse {
  let end = findHeaderEnd(data, 0);
  // A datagram that ends right after its last header line has an empty body; tolerate the missing blank line.
  if (end === -1 && data.length >= 2 && data[data.length - 2] === 13 && data[data.length - 1] === 10) end = data.length - 2;
  if (end === -1) throw new SipParseError('no empty line after the headers');
  let head: string;
  try {
    head = decoder.decode(data.subarray(0, end));
  } catch (error) {
    throw new SipParseError('the header section is not valid UTF-8', 400, undefined, error);
  }
  const message = parseHead(head, lim);
  const available = Math.max(0, data.length - end - 4);
  const length = bodyLength(message, available, lim);
  // Uint8Array's slice copies (a Node Buffer's would share memory with the datagram).
  if (length > 0) message.body = Uint8Array.prototype.slice.call(data, end + 4, end + 4 + length);
  return message;
}

// Text input is taken as already-decoded characters. While the body is ASCII, characters are bytes and the body
// can stay a string; otherwise it is encoded so that Content-Length counts bytes. Asked as "only ASCII from start to
// end", one pass of a loop, rather than "any non-ASCII", a search that starts a match at every character: an eighth
// fewer instructions a character.
const ASCII_ONLY = /^[\x00-\x7f]*$/;

function parseText(data: string, lim: Readonly<ParseLimits>): SipRequest | SipResponse {
  // A lone surrogate has no UTF-8 form: it would come out of serialization as U+FFFD, a different message.
  if (!(data as unknown as { isWellFormed(): boolean }).isWellFormed()) throw new SipParseError('text with a lone UTF-16 surrogate');
  // The head ends at the first empty line, which the line loop comes to anyway: no separate search for CRLFCRLF.
  let message: SipRequest | SipResponse;
  try {
    message = parseLines(data, lim, data.length, true);
  } catch (error) {
    // Without an empty line (or a final CRLF) nothing else about the text matters.
    if (data.indexOf('\r\n\r\n') === -1 && !data.endsWith('\r\n')) throw new SipParseError('no empty line after the headers');
    throw error;
  }
  const end = headStop;
  if (end + 4 >= data.length) {
    bodyLength(message, 0, lim);
    return message;
  }
  const rest = data.slice(end + 4);
  if (!ASCII_ONLY.test(rest)) {
    const bytes = encoder.encode(rest);
    const length = bodyLength(message, bytes.length, lim);
    if (length > 0) message.body = bytes.slice(0, length);
  } else {
    const length = bodyLength(message, rest.length, lim);
    if (length > 0) message.setBodyText(length === rest.length ? rest : rest.slice(0, length), length);
  }
  return message;
}

/** How many of the `available` bytes after the headers are the body. */
function bodyLength(message: SipMessage, available: number, lim: Readonly<ParseLimits>): number {
  // Content-Length is usually the last field or near it.
  let contentLength: number | undefined;
  for (let i = message.headers.length - 1; i >= 0; i--) {
    const field = message.headers[i]!;
    if (field.key === 'content-length') {
      contentLength = field.parsed as number;
      break;
    }
  }
  const length = contentLength ?? available;
  if (contentLength !== undefined && contentLength > available) {
    throw overLimit(`Content-Length ${contentLength} is larger than the `, available, ' bytes of body received');
  }
  if (length > lim.maxBodySize) throw overLimit('body larger than ', lim.maxBodySize, ' bytes', 413);
  return length;
}

/** Offset of the CRLFCRLF that ends the headers, or -1. */
export function findHeaderEnd(data: Uint8Array, from: number): number {
  const n = data.length - 3;
  // Native search from CR to CR rather than a byte-by-byte loop: most bytes of a head are not CR.
  for (let i = data.indexOf(13, from); i !== -1 && i < n; i = data.indexOf(13, i + 1)) {
    if (data[i + 1] === 10 && data[i + 2] === 13 && data[i + 3] === 10) return i;
  }
  return -1;
}

const FOLD = /\r\n[ \t]+/g;

// Control characters other than HT, CR and LF, and CR or LF outside a CRLF pair: rare, so the whole head is scanned
// once and only a head that has one is checked line by line (a quoted-pair may legitimately escape one).
const CONTROL_CHARACTER = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * End of the line that starts at `from`: the index of its CR, or `text.length` for the last line. Lines end in CRLF;
 * a bare LF is refused here, and a bare CR never gets past the value checks.
 */
function lineEnd(text: string, from: number, limit: number): number {
  const lf = text.indexOf('\n', from);
  if (lf === -1 || lf > limit) return limit;
  if (lf === 0 || text.charCodeAt(lf - 1) !== 13) throw new SipParseError('LF without CR in the header section');
  return lf - 1;
}

/**
 * Parses the start line and headers: `text` up to `headEnd` (the CRLF before the blank line, or the end of `text`).
 * Body left empty.
 */
export function parseHead(text: string, limits: Readonly<ParseLimits> = DEFAULT_PARSE_LIMITS, headEnd = text.length): SipRequest | SipResponse {
  return parseLines(text, limits, headEnd, false);
}

// Where the last `parseLines` found the head to end (its CRLF before the empty line): a second result, kept here so
// that parsing a message allocates nothing to return it.
let headStop = 0;

/**
 * `parseHead`; with `toEmptyLine`, the head ends at the first empty line instead (or, without one, at a final CRLF),
 * which `headStop` then tells.
 */
function parseLines(text: string, limits: Readonly<ParseLimits>, headEnd: number, toEmptyLine: boolean): SipRequest | SipResponse {
  const firstEnd = lineEnd(text, 0, headEnd);
  const startLine = text.slice(0, firstEnd);
  const received = new ReceivedText(text);
  let message = canonicalStartLine(startLine);
  if (message === undefined) message = parseStartLine(startLine);
  // Written again as received, when it is written canonically and its CRLF is in the head.
  else if (firstEnd < headEnd) message.keepReceivedStartLine(received, firstEnd + 2);
  // Filled in place: the new message's own empty array, rather than another one that replaces it.
  const headers: HeaderField[] = message.headers;
  let pos = firstEnd + 2;
  const n = headEnd;
  let stop = -1;
  let lengths = 0;
  let info: HeaderInfo | undefined;
  // The first character of the line at `pos`, read once: by the look for a folded line at the end of the one before.
  let first = text.charCodeAt(pos);
  try {
    while (pos < n) {
      // Every CRLF ends a line (a bare LF is refused), so the first empty line is where the first CRLFCRLF is.
      if (toEmptyLine && first === 13 && text.charCodeAt(pos + 1) === 10) {
        stop = pos - 2;
        break;
      }
      let end = lineEnd(text, pos, n);
      // Folded continuation lines (RFC 3261 §7.3.1): CRLF followed by white space is white space.
      let folded = false;
      while (end < n) {
        first = text.charCodeAt(end + 2);
        if (first !== 32 && first !== 9) break;
        folded = true;
        end = lineEnd(text, end + 2, n);
      }
      // The name and the value are held to the limit, not the line as written: white space around the colon and compact
    // names change when the field is written again, and what was accepted must still be acceptable then.
    if (end - pos > 2 * limits.maxLineLength + 8) throw overLimit('header line longer than ', limits.maxLineLength, ' characters');
      // Positions are taken in the head text itself; only a folded line is first copied out and unfolded.
      let line = text;
      let lineStart = pos;
      let lineStop = end;
      if (folded) {
        line = text.slice(pos, end).replace(FOLD, ' ');
        lineStart = 0;
        lineStop = line.length;
      }
      pos = end + 2;
      const colon = line.indexOf(':', lineStart);
      if (colon <= lineStart || colon >= lineStop) {
        throw new SipParseError(`header line without a name and colon: ${JSON.stringify(line.slice(lineStart, Math.min(lineStop, lineStart + 80)))}`);
      }
      let valueStart = colon + 1;
      while (valueStart < lineStop && isWs(line.charCodeAt(valueStart))) valueStart++;
      let valueEnd = lineStop;
      while (valueEnd > valueStart && isWs(line.charCodeAt(valueEnd - 1))) valueEnd--;
      if (valueEnd - valueStart > limits.maxLineLength || (colon - lineStart > limits.maxLineLength && nameLength(line, lineStart, colon) > limits.maxLineLength)) {
        throw overLimit('header field longer than ', limits.maxLineLength, ' characters');
      }
      const value = line.slice(valueStart, valueEnd);
      // A known name, the usual case, is found as cut up to the colon: white space before the colon is looked for
      // only when it is not.
      info = headerInfo(line.slice(lineStart, colon));
      if (!info.known) {
        const length = nameLength(line, lineStart, colon);
        if (length !== colon - lineStart) info = headerInfo(line.slice(lineStart, lineStart + length));
      }
      if (!info.selfValidating && CONTROL_CHARACTER.test(value) && hasControl(value)) {
        throw new SipParseError(`control character in header ${info.name}`);
      }
      const codec = info.codec;
      // Indexed stores rather than push: optimized code calls the generic push builtin here instead of inlining it.
      if (info.tokenList) {
        if (value.length > 0) headers[headers.length] = receivedField(line, received, lineStart, lineStop, colon, valueStart, info, value, codec!.parse(value));
        else if (!info.emptyAllowed) throw new SipParseError(`empty ${info.name} header`);
      } else if (!info.list) {
        if (!info.known && !isToken(info.name)) {
          throw new SipParseError(`invalid header name: ${JSON.stringify(info.name.slice(0, 80))}`);
        }
        if (info.key === 'content-length') lengths++;
        headers[headers.length] = receivedField(line, received, lineStart, lineStop, colon, valueStart, info, value, codec === undefined ? undefined : codec.parse(value));
      } else if (value.length === 0) {
        if (!info.emptyAllowed) throw new SipParseError(`empty ${info.name} header`);
      } else {
        // A comma is needed for more than one element; without one the value is its own single element.
        const elements = value.indexOf(',') === -1 ? undefined : splitList(value);
        if (elements === undefined || elements.length === 1) {
          headers[headers.length] = receivedField(line, received, lineStart, lineStop, colon, valueStart, info, value, codec === undefined ? undefined : codec.parse(value));
        } else {
          for (const element of elements) {
            headers[headers.length] = builtField(info.name, info.key, element, codec === undefined ? undefined : codec.parse(element));
          }
        }
      }
      info = undefined;
      // Content-Length does not count: there is at most one, and serializing adds it when it is missing.
      if (headers.length - lengths > limits.maxHeaderCount) throw overLimit('more than ', limits.maxHeaderCount, ' header fields');
    }
  } catch (error) {
    // Name the header whose value failed, so that the 400's reason says what was wrong.
    if (info === undefined) throw error;
    if (error instanceof SipParseError) throw new SipParseError(`${info.name}: ${error.message}`, error.status, error.reason, error);
    throw new SipParseError(`${info.name}: cannot parse`, 400, undefined, error);
  }
  if (toEmptyLine && stop === -1) {
    // A text that ends right after its last header line has an empty body; tolerate the missing empty line.
    if (text.charCodeAt(n - 2) !== 13 || text.charCodeAt(n - 1) !== 10) throw new SipParseError('no empty line after the headers');
    stop = n - 2;
  }
  headStop = stop;
  if (lengths > 1) throw new SipParseError('more than one Content-Length (RFC 4475 §3.3.9)');
  return message;
}

/**
 * The field in `line` from `start` to `stop` (its CR). It is written again as received, by its position in `line`
 * (`received` holds the same text), when it was received exactly as it would be written: `Name: value` and CRLF.
 * A line unfolded into a text of its own never was: it ends without a CRLF. `info` is what the name as written was
 * looked up to: its spelling is the canonical name only when it was written so. (Checked after the value is parsed,
 * not before: with the positions it needs kept across that call, the whole parse costs 2 % more instructions.)
 */
function receivedField(line: string, received: ReceivedText, start: number, stop: number, colon: number, valueStart: number, info: HeaderInfo, value: string, parsed: unknown): HeaderField {
  const name = info.name;
  if (info.spelling === name && colon - start === name.length && valueStart === colon + 2 && line.charCodeAt(colon + 1) === 32 &&
    stop - valueStart === value.length && line.charCodeAt(stop) === 13 && line.charCodeAt(stop + 1) === 10) {
    return { name, key: info.key, value, parsed, line: undefined, source: received, start, end: stop + 2 };
  }
  return builtField(name, info.key, value, parsed);
}

/** Length of the header name written from `start`, up to `colon` less the white space before it. */
function nameLength(line: string, start: number, colon: number): number {
  let end = colon;
  while (end > start && isWs(line.charCodeAt(end - 1))) end--;
  return end - start;
}

function isWs(c: number): boolean {
  return c === 32 || c === 9;
}


const VERSION = /^SIP\/[0-9]+\.[0-9]+$/i;

function checkVersion(version: string): void {
  if (version === 'SIP/2.0') return;
  if (VERSION.test(version)) {
    if (version.toUpperCase() === 'SIP/2.0') return;
    throw new SipParseError(`unsupported SIP version ${version}`, 505, 'Version Not Supported');
  }
  throw new SipParseError(`invalid SIP version ${JSON.stringify(version.slice(0, 40))}`);
}

// Start lines as they nearly always come, version exactly SIP/2.0: one match checks and cuts the whole line (the
// method a token, the Request-URI free of white space, controls and a leading '<'). Anything else, valid or not, takes
// the step-by-step path below, which also says what is wrong. A Request-URI of the common SIP shape is read by the
// same match (groups 3-8, those of SIP_URI_FAST_SOURCE) rather than by a second one of its own.
const REQUEST_LINE = new RegExp("^([A-Za-z0-9\\-.!%*_+`'~]+) ((?:" + SIP_URI_FAST_SOURCE + ")|[^\\x00-\\x20\\x7f<][^\\x00-\\x20\\x7f]*) SIP/2\\.0$");
const STATUS_LINE = /^SIP\/2\.0 ([1-6][0-9][0-9]) ([^\x00-\x08\x0a-\x1f\x7f]*)$/;

/**
 * A start line written exactly as `startLine()` writes one, read by the patterns only such a line can match;
 * `undefined` for any other line, valid or not, which `parseStartLine` then reads or refuses, saying why.
 */
function canonicalStartLine(line: string): SipRequest | SipResponse | undefined {
  // A method is a token, which holds no '/': with one fourth, the line is a status line or neither, and the request
  // patterns need not be tried.
  if (line.charCodeAt(3) === 47) {
    const status = STATUS_LINE.exec(line);
    if (status !== null) {
      // Three digits, checked by the pattern: summed rather than converted by `Number`, a call into the runtime.
      const code = status[1]!;
      return new SipResponse((code.charCodeAt(0) - 48) * 100 + (code.charCodeAt(1) - 48) * 10 + (code.charCodeAt(2) - 48), status[2], PARSED_START_LINE);
    }
  } else {
    const canonical = cutRequestLine(line);
    if (canonical !== undefined) return canonical;
    const request = REQUEST_LINE.exec(line);
    if (request !== null) {
      // A URI of that shape has no headers, which a Request-URI must not have.
      if (request[3] !== undefined) return new SipRequest(request[1]!, sipUriFromMatch(request, 3, request[2]!), request[2], PARSED_START_LINE);
      return requestFrom(request[1]!, request[2]!);
    }
  }
  return undefined;
}

/** Any start line that is not of the canonical shape: the step-by-step reading, which also says what is wrong. */
function parseStartLine(line: string): SipRequest | SipResponse {
  // HTAB may appear in a reason phrase (RFC 3261 §25.1 Reason-Phrase); other controls nowhere in a start line.
  if (hasControlCharacter(line)) throw new SipParseError('control character in the start line');
  if ((line.charCodeAt(0) | 0x20) === 0x73 && (line.charCodeAt(1) | 0x20) === 0x69 && (line.charCodeAt(2) | 0x20) === 0x70 && line.charCodeAt(3) === 0x2f) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase; the reason may be empty (RFC 4475 §3.1.1.13).
    const sp1 = line.indexOf(' ');
    if (sp1 === -1) throw new SipParseError('status line without a status code');
    checkVersion(line.slice(0, sp1));
    const sp2 = line.indexOf(' ', sp1 + 1);
    const code = sp2 === -1 ? line.slice(sp1 + 1) : line.slice(sp1 + 1, sp2);
    if (!/^[1-6][0-9][0-9]$/.test(code)) throw new SipParseError(`invalid status code ${JSON.stringify(code.slice(0, 20))}`);
    return new SipResponse(Number(code), sp2 === -1 ? '' : line.slice(sp2 + 1), PARSED_START_LINE);
  }
  // Request-Line = Method SP Request-URI SP SIP-Version: exactly one SP each (RFC 4475 §3.1.2.7-10).
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 === -1 ? -1 : line.indexOf(' ', sp1 + 1);
  if (sp2 === -1 || line.indexOf(' ', sp2 + 1) !== -1 || sp1 === 0 || sp2 === sp1 + 1 || sp2 === line.length - 1) {
    if (sp1 > 0 && sp2 === -1 && sp1 < line.length - 1) throw new SipParseError('request line without a SIP version');
    throw new SipParseError('request line must be "Method SP Request-URI SP SIP-Version"');
  }
  const method = line.slice(0, sp1);
  const uriText = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (!isToken(method)) throw new SipParseError(`invalid method ${JSON.stringify(method.slice(0, 40))}`);
  checkVersion(version);
  if (uriText.charCodeAt(0) === 60) throw new SipParseError('Request-URI must not be enclosed in <>');
  return requestFrom(method, uriText);
}

// The request line as nearly every one comes, checked by one pattern without a match array and then cut where native
// searches find the separators.
const CANONICAL_REQUEST_LINE = new RegExp("^[A-Za-z0-9\\-.!%*_+`'~]+ " + SIP_URI_FAST_SOURCE + " SIP/2\\.0$");

/** A request line of the common shape; `undefined` for anything else, which REQUEST_LINE then reads (or refuses, saying why). */
function cutRequestLine(line: string): SipRequest | undefined {
  if (!CANONICAL_REQUEST_LINE.test(line)) return undefined;
  const space = line.indexOf(' ');
  const uriEnd = line.length - 8;
  return new SipRequest(line.slice(0, space), cutSipUri(line, space + 1, uriEnd), line.slice(space + 1, uriEnd), PARSED_START_LINE);
}

function requestFrom(method: string, uriText: string): SipRequest {
  const uri = parseUri(uriText);
  if (uri.type === 'sip' && uri.headers.size > 0) throw new SipParseError('Request-URI must not contain headers (RFC 3261 §19.1.1)');
  return new SipRequest(method, uri, uriText, PARSED_START_LINE);
}

