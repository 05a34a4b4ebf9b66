/**
 * SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966) and any other absolute URI kept opaque (RFC 4475 §3.3.2-4).
 * Parts keep their %-escapes as written so a URI re-serializes to the same text; `uriEquals` compares them the
 * RFC 3261 §19.1.4 way, unescaped.
 */
import { SipParseError } from '../errors.js';
import { ParamList, putParam } from './param-list.js';

export type UriParams = ReadonlyMap<string, string | null>;

/** Shared by every URI and header without parameters. */
export const NO_PARAMS: ReadonlyMap<string, string | null> = new ParamList([]);

/**
 * Splits `;a=b;c` (from `from` up to `to`, by default the end of `text`) into parameters with lower-case names. Only
 * for text a pattern has already validated (no white space, no quotes, no empty names).
 */
export function splitSimpleParams(text: string, from = 0, to = text.length): ReadonlyMap<string, string | null> {
  if (to === from) return NO_PARAMS;
  // Lists of one or two parameters (a tag; a branch and rport; lr), nearly all of them, are array literals of their
  // exact size, where an array grown by stores would get room for seventeen.
  let items: (string | null)[] | undefined;
  let name1: string | undefined;
  let value1: string | null = null;
  let i = from + 1;
  while (i <= to) {
    let semi = text.indexOf(';', i);
    if (semi === -1 || semi > to) semi = to;
    let eq = text.indexOf('=', i);
    if (eq > semi) eq = -1;
    const name = text.slice(i, eq === -1 ? semi : eq).toLowerCase();
    const value = eq === -1 ? null : text.slice(eq + 1, semi);
    if (name1 === undefined) {
      name1 = name;
      value1 = value;
    } else if (items === undefined) {
      if (semi === to && name !== name1) return new ParamList([name1, value1, name, value]);
      items = [name1, value1];
      putParam(items, name, value);
    } else putParam(items, name, value);
    i = semi + 1;
  }
  return new ParamList(items ?? [name1!, value1]);
}

export interface SipUri {
  readonly type: 'sip';
  readonly scheme: 'sip' | 'sips';
  /** User part, %-escapes as written. */
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** Host as written; IPv6 references keep their brackets. */
  readonly host: string;
  readonly port: number | undefined;
  /** Parameters by lower-case name; `null` for a parameter with no value (`;lr`). */
  readonly params: UriParams;
  /** Header fields (`?name=value`), escapes as written. */
  readonly headers: ReadonlyMap<string, string>;
}

export interface TelUri {
  readonly type: 'tel';
  readonly scheme: 'tel';
  readonly number: string;
  readonly params: UriParams;
}

/** A URI of a scheme SIP does not interpret: kept as scheme + opaque text. */
export interface AbsoluteUri {
  readonly type: 'absolute';
  readonly scheme: string;
  readonly opaque: string;
}

export type Uri = SipUri | TelUri | AbsoluteUri;

// Characters that may appear anywhere in a URI as written in a SIP message (RFC 3261 §25.1 unreserved, reserved,
// escaped, plus brackets for IPv6 references). White space, quotes, angle brackets and controls never may.
const URI_CHAR = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()%;/?:@&=+$,[]#") {
  URI_CHAR[c.charCodeAt(0)] = 1;
}
const HOST_CHAR = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.') HOST_CHAR[c.charCodeAt(0)] = 1;

function bad(what: string, text: string): SipParseError {
  return new SipParseError(`invalid ${what}: ${JSON.stringify(text.length > 200 ? text.slice(0, 200) + '…' : text)}`);
}

function checkUriChars(text: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Non-ASCII is tolerated (UTF-8 in user parts is common in the wild); ASCII must be a URI character.
    if (c < 128 && URI_CHAR[c] === 0) throw bad('URI', text);
  }
}

