/**
 * Header names: SIP compares them case-insensitively and allows one-letter compact forms (RFC 3261 §7.3.3).
 * Every header is stored under its canonical spelling so that lookups are a plain string comparison.
 */

const CANONICAL = [
  'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow', 'Allow-Events',
  'Authentication-Info', 'Authorization', 'Call-ID', 'Call-Info', 'Contact', 'Content-Disposition',
  'Content-Encoding', 'Content-Language', 'Content-Length', 'Content-Type', 'CSeq', 'Date', 'Error-Info', 'Event',
  'Expires', 'From', 'History-Info', 'Identity', 'In-Reply-To', 'Max-Forwards', 'Min-Expires', 'Min-SE',
  'MIME-Version', 'Organization', 'P-Asserted-Identity', 'P-Preferred-Identity', 'Path', 'Priority', 'Privacy',
  'Proxy-Authenticate', 'Proxy-Authorization', 'Proxy-Require', 'RAck', 'Reason', 'Record-Route', 'Refer-To',
  'Referred-By', 'Reject-Contact', 'Replaces', 'Reply-To', 'Request-Disposition', 'Require', 'Retry-After', 'Route',
  'RSeq', 'Server', 'Service-Route', 'Session-Expires', 'SIP-ETag', 'SIP-If-Match', 'Subject', 'Subscription-State',
  'Supported', 'Timestamp', 'To', 'Unsupported', 'User-Agent', 'Via', 'Warning', 'WWW-Authenticate',
];

const COMPACT: Record<string, string> = {
  a: 'Accept-Contact',
  b: 'Referred-By',
  c: 'Content-Type',
  d: 'Request-Disposition',
  e: 'Content-Encoding',
  f: 'From',
  i: 'Call-ID',
  j: 'Reject-Contact',
  k: 'Supported',
  l: 'Content-Length',
  m: 'Contact',
  o: 'Event',
  r: 'Refer-To',
  s: 'Subject',
  t: 'To',
  u: 'Allow-Events',
  v: 'Via',
  x: 'Session-Expires',
  y: 'Identity',
};

export const COMPACT_FORMS: ReadonlyMap<string, string> = new Map(Object.entries(COMPACT));

/**
 * The engine's own copy of `text`, the one every equal string literal and property name refers to: two such copies
 * compare equal by identity, where a string built at run time is compared character by character. Keys are compared
 * with literals (`field.key === 'content-length'`) for every field a message is parsed, written or searched with.
 */
function internalized(text: string): string {
  return Object.keys({ [text]: 0 })[0]!;
}

/** Lower-case names of every header with a canonical spelling. */
export const KNOWN_KEYS: readonly string[] = CANONICAL.map((name) => internalized(name.toLowerCase()));

const byLowerCase = new Map<string, string>();
for (const name of CANONICAL) byLowerCase.set(name.toLowerCase(), name);
for (const [letter, name] of Object.entries(COMPACT)) byLowerCase.set(letter, name);

/** The canonical spelling of a header name; unknown names keep the spelling they came with. */
export function canonicalHeaderName(name: string): string {
  return byLowerCase.get(name) ?? byLowerCase.get(name.toLowerCase()) ?? name;
}

// Every spelling of a known header (canonical, lower case, compact) to its key: one lookup, no new string.
const keyBySpelling = new Map<string, string>();
for (const [index, name] of CANONICAL.entries()) {
  keyBySpelling.set(name, KNOWN_KEYS[index]!);
  keyBySpelling.set(KNOWN_KEYS[index]!, KNOWN_KEYS[index]!);
}
for (const [letter, name] of Object.entries(COMPACT)) keyBySpelling.set(letter, keyBySpelling.get(name)!);

/** Lower-case key under which a header is looked up. */
export function headerKey(name: string): string {
  return keyBySpelling.get(name) ?? keyBySpelling.get(name.toLowerCase()) ?? name.toLowerCase();
}

/**
 * Headers whose grammar is a comma-separated list (`#element`). They are split into one field per element on parse;
 * RFC 3261 §7.3.1 makes that equivalent. Headers whose values contain commas of their own (Date, the auth headers,
 * unknown extension headers) are never split.
 */
export const LIST_HEADERS: ReadonlySet<string> = new Set([
  'accept', 'accept-contact', 'accept-encoding', 'accept-language', 'alert-info', 'allow', 'allow-events',
  'call-info', 'contact', 'content-encoding', 'content-language', 'error-info', 'history-info', 'in-reply-to',
  'p-asserted-identity', 'p-preferred-identity', 'path', 'privacy', 'proxy-require', 'reason', 'record-route',
  'reject-contact', 'require', 'route', 'service-route', 'supported', 'unsupported', 'via', 'warning',
]);

/** Headers that may appear only once (RFC 3261 §7.3.1, §20): several values make a request invalid (RFC 4475 §3.3.8). */
export const SINGLE_VALUE_HEADERS: ReadonlySet<string> = new Set([
  'call-id', 'content-disposition', 'content-length', 'content-type', 'cseq', 'date', 'expires', 'from',
  'max-forwards', 'mime-version', 'min-expires', 'organization', 'priority', 'reply-to', 'retry-after', 'server',
  'subject', 'timestamp', 'to', 'user-agent',
]);
