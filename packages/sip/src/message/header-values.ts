/**
 * Structured values of the headers a SIP stack relies on, with their parsers and formatters (RFC 3261 §20, §25).
 * Parsers take a header value that has already been unfolded and trimmed; they throw `SipParseError` (400).
 */
import { SipParseError } from '../errors.js';
import { ParamList, putParam } from './param-list.js';
import { formatUri, NO_PARAMS, parseHostPort, parseUri, portFromDigits, SIP_URI_FAST_SOURCE, sipUriFromMatch, splitSimpleParams, type Uri } from './uri.js';

export type HeaderParams = ReadonlyMap<string, string | null>;

export interface Via {
  /** `SIP/2.0` as written, white space removed. */
  readonly protocol: string;
  /** Upper-case transport: UDP, TCP, TLS, SCTP, WS, WSS, or any extension token. */
  readonly transport: string;
  readonly host: string;
  readonly port: number | undefined;
  /** branch, received, rport, maddr, ttl... by lower-case name. */
  readonly params: HeaderParams;
}

/** From, To, Contact, Route, Record-Route... (`[display-name] <uri>;params` or `uri;params`). */
export interface NameAddr {
  /** Display name, unquoted and unescaped. */
  readonly displayName: string | undefined;
  readonly uri: Uri;
  readonly params: HeaderParams;
}

/** A Contact value: an address, or `*` in a REGISTER that removes every binding. */
export type ContactValue = NameAddr | '*';

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

export interface ContentType {
  /** `type/subtype`, lower case. */
  readonly mediaType: string;
  readonly params: HeaderParams;
}

/** WWW-Authenticate, Proxy-Authenticate, Authorization, Proxy-Authorization. */
export interface AuthValue {
  /** As written (`Digest`); compare case-insensitively. */
  readonly scheme: string;
  /** Parameters by lower-case name; quoted values unquoted and unescaped. */
  readonly params: ReadonlyMap<string, string>;
}

const TOKEN_CHAR = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") TOKEN_CHAR[c.charCodeAt(0)] = 1;

/** Removes SP and HTAB from both ends: SIP's only linear white space (String.prototype.trim would also eat CR, VT, FF...). */
export function trimLws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHAR[c] === 0) return false;
  }
  return true;
}

function bad(what: string, value: string): SipParseError {
  return new SipParseError(`invalid ${what}: ${JSON.stringify(value.length > 200 ? value.slice(0, 200) + '…' : value)}`);
}

/**
 * A control character other than HTAB anywhere, escaped or not: what a start line may not hold (RFC 3261 §25.1), nor
 * text taken from outside any grammar.
 */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
}

/**
 * A control character other than HT, unless escaped as a quoted-pair inside a quoted string (RFC 3261 §25.1 allows
 * a backslash before any character but CR and LF there). Outside quotes a backslash is a character like any other,
 * and the control after it is as bad as one without it. (Comments, where quoted-pairs are also allowed, are not told
 * apart: a '(' may as well be part of a URI, and a control escaped in a comment is refused.)
 */
export function hasControl(value: string): boolean {
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 92 /* \ */ && quoted) {
      const next = value.charCodeAt(i + 1);
      if (next === 13 || next === 10) return true;
      i++;
    } else if ((c < 32 && c !== 9) || c === 127) return true;
    else if (c === 34 /* " */) quoted = !quoted;
  }
  return false;
}

function isWs(c: number): boolean {
  return c === 32 || c === 9;
}

/** Index of the quote closing the quoted string that opens at `open`, honouring backslash escapes; -1 if none. */
function closingQuote(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \ */) i++;
    else if (c === 34 /* " */) return i;
  }
  return -1;
}

function unquote(quoted: string): string {
  return quoted.indexOf('\\') === -1 ? quoted : quoted.replace(/\\(.)/gs, '$1');
}