// The shape of nearly every SIP URI on the wire: lower-case scheme, plain user and password, host name or IPv4,
// port, simple parameters, no headers. Anything else takes the general path; both give the same result.
/** Source of the common-shape SIP URI pattern (6 groups: scheme, user, password, host, port, params). */
export const SIP_URI_FAST_SOURCE = String.raw`(sips?):(?:([A-Za-z0-9\-_.!~*'()&=+$,%]+)(?::([A-Za-z0-9\-_.!~*'()&=+$,%]*))?@)?([A-Za-z0-9.\-]+)(?::([0-9]{1,5}))?((?:;[A-Za-z0-9\-_.!~*'()[\]/:&+$%]+(?:=[A-Za-z0-9\-_.!~*'()[\]/:&+$%]*)?)*)`;
const SIP_URI_FAST = new RegExp('^' + SIP_URI_FAST_SOURCE + '$');
/** Shared by every SIP URI without headers. */
export const NO_HEADERS: ReadonlyMap<string, string> = new Map();

/**
 * The value of the digits of `text` from `from` up to `to`, a port a pattern has already matched as 1 to 5 digits.
 * Summed here because `Number` of a string is a call into the runtime that also hashes the string (to try it as an
 * array index), and a port read in place needs no string at all.
 */
export function portFromDigits(text: string, from: number, to: number): number {
  let port = 0;
  for (let i = from; i < to; i++) port = port * 10 + (text.charCodeAt(i) - 48);
  return port;
}

/**
 * The SIP URI in `text` from `from` up to `to`, which a pattern has already checked to be of the SIP_URI_FAST_SOURCE
 * shape: cut where native searches find its separators, which costs less than a match array and its captures. In
 * that shape the user and password hold no '@', ':' or ';' and the host no ':', so the first of each is a separator.
 */
export function cutSipUri(text: string, from: number, to: number): SipUri {
  const secure = text.charCodeAt(from + 3) === 115;
  let hostStart = from + (secure ? 5 : 4);
  let user: string | undefined;
  let password: string | undefined;
  const at = text.indexOf('@', hostStart);
  if (at !== -1 && at < to) {
    const colon = text.indexOf(':', hostStart);
    if (colon !== -1 && colon < at) {
      user = text.slice(hostStart, colon);
      password = text.slice(colon + 1, at);
    } else user = text.slice(hostStart, at);
    hostStart = at + 1;
  }
  let paramsStart = text.indexOf(';', hostStart);
  if (paramsStart === -1 || paramsStart > to) paramsStart = to;
  const colon = text.indexOf(':', hostStart);
  let host: string;
  let port: number | undefined;
  if (colon !== -1 && colon < paramsStart) {
    host = text.slice(hostStart, colon);
    port = portFromDigits(text, colon + 1, paramsStart);
    if (port > 65535) throw bad('port', text.slice(from, to));
  } else host = text.slice(hostStart, paramsStart);
  return {
    type: 'sip', scheme: secure ? 'sips' : 'sip', user, password, host, port, params: splitSimpleParams(text, paramsStart, to), headers: NO_HEADERS,
  };
}

/** Builds a URI from the six groups of SIP_URI_FAST_SOURCE starting at `at` in a match. */
export function sipUriFromMatch(match: RegExpExecArray, at: number, text: string): SipUri {
  const portText = match[at + 4];
  const port = portText === undefined ? undefined : portFromDigits(portText, 0, portText.length);
  if (port !== undefined && port > 65535) throw bad('port', text);
  return {
    type: 'sip',
    scheme: match[at] as 'sip' | 'sips',
    user: match[at + 1],
    password: match[at + 2],
    host: match[at + 3]!,
    port,
    params: splitSimpleParams(match[at + 5]!),
    headers: NO_HEADERS,
  };
}

/** Parses a URI. Throws `SipParseError` (400) when it is not one. */
export function parseUri(text: string): Uri {
  return SIP_URI_FAST.test(text) ? cutSipUri(text, 0, text.length) : parseUriGeneral(text);
}

/** `parseUri` without the cut for the common shape: any URI, part by part. The reference that cut is tested against. */
export function parseUriGeneral(text: string): Uri {
  const colon = text.indexOf(':');
  if (colon <= 0) throw bad('URI', text);
  checkUriChars(text);
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(text, scheme, colon + 1);
  if (scheme === 'tel') return parseTelUri(text, colon + 1);
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme) || colon + 1 >= text.length) throw bad('URI', text);
  return { type: 'absolute', scheme, opaque: text.slice(colon + 1) };
}

