/**
 * Which headers get a structured value, and how to parse and format it. A header not listed here keeps only
 * its text. List headers (header-names.ts) are split first, so each codec sees one element.
 */
import {
  formatAuth, formatContact, formatContentType, formatCSeq, formatNameAddr, formatVia, parseAuth, parseCallId,
  parseContact, parseContentLength, parseContentType, parseCSeq, parseDate, parseDeltaSeconds, parseMaxForwards,
  parseNameAddr, parseToken, parseVia,
  type AuthValue, type ContactValue, type ContentType, type CSeq, type NameAddr, type Via,
} from './header-values.js';
import { SipParseError } from '../errors.js';
import { canonicalHeaderName, COMPACT_FORMS, KNOWN_KEYS, LIST_HEADERS } from './header-names.js';

/** Structured value of each known header, by lower-case name. */
export interface KnownHeaderValues {
  'via': Via;
  'from': NameAddr;
  'to': NameAddr;
  'contact': ContactValue;
  'route': NameAddr;
  'record-route': NameAddr;
  'path': NameAddr;
  'service-route': NameAddr;
  'reply-to': NameAddr;
  'refer-to': NameAddr;
  'referred-by': NameAddr;
  'p-asserted-identity': NameAddr;
  'p-preferred-identity': NameAddr;
  'cseq': CSeq;
  'call-id': string;
  'max-forwards': number;
  'content-length': number;
  'expires': number;
  'min-expires': number;
  'content-type': ContentType;
  'www-authenticate': AuthValue;
  'proxy-authenticate': AuthValue;
  'authorization': AuthValue;
  'proxy-authorization': AuthValue;
  'require': string;
  'proxy-require': string;
  'supported': string;
  'unsupported': string;
  'allow': string;
  'date': Date;
}

export type KnownHeaderName = keyof KnownHeaderValues;

interface Codec<T> {
  parse(value: string): T;
  format(value: T): string;
}