// A quoted-pair escapes any character but CR and LF (RFC 3261 §25.1); controls other than HTAB may appear in a quoted
// string only so. CR and LF are left as they are, for the value's parser to refuse.
function quote(text: string): string {
  return '"' + text.replace(/(["\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f])/g, '\\$1') + '"';
}

/**
 * Splits a list header value at top-level commas (not inside quotes or `<>`). Empty elements are an error:
 * RFC 4475 §3.1.2.1 expects `Via: SIP/2.0/UDP 192.0.2.15;;,;,,` to be rejected.
 */
export function splitList(value: string): string[] {
  if (value.indexOf(',') === -1) return [value];
  if (value.indexOf('"') === -1 && value.indexOf('<') === -1) {
    // Every comma separates; elements are trimmed by position so that each costs one string.
    const out: string[] = [];
    for (let start = 0; ;) {
      const comma = value.indexOf(',', start);
      let end = comma === -1 ? value.length : comma;
      while (start < end && isWs(value.charCodeAt(start))) start++;
      while (end > start && isWs(value.charCodeAt(end - 1))) end--;
      if (start === end) throw bad('list (empty element)', value);
      out.push(value.slice(start, end));
      if (comma === -1) return out;
      start = comma + 1;
    }
  }
  const out: string[] = [];
  let start = 0;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 34) {
      const close = closingQuote(value, i);
      if (close === -1) throw bad('quoted string', value);
      i = close;
    } else if (c === 60 /* < */) angle = true;
    else if (c === 62 /* > */) angle = false;
    else if (c === 44 /* , */ && !angle) {
      out.push(trimLws(value.slice(start, i)));
      start = i + 1;
    }
  }
  out.push(trimLws(value.slice(start)));
  for (const element of out) if (element.length === 0) throw bad('list (empty element)', value);
  return out;
}

/**
 * Parses `;name=value;name` header parameters starting at `from` (which must be a ';' or the end).
 * Values may be tokens, hosts or quoted strings (quotes kept, so they re-serialize as written).
 */
export function parseParams(text: string, from: number): HeaderParams {
  let i = from;
  const n = text.length;
  if (i >= n) return NO_PARAMS;
  const params: (string | null)[] = [];
  while (i < n) {
    while (i < n && isWs(text.charCodeAt(i))) i++;
    if (i >= n) break;
    if (text.charCodeAt(i) !== 59 /* ; */) throw bad('parameters', text);
    i++;
    while (i < n && isWs(text.charCodeAt(i))) i++;
    let j = i;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === 61 || c === 59 || isWs(c)) break;
      j++;
    }
    const name = text.slice(i, j);
    if (!isToken(name)) throw bad('parameter name', text);
    i = j;
    while (i < n && isWs(text.charCodeAt(i))) i++;
    if (i < n && text.charCodeAt(i) === 61 /* = */) {
      i++;
      while (i < n && isWs(text.charCodeAt(i))) i++;
      let value: string;
      if (i < n && text.charCodeAt(i) === 34) {
        const close = closingQuote(text, i);
        if (close === -1) throw bad('quoted parameter', text);
        value = text.slice(i, close + 1);
        if (hasControl(value)) throw bad('quoted parameter (control character)', text);
        i = close + 1;
      } else {
        j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 59 || isWs(c)) break;
          j++;
        }
        value = text.slice(i, j);
        // gen-value = token / host / quoted-string; a host may be an IPv6 reference.
        if (value.length === 0 || (!isToken(value) && !/^\[[0-9a-fA-F:.]+\]$/.test(value) && !/^[A-Za-z0-9:.\-]+$/.test(value))) {
          throw bad('parameter value', text);
        }
        i = j;
      }
      putParam(params, name.toLowerCase(), value);
    } else {
      putParam(params, name.toLowerCase(), null);
    }
  }
  return new ParamList(params);
}

export function formatParams(params: HeaderParams): string {
  let out = '';
  for (const [name, value] of params) out += value === null ? ';' + name : ';' + name + '=' + value;
  return out;
}

// ---- Via (RFC 3261 §20.42) ----

// Simple parameters: token names, values that are tokens, host names with ':' or IPv6 references (what the general
// parser accepts without quotes or white space). What fails here takes the general path.
// Tokens and host names overlap, so a value is written as the one way to read it: characters both allow, then
// optionally a character only tokens allow followed by token characters, or a ':' followed by host characters.
// Every value then matches in at most one way and a failing match backtracks in linear time, without the lookahead
// and backreference (and the capture they cost on every match) that alternatives would need to stay linear.
const SIMPLE_PARAMS =
  "((?:;[A-Za-z0-9\\-.!%*_+`'~]+(?:=(?:[A-Za-z0-9.\\-]+(?:[!%*_+`'~][A-Za-z0-9\\-.!%*_+`'~]*|:[A-Za-z0-9:.\\-]*)?|[!%*_+`'~][A-Za-z0-9\\-.!%*_+`'~]*|:[A-Za-z0-9:.\\-]*|\\[[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\\])(?=;|$))?)*)$";