function parseSipUri(text: string, scheme: 'sip' | 'sips', start: number): SipUri {
  // No part of a SIP URI but the userinfo delimiter may hold an unescaped '@', while the user part may hold '?', ';'
  // and '/' (RFC 4475 §3.1.1.2, §3.1.1.9): so the first '@' ends the userinfo, and '?' is looked for after the host.
  const at = text.indexOf('@', start);
  let user: string | undefined;
  let password: string | undefined;
  let hostStart = start;
  if (at !== -1) {
    const userinfo = text.slice(start, at);
    const pw = userinfo.indexOf(':');
    if (pw === -1) user = userinfo;
    else {
      user = userinfo.slice(0, pw);
      password = userinfo.slice(pw + 1);
    }
    if (user.length === 0) throw bad('SIP URI user part', text);
    hostStart = at + 1;
  }
  const question = text.indexOf('?', hostStart);
  const end = question === -1 ? text.length : question;
  const semi = text.indexOf(';', hostStart);
  const hostportEnd = semi === -1 || semi > end ? end : semi;
  const { host, port } = parseHostPort(text.slice(hostStart, hostportEnd), text);
  const params = hostportEnd < end ? parseUriParams(text.slice(hostportEnd + 1, end), text) : NO_PARAMS;
  const headers = new Map<string, string>();
  if (question !== -1) {
    for (const pair of text.slice(question + 1).split('&')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw bad('SIP URI header', text);
      headers.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }
  return { type: 'sip', scheme, user, password, host, port, params, headers };
}

function parseUriParams(text: string, whole: string): UriParams {
  const params: (string | null)[] = [];
  for (const part of text.split(';')) {
    if (part.length === 0) throw bad('URI parameter', whole);
    const eq = part.indexOf('=');
    if (eq === -1) putParam(params, part.toLowerCase(), null);
    else {
      if (eq === 0) throw bad('URI parameter', whole);
      putParam(params, part.slice(0, eq).toLowerCase(), part.slice(eq + 1));
    }
  }
  return new ParamList(params);
}

/** Splits `host[:port]`, validating both. Shared with Via's sent-by. */
export function parseHostPort(text: string, context: string = text): { host: string; port: number | undefined } {
  let host: string;
  let rest: string;
  if (text.charCodeAt(0) === 91 /* [ */) {
    const close = text.indexOf(']');
    if (close === -1) throw bad('IPv6 reference', context);
    host = text.slice(0, close + 1);
    if (!/^\[[0-9a-fA-F:.]+\]$/.test(host) || host.indexOf(':') === -1) throw bad('IPv6 reference', context);
    rest = text.slice(close + 1);
    if (rest.length > 0 && rest.charCodeAt(0) !== 58 /* : */) throw bad('host', context);
  } else {
    const colon = text.indexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    rest = colon === -1 ? '' : text.slice(colon);
    if (host.length === 0) throw bad('host', context);
    for (let i = 0; i < host.length; i++) {
      const c = host.charCodeAt(i);
      if (c >= 128 || HOST_CHAR[c] === 0) throw bad('host', context);
    }
  }
  let port: number | undefined;
  if (rest.length > 0) {
    const digits = rest.slice(1);
    if (!/^[0-9]{1,5}$/.test(digits)) throw bad('port', context);
    port = Number(digits);
    if (port > 65535) throw bad('port', context);
  }
  return { host, port };
}

function parseTelUri(text: string, start: number): TelUri {
  const semi = text.indexOf(';', start);
  const number = semi === -1 ? text.slice(start) : text.slice(start, semi);
  if (!/^\+?[0-9A-Fa-f*#().\-]+$/.test(number) || !/[0-9A-Fa-f*#]/.test(number)) throw bad('tel URI', text);
  const params = semi === -1 ? NO_PARAMS : parseUriParams(text.slice(semi + 1), text);
  return { type: 'tel', scheme: 'tel', number, params };
}

function formatParams(params: UriParams): string {
  let out = '';
  for (const [name, value] of params) out += value === null ? `;${name}` : `;${name}=${value}`;
  return out;
}

export function formatUri(uri: Uri): string {
  switch (uri.type) {
    case 'sip': {
      let out = uri.scheme + ':';
      if (uri.user !== undefined) {
        out += uri.user;
        if (uri.password !== undefined) out += ':' + uri.password;
        out += '@';
      }
      out += uri.host;
      if (uri.port !== undefined) out += ':' + uri.port;
      out += formatParams(uri.params);
      let first = true;
      for (const [name, value] of uri.headers) {
        out += (first ? '?' : '&') + name + '=' + value;
        first = false;
      }
      return out;
    }
    case 'tel':
      return 'tel:' + uri.number + formatParams(uri.params);
    case 'absolute':
      return uri.scheme + ':' + uri.opaque;
  }
}

// RFC 3261 §25.1: a user part takes unreserved and user-unreserved characters as they are, everything else escaped.
const NOT_USER_CHAR = /[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/gu;
const utf8 = new TextEncoder();

/** Text (a dialled number, a name) as the user part of a SIP URI: what a user part cannot hold, %-escaped as UTF-8. */
export function escapeUser(text: string): string {
  return text.replace(NOT_USER_CHAR, (char) => [...utf8.encode(char)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

/** Decodes %-escapes (for display and lookups). Malformed escapes are kept literally. */
export function unescapeUriPart(text: string): string {
  if (text.indexOf('%') === -1) return text;
  return text.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

// RFC 3261 §19.1.4: characters outside the reserved set are equivalent to their escapes; reserved ones are not
// (sip:a%40b@h and sip:a@b@h are different URIs). Comparison decodes only the former.
const RESERVED = new Set(';/?:@&=+$,');

function normalizeEscapes(text: string): string {
  if (text.indexOf('%') === -1) return text;
  return text.replace(/%([0-9a-fA-F]{2})/g, (escape: string, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return RESERVED.has(char) ? escape.toUpperCase() : char;
  });
}

const SIGNIFICANT_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'];

/** URI equality per RFC 3261 §19.1.4. */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a.type !== b.type || a.scheme !== b.scheme) return false;
  if (a.type === 'absolute') return a.opaque === (b as AbsoluteUri).opaque;
  if (a.type === 'tel') {
    const bt = b as TelUri;
    return a.number.replace(/[-.()]/g, '').toLowerCase() === bt.number.replace(/[-.()]/g, '').toLowerCase() &&
      paramsMatch(a.params, bt.params, []);
  }
  const bs = b as SipUri;
  if (normalizeEscapes(a.user ?? '') !== normalizeEscapes(bs.user ?? '')) return false;
  if ((a.user === undefined) !== (bs.user === undefined)) return false;
  if (normalizeEscapes(a.password ?? '') !== normalizeEscapes(bs.password ?? '')) return false;
  if (a.host.toLowerCase() !== bs.host.toLowerCase() || a.port !== bs.port) return false;
  if (!paramsMatch(a.params, bs.params, SIGNIFICANT_PARAMS)) return false;
  if (a.headers.size !== bs.headers.size) return false;
  for (const [name, value] of a.headers) {
    let found = false;
    for (const [otherName, otherValue] of bs.headers) {
      if (otherName.toLowerCase() === name.toLowerCase() && normalizeEscapes(otherValue) === normalizeEscapes(value)) found = true;
    }
    if (!found) return false;
  }
  return true;
}

function paramsMatch(a: UriParams, b: UriParams, mustBeInBoth: string[]): boolean {
  for (const name of mustBeInBoth) if (a.has(name) !== b.has(name)) return false;
  for (const [name, value] of a) {
    if (!b.has(name)) continue;
    const other = b.get(name) ?? null;
    if (value === null || other === null) {
      if (value !== other) return false;
    } else if (normalizeEscapes(value).toLowerCase() !== normalizeEscapes(other).toLowerCase()) return false;
  }
  return true;
}