const nameAddr: Codec<NameAddr> = { parse: parseNameAddr, format: formatNameAddr };
// Option-tag and method lists (Allow, Supported, Require...) stay one field per line, their structured value the
// array of tokens: they are long, many-valued and never edited element by element.
const TOKEN_LIST = /^[A-Za-z0-9\-.!%*_+`'~]+(?:[ \t]*,[ \t]*[A-Za-z0-9\-.!%*_+`'~]+)*$/;

// The list as nearly every stack writes it, tokens separated by exactly ", ": once that is checked, each comma
// ends a token, and cutting at commas found natively is cheaper than a global match (or String.prototype.split).
const CANONICAL_TOKEN_LIST = /^[A-Za-z0-9\-.!%*_+`'~]+(?:, [A-Za-z0-9\-.!%*_+`'~]+)*$/;
const TOKEN_G = /[^ \t,]+/g;

export function parseTokenList(value: string): string[] {
  if (CANONICAL_TOKEN_LIST.test(value)) {
    const tokens: string[] = [];
    let start = 0;
    // Indexed stores: optimized code calls the generic builtin for these pushes instead of inlining them.
    for (let comma = value.indexOf(','); comma !== -1; comma = value.indexOf(',', start)) {
      tokens[tokens.length] = value.slice(start, comma);
      start = comma + 2;
    }
    tokens[tokens.length] = start === 0 ? value : value.slice(start);
    return tokens;
  }
  if (!TOKEN_LIST.test(value)) throw new SipParseError(`invalid list of tokens: ${JSON.stringify(value.slice(0, 200))}`);
  // Validated above, so every run of non-separator characters is one token: one native pass, one string each.
  return value.indexOf(',') === -1 ? [value] : value.match(TOKEN_G)!;
}

const token = {
  parse: parseTokenList,
  format: (value: string | readonly string[]) => (typeof value === 'string' ? parseToken(value) : value.map(parseToken).join(', ')),
} as unknown as Codec<string>;
const auth: Codec<AuthValue> = { parse: parseAuth, format: formatAuth };
const deltaSeconds: Codec<number> = { parse: parseDeltaSeconds, format: String };

export const HEADER_CODECS: { readonly [K in KnownHeaderName]: Codec<KnownHeaderValues[K]> } = {
  'via': { parse: parseVia, format: formatVia },
  'from': nameAddr,
  'to': nameAddr,
  'contact': { parse: parseContact, format: formatContact },
  'route': nameAddr,
  'record-route': nameAddr,
  'path': nameAddr,
  'service-route': nameAddr,
  'reply-to': nameAddr,
  'refer-to': nameAddr,
  'referred-by': nameAddr,
  'p-asserted-identity': nameAddr,
  'p-preferred-identity': nameAddr,
  'cseq': { parse: parseCSeq, format: formatCSeq },
  'call-id': { parse: parseCallId, format: (v) => v },
  'max-forwards': { parse: parseMaxForwards, format: String },
  'content-length': { parse: parseContentLength, format: String },
  'expires': deltaSeconds,
  'min-expires': deltaSeconds,
  'content-type': { parse: parseContentType, format: formatContentType },
  'www-authenticate': auth,
  'proxy-authenticate': auth,
  'authorization': auth,
  'proxy-authorization': auth,
  'require': token,
  'proxy-require': token,
  'supported': token,
  'unsupported': token,
  'allow': token,
  'date': { parse: parseDate, format: (d) => d.toUTCString() },
};

// A Map, not an object lookup: header names come off the wire and `__proto__` must not find anything.
const CODEC_BY_KEY = new Map<string, Codec<unknown>>(Object.entries(HEADER_CODECS) as [string, Codec<unknown>][]);

export function codecFor(key: string): Codec<unknown> | undefined {
  return CODEC_BY_KEY.get(key);
}

/** Everything the parser needs to know about a header name, found with one lookup. */
export interface HeaderInfo {
  readonly name: string;
  readonly key: string;
  /** Split into one field per element. */
  readonly list: boolean;
  /** One field per line whose structured value is the array of its tokens. */
  readonly tokenList: boolean;
  readonly codec: Codec<unknown> | undefined;
  /** False for names this stack has no definition of (their spelling is still checked to be a token). */
  readonly known: boolean;
  /** The value's parser rejects control characters itself, so the value needs no separate scan. */
  readonly selfValidating: boolean;
  /** The spelling this entry is found under (canonical, lower case or compact form; an unknown name's own). */
  readonly spelling: string;
  /** A list whose grammar allows an empty value (`Supported:` means "none"): such a line makes no field. */
  readonly emptyAllowed: boolean;
}

const EMPTY_ALLOWED = new Set(['supported', 'require', 'allow', 'accept', 'accept-encoding', 'accept-language', 'unsupported', 'proxy-require', 'allow-events']);

// Headers whose parsers' patterns exclude control characters (CR included).
const SELF_VALIDATING = new Set(['via', 'from', 'to', 'contact', 'route', 'record-route', 'call-id', 'cseq', 'content-length',
  'max-forwards', 'expires', 'content-type', 'authorization', 'proxy-authorization', 'www-authenticate', 'proxy-authenticate',
  'require', 'supported', 'allow', 'proxy-require', 'unsupported']);

// Known headers under their canonical spelling, lower case and compact form: the spelling on the wire is almost
// always one of these, so the common case is a single Map hit with no case conversion. One entry per spelling, so
// that whether a name was written canonically is `info.spelling === info.name`, a comparison of two constants.
const INFO_BY_SPELLING = new Map<string, HeaderInfo>();
for (const key of new Set([...CODEC_BY_KEY.keys(), ...LIST_HEADERS, ...KNOWN_KEYS])) {
  const name = canonicalHeaderName(key);
  const codec = CODEC_BY_KEY.get(key);
  const tokenList = codec === token;
  const info: HeaderInfo = { name, key, list: LIST_HEADERS.has(key) && !tokenList, tokenList, codec, known: true, selfValidating: SELF_VALIDATING.has(key), spelling: name, emptyAllowed: EMPTY_ALLOWED.has(key) };
  INFO_BY_SPELLING.set(name, info);
  INFO_BY_SPELLING.set(key, { ...info, spelling: key });
}
for (const [letter, name] of COMPACT_FORMS) INFO_BY_SPELLING.set(letter, { ...INFO_BY_SPELLING.get(name)!, spelling: letter });

// Spellings grouped by length and first character: a name freshly cut out of a line is compared with the one or two
// of its group instead of being hashed for a Map lookup, which is measurably cheaper for names this short. (By length
// alone, a group holds up to a dozen spellings, each a call to compare strings.) The groups are runs of two flat
// arrays, found through a table of small integers: a lookup touches few cache lines, where arrays of pairs in an
// array of groups cost a cache miss at each step once parsing has pushed them out of the nearest caches.
const MAX_SPELLING = Math.max(...[...INFO_BY_SPELLING.keys()].map((spelling) => spelling.length));
const SPELLINGS: string[] = [];
const SPELLING_INFOS: HeaderInfo[] = [];
/** By length * 128 + first character: the group's start in SPELLINGS times 16, plus its size (at most 15). */
const SPELLING_GROUPS = new Uint16Array((MAX_SPELLING + 1) * 128);
const byGroup = new Map<number, [string, HeaderInfo][]>();
for (const [spelling, info] of INFO_BY_SPELLING) {
  const group = spelling.length * 128 + spelling.charCodeAt(0);
  let members = byGroup.get(group);
  if (members === undefined) byGroup.set(group, (members = []));
  members.push([spelling, info]);
}
for (const [group, members] of byGroup) {
  if (members.length > 15 || SPELLINGS.length * 16 > 0xffff) throw new Error('header spelling table overflow');
  SPELLING_GROUPS[group] = SPELLINGS.length * 16 + members.length;
  for (const [spelling, info] of members) {
    SPELLINGS.push(spelling);
    SPELLING_INFOS.push(info);
  }
}

/** Header info by name as written; unknown names keep their spelling and get no codec. */
export function headerInfo(name: string): HeaderInfo {
  const first = name.charCodeAt(0);
  const group = name.length <= MAX_SPELLING && first < 128 ? SPELLING_GROUPS[name.length * 128 + first]! : 0;
  for (let i = group >> 4, end = i + (group & 15); i < end; i++) {
    if (SPELLINGS[i] === name) return SPELLING_INFOS[i]!;
  }
  const lower = name.toLowerCase();
  const info = INFO_BY_SPELLING.get(lower);
  if (info !== undefined) return info;
  return { name, key: lower, list: false, tokenList: false, codec: undefined, known: false, selfValidating: false, spelling: name, emptyAllowed: false };
}