// The transport is matched upper case first (group 1), as it is nearly always written, so that only a transport in
// other case pays for toUpperCase (group 2).
const VIA_FAST = new RegExp("^SIP/2\\.0/(?:([A-Z]+)|([A-Za-z]+))[ \\t]+([A-Za-z0-9.\\-]+|\\[[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\\])(?::([0-9]{1,5}))?" + SIMPLE_PARAMS);

// The Via as nearly every stack writes it: upper-case transport, one space, a host name or IPv4, port, simple
// parameters. Checked whole by one pattern without a match array, then cut where native searches find the separators.
const CANONICAL_VIA = new RegExp("^SIP/2\\.0/[A-Z]+ [A-Za-z0-9.\\-]+(?::[0-9]{1,5})?" + SIMPLE_PARAMS);

export function parseVia(value: string): Via {
  if (!CANONICAL_VIA.test(value)) return parseViaByPattern(value);
  const space = value.indexOf(' ', 8);
  const semi = value.indexOf(';', space);
  const end = semi === -1 ? value.length : semi;
  // The host has no ':', so a ':' before the parameters starts the port.
  const colon = value.indexOf(':', space);
  let host: string;
  let port: number | undefined;
  if (colon !== -1 && colon < end) {
    host = value.slice(space + 1, colon);
    port = portFromDigits(value, colon + 1, end);
    if (port > 65535) throw bad('Via port', value);
  } else host = value.slice(space + 1, end);
  return { protocol: 'SIP/2.0', transport: value.slice(8, space), host, port, params: semi === -1 ? NO_PARAMS : splitSimpleParams(value, semi) };
}

/** `parseVia` without the cut for the common shape: the reference that cut is tested against. */
export function parseViaByPattern(value: string): Via {
  const m = VIA_FAST.exec(value);
  if (m !== null) {
    const port = m[4] === undefined ? undefined : portFromDigits(m[4], 0, m[4].length);
    if (port !== undefined && port > 65535) throw bad('Via port', value);
    return { protocol: 'SIP/2.0', transport: m[1] ?? m[2]!.toUpperCase(), host: m[3]!, port, params: splitSimpleParams(m[5]!) };
  }
  return parseViaGeneral(value);
}

