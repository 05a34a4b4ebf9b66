/**
 * Parsing SIP messages (RFC 3261 §7, §25) from a datagram's bytes or from text, fully: every header split into
 * name and value, known headers parsed into structured values. Anything that is not a SIP message throws
 * `SipParseError` carrying the status a UAS should answer with; nothing else is ever thrown.
 */
import { SipParseError } from '../errors.js';
import { canonicalHeaderName, headerKey, LIST_HEADERS } from './header-names.js';
import { isToken } from './header-values.js';
import { makeFields, SipRequest, SipResponse, type HeaderField, type SipMessage } from './sip-message.js';
import { parseUri } from './uri.js';

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

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

// List headers whose grammar allows an empty value (`Supported:` means "none").
const EMPTY_ALLOWED = new Set(['supported', 'require', 'allow', 'accept', 'accept-encoding', 'accept-language', 'unsupported', 'proxy-require', 'allow-events']);

/**
 * Parses one message. `data` is a whole datagram (or a message a framer has cut out of a stream):
 * with Content-Length the body is that many bytes and anything after it is discarded (RFC 4475 §3.1.1.8);
 * a Content-Length larger than what follows is an error (§3.1.2.2); without one the body is the rest.
 */
export function parseMessage(data: Uint8Array | string, limits: Partial<ParseLimits> = {}): SipRequest | SipResponse {
  const lim = limits === undefined || Object.keys(limits).length === 0 ? DEFAULT_PARSE_LIMITS : { ...DEFAULT_PARSE_LIMITS, ...limits };
  let headText: string;
  let rest: Uint8Array;
  if (typeof data === 'string') {
    if (data.length > lim.maxMessageSize) throw tooLarge(lim);
    let end = data.indexOf('\r\n\r\n');
    if (end === -1 && data.endsWith('\r\n')) end = data.length - 2;
    if (end === -1) throw new SipParseError('no empty line after the headers');
    headText = data.slice(0, end);
    rest = end + 4 >= data.length ? EMPTY : encoder.encode(data.slice(end + 4));
  } else {
    if (data.length > lim.maxMessageSize) throw tooLarge(lim);
    let end = findHeaderEnd(data, 0);
    // A datagram that ends right after its last header line has an empty body; tolerate the missing blank line.
    if (end === -1 && data.length >= 2 && data[data.length - 2] === 13 && data[data.length - 1] === 10) end = data.length - 2;
    if (end === -1) throw new SipParseError('no empty line after the headers');
    headText = decoder.decode(data.subarray(0, end));
    rest = end + 4 >= data.length ? EMPTY : data.subarray(end + 4);
  }
  const message = parseHead(headText, lim);
  const contentLength = message.parsed('content-length');
  if (contentLength === undefined) {
    message.body = rest.length === 0 ? EMPTY : rest.slice();
  } else {
    if (contentLength > rest.length) {
      throw new SipParseError(`Content-Length ${contentLength} is larger than the ${rest.length} bytes of body received`);
    }
    message.body = contentLength === 0 ? EMPTY : rest.slice(0, contentLength);
  }
  if (message.body.length > lim.maxBodySize) throw new SipParseError(`body larger than ${lim.maxBodySize} bytes`, 413);
  return message;
}

function tooLarge(lim: ParseLimits): SipParseError {
  return new SipParseError(`message larger than ${lim.maxMessageSize} bytes`, 513);
}

/** Offset of the CRLFCRLF that ends the headers, or -1. */
export function findHeaderEnd(data: Uint8Array, from: number): number {
  const n = data.length - 3;
  for (let i = from; i < n; i++) {
    if (data[i] === 13 && data[i + 1] === 10 && data[i + 2] === 13 && data[i + 3] === 10) return i;
  }
  return -1;
}

