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
const token: Codec<string> = { parse: parseToken, format: (v) => v };
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