function parseViaGeneral(value: string): Via {
  if (hasControl(value)) throw bad('Via (control character)', value);
  let protocol: string;
  let transport: string;
  let i: number;
  // Almost every Via is written `SIP/2.0/UDP host...`; the general path handles LWS around the slashes (RFC 4475 §3.1.1.1).
  const fast = /^SIP\/2\.0\/([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+/.exec(value);
  if (fast) {
    protocol = 'SIP/2.0';
    transport = fast[1]!.toUpperCase();
    i = fast[0].length;
  } else {
    const slow = /^([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*\/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*\/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+/.exec(value);
    if (!slow) throw bad('Via', value);
    protocol = `${slow[1]!.toUpperCase()}/${slow[2]}`;
    transport = slow[3]!.toUpperCase();
    i = slow[0].length;
  }
  let j = i;
  const n = value.length;
  if (value.charCodeAt(j) === 91) {
    j = value.indexOf(']', j);
    if (j === -1) throw bad('Via', value);
    j++;
  } else {
    while (j < n) {
      const c = value.charCodeAt(j);
      if (c === 59 || c === 58 || isWs(c)) break;
      j++;
    }
  }
  let sentBy = value.slice(i, j);
  // LWS is allowed around the ':' of sent-by.
  let k = j;
  while (k < n && isWs(value.charCodeAt(k))) k++;
  if (k < n && value.charCodeAt(k) === 58) {
    k++;
    while (k < n && isWs(value.charCodeAt(k))) k++;
    let e = k;
    while (e < n && value.charCodeAt(e) >= 48 && value.charCodeAt(e) <= 57) e++;
    sentBy += ':' + value.slice(k, e);
    j = e;
  }
  const { host, port } = parseHostPort(sentBy, value);
  const params = parseParams(value, j);
  return { protocol, transport, host, port, params };
}

export function formatVia(via: Via): string {
  return `${via.protocol}/${via.transport} ${via.host}${via.port === undefined ? '' : ':' + via.port}${formatParams(via.params)}`;
}

// ---- name-addr / addr-spec (RFC 3261 §25.1) ----

// With a SIP URI of the common shape inside the brackets, one match reads the whole value (groups 3-8 are the
// URI's); any other URI is group 9 and parsed on its own.
const NAME_ADDR_FAST = new RegExp("^(?:\"((?:[^\"\\\\\\x00-\\x08\\x0a-\\x1f\\x7f]|\\\\[\\x00-\\x09\\x0b\\x0c\\x0e-\\uffff])*)\"[ \\t]*|([A-Za-z0-9\\-.!%*_+`'~]+(?:[ \\t]+[A-Za-z0-9\\-.!%*_+`'~]+)*)[ \\t]*)?<(?:" + SIP_URI_FAST_SOURCE + "|([^<>\\s\"]+))>" + SIMPLE_PARAMS);

export function parseNameAddr(value: string): NameAddr {
  const m = NAME_ADDR_FAST.exec(value);
  if (m !== null) {
    const displayName = m[1] !== undefined ? unquote(m[1]) : m[2];
    const uri = m[9] === undefined ? sipUriFromMatch(m, 3, value) : parseUri(m[9]);
    return { displayName, uri, params: splitSimpleParams(m[10]!) };
  }
  return parseNameAddrGeneral(value);
}

function parseNameAddrGeneral(value: string): NameAddr {
  if (hasControl(value)) throw bad('address (control character)', value);
  let displayName: string | undefined;
  let uriText: string;
  let rest: number;
  const first = value.charCodeAt(0);
  if (first === 34 /* " */) {
    const close = closingQuote(value, 0);
    if (close === -1) throw bad('display name (unterminated quote)', value);
    displayName = unquote(value.slice(1, close));
    let i = close + 1;
    while (i < value.length && isWs(value.charCodeAt(i))) i++;
    if (value.charCodeAt(i) !== 60) throw bad('name-addr', value);
    const gt = value.indexOf('>', i);
    if (gt === -1) throw bad('name-addr', value);
    uriText = value.slice(i + 1, gt);
    rest = gt + 1;
  } else if (first === 60 /* < */) {
    const gt = value.indexOf('>');
    if (gt === -1) throw bad('name-addr', value);
    uriText = value.slice(1, gt);
    rest = gt + 1;
  } else {
    const lt = value.indexOf('<');
    const semi = value.indexOf(';');
    if (lt !== -1 && (semi === -1 || lt < semi)) {
      // Unquoted display name: tokens separated by LWS (RFC 4475 §3.1.1.6 allows no LWS before '<'; §3.1.2.15 forbids commas).
      const name = trimLws(value.slice(0, lt));
      for (const word of name.split(/[ \t]+/)) if (!isToken(word)) throw bad('display name', value);
      displayName = name;
      const gt = value.indexOf('>', lt);
      if (gt === -1) throw bad('name-addr', value);
      uriText = value.slice(lt + 1, gt);
      rest = gt + 1;
    } else {
      // addr-spec: the URI ends at the first ';' and may not contain '?' or ',' (RFC 3261 §20.10, RFC 4475 §3.1.2.13).
      let end = semi === -1 ? value.length : semi;
      while (end > 0 && isWs(value.charCodeAt(end - 1))) end--;
      uriText = value.slice(0, end);
      if (uriText.indexOf('?') !== -1 || uriText.indexOf(',') !== -1) throw bad('addr-spec (needs <>)', value);
      rest = end;
    }
  }
  const uri = parseUri(uriText);
  const params = parseParams(value, rest);
  return { displayName, uri, params };
}

export function formatNameAddr(value: NameAddr): string {
  const display = value.displayName === undefined ? '' : (isToken(value.displayName) ? value.displayName : quote(value.displayName)) + ' ';
  return `${display}<${formatUri(value.uri)}>${formatParams(value.params)}`;
}

export function parseContact(value: string): ContactValue {
  return value === '*' ? '*' : parseNameAddr(value);
}

export function formatContact(value: ContactValue): string {
  return value === '*' ? '*' : formatNameAddr(value);
}

// ---- scalars ----

const MAX_UINT32 = 4294967295;

/** A decimal number within [0, max]; leading zeros allowed (RFC 4475 §3.1.1.1), overlarge values rejected (§3.1.2.4). */
export function parseDecimal(value: string, max: number, what: string): number {
  if (value.length === 0 || value.length > 12) throw bad(what, value);
  // Twelve digits stay well within exact integers, so the value is summed while the digits are checked.
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) throw bad(what, value);
    n = n * 10 + (c - 48);
  }
  if (n > max) throw bad(what, value);
  return n;
}

// The method matched as a token here, so that a valid CSeq needs no separate check; anything else is diagnosed below.
const CSEQ = /^([0-9]{1,10}) ([A-Za-z0-9\-.!%*_+`'~]+)$/;

export function parseCSeq(value: string): CSeq {
  const fast = CSEQ.exec(value);
  if (fast !== null) return { seq: parseDecimal(fast[1]!, MAX_UINT32, 'CSeq number'), method: fast[2]! };
  const m = /^([0-9]+)[ \t]+(\S+)$/.exec(value);
  if (!m) throw bad('CSeq', value);
  const method = m[2]!;
  if (!isToken(method)) throw bad('CSeq method', value);
  return { seq: parseDecimal(m[1]!, MAX_UINT32, 'CSeq number'), method };
}

export function formatCSeq(value: CSeq): string {
  return `${value.seq} ${value.method}`;
}

export const parseMaxForwards = (value: string): number => parseDecimal(value, 255, 'Max-Forwards');
export const parseContentLength = (value: string): number => parseDecimal(value, MAX_UINT32, 'Content-Length');
export const parseDeltaSeconds = (value: string): number => parseDecimal(value, MAX_UINT32, 'delta-seconds');

// Call-ID = word [ "@" word ] (RFC 3261 §25.1): word characters include <, >, " and brackets.
const CALL_ID = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+(@[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+)?$/;

export function parseCallId(value: string): string {
  if (!CALL_ID.test(value)) throw bad('Call-ID', value);
  return value;
}

// `type/subtype` alone, as it nearly always comes: one check, and the media type is the value in lower case.
const BARE_MEDIA_TYPE = /^[A-Za-z0-9\-.!%*_+`'~]+\/[A-Za-z0-9\-.!%*_+`'~]+$/;

export function parseContentType(value: string): ContentType {
  if (BARE_MEDIA_TYPE.test(value)) return { mediaType: value.toLowerCase(), params: NO_PARAMS };
  const semi = value.indexOf(';');
  const media = trimLws(semi === -1 ? value : value.slice(0, semi));
  const m = /^([^\s/]+)[ \t]*\/[ \t]*([^\s/]+)$/.exec(media);
  if (!m || !isToken(m[1]!) || !isToken(m[2]!)) throw bad('Content-Type', value);
  const params = semi === -1 ? NO_PARAMS : parseParams(value, semi);
  return { mediaType: `${m[1]!.toLowerCase()}/${m[2]!.toLowerCase()}`, params };
}

export function formatContentType(value: ContentType): string {
  return value.mediaType + formatParams(value.params);
}

export function parseToken(value: string): string {
  if (!isToken(value)) throw bad('token', value);
  return value;
}

const DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/**
 * SIP-date (RFC 3261 §20.17): RFC 1123 form, and the zone must be GMT (RFC 4475 §3.1.2.12). Every field must be in
 * range and the weekday must match the date: nothing is rolled over into another date.
 */
export function parseDate(value: string): Date {
  const m = DATE.exec(value);
  if (!m) throw bad('Date', value);
  const [day, year, hours, minutes, seconds] = [m[2], m[4], m[5], m[6], m[7]].map(Number) as [number, number, number, number, number];
  const month = MONTHS.indexOf(m[3]!);
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  date.setUTCHours(hours, minutes, seconds, 0);
  const exact = date.getUTCFullYear() === year && date.getUTCMonth() === month && date.getUTCDate() === day &&
    date.getUTCHours() === hours && date.getUTCMinutes() === minutes && date.getUTCSeconds() === seconds;
  if (!exact || WEEKDAYS[date.getUTCDay()] !== m[1]) throw bad('Date', value);
  return date;
}

// ---- authentication (RFC 3261 §20.7, §20.27, §20.28, §20.44; RFC 7616) ----

// One auth-param: token = token / quoted-string, then a comma or the end. Unquoted values may be token68-like
// (nc=00000001, algorithm=SHA-256, base64 with '/').
const AUTH_PARAM = /[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*=[ \t]*(?:"((?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[\x00-\x09\x0b\x0c\x0e-\x7f])*)"|([A-Za-z0-9\-.!%*_+`'~/:@]+))[ \t]*(?:,|$)/y;
const AUTH_SCHEME = /^([A-Za-z0-9\-.!%*_+`'~]+)(?:[ \t]+|$)/;

// Credentials and challenges as stacks write them: one space after the scheme, `name=value` pairs separated by a comma
// and at most one space, quoted values without escapes. Once the whole value is checked, every '=', closing quote and
// comma is where the pattern put it, so the pairs are cut with native searches instead of one match per pair.
const CANONICAL_AUTH = /^[A-Za-z0-9\-.!%*_+`'~]+ [A-Za-z0-9\-.!%*_+`'~]+=(?:"[^"\\\x00-\x08\x0a-\x1f\x7f]*"|[A-Za-z0-9\-.!%*_+`'~/:@]+)(?:, ?[A-Za-z0-9\-.!%*_+`'~]+=(?:"[^"\\\x00-\x08\x0a-\x1f\x7f]*"|[A-Za-z0-9\-.!%*_+`'~/:@]+))*$/;

function parseCanonicalAuth(value: string): AuthValue {
  const space = value.indexOf(' ');
  // A flat list, as for URI parameters: a Map would hash every name and grow its table twice for a Digest answer.
  const params: string[] = [];
  const n = value.length;
  for (let i = space + 1; i < n;) {
    const eq = value.indexOf('=', i);
    const name = value.slice(i, eq).toLowerCase();
    let end: number;
    if (value.charCodeAt(eq + 1) === 34 /* " */) {
      end = value.indexOf('"', eq + 2);
      putParam(params, name, value.slice(eq + 2, end));
      end++;
    } else {
      end = value.indexOf(',', eq + 1);
      if (end === -1) end = n;
      putParam(params, name, value.slice(eq + 1, end));
    }
    i = end + 1 < n && value.charCodeAt(end + 1) === 32 ? end + 2 : end + 1;
  }
  return { scheme: value.slice(0, space), params: new ParamList<string>(params) };
}

export function parseAuth(value: string): AuthValue {
  if (CANONICAL_AUTH.test(value)) return parseCanonicalAuth(value);
  const m = AUTH_SCHEME.exec(value);
  if (!m) throw bad('authentication header', value);
  const scheme = m[1]!;
  const params: string[] = [];
  let i = m[0].length;
  const n = value.length;
  while (i < n) {
    AUTH_PARAM.lastIndex = i;
    const p = AUTH_PARAM.exec(value);
    if (p === null) throw bad('authentication parameter', value);
    const quoted = p[2];
    putParam(params, p[1]!.toLowerCase(), quoted === undefined ? p[3]! : unquote(quoted));
    i = AUTH_PARAM.lastIndex;
  }
  return { scheme, params: new ParamList<string>(params) };
}

/** Parameters that RFC 7616 / RFC 3261 write as tokens, never quoted. */
const UNQUOTED_AUTH_PARAMS = new Set(['algorithm', 'stale', 'nc', 'charset', 'userhash']);

export function formatAuth(value: AuthValue): string {
  const parts: string[] = [];
  for (const [name, paramValue] of value.params) {
    // In a challenge qop is a quoted list; in credentials it is a bare token. The caller's spelling decides.
    const bare = UNQUOTED_AUTH_PARAMS.has(name) || (name === 'qop' && value.params.has('response'));
    parts.push(bare ? `${name}=${paramValue}` : `${name}=${quote(paramValue)}`);
  }
  return parts.length === 0 ? value.scheme : `${value.scheme} ${parts.join(', ')}`;
}