/** Parses the start line and headers (text up to, not including, the blank line). Body left empty. */
export function parseHead(text: string, limits: Readonly<ParseLimits> = DEFAULT_PARSE_LIMITS): SipRequest | SipResponse {
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd === -1) lineEnd = text.length;
  const message = parseStartLine(text.slice(0, lineEnd));
  const headers: HeaderField[] = [];
  let pos = lineEnd + 2;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf('\r\n', pos);
    if (end === -1) end = n;
    let line = text.slice(pos, end);
    // Folded continuation lines (RFC 3261 §7.3.1): CRLF followed by white space is white space.
    while (end < n) {
      const next = text.charCodeAt(end + 2);
      if (next !== 32 && next !== 9) break;
      let contEnd = text.indexOf('\r\n', end + 2);
      if (contEnd === -1) contEnd = n;
      line += ' ' + text.slice(end + 2, contEnd).trim();
      end = contEnd;
    }
    pos = end + 2;
    if (line.length > limits.maxLineLength) throw new SipParseError(`header line longer than ${limits.maxLineLength} characters`);
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError(`header line without a name and colon: ${JSON.stringify(line.slice(0, 80))}`);
    let nameEnd = colon;
    while (nameEnd > 0 && (line.charCodeAt(nameEnd - 1) === 32 || line.charCodeAt(nameEnd - 1) === 9)) nameEnd--;
    const name = line.slice(0, nameEnd);
    if (!isToken(name)) throw new SipParseError(`invalid header name: ${JSON.stringify(name.slice(0, 80))}`);
    const value = line.slice(colon + 1).trim();
    if (hasControl(value)) throw new SipParseError(`control character in header ${name}`);
    appendFields(headers, name, value);
    if (headers.length > limits.maxHeaderCount) throw new SipParseError(`more than ${limits.maxHeaderCount} header fields`);
  }
  message.headers = headers;
  let lengths = 0;
  for (const field of headers) if (field.key === 'content-length') lengths++;
  if (lengths > 1) throw new SipParseError('more than one Content-Length (RFC 4475 §3.3.9)');
  return message;
}

function appendFields(headers: HeaderField[], name: string, value: string): void {
  const key = headerKey(name);
  if (value.length === 0 && LIST_HEADERS.has(key)) {
    if (EMPTY_ALLOWED.has(key)) return;
    throw new SipParseError(`empty ${canonicalHeaderName(name)} header`);
  }
  try {
    const fields = makeFields(name, value);
    for (const field of fields) headers.push(field);
  } catch (error) {
    if (error instanceof SipParseError) {
      throw new SipParseError(`${canonicalHeaderName(name)}: ${error.message}`, error.status, error.reason, error);
    }
    throw new SipParseError(`${canonicalHeaderName(name)}: cannot parse`, 400, undefined, error);
  }
}

/** A control character other than HT, unless escaped as a quoted-pair (RFC 3261 §25.1 allows `\` + any but CR/LF). */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 92) {
      const next = value.charCodeAt(i + 1);
      if (next === 13 || next === 10) return true;
      i++;
    } else if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
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

function parseStartLine(line: string): SipRequest | SipResponse {
  if (hasControl(line)) throw new SipParseError('control character in the start line');
  if (line.startsWith('SIP/') || line.startsWith('sip/')) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase; the reason may be empty (RFC 4475 §3.1.1.13).
    const sp1 = line.indexOf(' ');
    if (sp1 === -1) throw new SipParseError('status line without a status code');
    checkVersion(line.slice(0, sp1));
    const sp2 = line.indexOf(' ', sp1 + 1);
    const code = sp2 === -1 ? line.slice(sp1 + 1) : line.slice(sp1 + 1, sp2);
    if (!/^[1-6][0-9][0-9]$/.test(code)) throw new SipParseError(`invalid status code ${JSON.stringify(code.slice(0, 20))}`);
    return new SipResponse(Number(code), sp2 === -1 ? '' : line.slice(sp2 + 1));
  }
  // Request-Line = Method SP Request-URI SP SIP-Version: exactly one SP each (RFC 4475 §3.1.2.7-10).
  const parts = line.split(' ');
  if (parts.length !== 3) {
    if (parts.length === 2 && parts[1]!.length > 0) throw new SipParseError('request line without a SIP version');
    throw new SipParseError('request line must be "Method SP Request-URI SP SIP-Version"');
  }
  const [method, uriText, version] = parts as [string, string, string];
  if (!isToken(method)) throw new SipParseError(`invalid method ${JSON.stringify(method.slice(0, 40))}`);
  checkVersion(version);
  if (uriText.charCodeAt(0) === 60) throw new SipParseError('Request-URI must not be enclosed in <>');
  const uri = parseUri(uriText);
  if (uri.type === 'sip' && uri.headers.size > 0) throw new SipParseError('Request-URI must not contain headers (RFC 3261 §19.1.1)');
  return new SipRequest(method, uri, uriText);
}

export type { SipMessage };
